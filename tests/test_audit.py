"""The audit trail: who did what, when, from where — append-only and chained by hashes that
``manage.py verify_audit`` checks (tampering, deletion and forged records are found)."""

import hashlib
import hmac
import json
import threading
from io import StringIO

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from guichet.api.models import issue_token
from guichet.core import audit, audit_checkpoints
from guichet.core.models import GENESIS_HASH, AuditRecord
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments.models import EstablishmentAccess
from tests import s3
from tests.factories import CallFactory, DossierFactory, EstablishmentFactory, InstructorFactory, UserFactory, region

s3_server, s3_storage = s3.s3_server, s3.s3_storage

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
SCHEMA = {"sections": [
    {"key": "identification", "title": "1. Identification", "fields": [
        {"key": "raison_sociale", "type": "text", "label": "Raison sociale"},
        {"key": "avis_cse", "type": "file", "label": "Avis du CSE", "allowed_types": ["pdf"]},
    ]},
]}


def pdf(text: str) -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n% " + text.encode() + b"\ntrailer\n<< >>\n%%EOF\n"


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def broken() -> str:
    with pytest.raises(CommandError) as caught:
        verify()
    assert caught.value.returncode == 1
    return str(caught.value)


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def jsonb(placeholder="%s"):
    return f"CAST({placeholder} AS jsonb)" if connection.vendor == "postgresql" else placeholder


def many(n, actor=None):
    for i in range(n):
        audit.record(actor, "test:action", details_index=i, note="é" * (i % 3))


@pytest.fixture
def applicant(db):
    user = UserFactory(email="demandeur@exemple.fr")
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    return services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)


@pytest.fixture
def web(client, applicant):
    client.force_login(applicant)
    client.defaults.update(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=UA)
    return client


def only(action) -> AuditRecord:
    return AuditRecord.objects.get(action=action)


# --- The record -------------------------------------------------------------------------------------

def test_a_record_says_who_what_when_where_and_is_chained(applicant, dossier):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="x" * 1000)
    first = audit.record(applicant, "dossier:edit", dossier, request, section="identification",
                         changed=["raison_sociale"], amount=__import__("decimal").Decimal("12.50"), ratio=0.5,
                         when=timezone.now())
    second = audit.record(None, "test:other")
    first.refresh_from_db()
    assert (first.seq, second.seq) == (1, 2)
    assert first.actor == applicant and first.actor_ref == applicant.pk and first.actor_email == applicant.email
    assert (first.dossier_id, first.region_id) == (dossier.pk, dossier.call.region_id)
    assert first.ip == "198.51.100.4" and len(first.user_agent) == audit.USER_AGENT_MAX
    assert first.details["amount"] == "12.50" and first.details["ratio"] == "0.5"  # no floats, ever
    assert first.details["when"].endswith("+00:00")
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.hash == audit.compute_hash(first) and len(first.hash) == 64
    assert second.actor is None and second.actor_email == "" and second.ip == ""
    assert first.at <= second.at


def test_canonical_form_is_sorted_compact_utc_with_microseconds(applicant):
    rec = audit.record(applicant, "test:canonical", b=1, a="à")
    text = audit.canonical(rec).decode()
    data = json.loads(text)
    assert list(data) == sorted(data) and ", " not in text and '": ' not in text
    assert data["at"].endswith("+00:00") and len(data["at"].split(".")[1]) == len("123456+00:00")
    assert '"a":"à"' in text  # UTF-8, not \u escapes


@pytest.mark.parametrize("count, xff, remote, expected", [
    (0, "1.1.1.1", "10.0.0.2", "10.0.0.2"),  # no trusted proxy: X-Forwarded-For is ignored
    (1, "6.6.6.6, 192.0.2.10", "10.0.0.2", "192.0.2.10"),  # the hop our proxy appended, not the forged one
    (2, "6.6.6.6, 192.0.2.10, 10.0.0.9", "10.0.0.2", "192.0.2.10"),
    (1, "", "10.0.0.2", "10.0.0.2"),
    (1, "pas une adresse", "10.0.0.2", "10.0.0.2"),
    (0, "", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
])
def test_client_ip_trusts_forwarded_for_only_behind_configured_proxies(settings, count, xff, remote, expected):
    settings.GUICHET_TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=xff)
    assert audit.client_ip(request) == expected


