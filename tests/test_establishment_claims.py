"""Who may act for an establishment (issue 11, point 1): a FINESS number is public, so a claim is only a
request. The first claim on an establishment nobody manages is confirmed by its region's ARS and makes a
referent; later claims are decided by the referents (of the establishment or of its legal entity); referents
remove members and name referents; members leave; every change is audited and e-mailed. Until a claim is
accepted, the claimant sees nothing of the establishment beyond the public directory: THE MATRIX below
tries every page and API route that shows establishment-level data with a pending and a refused claimant."""

import datetime as dt
import html
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from guichet.api.models import ApiToken, issue_token
from guichet.calls.models import CallKind
from guichet.commission.models import Document, DocumentKind
from guichet.core.models import AuditRecord
from guichet.dossiers import services
from guichet.dossiers.models import Attachment, Dossier
from guichet.establishments import claims
from guichet.establishments.models import (
    Establishment,
    EstablishmentAccess,
    GrantedVia,
    MembershipRequest,
    MembershipRole,
    RequestStatus,
)
from guichet.funding.models import InvoiceLine
from tests.factories import (
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    UserFactory,
    region,
)
from tests.test_payments import WINDOWS, make_grant

pytestmark = pytest.mark.django_db

MINE = reverse("establishments:mine")
ARS_QUEUE = reverse("establishments:ars_claims")
PDF = b"%PDF-1.4\n% facture\n"


def text(response) -> str:
    return html.unescape(response.content.decode())


def actions(*names):
    return list(AuditRecord.objects.filter(action__in=names).order_by("seq").values_list("action", flat=True))


@pytest.fixture
def lisieux(db):
    return EstablishmentFactory(city="LISIEUX")


@pytest.fixture
def referent(lisieux):
    user = UserFactory(email="referente@ch-lisieux.fr")
    EstablishmentAccess.objects.create(user=user, establishment=lisieux, role=MembershipRole.REFERENT,
                                       granted_via=GrantedVia.ARS)
    return user


def claim_over_http(client, user, establishment, **extra):
    client.force_login(user)
    return client.post(MINE, {"finess": establishment.finess, **extra})


# --- The hole, as an attacker used it ------------------------------------------------------------------

def test_attaching_by_finess_no_longer_opens_the_establishments_grants(client, lisieux):
    """On main, anyone who typed a public FINESS saw the establishment's grants and ledger at once."""
    grant = make_grant(lisieux, ["8000"], year=2022, reference="AVENANT-2022-SECRET")
    stranger = UserFactory()
    response = claim_over_http(client, stranger, lisieux)
    assert response.status_code == 302
    assert not stranger.establishments.exists()
    assert "AVENANT-2022-SECRET" not in text(client.get(reverse("funding:mine")))
    assert client.get(reverse("payments:ledger", args=[grant.pk])).status_code == 404
    page = text(client.get(MINE))
    assert "En attente" in page and "CENTRE HOSPITALIER DE LISIEUX" in page
    assert "décision attendue de l'ARS Hauts-de-France" in page


# --- First claim: the region's ARS confirms ------------------------------------------------------------

