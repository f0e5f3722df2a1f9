"""Antivirus scanning of stored files with ClamAV (clamd), in a background task.

Configured by environment variables (see settings: ``CLAMAV_SOCKET`` or ``CLAMAV_HOST``/``CLAMAV_PORT``,
and ``CLAMAV_TIMEOUT``). Without a scanner, files are marked « non analysé » — never « sain ».

The client speaks clamd's ``INSTREAM`` protocol itself (a few lines; the PyPI clients send 1 KiB chunks
and lose clamd's answer when it closes the stream on a size limit): the file is read from Django storage
``CHUNK_SIZE`` bytes at a time and sent as length-prefixed chunks, so a 200 MB file never sits in memory.
Whatever goes wrong (clamd down, time-out, size limit, unreadable file) records ``error``, never ``safe``.
"""

import logging
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ScanStatus

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024  # bytes read from storage and sent to clamd at a time
MAX_REPLY = 4096  # clamd's answers are one short line


class ClamdError(Exception):
    """clamd could not be reached or did not give a usable answer; the message is in French."""


@dataclass(frozen=True)
class Verdict:
    status: str  # a ScanStatus value
    detail: str = ""


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


# --- clamd protocol ----------------------------------------------------------------------------------

def _connect() -> socket.socket:
    timeout = getattr(settings, "CLAMAV_TIMEOUT", 120)
    path = getattr(settings, "CLAMAV_SOCKET", "")
    try:
        if path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except BaseException:
                sock.close()
                raise
            return sock
        return socket.create_connection((settings.CLAMAV_HOST, settings.CLAMAV_PORT), timeout=timeout)
    except OSError as exc:
        where = path or f"{settings.CLAMAV_HOST}:{settings.CLAMAV_PORT}"
        raise ClamdError(f"antivirus injoignable ({where}) : {exc}") from exc


def _read_reply(sock: socket.socket) -> str:
    """One null-terminated reply (the ``z`` form of the commands), or what came before the close."""
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
        data = sock.recv(MAX_REPLY)
        if not data:
            break
        reply += data
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping() -> bool:
    """Whether clamd answers (for health checks and the fixture of the tests)."""
    try:
        with _connect() as sock:
            sock.sendall(b"zPING\0")
            return _read_reply(sock) == "PONG"
    except (ClamdError, OSError):
        return False


def scan_chunks(chunks: Iterable[bytes]) -> Verdict:
    """Send a stream of bytes to clamd with ``INSTREAM`` and interpret its answer."""
    try:
        with _connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    if chunk:
                        sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stops reading when a limit is exceeded: its answer says why
            reply = _read_reply(sock)
    except TimeoutError as exc:
        raise ClamdError(f"l'antivirus n'a pas répondu à temps ({settings.CLAMAV_TIMEOUT} s)") from exc
    except OSError as exc:
        raise ClamdError(f"échange avec l'antivirus interrompu : {exc}") from exc
    return parse_reply(reply)


def parse_reply(reply: str) -> Verdict:
    """``stream: OK`` / ``stream: <signature> FOUND`` / ``... ERROR`` → a verdict."""
    body = reply.removeprefix("stream:").strip()
    if body == "OK":
        return Verdict(ScanStatus.SAFE)
    if body.endswith(" FOUND"):
        return Verdict(ScanStatus.INFECTED, body.removesuffix(" FOUND").strip()[:255])
    if "size limit exceeded" in body:
        return Verdict(ScanStatus.ERROR, f"fichier trop volumineux pour l'antivirus ({body})"[:255])
    if not body:
        return Verdict(ScanStatus.ERROR, "l'antivirus a fermé la connexion sans répondre")
    return Verdict(ScanStatus.ERROR, f"réponse de l'antivirus : {body}"[:255])


def _read_in_chunks(fh) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK_SIZE):
        yield chunk


def scan_file(field_file) -> Verdict:
    """Scan a stored file (a ``FieldFile``), read from its storage a chunk at a time."""
    try:
        fh = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        return Verdict(ScanStatus.ERROR, "fichier introuvable dans le stockage")
    with fh:
        return scan_chunks(_read_in_chunks(fh))


def scan_instance(instance) -> str:
    """Scan a ``StoredFile`` and record the result on it (state, detail, date); return the state."""
    if not scanner_configured():
        verdict = Verdict(ScanStatus.NOT_SCANNED)
    else:
        try:
            verdict = scan_file(instance.file)
        except ClamdError as exc:
            verdict = Verdict(ScanStatus.ERROR, str(exc)[:255])
        except Exception as exc:  # a scan that fails for any reason must leave the file unserved
            logger.exception("antivirus scan of %s %s failed", instance._meta.label, instance.pk)
            verdict = Verdict(ScanStatus.ERROR, f"analyse impossible : {type(exc).__name__}")
    if verdict.status == ScanStatus.INFECTED:
        logger.warning("infected file refused: %s %s (%s)", instance._meta.label, instance.pk, verdict.detail)
    elif verdict.status == ScanStatus.ERROR:
        logger.error("antivirus scan error: %s %s (%s)", instance._meta.label, instance.pk, verdict.detail)
    instance.scan_status = verdict.status
    instance.scan_detail = verdict.detail
    instance.scanned_at = timezone.now() if verdict.status != ScanStatus.NOT_SCANNED else None
    instance.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
    return verdict.status
