"""Antivirus scanning of stored files with ClamAV (clamd), in a background task.

Configured by environment variables (see settings: ``CLAMAV_SOCKET`` or ``CLAMAV_HOST``/``CLAMAV_PORT``).
Without a scanner, files are marked « non analysé » — never « sain ».
"""

from django.conf import settings
from django.db import transaction

from .models import ScanStatus


def scanner_configured() -> bool:
    return bool(getattr(settings, "CLAMAV_SOCKET", "") or getattr(settings, "CLAMAV_HOST", ""))


def initial_status() -> str:
    """The state of a file just stored: waiting for its scan, or honestly not scanned."""
    return ScanStatus.PENDING if scanner_configured() else ScanStatus.NOT_SCANNED


def scan_later(instance) -> None:
    """Queue the scan of a stored file once the transaction that stored it has committed."""
    if not scanner_configured():
        return
    from .tasks import scan_stored_file

    label = instance._meta.label
    transaction.on_commit(lambda: scan_stored_file.enqueue(label, instance.pk))