def test_the_first_claim_is_confirmed_by_the_regions_ars_and_makes_a_referent(
        client, lisieux, mailoutbox, django_capture_on_commit_callbacks):
    claimant = UserFactory(email="directeur@ch-lisieux.fr")
    with django_capture_on_commit_callbacks(execute=True):
        claim_over_http(client, claimant, lisieux, function="Directeur", message="Je dirige l'établissement.")
    req = MembershipRequest.objects.get(user=claimant)
    assert req.is_pending and req.function == "Directeur"
    assert mailoutbox == []  # nobody manages it yet: no referent to tell; the ARS has its queue

    other_ars = InstructorFactory(region=region("44"))
    client.force_login(other_ars)
    assert "directeur@ch-lisieux.fr" not in text(client.get(ARS_QUEUE))
    assert client.post(reverse("establishments:request_accept", args=[req.pk])).status_code == 404
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(ARS_QUEUE).status_code == 403
    assert client.post(reverse("establishments:request_accept", args=[req.pk])).status_code == 404
    client.force_login(claimant)
    assert client.post(reverse("establishments:request_accept", args=[req.pk])).status_code == 404
    assert not EstablishmentAccess.objects.filter(user=claimant).exists()

    ars = InstructorFactory()
    client.force_login(ars)
    page = text(client.get(ARS_QUEUE))
    assert "directeur@ch-lisieux.fr" in page and "Je dirige l'établissement." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("establishments:request_accept", args=[req.pk]))
    assert response.status_code == 302 and response["Location"] == ARS_QUEUE
    access = EstablishmentAccess.objects.get(user=claimant, establishment=lisieux)
    assert (access.role, access.granted_via, access.granted_by) == (MembershipRole.REFERENT, GrantedVia.ARS, ars)
    req.refresh_from_db()
    assert (req.status, req.decided_by) == (RequestStatus.ACCEPTED, ars) and req.decided_at is not None
    assert [m.to for m in mailoutbox] == [["directeur@ch-lisieux.fr"]]
    assert "est acceptée" in mailoutbox[0].body and "référent" in mailoutbox[0].body
    assert actions("establishment:claim", "establishment:accept") == ["establishment:claim", "establishment:accept"]
    accepted = AuditRecord.objects.get(action="establishment:accept")
    assert accepted.actor == ars and accepted.details["user"] == claimant.pk and accepted.details["via"] == "ars"
    assert "Aucune demande de rattachement n'attend la décision de l'ARS." in text(client.get(ARS_QUEUE))


def test_an_establishment_of_unknown_region_is_confirmed_by_the_platform(lisieux):
    lisieux.region = None
    lisieux.save()
    claimant, ars = UserFactory(), InstructorFactory()
    req = claims.claim(claimant, lisieux).request
    assert not claims.can_decide(ars, lisieux)
    assert not claims.first_claims_for_ars(ars).exists()
    superuser = UserFactory(is_superuser=True, is_staff=True)
    assert list(claims.first_claims_for_ars(superuser)) == [req]
    assert claims.accept(superuser, req).role == MembershipRole.REFERENT


# --- Later claims: the referents decide ----------------------------------------------------------------

def test_a_later_claim_is_decided_by_the_referents_and_makes_a_member(
        client, lisieux, referent, mailoutbox, django_capture_on_commit_callbacks):
    member = UserFactory(email="membre@ch-lisieux.fr")
    EstablishmentAccess.objects.create(user=member, establishment=lisieux, role=MembershipRole.MEMBER)
    claimant = UserFactory(email="collegue@ch-lisieux.fr")
    with django_capture_on_commit_callbacks(execute=True):
        claim_over_http(client, claimant, lisieux, function="Responsable RH")
    req = MembershipRequest.objects.get(user=claimant)
    assert [m.to for m in mailoutbox] == [["referente@ch-lisieux.fr"]]
    assert "collegue@ch-lisieux.fr" in mailoutbox[0].body and "Responsable RH" in mailoutbox[0].body

    ars = InstructorFactory()  # the establishment is managed: the ARS no longer decides
    client.force_login(ars)
    assert "collegue@ch-lisieux.fr" not in text(client.get(ARS_QUEUE))
    assert client.post(reverse("establishments:request_accept", args=[req.pk])).status_code == 404
    for outsider in (member, claimant, UserFactory()):
        client.force_login(outsider)
        assert client.post(reverse("establishments:request_accept", args=[req.pk])).status_code == 404
        assert client.get(reverse("establishments:request_refuse", args=[req.pk])).status_code == 404
        assert "collegue@ch-lisieux.fr" not in text(client.get(MINE)) or outsider == claimant
    with pytest.raises(PermissionDenied):
        claims.accept(member, req)
    assert not EstablishmentAccess.objects.filter(user=claimant).exists()

    client.force_login(referent)
    page = text(client.get(MINE))
    assert "Demandes de rattachement à traiter (1)" in page and "collegue@ch-lisieux.fr" in page
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("establishments:request_accept", args=[req.pk]))
    assert response.status_code == 302 and response["Location"] == MINE
    access = EstablishmentAccess.objects.get(user=claimant, establishment=lisieux)
    assert (access.role, access.granted_via, access.granted_by) == (MembershipRole.MEMBER, GrantedVia.REFERENT,
                                                                   referent)
    assert [m.to for m in mailoutbox] == [["collegue@ch-lisieux.fr"]]
    assert "est acceptée" in mailoutbox[0].body and "membre" in mailoutbox[0].body
    # Decided twice (another tab): refused cleanly, nothing changes.
    with pytest.raises(ValidationError):
        claims.accept(referent, req)


