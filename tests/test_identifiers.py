"""Property and example tests for FINESS / SIREN / SIRET validation (identifiers.py)."""

import csv
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from guichet.establishments.identifiers import (
    FinessField,
    SirenField,
    SiretField,
    finess_check_digit,
    normalize,
    validate_finess,
    validate_siren,
    validate_siret,
)

# The real SAE extract lives in shared/, beside the clone (see DEVELOPERS.md).
SAE_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sae_id_2023_idf_normandie_outremer_corse.csv"

eight_digits = st.text(alphabet="0123456789", min_size=8, max_size=8)
separators = st.sampled_from([" ", ".", "-", "\u00a0", "\u202f"])


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _messages(exc_info) -> str:
    return " ".join(exc_info.value.messages)


# --- FINESS ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["590780193", "2A0000154", "970400024", "2a0000154", "59 078 019 3"])
def test_known_valid_finess(value):
    assert validate_finess(value) == normalize(value)


@given(eight_digits)
def test_eight_digits_plus_key_is_valid_and_any_other_key_is_not(first8):
    key = finess_check_digit(first8)
    assert validate_finess(first8 + key) == first8 + key
    assert _luhn_ok(first8 + key)
    for other in "0123456789":
        if other != key:
            with pytest.raises(ValidationError) as exc:
                validate_finess(first8 + other)
            assert "clé de contrôle" in _messages(exc)


@given(st.sampled_from(["2A", "2B"]), st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_corsica_finess(prefix, rest):
    numeric = {"2A": "21", "2B": "22"}[prefix]
    key = finess_check_digit(numeric + rest)
    assert finess_check_digit(prefix + rest) == key
    assert validate_finess(prefix + rest + key) == prefix + rest + key
    assert validate_finess((prefix + rest + key).lower()) == prefix + rest + key
    wrong = str((int(key) + 1) % 10)
    with pytest.raises(ValidationError):
        validate_finess(prefix + rest + wrong)


@given(st.text(alphabet="0123456789", min_size=0, max_size=20).filter(lambda s: len(s) != 9))
def test_finess_wrong_length_says_the_count(value):
    with pytest.raises(ValidationError) as exc:
        validate_finess(value)
    message = _messages(exc)
    if value:
        assert "9 caractères" in message and f"en comporte {len(value)}" in message
    else:
        assert "vide" in message


@pytest.mark.parametrize("value", ["59078019X", "2C0000154", "A90780193", "59078_193"])
def test_finess_forbidden_characters(value):
    with pytest.raises(ValidationError) as exc:
        validate_finess(value)
    assert "caractère interdit :" in _messages(exc)


# --- normalisation -----------------------------------------------------------------------

@given(st.text())
def test_normalize_is_idempotent(value):
    assert normalize(normalize(value)) == normalize(value)


@given(eight_digits, st.lists(st.tuples(st.integers(0, 9), separators), max_size=5))
def test_separators_are_ignored(first8, inserts):
    number = first8 + finess_check_digit(first8)
    chars = list(number)
    for position, sep in sorted(inserts, reverse=True):
        chars.insert(position, sep)
    assert validate_finess("".join(chars)) == number


def test_normalize_handles_none_and_case():
    assert normalize(None) == ""
    assert normalize(" 2b.000-0154\u00a0") == "2B0000154"


# --- SIREN / SIRET -----------------------------------------------------------------------

@given(eight_digits)
def test_siren_property(first8):
    key = next(k for k in "0123456789" if _luhn_ok(first8 + k))
    assert validate_siren(first8 + key) == first8 + key
    for other in "0123456789":
        if other != key:
            with pytest.raises(ValidationError):
                validate_siren(first8 + other)


def test_siren_and_siret_examples():
    assert validate_siren("261 400 915") == "261400915"
    assert validate_siret("261 400 915 00011") == "26140091500011"
    with pytest.raises(ValidationError) as exc:
        validate_siret("26140091500012")
    assert "clé de contrôle" in _messages(exc)
    with pytest.raises(ValidationError) as exc:
        validate_siret("2614009150001")
    assert "14 caractères" in _messages(exc) and "en comporte 13" in _messages(exc)
    with pytest.raises(ValidationError) as exc:
        validate_siren("26140091A")
    assert "« A »" in _messages(exc)


def test_siret_whose_siren_is_wrong_says_so():
    with pytest.raises(ValidationError) as exc:
        validate_siret("26140091600011")
    assert "SIREN" in _messages(exc)


def test_la_poste_siret_rule():
    # La Poste SIRETs are not Luhn-valid; their digit sum is divisible by 5.
    assert validate_siren("356000000") == "356000000"
    assert validate_siret("35600000000048") == "35600000000048"
    with pytest.raises(ValidationError):
        validate_siret("35600000000049")


# --- form fields -------------------------------------------------------------------------

def test_form_fields_normalise_and_validate():
    assert FinessField().clean(" 59.078.019-3 ") == "590780193"
    assert SirenField().clean("261 400 915") == "261400915"
    assert SiretField(required=False).clean("") == ""
    with pytest.raises(ValidationError) as exc:
        FinessField().clean("590780194")
    assert "clé de contrôle" in _messages(exc)
    with pytest.raises(ValidationError):
        SiretField().clean("123")


# --- real data ---------------------------------------------------------------------------

def _sae_rows():
    with SAE_FILE.open(encoding="iso-8859-1", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


@pytest.mark.skipif(not SAE_FILE.exists(), reason="SAE extract not available")
def test_every_real_identifier_validates():
    rows = _sae_rows()
    assert len(rows) > 700
    failures, checked = [], 0
    for row in rows:
        for column in ("fi", "fi_ej"):
            if row[column]:
                checked += 1
                try:
                    validate_finess(row[column])
                except ValidationError as exc:
                    failures.append((column, row[column], exc.messages))
        sir = row["sir"]
        if sir:
            checked += 1
            validator = validate_siret if len(sir) == 14 else validate_siren
            try:
                validator(sir)
            except ValidationError as exc:
                failures.append(("sir", sir, exc.messages))
    assert checked > 2000
    assert failures == []
