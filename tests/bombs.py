"""Spreadsheet bombs built in the test process: small files that would unpack or parse into far more than they
weigh (issue 11, point 3). Nothing here is written to disk."""

import io
import struct
import zipfile

from openpyxl import Workbook


def workbook_bytes(fill) -> bytes:
    wb = Workbook()
    fill(wb.active)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` with the uncompressed size that the zip's directory states for ``member`` set to ``size`` (the
    content is unchanged: whoever trusted the directory would reserve ``size`` bytes)."""
    out = bytearray(data)
    start = 0
    name = member.encode()
    while (start := out.find(b"PK\x01\x02", start)) != -1:
        name_length = struct.unpack_from("<H", out, start + 28)[0]
        if bytes(out[start + 46:start + 46 + name_length]) == name:
            struct.pack_into("<I", out, start + 24, size)
            return bytes(out)
        start += 4
    raise AssertionError(f"{member} is not in the archive")


def huge_shared_strings(declared: int = 30 * 1024 * 1024) -> bytes:
    """A small workbook whose shared-strings table declares ``declared`` bytes once unpacked."""
    data = workbook_bytes(lambda ws: ws.append(["Fournisseur", "texte"]))
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:  # openpyxl writes inline strings
        archive.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                                                 '2006/main" count="1" uniqueCount="1"><si><t>texte</t></si></sst>')
    return declare_size(out.getvalue(), "xl/sharedStrings.xml", declared)


def deflated_sheet(unpacked: int) -> bytes:
    """A real XLSX whose sheet unpacks into ``unpacked`` bytes of blank XML (a few hundred kilobytes packed)."""
    data = workbook_bytes(lambda ws: ws.append(["x"]))
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<sheetData>", b"<sheetData>" + b" " * unpacked, 1)
            target.writestr(info.filename, content)
    return out.getvalue()


def long_cell(length: int) -> bytes:
    return workbook_bytes(lambda ws: ws.append(["Fournisseur", "x" * length]))


def far_row(row: int = 1048576) -> bytes:
    """One cell at the last row Excel allows: openpyxl yields every empty row before it."""
    def fill(ws):
        ws["A1"] = "Fournisseur"
        ws.cell(row=row, column=1, value="fin")
    return workbook_bytes(fill)