def test_a_refusal_needs_a_reason_which_the_claimant_reads(
        client, lisieux, referent, mailoutbox, django_capture_on_commit_callbacks):
    claimant = UserFactory(email="intrus@exemple.fr")
    req = claims.claim(claimant, lisieux).request
    client.force_login(referent)
    url = reverse("establishments:request_refuse", args=[req.pk])
    assert "intrus@exemple.fr" in text(client.get(url))
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 400
    assert "Indiquez le motif du refus" in text(response)
    response = client.post(url, {"reason": "x" * 1001})
    assert response.status_code == 400 and "1000" in text(response)
    req.refresh_from_db()
    assert req.is_pending
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Personne inconnue de la direction."})
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.reason) == (RequestStatus.REFUSED, referent,
                                                        "Personne inconnue de la direction.")
    assert [m.to for m in mailoutbox] == [["intrus@exemple.fr"]]
    assert "Personne inconnue de la direction." in mailoutbox[0].body
    assert actions("establishment:refuse") == ["establishment:refuse"]
    client.force_login(claimant)
    page = text(client.get(MINE))
    assert "Refusée" in page and "Personne inconnue de la direction." in page
    assert not claimant.establishments.exists()
    with pytest.raises(ValidationError):
        claims.refuse(referent, req, "Encore.")


def test_the_referents_of_the_legal_entity_decide_for_its_other_sites(lisieux, referent):
    sibling = EstablishmentFactory(finess="140000076", name="SITE DE BAYEUX", siret="26140092300015",
                                   legal_entity=lisieux.legal_entity)
    claimant = UserFactory()
    req = claims.claim(claimant, sibling).request
    assert not claims.decided_by_ars(sibling)
    assert claims.decider_label(sibling) == "les référents de l'établissement"
    assert list(claims.requests_to_decide(referent)) == [req]
    assert not claims.first_claims_for_ars(InstructorFactory()).exists()
    assert claims.accept(referent, req).role == MembershipRole.MEMBER
    # The legal entity's referent claiming the site is accepted at once: they would decide it anyway.
    outcome = claims.claim(referent, sibling)
    assert outcome.created and (outcome.access.role, outcome.access.granted_via) == (MembershipRole.REFERENT,
                                                                                    GrantedVia.REFERENT)
    # Another legal entity's referent has no say.
    other = EstablishmentFactory(finess="140000209", name="CHU DE CAEN", siret="26140093100018",
                                 legal_entity=LegalEntityFactory(finess="140000100", siren="261400931", name="CHU"))
    req = claims.claim(UserFactory(), other).request
    assert not claims.can_decide(referent, other)
    with pytest.raises(PermissionDenied):
        claims.accept(referent, req)


# --- Members ------------------------------------------------------------------------------------------