def test_records_cannot_be_changed_or_deleted_through_the_orm(applicant):
    rec = audit.record(applicant, "test:action")
    rec.action = "autre"
    with pytest.raises(PermissionError):
        rec.save()
    with pytest.raises(PermissionError):
        rec.delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.filter(pk=rec.pk).update(action="autre")
    with pytest.raises(PermissionError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().action == "test:action"


def test_a_record_survives_its_users_and_its_dossiers_deletion(applicant, dossier):
    audit.record(applicant, "dossier:edit", dossier)
    email, number = applicant.email, dossier.number
    Dossier.objects.filter(pk=dossier.pk).delete()
    applicant.delete()
    rec = AuditRecord.objects.get()
    assert rec.actor is None and rec.actor_email == email and rec.dossier_number == (number or "")
    assert rec.dossier_id == dossier.pk
    assert "intègre : 1 enregistrements" in verify()


def test_a_record_goes_with_its_callers_rolled_back_transaction(applicant):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(applicant, "test:action")
        raise RuntimeError("l'action échoue")
    assert not AuditRecord.objects.exists()
    audit.record(applicant, "test:action")
    assert AuditRecord.objects.get().prev_hash == GENESIS_HASH


# --- verify_audit -----------------------------------------------------------------------------------

def test_empty_and_clean_chains_of_1000_verify(db):
    assert verify().splitlines()[0] == "Chaîne d'audit intègre : 0 enregistrements"
    many(1000)
    assert verify().splitlines()[0] == "Chaîne d'audit intègre : 1000 enregistrements"
    out = StringIO()
    call_command("verify_audit", "--chunk-size", "7", stdout=out)
    assert "1000 enregistrements" in out.getvalue()


def test_tampered_details_are_detected(db):
    many(10)
    raw(f"UPDATE core_auditrecord SET details = {jsonb()} WHERE seq = 5", ['{"details_index": 999}'])
    message = broken()
    assert "n° 5" in message and "contenu modifié" in message and "4 enregistrements intègres" in message


def test_tampered_hash_is_detected_on_the_next_record(db):
    many(10)
    rec = AuditRecord.objects.get(seq=5)
    rec.details = {"details_index": 999}
    raw("UPDATE core_auditrecord SET details = " + jsonb() + ", hash = %s WHERE seq = 5",
        [json.dumps(rec.details), audit.compute_hash(rec)])
    message = broken()
    assert "n° 6" in message and "empreinte précédente" in message


def test_a_deleted_record_is_detected(db):
    many(10)
    raw("DELETE FROM core_auditrecord WHERE seq = 4")
    message = broken()
    assert "n° 5" in message and "manquant" in message and "n° 4" in message


def test_a_forged_record_inserted_in_the_middle_is_detected(db):
    many(10)
    # The forger makes room after n° 4 and inserts a well-formed record chained to n° 4.
    raw("UPDATE core_auditrecord SET seq = seq + 1000 WHERE seq > 4")
    raw("UPDATE core_auditrecord SET seq = seq - 999 WHERE seq > 1000")
    fourth = AuditRecord.objects.get(seq=4)
    # Even a forger holding the key (its hash is valid) cannot chain a record in the middle.
    forged = AuditRecord(seq=5, at=timezone.now(), action="dossier:edit", details={"forged": True},
                         prev_hash=fourth.hash, actor_email="faussaire@exemple.fr", hash_version=2, key_id="test")
    forged.hash = audit.compute_hash(forged)
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()  # the database refuses a second record chained to n° 4
    raw("UPDATE core_auditrecord SET prev_hash = %s WHERE seq = 6", ["e" * 64])  # so the forger unlinks n° 6
    forged = AuditRecord(seq=5, at=forged.at, action=forged.action, details=forged.details,
                         prev_hash=forged.prev_hash, actor_email=forged.actor_email, hash=forged.hash,
                         hash_version=2, key_id="test")
    forged.save()
    message = broken()
    assert "n° 6" in message


def test_a_forged_record_with_a_made_up_hash_is_detected(db):
    many(3)
    last = AuditRecord.objects.get(seq=3)
    AuditRecord(seq=4, at=timezone.now(), action="dossier:edit", prev_hash=last.hash, hash="f" * 64,
                hash_version=2, key_id="test").save()
    assert "n° 4" in broken() and "contenu modifié" in broken()


def test_relinking_a_record_to_another_user_is_detected(db):
    first, second = UserFactory(), UserFactory()
    audit.record(first, "test:action")
    raw("UPDATE core_auditrecord SET actor_id = %s", [second.pk])
    assert "utilisateur lié" in broken()


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_never_share_a_previous_hash():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE)")
    errors = []
    barrier = threading.Barrier(8)

    def writer(n):
        try:
            barrier.wait()
            for i in range(15):
                with transaction.atomic():
                    audit.record(None, "test:concurrent", writer=n, i=i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert "120 enregistrements" in verify()


# --- The keyed chain: what someone who can write to the database, but has not the key, cannot do ---

KEY_A, KEY_B = "a" * 40, "b" * 40


def sha256_of(rec):
    return hashlib.sha256(audit.canonical(rec)).hexdigest()


def hmac_with(key: str):
    return lambda rec: hmac.new(key.encode(), audit.canonical(rec), hashlib.sha256).hexdigest()


def rewrite(start, sign, version=None, key_id=None, **changes):
    """What a database writer does to hide a change: change record n° ``start``, then recompute the hash and
    the link of that record and of every record after it with ``sign`` (optionally as another hash version)."""
    prev = AuditRecord.objects.get(seq=start - 1).hash if start > 1 else GENESIS_HASH
    for rec in AuditRecord.objects.filter(seq__gte=start).order_by("seq"):
        if rec.seq == start:
            for name, value in changes.items():
                setattr(rec, name, value)
        if version is not None:
            rec.hash_version = version
            rec.key_id = "" if version == 1 else rec.key_id
        if key_id is not None:
            rec.key_id = key_id
        rec.prev_hash, rec.hash = prev, None
        rec.hash = sign(rec)
        raw(f"UPDATE core_auditrecord SET details = {jsonb()}, prev_hash = %s, hash = %s, hash_version = %s, "
            "key_id = %s WHERE seq = %s",
            [json.dumps(rec.details), rec.prev_hash, rec.hash, rec.hash_version, rec.key_id, rec.seq])
        prev = rec.hash


def legacy(n):
    """``n`` records written before the chain was keyed (hash version 1, plain SHA-256)."""
    for i in range(n):
        last = AuditRecord.objects.order_by("-seq").first()
        rec = AuditRecord(seq=(last.seq + 1) if last else 1, at=timezone.now(), action="test:legacy",
                          details={"i": i}, prev_hash=last.hash if last else GENESIS_HASH, hash_version=1)
        rec.hash = sha256_of(rec)
        rec.save()


def test_new_records_are_keyed_with_the_current_key(db, settings):
    settings.AUDIT_HMAC_KEYS = [("k2026", KEY_A)]
    rec = audit.record(None, "test:action")
    assert (rec.hash_version, rec.key_id) == (2, "k2026")
    assert rec.hash == hmac_with(KEY_A)(rec) != sha256_of(rec)
    assert json.loads(audit.canonical(rec))["kid"] == "k2026"


def test_a_change_hidden_by_recomputing_every_sha256_after_it_is_detected(db):
    many(10)
    rewrite(5, sha256_of, details={"details_index": 999})
    message = broken()
    assert "n° 5" in message and "contenu modifié" in message and "sans la clé d'audit" in message


def test_a_change_hidden_by_downgrading_the_records_to_unkeyed_sha256_is_detected(db):
    many(10)
    rewrite(5, sha256_of, version=1, details={"details_index": 999})
    message = broken()
    assert "n° 5" in message and "empreinte sans clé (version 1)" in message


def test_a_chain_recomputed_from_the_start_with_a_wrong_key_is_detected(db):
    many(10)
    rewrite(1, hmac_with("z" * 40), details={"details_index": 999})
    assert "n° 1" in broken() and "contenu modifié" in broken()
    rewrite(1, hmac_with("z" * 40), key_id="pirate")
    assert "clé d'audit « pirate » inconnue" in broken()


def test_key_rotation_verifies_old_and_new_records(db, settings):
    settings.AUDIT_HMAC_KEYS = [("k2026", KEY_A)]
    many(3)
    # Rotation: the new key first, the old one kept to verify what it signed.
    settings.AUDIT_HMAC_KEYS = [("k2027", KEY_B), ("k2026", KEY_A)]
    many(3)
    assert list(AuditRecord.objects.order_by("seq").values_list("key_id", flat=True)) == ["k2026"] * 3 + ["k2027"] * 3
    assert "intègre : 6 enregistrements" in verify()
    settings.AUDIT_HMAC_KEYS = [("k2027", KEY_B)]  # the old key dropped too early
    message = broken()
    assert "n° 1" in message and "clé d'audit « k2026 » inconnue" in message and "AUDIT_HMAC_KEYS" in message


def test_unkeyed_records_from_before_still_verify_and_keyed_ones_follow_them(db):
    legacy(3)
    many(2)
    assert list(AuditRecord.objects.order_by("seq").values_list("hash_version", flat=True)) == [1, 1, 1, 2, 2]
    assert "intègre : 5 enregistrements" in verify()
    legacy(1)  # an unkeyed record after keyed ones: written without the key
    assert "n° 6" in broken() and "empreinte sans clé" in broken()


# --- Checkpoints outside the database -----------------------------------------------------------------

def checkpoint() -> str:
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    return out.getvalue()


def test_without_a_checkpoint_a_truncated_tail_goes_unseen_and_verify_says_so(db):
    many(10)
    raw("DELETE FROM core_auditrecord WHERE seq > 8")
    out = verify()
    assert "intègre : 8 enregistrements" in out and "Aucun point d'ancrage" in out and "audit_checkpoint" in out


def test_a_truncated_tail_is_detected_through_the_checkpoint(db):
    many(10)
    assert "10 enregistrements" in checkpoint()
    many(2)
    assert "Points d'ancrage vérifiés : 1" in verify()
    raw("DELETE FROM core_auditrecord WHERE seq > 8")
    message = broken()
    assert "derniers enregistrements supprimés" in message and "comptait 10 enregistrements" in message
    assert "n'en a plus que 8" in message


def test_an_unkeyed_chain_rewritten_under_a_checkpoint_is_detected(db):
    legacy(5)
    checkpoint()
    rewrite(2, sha256_of, version=1, details={"i": 99})  # valid plain SHA-256 again from n° 2 to n° 5
    message = broken()
    assert "chaîne réécrite" in message and "n° 5" in message


def test_the_checkpoint_is_a_new_file_in_the_storage_each_time_and_emailed(db, settings, mailoutbox):
    from django.core.files.storage import default_storage

    settings.AUDIT_CHECKPOINT_EMAILS = ["exploitation@ars.sante.fr", "rssi@ars.sante.fr"]
    many(4)
    assert "envoyé à 2 destinataires" in checkpoint()
    many(1)
    checkpoint()
    names = sorted(default_storage.listdir(audit_checkpoints.PREFIX)[1])
    assert len(names) == 2 and all(name.endswith(".json") for name in names)
    first = json.loads(default_storage.open(f"{audit_checkpoints.PREFIX}/{names[0]}").read())
    assert (first["seq"], first["hash"]) == (4, AuditRecord.objects.get(seq=4).hash)
    assert first["format"] == "guichet-audit-checkpoint" and first["at"].endswith("+00:00")
    assert [m.to for m in mailoutbox] == [settings.AUDIT_CHECKPOINT_EMAILS] * 2
    assert "n° 4" in mailoutbox[0].subject and AuditRecord.objects.get(seq=4).hash in mailoutbox[0].body


def test_an_emailed_checkpoint_detects_truncation_when_the_stored_ones_are_gone(db, tmp_path):
    from django.core.files.storage import default_storage

    many(6)
    checkpoint()
    point = audit_checkpoints.stored_checkpoints()[0]
    kept = tmp_path / "ancrage.json"
    kept.write_text(json.dumps(point.as_dict()))
    default_storage.delete(point.name)
    raw("DELETE FROM core_auditrecord WHERE seq > 3")
    assert "intègre : 3 enregistrements" in verify()
    with pytest.raises(CommandError, match="derniers enregistrements supprimés"):
        call_command("verify_audit", "--checkpoint", str(kept), stdout=StringIO())


def test_no_checkpoint_is_written_for_a_broken_chain(db):
    from django.core.files.storage import default_storage

    many(5)
    raw(f"UPDATE core_auditrecord SET details = {jsonb()} WHERE seq = 3", ['{"details_index": 999}'])
    with pytest.raises(CommandError, match="Aucun point d'ancrage écrit"):
        checkpoint()
    assert not default_storage.exists(audit_checkpoints.PREFIX)


def test_a_damaged_checkpoint_is_reported(db):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    many(2)
    default_storage.save(f"{audit_checkpoints.PREFIX}/abime.json", ContentFile(b"{pas du json"))
    assert "Point d'ancrage illisible" in broken()


def test_checkpoints_on_s3_are_new_objects_and_catch_a_truncated_tail(db, s3_storage, s3_server):
    many(5)
    checkpoint()
    many(1)
    checkpoint()
    keys = sorted(o["Key"] for o in s3.s3_client(s3_server).list_objects_v2(Bucket=s3_storage)["Contents"])
    assert len(keys) == 2 and all(k.startswith("audit/checkpoints/") for k in keys)
    assert "Points d'ancrage vérifiés : 2" in verify()
    raw("DELETE FROM core_auditrecord WHERE seq = 6")
    assert "comptait 6 enregistrements" in broken()


# --- What is recorded -------------------------------------------------------------------------------

def upload_cse(web, dossier):
    response = web.post(reverse("dossiers:section", args=[dossier.pk, "identification"]), {
        "raison_sociale": "CH de Lisieux",
        "avis_cse": SimpleUploadedFile("Avis CSE.pdf", pdf("avis"), content_type="application/pdf")})
    assert response.status_code == 302
    return Attachment.objects.get()


def test_an_edit_records_the_changed_paths_not_the_values(web, applicant, dossier):
    item = upload_cse(web, dossier)
    rec = only("dossier:edit")
    assert (rec.actor, rec.dossier_id, rec.ip, rec.user_agent) == (applicant, dossier.pk, "203.0.113.7", UA)
    assert rec.details["section"] == "identification"
    assert set(rec.details["changed"]) >= {"raison_sociale", "avis_cse"}
    assert "CH de Lisieux" not in json.dumps(rec.details)
    assert rec.details["files"] == [{"id": item.pk, "path": "avis_cse", "name": "Avis CSE.pdf",
                                     "sha256": item.sha256}]
    web.post(reverse("dossiers:section", args=[dossier.pk, "identification"]), {"raison_sociale": "CH de Lisieux"})
    assert AuditRecord.objects.filter(action="dossier:edit").count() == 1  # nothing changed: nothing recorded


def test_a_download_and_a_zip_export_are_recorded(web, applicant, dossier):
    item = upload_cse(web, dossier)
    response = web.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk]))
    assert response.status_code == 200
    rec = only("file:download")
    assert (rec.actor_email, rec.ip, rec.object_type, rec.object_id) == (
        applicant.email, "203.0.113.7", "dossiers.attachment", str(item.pk))
    assert rec.details["sha256"] == item.sha256 and rec.details["name"] == "Avis CSE.pdf"
    assert web.get(reverse("dossiers:zip", args=[dossier.pk])).status_code == 200
    rec = only("export:zip")
    assert rec.dossier_id == dossier.pk and rec.details["name"].endswith(".zip") and rec.details["size"] > 0


