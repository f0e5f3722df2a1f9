"""Storing an uploaded file as a ``StoredFile`` row: the one way files enter storage.

The checksum computed while the upload streamed in is reused (else computed in chunks), the
original name is kept in a safe form, the file is saved under a generated name in ``folder``
(never under a name the user chose), and its antivirus scan is queued after commit.
"""

import hashlib
import os
import unicodedata

from django.core.files.base import File
from django.utils import timezone

from . import antivirus


def clean_filename(name: str) -> str:
    """Keep a readable original name (accents kept) without any path or control character."""
    name = unicodedata.normalize("NFC", os.path.basename(name.replace("\\", "/")))
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '/\\:*?"<>|').strip(" .")
    return name[:200] or "fichier"


def checksum_of(upload) -> str:
    checksum = getattr(upload, "sha256", None)  # computed while the upload streamed in
    if checksum is None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        checksum = digest.hexdigest()
    return checksum


def store_upload(item, upload, *, folder: str, prefix: str, user=None):
    """Fill ``item`` (an unsaved StoredFile subclass instance) from ``upload``, store and save it."""
    checksum = checksum_of(upload)
    item.original_name = clean_filename(upload.name)
    item.size = upload.size
    item.content_type = getattr(upload, "content_type", "") or ""
    item.sha256 = checksum
    item.uploaded_by = user
    item.scan_status = antivirus.initial_status()
    extension = os.path.splitext(item.original_name)[1].lower()
    item.file.save(f"{folder}/{timezone.now():%Y/%m}/{prefix}-{checksum[:16]}{extension}", File(upload), save=False)
    item.save()
    antivirus.scan_later(item)
    return item