def test_a_referent_removes_a_member_and_names_another_referent(
        client, lisieux, referent, mailoutbox, django_capture_on_commit_callbacks):
    second_referent = UserFactory(email="drh@ch-lisieux.fr")
    EstablishmentAccess.objects.create(user=second_referent, establishment=lisieux, role=MembershipRole.REFERENT)
    member = UserFactory(email="membre@ch-lisieux.fr")
    colleague = UserFactory(email="collegue@ch-lisieux.fr")
    member_access = EstablishmentAccess.objects.create(user=member, establishment=lisieux)
    colleague_access = EstablishmentAccess.objects.create(user=colleague, establishment=lisieux)

    client.force_login(member)  # a plain member sees the list, changes nothing
    page = text(client.get(reverse("establishments:members", args=[lisieux.pk])))
    assert "collegue@ch-lisieux.fr" in page and "Nommer référent" not in page
    assert client.post(reverse("establishments:member_remove", args=[colleague_access.pk])).status_code == 404
    assert client.post(reverse("establishments:member_promote", args=[colleague_access.pk])).status_code == 404
    client.force_login(UserFactory())
    assert client.get(reverse("establishments:members", args=[lisieux.pk])).status_code == 404
    assert EstablishmentAccess.objects.filter(pk=colleague_access.pk, role=MembershipRole.MEMBER).exists()

    client.force_login(referent)
    assert "Nommer référent" in text(client.get(reverse("establishments:members", args=[lisieux.pk])))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("establishments:member_remove", args=[member_access.pk]))
    assert response.status_code == 302
    assert not EstablishmentAccess.objects.filter(pk=member_access.pk).exists()
    assert sorted(tuple(m.to) for m in mailoutbox) == [("drh@ch-lisieux.fr",), ("membre@ch-lisieux.fr",)]
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("establishments:member_promote", args=[colleague_access.pk]))
    colleague_access.refresh_from_db()
    assert colleague_access.role == MembershipRole.REFERENT
    assert [m.to for m in mailoutbox] == [["collegue@ch-lisieux.fr", "drh@ch-lisieux.fr"]]
    assert actions("establishment:remove", "establishment:promote") == ["establishment:remove",
                                                                        "establishment:promote"]
    removed = AuditRecord.objects.get(action="establishment:remove")
    assert removed.actor == referent and removed.details["user"] == member.pk


def test_a_member_leaves_and_the_referents_are_told(
        client, lisieux, referent, mailoutbox, django_capture_on_commit_callbacks):
    member = UserFactory(email="membre@ch-lisieux.fr")
    EstablishmentAccess.objects.create(user=member, establishment=lisieux)
    client.force_login(member)
    assert client.get(reverse("establishments:detach", args=[lisieux.pk])).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("establishments:detach", args=[lisieux.pk]), follow=True)
    assert "Vous n'agissez plus pour l'établissement" in text(response)
    assert not member.establishments.exists()
    assert [m.to for m in mailoutbox] == [["referente@ch-lisieux.fr"]] and "a quitté" in mailoutbox[0].body
    assert actions("establishment:leave") == ["establishment:leave"]
    # The last referent leaving hands the next first claim back to the ARS.
    claims.leave(referent, lisieux)
    assert claims.decided_by_ars(lisieux)


