"""No data lost: a backup restores into a fresh database and storage identical, row for row and byte for
byte; missing or altered files are reported; files that no row refers to are collected."""

import datetime as dt
import json
import os
import time

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from guichet.core import storage as stored
from guichet.core.management.commands.backup import EXCLUDED_MODELS
from guichet.dossiers import services
from guichet.dossiers.models import Attachment, Dossier
from guichet.establishments.models import EstablishmentAccess
from guichet.establishments.regions import ensure_regions
from tests import s3
from tests.factories import PASSWORD, CallFactory, EstablishmentFactory, UserFactory
from tests.test_storage import SCHEMA, pdf

s3_server, s3_storage = s3.s3_server, s3.s3_storage  # fixtures: a moto S3 server on loopback


def everything() -> dict:
    """Every row of every application table, in pk order; many-to-many links without their own
    surrogate id (which Django's serialization does not carry, and nothing refers to)."""
    data = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in EXCLUDED_MODELS or "permission" in label:
            continue
        rows = list(model._base_manager.order_by("pk").values())
        if model._meta.auto_created:
            rows = sorted(tuple(sorted((k, v) for k, v in row.items() if k != "id")) for row in rows)
        data[label] = rows
    return data


def stored_bytes() -> dict:
    return {a.pk: (a.file.name, stored.digest(a.file.storage, a.file.name).sha256) for a in Attachment.objects.all()}


def make_data(client):
    applicant = UserFactory(email="porteur@exemple.fr")
    EstablishmentAccess.objects.create(user=applicant, establishment=EstablishmentFactory())
    call = CallFactory(schema=SCHEMA)
    dossier = services.start_dossier(call, applicant.establishments.get(), applicant)
    client.force_login(applicant)
    client.post(reverse("dossiers:section", args=[dossier.pk, "identification"]), {
        "raison_sociale": "CH de Lisieux",
        "avis_cse": SimpleUploadedFile("Avis CSE été.pdf", pdf("avis " * 50_000), content_type="application/pdf")})
    client.post(reverse("dossiers:section", args=[dossier.pk, "actions"]), {
        "actions__rows": "2", "actions__0__intitule": "Formation", "actions__1__intitule": "Rails",
        "actions__0__devis": SimpleUploadedFile("devis.pdf", pdf("devis"), content_type="application/pdf"),
        "actions__1__facture": SimpleUploadedFile("facture.pdf", pdf("facture"), content_type="application/pdf")})
    services.start_dossier(call, applicant.establishments.get(), applicant)  # a second, empty draft
    return applicant, Dossier.objects.get(pk=dossier.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", ["local", "s3"])
def test_backup_restores_into_a_fresh_database_and_storage_identical(client, tmp_path, settings, target, request):
    applicant, dossier = make_data(client)
    assert Attachment.objects.count() == 3
    before, files_before = everything(), stored_bytes()
    dest = tmp_path / "sauvegarde"

    call_command("backup", str(dest), verbosity=0)

    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["format"] == "guichet-backup" and manifest["problems"] == []
    assert manifest["database"]["objects"]["dossiers.attachment"] == 3
    assert "0002_stored_file" in manifest["migrations"]["dossiers"]
    by_name = {f["name"]: f for f in manifest["files"]}
    for attachment in Attachment.objects.all():
        assert by_name[attachment.file.name]["sha256"] == attachment.sha256
        assert (dest / "files" / "default" / attachment.file.name).read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError, match="n'est pas vide"):
        call_command("restore", str(dest), verbosity=0)  # not into an instance that has data

    # A fresh instance: migrated database (the 18 regions of the data migration) and empty storage.
    call_command("flush", interactive=False, verbosity=0)
    ensure_regions()
    if target == "s3":
        request.getfixturevalue("s3_storage")
    else:
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "nouveau-stockage")}}}
    assert not list(stored.walk(default_storage, "dossiers/"))

    call_command("restore", str(dest), verbosity=0)

    assert everything() == before
    assert stored_bytes() == files_before
    call_command("verify_storage", verbosity=0)
    assert client.login(email="porteur@exemple.fr", password=PASSWORD)
    item = Attachment.objects.get(field_path="actions.0.devis")
    settings.GUICHET_S3_PRESIGNED_SECONDS = 0
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk]))
    assert b"".join(response.streaming_content) == pdf("devis")
    # New rows get new ids after a restore (sequences follow the restored rows).
    again = services.start_dossier(dossier.call, applicant.establishments.get(), applicant)
    assert again.pk > max(row["id"] for row in before["dossiers.dossier"])


def test_backup_refuses_a_folder_that_is_not_empty_and_restore_an_incomplete_backup(tmp_path, db):
    (tmp_path / "x").write_text("occupé")
    with pytest.raises(CommandError, match="n'est pas vide"):
        call_command("backup", str(tmp_path), verbosity=0)
    with pytest.raises(CommandError, match="absent ou illisible"):
        call_command("restore", str(tmp_path), verbosity=0)


