"""Checkpoints of the audit trail, kept outside the database, so that a truncated tail is detected.

A keyed chain (``audit.py``) cannot be rewritten without the key, but deleting its *last* records
leaves a shorter chain that is still valid. A checkpoint records how long the chain was and the hash
of its last record at a given time: ``{"format", "version", "seq", "hash", "record_at", "at"}``.
``manage.py audit_checkpoint`` (daily) writes one, after verifying the chain, as a NEW object
``audit/checkpoints/<UTC time>-<seq>.json`` of the file storage (local directory or S3 bucket):
checkpoints are only ever added, never rewritten, which works the same on a directory and on an
object store (where appending to an object is not possible). It can also e-mail it to the
operators (``AUDIT_CHECKPOINT_EMAILS``), a copy out of reach of whoever controls the servers.

``check()`` compares every stored checkpoint with the chain: the record n° ``seq`` must still exist
and still have that hash. A missing record means the tail was deleted; another hash means the chain
was rewritten up to there (since every hash commits to all the records before it, this also anchors
version-1 records, whose plain SHA-256 anyone could recompute).
"""

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.utils import timezone

from guichet.core.text import count

from . import storage as stored
from .models import GENESIS_HASH, AuditRecord

PREFIX = "audit/checkpoints"
FORMAT = "guichet-audit-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    name: str
    seq: int
    hash: str
    at: str
    record_at: str | None = None

    def as_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "seq": self.seq, "hash": self.hash,
                "record_at": self.record_at, "at": self.at}


def _utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def current() -> Checkpoint:
    """The chain's length and last hash now (an empty chain: 0 and the genesis hash)."""
    last = AuditRecord.objects.order_by("-seq").values("seq", "hash", "at").first()
    now = timezone.now()
    if last is None:
        return Checkpoint("", 0, GENESIS_HASH, _utc_iso(now))
    return Checkpoint("", last["seq"], last["hash"], _utc_iso(now), _utc_iso(last["at"]))


def write(storage=None) -> Checkpoint:
    """Store a new checkpoint of the chain as it is now and return it (with its storage name)."""
    storage = storage or default_storage
    point = current()
    stamp = dt.datetime.fromisoformat(point.at).strftime("%Y%m%dT%H%M%S%fZ")
    body = json.dumps(point.as_dict(), indent=2, ensure_ascii=False).encode() + b"\n"
    # ``save`` never overwrites: on disk and on S3 (file_overwrite=False) a clash gets another name.
    point.name = storage.save(f"{PREFIX}/{stamp}-{point.seq}.json", ContentFile(body))
    return point


def email(point: Checkpoint) -> int:
    """Send the checkpoint to ``AUDIT_CHECKPOINT_EMAILS``; the number of recipients."""
    recipients = list(settings.AUDIT_CHECKPOINT_EMAILS)
    if not recipients:
        return 0
    body = (
        "Point d'ancrage du journal d'audit de Guichet CLACT.\n\n"
        f"Le {point.at} (UTC), la chaîne comptait {count(point.seq, 'enregistrement')} ; "
        f"empreinte du dernier : {point.hash}.\n\n"
        "Conservez ce message hors des serveurs de la plateforme : si un jour l'enregistrement n° "
        f"{point.seq} n'existait plus ou n'avait plus cette empreinte, le journal aurait été tronqué ou réécrit. "
        "« manage.py verify_audit --checkpoint FICHIER » vérifie la chaîne contre ce point d'ancrage "
        "(le JSON ci-dessous enregistré dans un fichier).\n\n"
        + json.dumps(point.as_dict(), indent=2, ensure_ascii=False) + "\n"
    )
    send_mail(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Point d'ancrage du journal d'audit : n° {point.seq}",
              body, None, recipients)
    return len(recipients)


class Unreadable(ValueError):
    """A checkpoint that is not one (damaged file, wrong format)."""


def parse(name: str, data: bytes) -> Checkpoint:
    try:
        found = json.loads(data.decode("utf-8"))
        if found.get("format") != FORMAT:
            raise ValueError("format")
        seq, hash_ = int(found["seq"]), str(found["hash"])
        if seq < 0 or len(hash_) != 64:
            raise ValueError("values")
        return Checkpoint(name, seq, hash_, str(found.get("at") or ""), found.get("record_at"))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise Unreadable(name) from exc


def stored_checkpoints(storage=None) -> list[Checkpoint]:
    """Every checkpoint in the storage, oldest chain first. Raises ``Unreadable`` for a damaged one."""
    storage = storage or default_storage
    points = []
    for listed in stored.walk(storage, PREFIX):
        if listed.name.endswith(".json"):
            points.append(parse(listed.name, b"".join(stored.read_chunks(storage, listed.name))))
    return sorted(points, key=lambda point: (point.seq, point.at))


def problem(point: Checkpoint) -> str | None:
    """What is wrong with the chain as this checkpoint saw it, or None."""
    if point.seq == 0:
        return None if point.hash == GENESIS_HASH else f"le point d'ancrage {point.name} est incohérent"
    found = AuditRecord.objects.filter(seq=point.seq).values_list("hash", flat=True).first()
    if found is None:
        last = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        return (f"derniers enregistrements supprimés : le point d'ancrage du {point.at} ({point.name}) comptait "
                f"{count(point.seq, 'enregistrement')}, la chaîne n'en a plus que {last}")
    if found != point.hash:
        return (f"chaîne réécrite : au point d'ancrage du {point.at} ({point.name}), l'enregistrement n° {point.seq} "
                f"avait l'empreinte {point.hash}, il a maintenant l'empreinte {found}")
    return None


def check(points: list[Checkpoint]) -> str | None:
    """The first problem any of ``points`` finds in the chain, or None."""
    for point in points:
        found = problem(point)
        if found:
            return found
    return None