def test_who_stops_acting_for_the_establishment_leaves_the_dossiers_it_carries(
        client, lisieux, referent, django_capture_on_commit_callbacks):
    """A referent removes a colleague who left the hospital: the colleague no longer reads its dossiers; a dossier
    they filed alone passes to the referents; a dossier where Lisieux is only a party is not touched."""
    member = UserFactory(email="membre@ch-lisieux.fr")
    colleague = UserFactory(email="collegue@ch-lisieux.fr")
    access = EstablishmentAccess.objects.create(user=member, establishment=lisieux)
    EstablishmentAccess.objects.create(user=colleague, establishment=lisieux)
    shared = DossierFactory(establishment=lisieux, created_by=member)
    shared.members.add(colleague)
    alone = DossierFactory(establishment=lisieux, created_by=member, call=shared.call)
    elsewhere = DossierFactory(establishment=EstablishmentFactory(finess="750000010", name="AUTRE PORTEUR"),
                               created_by=member, call=shared.call)
    elsewhere.partners.add(lisieux)
    client.force_login(member)
    assert client.get(reverse("dossiers:summary", args=[alone.pk])).status_code == 200

    client.force_login(referent)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("establishments:member_remove", args=[access.pk])).status_code == 302
    assert set(shared.members.all()) == {colleague}
    assert set(alone.members.all()) == {referent}
    assert set(elsewhere.members.all()) == {member}
    client.force_login(member)
    for dossier in (shared, alone):
        assert client.get(reverse("dossiers:summary", args=[dossier.pk])).status_code in (403, 404)
    assert client.get(reverse("dossiers:summary", args=[elsewhere.pk])).status_code == 200
    left = AuditRecord.objects.filter(action="dossier:member_left").order_by("seq")
    assert [(r.dossier_id, r.actor_id, r.details["taken_over_by"]) for r in left] == [
        (shared.pk, referent.pk, []), (alone.pk, referent.pk, [referent.pk])]

    # Leaving of one's own accord: the same; with nobody to take over, the dossier keeps its only member.
    claims.leave(colleague, lisieux)
    assert set(shared.members.all()) == {referent}
    claims.leave(referent, lisieux)
    assert set(shared.members.all()) == {referent} and set(alone.members.all()) == {referent}


def test_nobody_decides_their_own_claim_and_a_deactivated_referent_manages_nothing(lisieux, referent):
    colleague = UserFactory()
    req = claims.claim(colleague, lisieux).request
    sibling = EstablishmentFactory(finess="140000076", name="SITE DE BAYEUX", siret="26140092300015",
                                   legal_entity=lisieux.legal_entity)
    EstablishmentAccess.objects.create(user=colleague, establishment=sibling, role=MembershipRole.REFERENT)
    assert claims.can_decide(colleague, lisieux)  # a referent of the legal entity now, yet not of their own claim
    with pytest.raises(PermissionDenied):
        claims.accept(colleague, req)
    with pytest.raises(PermissionDenied):
        claims.refuse(colleague, req, "Je me refuse.")
    claims.leave(colleague, sibling)
    referent.is_active = False
    referent.save()
    assert claims.decided_by_ars(lisieux)
    assert list(claims.first_claims_for_ars(InstructorFactory())) == [req]


def test_a_claimant_withdraws_a_pending_claim(client, lisieux):
    claimant = UserFactory()
    req = claims.claim(claimant, lisieux).request
    client.force_login(UserFactory())
    assert client.post(reverse("establishments:request_withdraw", args=[req.pk])).status_code == 404
    client.force_login(claimant)
    assert client.post(reverse("establishments:request_withdraw", args=[req.pk])).status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN
    assert actions("establishment:withdraw") == ["establishment:withdraw"]


def test_one_pending_claim_per_user_and_establishment(client, lisieux):
    claimant = UserFactory()
    claim_over_http(client, claimant, lisieux)
    response = client.post(MINE, {"finess": lisieux.finess}, follow=True)
    assert "est déjà en attente" in text(response)
    assert MembershipRequest.objects.filter(user=claimant).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipRequest.objects.create(user=claimant, establishment=lisieux)


def test_the_claimants_words_are_bounded_at_the_field(client, lisieux):
    claimant = UserFactory()
    response = claim_over_http(client, claimant, lisieux, function="F" * 151, message="M" * 1001)
    page = text(response)
    assert response.status_code == 400
    assert "au plus 150 caractères" in page and "au plus 1000 caractères" in page
    assert 'value="140000027"' in page and "F" * 151 in page
    assert not MembershipRequest.objects.exists()


