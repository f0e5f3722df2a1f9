"""The audit trail: every action on a dossier recorded — who, when, what, from where.

``record(actor, action, dossier=None, request=None, **details)`` is the single entry point used by
views, services, the API and commands. It appends one ``AuditRecord`` inside the caller's
transaction: if the caller's transaction rolls back, the record goes too (the action did not happen).

Tamper evidence: every record carries ``hash = HMAC-SHA256(key, canonical(record))`` where
``canonical`` is the UTF-8 JSON (sorted keys, no spaces, no floats, datetimes in UTC ISO 8601 with
microseconds) of ``{"v": 2, "kid", "seq", "at", "actor", "actor_email", "action", "dossier",
"dossier_number", "region", "object_type", "object_id", "details", "ip", "user_agent", "prev_hash"}``,
and ``prev_hash`` is the hash of the record before it (``GENESIS_HASH`` for the first). ``seq`` has no
gaps. Changing, removing or inserting a record breaks a hash or a link: ``manage.py verify_audit``
finds it.

The key (``settings.AUDIT_HMAC_KEYS``, from the environment, never in the database) is what makes
this resist someone who can write to the database: without it they cannot compute a valid hash
for a changed record. Each record names its key (``key_id``, also hashed as ``kid``), so that keys
rotate: the first key of the setting signs new records, older keys stay listed to verify the records
they signed. Deleting the *last* records leaves a valid shorter chain: that is what the checkpoints
of ``audit_checkpoints`` (written outside the database, checked by ``verify_audit``) detect.

Records written before the chain was keyed are version 1: ``hash = SHA-256(canonical)`` with
``"v": 1`` and no ``kid``. They still verify, but on their own they prove only that nothing was
changed *by mistake*: anyone could recompute them. They are protected against a deliberate rewrite
once a checkpoint covers them (the checkpoint's hash commits to every record before it), and a
version-1 record after a version-2 one is refused (no downgrade).

Appending is serialised so that two records never share a ``prev_hash``: PostgreSQL takes a
transaction-level advisory lock before reading the last record; SQLite transactions are
``BEGIN IMMEDIATE`` (settings), which already serialises writers. ``prev_hash`` and ``seq`` are also
unique in the database, so a fork could not be written even by mistake.

Action names in use: ``transition:<event>`` (workflow.apply), ``dossier:edit``, ``dossier:file``,
``dossier:invite``, ``dossier:join``, ``dossier:member_left``, ``file:download``, ``export:zip``,
``export:workspace``, ``api:read``;
others' modules add ``message:*``, ``avis:*``, ``annotations``, ``view``, ``follow``, ``batch:*``;
who acts for an establishment (``establishments.claims``, no dossier): ``establishment:claim``,
``establishment:accept``, ``establishment:refuse``, ``establishment:withdraw``, ``establishment:remove``,
``establishment:promote``, ``establishment:leave``.
"""

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from guichet.core.text import plural

from .models import GENESIS_HASH, AuditRecord

HASH_VERSION = 2  # of new records; 1 = plain SHA-256, before the chain was keyed (still verified)
USER_AGENT_MAX = 300
# pg_advisory_xact_lock key: any constant, the same for every process ("AUDIT" in ASCII).
ADVISORY_LOCK_KEY = 0x4155444954


# --- Canonical form and hash ---------------------------------------------------------------------

def utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def normalise(value):
    """``value`` as plain JSON that reads back identically from any database: no floats (as
    strings), datetimes in UTC ISO, model instances as their primary key, no NUL characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return utc_iso(value) if timezone.is_aware(value) else value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return normalise(value.pk)
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [normalise(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return normalise(str(value))


def hashed_fields(rec: AuditRecord) -> dict:
    fields = {"kid": rec.key_id} if rec.hash_version >= 2 else {}
    return {
        **fields,
        "v": rec.hash_version,
        "seq": rec.seq,
        "at": utc_iso(rec.at),
        "actor": rec.actor_ref,
        "actor_email": rec.actor_email,
        "action": rec.action,
        "dossier": rec.dossier_id,
        "dossier_number": rec.dossier_number,
        "region": rec.region_id,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "details": rec.details,
        "ip": rec.ip,
        "user_agent": rec.user_agent,
        "prev_hash": rec.prev_hash,
    }


def canonical(rec: AuditRecord) -> bytes:
    return json.dumps(hashed_fields(rec), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


class UnknownKey(LookupError):
    """A record names a key that ``AUDIT_HMAC_KEYS`` does not hold."""


def keys() -> dict[str, bytes]:
    return {key_id: key.encode() for key_id, key in settings.AUDIT_HMAC_KEYS}


def current_key_id() -> str:
    return settings.AUDIT_HMAC_KEYS[0][0]


def compute_hash(rec: AuditRecord) -> str:
    """The record's hash by its own version: HMAC-SHA256 under its key (2) or plain SHA-256 (1).
    Raises ``UnknownKey`` when the record's key is not configured."""
    if rec.hash_version == 1:
        return hashlib.sha256(canonical(rec)).hexdigest()
    key = keys().get(rec.key_id)
    if key is None:
        raise UnknownKey(rec.key_id)
    return hmac.new(key, canonical(rec), hashlib.sha256).hexdigest()


# --- Where from ---------------------------------------------------------------------------------

def _valid_ip(text) -> str:
    try:
        return ipaddress.ip_address((text or "").strip()).compressed
    except ValueError:
        return ""