def test_filing_and_inviting_are_recorded(web, applicant, dossier):
    web.post(reverse("dossiers:section", args=[dossier.pk, "identification"]), {"raison_sociale": "CH"})
    response = web.post(reverse("dossiers:file", args=[dossier.pk]))
    assert response.status_code == 302
    dossier.refresh_from_db()
    rec = only("dossier:file")
    assert (rec.actor, rec.dossier_number, rec.ip, rec.details["state"]) == (
        applicant, dossier.number, "203.0.113.7", State.EN_CONSTRUCTION)
    web.post(reverse("dossiers:invite", args=[dossier.pk]), {"email": "Collegue@Exemple.fr"})
    rec = only("dossier:invite")
    assert rec.details["email"] == "collegue@exemple.fr" and rec.object_type == "dossiers.invitation"
    assert "intègre" in verify()


def test_a_refused_filing_leaves_no_record(web, dossier):
    dossier.call.closes_at = timezone.now()
    dossier.call.save()
    web.post(reverse("dossiers:file", args=[dossier.pk]))
    assert not AuditRecord.objects.filter(action="dossier:file").exists()


def test_a_transition_is_recorded(db):
    instructor = InstructorFactory()
    dossier = DossierFactory()
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number="2024-32-000001")
    workflow.apply(dossier, "passer_en_instruction", instructor)
    rec = only("transition:passer_en_instruction")
    assert rec.actor == instructor and rec.dossier_number == "2024-32-000001"
    assert (rec.details["from_state"], rec.details["to_state"]) == ("en_construction", "en_instruction")