def test_a_hand_entered_establishment_gets_only_a_pending_claim_for_the_chosen_regions_ars(client):
    claimant = UserFactory()
    client.force_login(claimant)
    response = client.post(reverse("establishments:create"), {
        "finess": "590780193", "name": "Clinique des Tilleuls", "sector": "medico_social", "legal_status": "espic",
        "department": "59", "region": region("32").pk, "ej_finess": "590000014", "ej_name": "Association",
    })
    assert response.status_code == 302
    establishment = Establishment.objects.get(finess="590780193")
    assert not claimant.establishments.exists()
    req = MembershipRequest.objects.get(user=claimant, establishment=establishment, status=RequestStatus.PENDING)
    assert list(claims.first_claims_for_ars(InstructorFactory())) == [req]
    assert not claims.first_claims_for_ars(InstructorFactory(region=region("44"))).exists()


def test_existing_memberships_become_referents_in_the_migration(lisieux):
    old = EstablishmentAccess.objects.create(user=UserFactory(), establishment=lisieux)
    migration = importlib.import_module("guichet.establishments.migrations.0003_membership_requests")
    migration.existing_members_become_referents(django_apps, None)
    old.refresh_from_db()
    assert (old.role, old.granted_via) == (MembershipRole.REFERENT, GrantedVia.MIGRATION)


def test_identity_never_vouches_without_a_proconnect_login(lisieux):
    assert not claims.identity_vouches(UserFactory(), lisieux)


# --- THE MATRIX: a pending or refused claimant sees nothing of the establishment ------------------------

@pytest.fixture
def world(lisieux, referent):
    application_call = CallFactory()
    proofs_call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                              covered_years=[2022])
    grant = make_grant(lisieux, ["8000", "3000"], year=2022, reference="AVENANT-2022-LISIEUX")
    dossier = DossierFactory(call=application_call, establishment=lisieux, created_by=referent,
                             answers={"nom_projet": "Projet QVCT de Lisieux"})
    attachment = Attachment.objects.create(dossier=dossier, field_path="devis", original_name="devis.pdf",
                                           file=ContentFile(PDF, name="devis.pdf"), size=len(PDF),
                                           content_type="application/pdf", scan_status="safe")
    document = Document.objects.create(kind=DocumentKind.CONVENTION, dossier=dossier, original_name="convention.pdf",
                                       file=ContentFile(PDF, name="convention.pdf"), size=len(PDF),
                                       content_type="application/pdf", scan_status="safe")
    proofs = DossierFactory(call=proofs_call, establishment=lisieux, created_by=referent)
    invoice_file = Attachment.objects.create(dossier=proofs, field_path="factures", original_name="facture.pdf",
                                             file=ContentFile(PDF, name="facture.pdf"), size=len(PDF),
                                             content_type="application/pdf", scan_status="safe")
    action = grant.actions.get(position=1)
    line = InvoiceLine.objects.create(dossier=proofs, action=action, supplier="Ergonomie Conseil", number="F-1",
                                      attachment=invoice_file, invoice_date=dt.date(2024, 3, 1),
                                      amount_ttc=Decimal("1200"), amount_ht=Decimal("1000"),
                                      received_at=timezone.now())
    pending = UserFactory(email="en.attente@exemple.fr")
    claims.claim(pending, lisieux, function="Se dit directeur")
    refused = UserFactory(email="refuse@exemple.fr")
    claims.refuse(referent, claims.claim(refused, lisieux).request, "Inconnu de l'établissement.")
    return {"referent": referent, "pending": pending, "refused": refused, "grant": grant, "dossier": dossier,
            "attachment": attachment, "document": document, "proofs": proofs, "line": line, "action": action,
            "application_call": application_call, "proofs_call": proofs_call}