def client_ip(request) -> str:
    """REMOTE_ADDR; behind ``GUICHET_TRUSTED_PROXY_COUNT`` trusted reverse proxies, the address the
    outermost trusted proxy saw, i.e. the N-th ``X-Forwarded-For`` entry from the right (entries
    further left are written by the client and can be forged)."""
    meta = getattr(request, "META", {}) or {}
    trusted = int(getattr(settings, "GUICHET_TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted > 0:
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= trusted:
            found = _valid_ip(hops[-trusted])
            if found:
                return found
    return _valid_ip(meta.get("REMOTE_ADDR"))


# --- Appending ----------------------------------------------------------------------------------

def _actor(actor, request):
    if actor is None and request is not None:
        actor = getattr(request, "auth", None) or getattr(request, "user", None)
    if actor is None or not getattr(actor, "is_authenticated", False) or getattr(actor, "pk", None) is None:
        return None
    return actor


def _dossier_fields(dossier) -> dict:
    if dossier is None:
        return {"dossier_id": None, "dossier_number": "", "region_id": None}
    if isinstance(dossier, int):
        from guichet.dossiers.models import Dossier

        found = Dossier.objects.filter(pk=dossier).values("number", "call__region_id").first() or {}
        return {"dossier_id": dossier, "dossier_number": found.get("number") or "",
                "region_id": found.get("call__region_id")}
    return {"dossier_id": dossier.pk, "dossier_number": dossier.number or "",
            "region_id": dossier.call.region_id}


def record(actor, action: str, dossier=None, request=None, **details) -> AuditRecord:
    """Append one record: ``actor`` (a user, or None: then the request's user if any) did ``action``
    on ``dossier`` (an instance, an id, or None). ``object_type`` / ``object_id`` in ``details``
    name the object acted on (or ``obj=<model instance>``); the rest is stored as details."""
    obj = details.pop("obj", None)
    object_type = str(details.pop("object_type", "") or "")
    object_id = details.pop("object_id", "")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id in ("", None) else object_id
    user = _actor(actor, request)
    meta = getattr(request, "META", {}) or {}
    rec = AuditRecord(
        actor=user,
        actor_ref=user.pk if user else None,
        actor_email=normalise(getattr(user, "email", "") or "") if user else "",
        action=normalise(str(action))[:100],
        object_type=normalise(object_type)[:100],
        object_id=normalise(str(object_id if object_id is not None else ""))[:64],
        details=normalise(details),
        ip=client_ip(request) if request is not None else "",
        user_agent=normalise(meta.get("HTTP_USER_AGENT", "") or "")[:USER_AGENT_MAX],
        **_dossier_fields(dossier),
    )
    # No savepoint: a record that cannot be written fails the caller's transaction as a whole (the action
    # did not happen), and a savepoint's two statements are saved on every audited request.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        last = AuditRecord.objects.order_by("-seq").values("seq", "hash").first()
        rec.seq = last["seq"] + 1 if last else 1
        rec.prev_hash = last["hash"] if last else GENESIS_HASH
        rec.at = timezone.now()  # taken under the lock: time order is sequence order
        rec.hash_version, rec.key_id = HASH_VERSION, current_key_id()
        rec.hash = compute_hash(rec)
        rec.save()
    return rec


# --- Verifying ----------------------------------------------------------------------------------

def verify(chunk_size: int = 2000):
    """Walk the chain in order in constant memory. Returns ``(count, None)`` when intact, or
    ``(count_checked, (record, problem))`` for the first broken record."""
    expected_prev, expected_seq, count, keyed_from = GENESIS_HASH, 1, 0, None
    for rec in AuditRecord.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if rec.seq != expected_seq:
            if rec.seq > expected_seq:
                missing = (f"n° {expected_seq}" if rec.seq == expected_seq + 1
                           else f"n° {expected_seq} à {rec.seq - 1}")
                gone = plural(rec.seq - expected_seq, "enregistrement manquant")
                return count, (rec, f"{gone} avant lui ({missing})")
            return count, (rec, f"numéro {rec.seq} inattendu (attendu : {expected_seq})")
        if rec.prev_hash != expected_prev:
            return count, (rec, f"empreinte précédente {rec.prev_hash} ≠ empreinte de l'enregistrement "
                                f"précédent {expected_prev} (enregistrement supprimé, inséré ou modifié avant lui)")
        if rec.hash_version not in (1, HASH_VERSION):
            return count, (rec, f"version d'empreinte {rec.hash_version} inconnue")
        if rec.hash_version == 1 and keyed_from is not None:
            return count, (rec, f"empreinte sans clé (version 1) après l'enregistrement n° {keyed_from}, signé avec "
                                f"une clé : enregistrement réécrit par quelqu'un qui n'a pas la clé d'audit")
        try:
            found = compute_hash(rec)
        except UnknownKey:
            return count, (rec, f"clé d'audit « {rec.key_id} » inconnue : ajoutez-la à AUDIT_HMAC_KEYS pour vérifier "
                                f"les enregistrements qu'elle a signés (sinon, enregistrement forgé)")
        if found != rec.hash:
            return count, (rec, f"contenu modifié (ou empreinte calculée sans la clé d'audit) : empreinte "
                                f"recalculée {found} ≠ empreinte enregistrée {rec.hash}")
        if rec.hash_version >= 2 and keyed_from is None:
            keyed_from = rec.seq
        if rec.actor_id is not None and rec.actor_id != rec.actor_ref:
            return count, (rec, f"utilisateur lié {rec.actor_id} ≠ utilisateur enregistré {rec.actor_ref}")
        expected_prev, expected_seq, count = rec.hash, rec.seq + 1, count + 1
    return count, None