def test_reading_a_dossier_through_the_api_is_recorded(client, db):
    instructor = InstructorFactory(email="instructeur@ars.sante.fr")
    dossier = DossierFactory()
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number="2024-32-000077")
    raw_token = issue_token(instructor, "Outil")[1]
    response = client.get("/api/v1/dossiers/2024-32-000077", HTTP_AUTHORIZATION=f"Bearer {raw_token}",
                          REMOTE_ADDR="192.0.2.55", HTTP_USER_AGENT="outil-ars/1.0")
    assert response.status_code == 200
    rec = only("api:read")
    assert (rec.actor, rec.dossier_id, rec.ip, rec.user_agent) == (instructor, dossier.pk, "192.0.2.55",
                                                                  "outil-ars/1.0")
    assert client.get("/api/v1/dossiers/2024-32-999999",
                      HTTP_AUTHORIZATION=f"Bearer {raw_token}").status_code == 404
    assert AuditRecord.objects.filter(action="api:read").count() == 1


# --- Admin ------------------------------------------------------------------------------------------

def test_admin_is_read_only_and_scoped_to_the_region(client, db):
    ours = DossierFactory()
    theirs = DossierFactory(call=CallFactory(region=region("44")))
    mine = audit.record(None, "test:ours", ours)
    audit.record(None, "test:theirs", theirs)
    instructor = InstructorFactory()
    model_admin = admin_site._registry[AuditRecord]
    request = RequestFactory().get("/")
    request.user = instructor
    assert list(model_admin.get_queryset(request)) == [mine]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, mine)
    assert not model_admin.has_delete_permission(request, mine)
    client.force_login(instructor)
    listing = client.get(reverse("admin:core_auditrecord_changelist"))
    assert listing.status_code == 200 and "test:ours" in listing.content.decode()
    assert "test:theirs" not in listing.content.decode()
    assert client.get(reverse("admin:core_auditrecord_change", args=[mine.pk])).status_code == 200
    other = AuditRecord.objects.get(action="test:theirs")
    assert client.get(reverse("admin:core_auditrecord_change", args=[other.pk])).status_code in (302, 404)
    assert client.post(reverse("admin:core_auditrecord_delete", args=[mine.pk]), {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.count() == 2

    superuser = UserFactory(is_superuser=True, is_staff=True)
    request.user = superuser
    assert model_admin.get_queryset(request).count() == 2
    assert not model_admin.has_delete_permission(request, mine)

    applicant = UserFactory(is_staff=True)
    request.user = applicant
    assert not model_admin.has_module_permission(request)
    assert not model_admin.get_queryset(request).exists()