# Pages that show one object of the establishment: the referent gets 200, a claimant 403 or 404.
DETAIL_PAGES = {
    "grant ledger": lambda w: reverse("payments:ledger", args=[w["grant"].pk]),
    "grant's convention page": lambda w: reverse("commission:grant", args=[w["grant"].pk]),
    "decision document": lambda w: reverse("commission:document", args=[w["document"].pk]),
    "dossier summary": lambda w: reverse("dossiers:summary", args=[w["dossier"].pk]),
    "dossier part": lambda w: reverse("dossiers:section", args=[w["dossier"].pk, "identification"]),
    "dossier partners": lambda w: reverse("dossiers:partners", args=[w["dossier"].pk]),
    "dossier attachment": lambda w: reverse("dossiers:attachment", args=[w["dossier"].pk, w["attachment"].pk]),
    "dossier files zip": lambda w: reverse("dossiers:zip", args=[w["dossier"].pk]),
    "dossier messages": lambda w: reverse("messaging:thread", args=[w["dossier"].pk]),
    "proofs invoices": lambda w: reverse("funding:invoices", args=[w["proofs"].pk]),
    "proofs bordereau": lambda w: reverse("funding:bordereau", args=[w["proofs"].pk]),
    "invoice's file": lambda w: reverse("dossiers:attachment", args=[w["proofs"].pk, w["line"].attachment_id]),
}
# Actions that change the establishment's data: a claimant changes nothing.
ACTIONS = {
    "add an invoice": lambda w: (reverse("funding:invoice_add", args=[w["proofs"].pk]), {
        "action": w["action"].pk, "supplier": "Fournisseur pirate", "number": "X-1", "invoice_date": "2024-03-01",
        "amount_ht": "100", "amount_ttc": "120"}),
    "attach a file to an invoice": lambda w: (reverse("funding:invoice_file", args=[w["proofs"].pk, w["line"].pk]),
                                              {"file": ContentFile(PDF, name="pirate.pdf")}),
    "delete an invoice": lambda w: (reverse("funding:invoice_delete", args=[w["proofs"].pk, w["line"].pk]), {}),
    "set a completion": lambda w: (reverse("funding:progress", args=[w["proofs"].pk]), {
        "action": w["action"].pk, "completion": "realisee"}),
    "start a dossier": lambda w: (reverse("dossiers:start", args=[w["application_call"].slug]), {
        "establishment": w["grant"].beneficiary_id}),
    "start a proofs dossier": lambda w: (reverse("dossiers:start", args=[w["proofs_call"].slug]), {
        "establishment": w["grant"].beneficiary_id}),
}
CLAIMANTS = ("pending", "refused")


@pytest.mark.parametrize("page", DETAIL_PAGES)
def test_matrix_the_referent_gets_each_page(client, world, page):
    client.force_login(world["referent"])
    assert client.get(DETAIL_PAGES[page](world)).status_code == 200


@pytest.mark.parametrize("claimant", CLAIMANTS)
@pytest.mark.parametrize("page", DETAIL_PAGES)
def test_matrix_a_claimant_gets_403_or_404_on_each_page(client, world, claimant, page):
    client.force_login(world[claimant])
    assert client.get(DETAIL_PAGES[page](world)).status_code in (403, 404)


@pytest.mark.parametrize("claimant", CLAIMANTS)
@pytest.mark.parametrize("action", ACTIONS)
def test_matrix_a_claimant_changes_nothing(client, world, claimant, action):
    url, data = ACTIONS[action](world)
    client.force_login(world[claimant])
    before = (Dossier.objects.count(), list(InvoiceLine.objects.values_list("pk", "supplier", "status",
                                                                            "attachment_id")))
    response = client.post(url, data)
    # The start form lists confirmed establishments only: it comes back with the choice refused at the field.
    assert response.status_code in ((200, 400) if action.startswith("start") else (403, 404))
    if action.startswith("start"):
        assert "Sélectionnez un choix valide" in text(response) or "Choisissez" in text(response)
    assert (Dossier.objects.count(), list(InvoiceLine.objects.values_list("pk", "supplier", "status",
                                                                          "attachment_id"))) == before