@pytest.fixture
def two_files(client, db):
    applicant = UserFactory()
    EstablishmentAccess.objects.create(user=applicant, establishment=EstablishmentFactory())
    dossier = services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)
    client.force_login(applicant)
    client.post(reverse("dossiers:section", args=[dossier.pk, "actions"]), {
        "actions__rows": "1", "actions__0__intitule": "Formation",
        "actions__0__devis": SimpleUploadedFile("devis.pdf", pdf("devis"), content_type="application/pdf"),
        "actions__0__facture": SimpleUploadedFile("facture.pdf", pdf("facture"), content_type="application/pdf")})
    return list(Attachment.objects.order_by("pk"))


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_verify_storage_reports_missing_and_altered_files(two_files, capsys, backend, request):
    if backend == "s3":
        request.getfixturevalue("s3_storage")
        two_files = [Attachment.objects.get(pk=a.pk) for a in two_files]
        for item in two_files:  # put them into the bucket, under the same names
            default_storage.save(item.file.name, ContentFile(pdf(item.original_name.split(".")[0])))
    call_command("verify_storage")
    assert "2 fichiers vérifiés : 0 absent, 0 modifié." in capsys.readouterr().out
    devis, facture = two_files
    default_storage.delete(devis.file.name)
    default_storage.delete(facture.file.name)
    default_storage.save(facture.file.name, ContentFile(pdf("facture falsifiée")))
    with pytest.raises(CommandError, match="2 fichiers vérifiés : 1 absent, 1 modifié"):
        call_command("verify_storage")
    errors = capsys.readouterr().err
    assert f"ABSENT — dossiers.attachment n° {devis.pk} : {devis.file.name}" in errors
    assert facture.file.name in errors and "MODIFIÉ" in errors


def test_backup_reports_a_missing_file_but_still_writes_the_rest(two_files, tmp_path):
    devis, facture = two_files
    default_storage.delete(devis.file.name)
    with pytest.raises(CommandError, match="1 fichier"):
        call_command("backup", str(tmp_path / "b"), verbosity=0)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [p["name"] for p in manifest["problems"]] == [devis.file.name]
    assert [f["name"] for f in manifest["files"]] == [facture.file.name]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_cleanup_removes_old_orphans_only(two_files, capsys, backend, request):
    if backend == "s3":
        request.getfixturevalue("s3_storage")
        for item in two_files:
            default_storage.save(item.file.name, ContentFile(b"x"))
    old = default_storage.save("dossiers/2026/01/orphelin-ancien.pdf", ContentFile(b"orphan"))
    if backend == "local":
        past = time.time() - 3 * 24 * 3600
        os.utime(default_storage.path(old), (past, past))
        hours = 24
    else:
        # S3 objects cannot be backdated and LastModified has a one-second grain: the threshold (3 s) leaves
        # the recent file 2 s of margin for the commands' own duration, the old one is 3.5 s older.
        time.sleep(3.5)
        hours = 3 / 3600
    recent = default_storage.save("dossiers/2026/01/orphelin-recent.pdf", ContentFile(b"orphan"))
    call_command("cleanup_orphan_files", "--dry-run", "--older-than-hours", str(hours))
    assert default_storage.exists(old) and f"à supprimer : {old}" in capsys.readouterr().out
    call_command("cleanup_orphan_files", "--older-than-hours", str(hours))
    out = capsys.readouterr().out
    assert not default_storage.exists(old) and default_storage.exists(recent)
    assert "4 fichiers examinés ; 1 orphelin supprimé ; 1 orphelin" in out
    assert all(default_storage.exists(a.file.name) for a in two_files)


def test_a_failed_save_leaves_no_orphan_file(client, db, monkeypatch):
    applicant = UserFactory()
    EstablishmentAccess.objects.create(user=applicant, establishment=EstablishmentFactory())
    dossier = services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)

    def broken(*args, **kwargs):
        raise RuntimeError("la base de données est tombée")

    monkeypatch.setattr(services.engine, "compute", broken)
    upload = SimpleUploadedFile("avis.pdf", pdf("avis"), content_type="application/pdf")
    with pytest.raises(RuntimeError):
        services.save_section(dossier, "identification", {"raison_sociale": "CH"}, {"avis_cse": upload}, applicant)
    assert not Attachment.objects.exists()
    assert list(stored.walk(default_storage, "dossiers/")) == []


def test_walk_lists_nested_files_with_their_time(db):
    default_storage.save("dossiers/2026/01/a.pdf", ContentFile(b"a"))
    default_storage.save("dossiers/2026/02/b.pdf", ContentFile(b"b"))
    default_storage.save("ailleurs/c.pdf", ContentFile(b"c"))
    listed = list(stored.walk(default_storage, "dossiers/"))
    assert sorted(item.name for item in listed) == ["dossiers/2026/01/a.pdf", "dossiers/2026/02/b.pdf"]
    assert all(item.modified > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5) for item in listed)
