"""Tests of the SAE directory import (directory.import_sae and the import_establishments command)."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from factories import UserFactory

from guichet.accounts.models import User
from guichet.establishments.directory import import_sae, search_establishments
from guichet.establishments.models import Establishment, EstablishmentAccess, LegalEntity

pytestmark = pytest.mark.django_db

# The real SAE extract lives in shared/, beside the clone (see DEVELOPERS.md).
SAE_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sae_id_2023_idf_normandie_outremer_corse.csv"
needs_sae = pytest.mark.skipif(not SAE_FILE.exists(), reason="SAE extract not available")

HEADER = "bor;an;fi;rs;fi_ej;stj;stjr;cat;catr;espic;sir;reg;dep;NOMCOM;LIBCOM;SIRTET;RSTET;DADS_C1"
GOOD_1 = ("ID;2023;140000027;CENTRE HOSPITALIER DE LISIEUX;140000035;13;1;355;PUB2;1;26140091500011;28;14;"
          "LISIEUX;LISIEUX CEDEX;;;261400915")
GOOD_2 = ("ID;2023;140000076;CENTRE HOSPITALIER AUNAY-BAYEUX;140000092;13;1;355;PUB2;1;26140092300015;28;14;"
          "LES MONTS D AUNAY;LES MONTS D AUNAY;;;")
BAD_FINESS = "ID;2023;12345;CLINIQUE FANTÔME;140000035;95;2;365;PLU4;0;26140091500011;28;14;CAEN;CAEN;;;"
BAD_SIRET = ("ID;2023;140000209;CHU COTE DE NACRE - CAEN;140000100;13;1;101;PUB1;1;26140093100019;28;14;"
             "CAEN;CAEN;;;")
NO_NAME = "ID;2023;140000340;;140025800;63;3;109;PNL8;6;;28;14;HEROUVILLE;HEROUVILLE;;;"
ESPIC = ("ID;2023;140000340;CENTRE SSR BETHARRAM HEROUVILLE;140025800;63;3;109;PNL8;6;;28;14;"
         "HÉROUVILLE-SAINT-CLAIR;HEROUVILLE;;;")


def _csv(*lines, encoding="iso-8859-1"):
    return io.BytesIO(("\r\n".join(lines) + "\r\n").encode(encoding))


@needs_sae
def test_real_file_import_counts():
    report = import_sae(SAE_FILE)
    assert report.encoding == "ISO-8859-1"
    assert report.rejected == []
    assert (report.imported, report.updated) == (725, 0)
    assert Establishment.objects.count() == 725
    assert LegalEntity.objects.count() == report.legal_entities_created == 438

    et = Establishment.objects.select_related("legal_entity", "region").get(finess="140000027")
    assert et.name == "CENTRE HOSPITALIER DE LISIEUX"
    assert et.siret == "26140091500011"
    assert et.legal_entity.finess == "140000035"
    assert et.legal_entity.siren == "261400915"
    assert et.legal_status == "public" and et.legal_entity.legal_status == "public"
    assert et.category_code == "355" and et.category == "Centre hospitalier (CH)"
    assert et.sector == "sanitaire" and et.source == "directory"
    assert et.department == "14" and et.region.code == "28" and et.city == "LISIEUX"
    # Corsica and the three statuses are all present
    assert Establishment.objects.filter(department="2A", region__code="94").exists()
    assert set(Establishment.objects.values_list("legal_status", flat=True)) == {"public", "prive", "espic"}
    assert Establishment.objects.get(finess="140000340").legal_status == "espic"


@needs_sae
def test_real_file_import_is_idempotent():
    import_sae(SAE_FILE)
    counts = (Establishment.objects.count(), LegalEntity.objects.count())
    report = import_sae(SAE_FILE)
    assert (report.imported, report.updated, len(report.rejected)) == (0, 725, 0)
    assert report.legal_entities_created == 0
    assert (Establishment.objects.count(), LegalEntity.objects.count()) == counts


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_imported():
    report = import_sae(_csv(HEADER, GOOD_1, BAD_FINESS, BAD_SIRET, NO_NAME, GOOD_2, GOOD_1))
    assert (report.imported, report.updated) == (2, 0)
    lines = [str(r) for r in report.rejected]
    assert [r.line for r in report.rejected] == [3, 4, 5, 7]
    assert lines[0].startswith("ligne 3 : FINESS « 12345 » invalide : ")
    assert "9 caractères" in lines[0]
    assert lines[1].startswith("ligne 4 : SIRET « 26140093100019 » invalide : ")
    assert lines[2].startswith("ligne 5 : raison sociale (colonne rs) manquante")
    assert "déjà présent ligne 2" in lines[3]
    assert set(Establishment.objects.values_list("finess", flat=True)) == {"140000027", "140000076"}


def test_utf8_file():
    report = import_sae(_csv(HEADER, ESPIC, encoding="utf-8"))
    assert report.encoding == "UTF-8"
    et = Establishment.objects.get(finess="140000340")
    assert et.city == "HÉROUVILLE-SAINT-CLAIR"
    assert et.legal_status == "espic"
    assert et.category == "Établissement de santé privé autorisé en SSR"


def test_latin1_file_is_decoded():
    import_sae(_csv(HEADER, ESPIC, encoding="iso-8859-1"))
    assert Establishment.objects.get(finess="140000340").city == "HÉROUVILLE-SAINT-CLAIR"


def test_manual_establishment_is_upgraded_not_replaced():
    user = UserFactory()
    manual = Establishment.objects.create(
        finess="140000027", name="CH Lisieux (saisi)", sector="sanitaire", legal_status="public",
        department="14", ght="GHT Normandie Centre", source="manual",
    )
    EstablishmentAccess.objects.create(user=user, establishment=manual)
    report = import_sae(_csv(HEADER, GOOD_1))
    assert (report.imported, report.updated) == (0, 1)
    manual.refresh_from_db()
    assert manual.source == "directory"
    assert manual.name == "CENTRE HOSPITALIER DE LISIEUX"
    assert manual.siret == "26140091500011" and manual.legal_entity.finess == "140000035"
    assert manual.ght == "GHT Normandie Centre"  # not in the directory: kept
    assert EstablishmentAccess.objects.filter(user=user, establishment=manual).exists()
    assert Establishment.objects.count() == 1


def test_manual_legal_entity_keeps_its_name():
    LegalEntity.objects.create(finess="140000035", name="CH DE LISIEUX (EJ)", source="manual")
    import_sae(_csv(HEADER, GOOD_1))
    ej = LegalEntity.objects.get(finess="140000035")
    assert ej.name == "CH DE LISIEUX (EJ)" and ej.source == "directory" and ej.siren == "261400915"


def test_command_output_and_exit_status(tmp_path):
    path = tmp_path / "sae.csv"
    path.write_bytes(_csv(HEADER, GOOD_1, BAD_FINESS).getvalue())
    out = io.StringIO()
    call_command("import_establishments", str(path), stdout=out)
    text = out.getvalue()
    assert "ligne 3 : FINESS « 12345 » invalide" in text
    assert "1 établissement importé, 0 mis à jour, 1 ligne rejetée" in text


def test_command_fails_on_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="Impossible de lire.*introuvable"):
        call_command("import_establishments", str(tmp_path / "absent.csv"), stdout=io.StringIO())
    other = tmp_path / "other.csv"
    other.write_text("a;b\n1;2\n")
    with pytest.raises(CommandError, match="colonne"):
        call_command("import_establishments", str(other), stdout=io.StringIO())


def test_search_by_finess_prefix_and_name():
    import_sae(_csv(HEADER, GOOD_1, GOOD_2, ESPIC))
    assert [e.finess for e in search_establishments("14000002")] == ["140000027"]
    assert {e.finess for e in search_establishments("bayeux")} == {"140000076"}
    assert list(search_establishments("1")) == []
    assert User.objects.count() == 0


# --- files that are not what they claim (issue 11, point 3) -------------------------------------------------

def _run(tmp_path, content: bytes):
    """Run the command as an operator does (a subprocess-free call_command), returning its output."""
    path = tmp_path / "sae.csv"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("import_establishments", str(path), stdout=out)
    return out.getvalue()


def test_an_unclosed_quote_rejects_its_line_and_keeps_the_following_ones(tmp_path):
    broken = GOOD_1.replace("CENTRE HOSPITALIER DE LISIEUX", '"CENTRE HOSPITALIER DE LISIEUX')
    text = _run(tmp_path, _csv(HEADER, broken, GOOD_2).getvalue())
    assert "ligne 2 : guillemet ouvrant sans guillemet fermant" in text
    assert "1 établissement importé, 0 mis à jour, 1 ligne rejetée" in text
    assert Establishment.objects.filter(finess="140000076").exists()


def test_a_field_over_128_kb_is_a_numbered_rejection_not_a_traceback(tmp_path):
    huge = GOOD_1.replace("LISIEUX CEDEX", "X" * 200_000)
    text = _run(tmp_path, _csv(HEADER, huge, GOOD_2).getvalue())
    assert "ligne 2 : ligne trop longue" in text
    assert "1 établissement importé, 0 mis à jour, 1 ligne rejetée" in text


def test_a_nul_character_in_a_line_is_a_numbered_rejection(tmp_path):
    text = _run(tmp_path, _csv(HEADER, GOOD_1.replace("LISIEUX;", "LIS\x00IEUX;", 1), GOOD_2).getvalue())
    assert "ligne 2 : caractère nul" in text
    assert "1 établissement importé, 0 mis à jour, 1 ligne rejetée" in text


def test_a_binary_file_is_refused_in_french_with_a_non_zero_exit(tmp_path):
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("sae.csv", "\x00" * 1000 + HEADER)
    path = tmp_path / "sae.zip"
    path.write_bytes(archive.getvalue())
    with pytest.raises(CommandError, match="n'est pas un fichier texte"):
        call_command("import_establishments", str(path), stdout=io.StringIO())
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "manage.py", "import_establishments", str(path)],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "n'est pas un fichier texte" in done.stderr