@pytest.mark.parametrize("claimant", CLAIMANTS)
def test_matrix_lists_show_a_claimant_nothing_of_the_establishment(client, world, claimant):
    client.force_login(world[claimant])
    grants = text(client.get(reverse("funding:mine")))
    assert "AVENANT-2022-LISIEUX" not in grants and "8\u202f000" not in grants
    dossiers = text(client.get(reverse("dossiers:mine")))
    assert reverse("dossiers:summary", args=[world["dossier"].pk]) not in dossiers
    assert reverse("funding:invoices", args=[world["proofs"].pk]) not in dossiers
    for call in ("application_call", "proofs_call"):
        start = text(client.get(reverse("dossiers:start", args=[world[call].slug])))
        assert "CENTRE HOSPITALIER DE LISIEUX" not in start
    mine = text(client.get(reverse("establishments:mine")))
    assert "AVENANT" not in mine and "Gérer les membres" not in mine and "Voir les membres" not in mine
    assert client.get(reverse("establishments:members", args=[world["grant"].beneficiary_id])).status_code == 404
    # What the list of claims shows is the public directory's: name, FINESS, city.
    assert "CENTRE HOSPITALIER DE LISIEUX" in mine and "140000027" in mine and "LISIEUX" in mine
    assert "26140091500011" not in mine  # the SIRET is shown to members only


@pytest.mark.parametrize("claimant", CLAIMANTS)
def test_matrix_the_services_refuse_a_claimant_on_the_server(world, claimant):
    user, establishment = world[claimant], world["grant"].beneficiary
    with pytest.raises(PermissionDenied):
        services.start_dossier(world["application_call"], establishment, user)
    from guichet.funding.models import Grant

    assert not Grant.objects.visible_to(user).exists()
    assert not Dossier.objects.visible_to(user).exists()


@pytest.mark.parametrize("claimant", CLAIMANTS)
def test_matrix_the_api_is_closed_to_a_claimant(client, world, claimant):
    """The API serves ARS staff only: a claimant can neither get a token nor use one."""
    user = world[claimant]
    with pytest.raises(ValidationError):
        issue_token(user, "outil")
    token, secret = issue_token(InstructorFactory(), "outil")
    ApiToken.objects.filter(pk=token.pk).update(user=user)
    for url in (f"/api/v1/ledgers/{world['grant'].pk}", "/api/v1/ledgers", f"/api/v1/dossiers/{world['dossier'].pk}"):
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_a_membership_added_in_the_admin_is_recorded_and_told(
        client, lisieux, referent, mailoutbox, django_capture_on_commit_callbacks):
    superuser = UserFactory(email="plateforme@exemple.fr", is_superuser=True, is_staff=True)
    newcomer = UserFactory(email="nouvelle@ch-lisieux.fr")
    client.force_login(superuser)
    url = reverse("admin:establishments_establishment_change", args=[lisieux.pk])
    form = client.get(url).context["adminform"].form
    data = {name: ("" if value is None else getattr(value, "pk", value)) for name, value in form.initial.items()
            if name in form.fields}
    existing = EstablishmentAccess.objects.get(user=referent)
    prefix = "establishmentaccess_set"
    data.update({f"{prefix}-TOTAL_FORMS": "2", f"{prefix}-INITIAL_FORMS": "1", f"{prefix}-MIN_NUM_FORMS": "0",
                 f"{prefix}-MAX_NUM_FORMS": "1000",
                 f"{prefix}-0-id": existing.pk, f"{prefix}-0-establishment": lisieux.pk,
                 f"{prefix}-0-user": referent.pk, f"{prefix}-0-role": "referent",
                 f"{prefix}-1-establishment": lisieux.pk, f"{prefix}-1-user": newcomer.pk,
                 f"{prefix}-1-role": "membre"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    access = EstablishmentAccess.objects.get(user=newcomer)
    assert (access.granted_by, access.granted_via) == (superuser, GrantedVia.ADMIN)
    record = AuditRecord.objects.get(action="establishment:accept")
    assert record.actor == superuser and record.details["user"] == newcomer.pk
    assert sorted(mailoutbox[0].to) == ["nouvelle@ch-lisieux.fr", "referente@ch-lisieux.fr"]
    assert client.get(reverse("admin:establishments_membershiprequest_changelist")).status_code == 200
