"""An applicant deletes a draft (confirmation page, gone for all its members, audited; a filed dossier never)
and starts a new dossier on an open call from an existing one (answers, parties prenantes and attachments
copied where the field still exists; what was not copied is listed). Others cannot."""

import copy

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guichet.core.models import AuditRecord
from guichet.dossiers import drafts, services
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments.models import EstablishmentAccess, MembershipRequest
from tests.factories import CallFactory, InstructorFactory, UserFactory
from tests.test_dossier_filling import SCHEMA
from tests.test_eligibility import site

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def draft(db):
    """A draft of two members (its creator, who acts for the porteur, and an invited colleague), with answers,
    a partie prenante and a file."""
    porteur, partner = site("590780193", name="CH PORTEUR"), site("590000006", name="EHPAD PARTIE PRENANTE")
    creator, colleague = UserFactory(), UserFactory()
    for establishment in (porteur, partner):
        EstablishmentAccess.objects.create(user=creator, establishment=establishment)
    call = CallFactory(schema=SCHEMA)
    dossier = services.start_dossier(call, porteur, creator, partners=[partner])
    dossier.members.add(colleague)
    services.save_section(dossier, "identification", {"raison_sociale": "CH Porteur", "membre_ght": "non",
                                                      "absenteisme": "8,5"}, {}, creator)
    services.save_section(Dossier.objects.get(pk=dossier.pk), "actions",
                          {"actions-TOTAL_FORMS": "1", "actions__0__intitule": "Rails de transfert",
                           "actions__0__cout": "24 000,00"},
                          {"actions__0__devis": SimpleUploadedFile("devis.pdf", PDF, content_type="application/pdf")},
                          creator)
    return Dossier.objects.get(pk=dossier.pk), creator, colleague


def delete_url(dossier):
    return reverse("dossiers:delete", args=[dossier.pk])


# --- deleting a draft ------------------------------------------------------------------------------------

def test_the_creator_deletes_a_draft_after_confirming(client, draft, django_capture_on_commit_callbacks):
    dossier, creator, colleague = draft
    attachment = Attachment.objects.get(dossier=dossier)
    assert attachment.file.storage.exists(attachment.file.name)
    client.force_login(creator)
    assert "Supprimer le brouillon" in client.get(reverse("dossiers:summary", args=[dossier.pk])).content.decode()
    page = client.get(delete_url(dossier)).content.decode()
    assert "définitive" in page and colleague.email in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(delete_url(dossier), follow=True)
    assert "est supprimé" in response.content.decode()
    assert not Dossier.objects.filter(pk=dossier.pk).exists()
    assert not attachment.file.storage.exists(attachment.file.name)
    record = AuditRecord.objects.get(action="dossier:draft_deleted")
    assert record.dossier_id == dossier.pk and record.actor == creator
    client.force_login(colleague)  # gone for every member
    assert client.get(reverse("dossiers:summary", args=[dossier.pk])).status_code == 404
    assert "CH PORTEUR" not in client.get(reverse("dossiers:mine")).content.decode()


def test_a_filed_dossier_is_never_deleted(client, draft):
    dossier, creator, _ = draft
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number="2024-32-000001")
    dossier.refresh_from_db()
    client.force_login(creator)
    assert "Supprimer le brouillon" not in client.get(reverse("dossiers:summary", args=[dossier.pk])).content.decode()
    assert client.post(delete_url(dossier)).status_code == 403
    with pytest.raises(PermissionDenied, match="déposé ne peut pas être supprimé"):
        drafts.delete_draft(dossier, creator)
    assert Dossier.objects.filter(pk=dossier.pk).exists()


@pytest.mark.parametrize("who, status", [("other_applicant", 404), ("pending_claimant", 403), ("ars", 404)])
def test_others_cannot_delete(client, draft, who, status):
    dossier, _, _ = draft
    if who == "pending_claimant":  # invited to the dossier, but their claim on the porteur is not decided
        user = UserFactory()
        dossier.members.add(user)
        MembershipRequest.objects.create(user=user, establishment=dossier.establishment)
    else:
        user = UserFactory() if who == "other_applicant" else InstructorFactory()
    client.force_login(user)
    assert client.get(delete_url(dossier)).status_code == status
    assert client.post(delete_url(dossier)).status_code == status
    with pytest.raises(PermissionDenied):
        drafts.delete_draft(dossier, user)
    assert Dossier.objects.filter(pk=dossier.pk).exists()


# --- duplicating a dossier -------------------------------------------------------------------------------

@pytest.fixture
def next_call(db):
    schema = copy.deepcopy(SCHEMA)
    schema["sections"][0]["fields"] = [f for f in schema["sections"][0]["fields"] if f["key"] != "absenteisme"]
    return CallFactory(schema=schema, title="CLACT-QVCT 2025")


def test_duplicating_copies_what_the_new_form_still_has(client, draft, next_call):
    dossier, creator, _ = draft
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number="2024-32-000007")
    client.force_login(creator)
    url = reverse("dossiers:duplicate", args=[dossier.pk])
    assert "CLACT-QVCT 2025" in client.get(url).content.decode()
    response = client.post(url, {"call": next_call.pk}, follow=True)
    new = Dossier.objects.get(call=next_call)
    assert new.state == State.BROUILLON and new.pk != dossier.pk and list(new.members.all()) == [creator]
    assert new.answers["raison_sociale"] == "CH Porteur" and new.answers["actions"][0]["cout"] == "24000.00"
    assert new.answers["total"] == "24000.00"  # computed again
    assert [p.name for p in new.partners.all()] == ["EHPAD PARTIE PRENANTE"]
    copied = Attachment.objects.get(dossier=new)
    assert new.answers["actions"][0]["devis"]["attachment"] == copied.pk
    with copied.file.open("rb") as fh:
        assert fh.read() == PDF
    assert Attachment.objects.filter(dossier=dossier).count() == 1  # the original keeps its own
    page = response.content.decode()
    assert "Non repris" in page and "Taux d&#x27;absentéisme" in page
    assert Dossier.objects.get(pk=dossier.pk).state == State.EN_CONSTRUCTION


@pytest.mark.parametrize("who, status", [("other_applicant", 404), ("ars", 404)])
def test_others_cannot_duplicate(client, draft, next_call, who, status):
    dossier, _, _ = draft
    client.force_login(UserFactory() if who == "other_applicant" else InstructorFactory())
    assert client.post(reverse("dossiers:duplicate", args=[dossier.pk]), {"call": next_call.pk}).status_code == status
    assert not Dossier.objects.filter(call=next_call).exists()


def test_a_pending_claimant_cannot_duplicate_for_the_establishment(client, draft, next_call):
    dossier, _, _ = draft
    user = UserFactory()
    dossier.members.add(user)
    MembershipRequest.objects.create(user=user, establishment=dossier.establishment)
    client.force_login(user)
    response = client.post(reverse("dossiers:duplicate", args=[dossier.pk]), {"call": next_call.pk})
    assert response.status_code == 400 and "rattaché" in response.content.decode()
    assert not Dossier.objects.filter(call=next_call).exists()


def test_only_open_calls_of_the_porteur_region_are_offered(client, draft, next_call):
    import datetime as dt

    from django.utils import timezone

    from tests.factories import region

    dossier, creator, _ = draft
    CallFactory(title="Appel d'une autre région", region=region("44"))
    CallFactory(title="Appel clos", closes_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(creator)
    page = client.get(reverse("dossiers:duplicate", args=[dossier.pk])).content.decode()
    assert "CLACT-QVCT 2025" in page and "autre région" not in page and "Appel clos" not in page
