"""What a file really is, read from its first bytes (libmagic), against what its name claims.

A file is accepted when its extension is allowed for the field *and* its content is of a type
that extension may hold. Office formats are ZIP (OOXML, OpenDocument) or OLE containers, which
libmagic sometimes reports only as such: those generic types are accepted for them.
"""

import magic

SNIFF_BYTES = 8192

_ZIP = {"application/zip", "application/x-zip-compressed"}
_OLE = {"application/x-ole-storage", "application/CDFV2", "application/vnd.ms-office"}
_TEXT = {"text/plain", "text/csv", "application/csv", "text/x-Algol68", "application/octet-stream-text"}

EXPECTED = {
    "pdf": {"application/pdf"},
    "doc": {"application/msword"} | _OLE,
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"} | _ZIP,
    "odt": {"application/vnd.oasis.opendocument.text"} | _ZIP,
    "rtf": {"text/rtf", "application/rtf"},
    "xls": {"application/vnd.ms-excel"} | _OLE,
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} | _ZIP,
    "ods": {"application/vnd.oasis.opendocument.spreadsheet"} | _ZIP,
    "ppt": {"application/vnd.ms-powerpoint"} | _OLE,
    "pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation"} | _ZIP,
    "odp": {"application/vnd.oasis.opendocument.presentation"} | _ZIP,
    "csv": _TEXT,
    "txt": _TEXT,
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
    "png": {"image/png"},
    "gif": {"image/gif"},
    "tif": {"image/tiff"},
    "tiff": {"image/tiff"},
    "zip": _ZIP,
    "7z": {"application/x-7z-compressed"},
}

READABLE = {
    "application/pdf": "PDF", "image/png": "image PNG", "image/jpeg": "image JPEG", "image/gif": "image GIF",
    "application/zip": "archive ZIP", "application/x-dosexec": "programme Windows", "text/html": "page HTML",
    "application/x-executable": "programme", "application/octet-stream": "type inconnu", "text/plain": "texte",
}


def sniff(upload) -> str:
    """The MIME type of an uploaded file, from its first bytes; the file is rewound."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return magic.from_buffer(head, mime=True) if head else "application/x-empty"


def content_matches(extension: str, mime: str) -> bool:
    extension = extension.lower().lstrip(".")
    if extension in ("csv", "txt"):
        return mime.startswith("text/") or mime in _TEXT
    return mime in EXPECTED.get(extension, set())


def describe(mime: str) -> str:
    return READABLE.get(mime, mime)
