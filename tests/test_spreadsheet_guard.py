"""The one guard every uploaded spreadsheet goes through (core/spreadsheets.py): a bomb is refused quickly, in
French, from the zip's directory before openpyxl parses anything, or while the rows are read."""

import pytest

from guichet.core import spreadsheets
from tests import bombs


@pytest.fixture
def no_parsing(monkeypatch):
    """openpyxl must never be asked to load the file."""
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl was asked to parse a file the guard should have refused")
    monkeypatch.setattr(spreadsheets, "load_workbook", refuse)


def test_declared_huge_shared_strings_are_refused_before_parsing(no_parsing):
    with pytest.raises(spreadsheets.SpreadsheetRefused, match="Le texte du classeur occuperait 30 Mo"):
        spreadsheets.open_xlsx(bombs.huge_shared_strings())


def test_a_zip_that_unpacks_beyond_the_limit_is_refused_before_parsing(no_parsing):
    data = bombs.deflated_sheet(61 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    with pytest.raises(spreadsheets.SpreadsheetRefused, match="occuperait 61 Mo une fois décompressé"):
        spreadsheets.open_xlsx(data)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "Le fichier déposé est vide."),
    (b"%PDF-1.4", "n'est pas un classeur Excel (.xlsx) lisible"),
    (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "Excel 97-2003 (.xls)"),
    (b"0" * (10 * 1024 * 1024 + 1), "Le fichier dépasse 10 Mo"),
])
def test_what_is_not_an_xlsx_is_refused_before_parsing(no_parsing, data, message):
    with pytest.raises(spreadsheets.SpreadsheetRefused) as refused:
        spreadsheets.open_xlsx(data)
    assert message in str(refused.value)


def test_a_cell_longer_than_any_field_is_refused_with_its_position():
    workbook = spreadsheets.open_xlsx(bombs.long_cell(6000))
    with pytest.raises(spreadsheets.SpreadsheetRefused) as refused:
        list(spreadsheets.rows(workbook.active))
    assert str(refused.value) == ("Onglet « Sheet », cellule B1 : le texte fait 6000 caractères ; 5000 au plus "
                                  "sont admis.")


def test_a_row_far_down_is_refused_at_the_row_limit_not_read_to_the_end():
    workbook = spreadsheets.open_xlsx(bombs.far_row())
    limits = spreadsheets.Limits(max_rows=500)
    read = []
    with pytest.raises(spreadsheets.SpreadsheetRefused, match="compte plus de 500 lignes"):
        for number, _ in spreadsheets.rows(workbook.active, limits):
            read.append(number)
    assert len(read) == 500


def test_columns_beyond_the_limit_are_not_read():
    data = bombs.workbook_bytes(lambda ws: ws.cell(row=1, column=16000, value="loin"))
    workbook = spreadsheets.open_xlsx(data)
    [(number, row)] = list(spreadsheets.rows(workbook.active, spreadsheets.Limits(max_columns=5)))
    assert number == 1 and len(row) <= 5
