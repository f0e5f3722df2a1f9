"""Money as typed and shown (core/money.py): every amount within bounds reads back exactly, every amount
outside is refused with its reason, and a zero is never « -0,00 »."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from guichet.core.money import MAX_AMOUNT, euros, parse_euros
from guichet.formschema.values import format_money, parse_decimal

CENTS = st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)).map(lambda c: Decimal(c).scaleb(-2))


@given(CENTS)
def test_every_amount_within_bounds_reads_back_from_how_it_is_shown(amount):
    shown = euros(amount)
    assert parse_euros(shown) == amount
    assert not shown.startswith("-")


@given(st.integers(min_value=1, max_value=10**20).map(lambda c: MAX_AMOUNT + Decimal(c).scaleb(-2)))
def test_every_amount_above_the_maximum_is_refused_with_the_reason(amount):
    with pytest.raises(ValidationError) as refused:
        parse_euros(str(amount).replace(".", ","))
    assert refused.value.code == "max_value" and "999\u202f999\u202f999\u202f999,99" in refused.value.messages[0]


@given(st.integers(min_value=1, max_value=int(MAX_AMOUNT * 100)).map(lambda c: -Decimal(c).scaleb(-2)))
def test_every_negative_amount_is_refused(amount):
    with pytest.raises(ValidationError) as refused:
        parse_euros(str(amount))
    assert refused.value.messages == ["Le montant ne peut pas être négatif."]


@given(st.decimals(min_value=0, max_value=MAX_AMOUNT, places=3).filter(lambda d: d != d.quantize(Decimal("0.01"))))
def test_fractions_of_a_cent_are_refused(amount):
    with pytest.raises(ValidationError, match="deux décimales au plus"):
        parse_euros(str(amount))


@given(st.sampled_from(["-0", "-0,00", "-0.0", "- 0", "-,0", "+0", "0"]),
       st.sampled_from([Decimal("-0.001"), Decimal("-0.004"), Decimal("-0"), Decimal("-0.00")]))
def test_minus_zero_is_zero_and_never_shown_with_a_sign(typed, tiny):
    assert str(parse_euros(typed.replace(" ", ""))) in ("0", "0.00", "0.0")
    assert not str(parse_decimal(typed.replace(" ", ""))).startswith("-")
    assert euros(typed.replace(" ", "").replace(",", ".") or "0") == "0,00\u00a0€"
    assert euros(tiny) == "0,00\u00a0€" and format_money(tiny) == "0,00 €"


@given(st.text(max_size=50))
def test_anything_typed_is_an_amount_or_a_french_refusal(text):
    try:
        value = parse_euros(text)
    except ValidationError as refused:
        assert refused.messages[0].startswith(("Saisissez", "Le montant"))
    else:
        assert value is None or Decimal(0) <= value <= MAX_AMOUNT
