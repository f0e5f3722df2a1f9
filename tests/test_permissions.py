"""Who may see or change a dossier, through the web pages and the file download view.

Rules (PRODUCT.md: "no one ever sees a dossier, a message or a file that is not theirs"):
applicants see only the dossiers they are members of; ARS staff see the filed dossiers of their
region only (never drafts), read-only; other regions get 404; a superuser sees everything.
The editing pages (parts, filing, partners, invitations) are for members only.
"""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from guichet.accounts.models import User
from guichet.dossiers import services
from guichet.dossiers.models import Attachment, Dossier, Invitation, State
from guichet.establishments.models import EstablishmentAccess
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)

SCHEMA = {"sections": [
    {"key": "identification", "title": "1. Identification", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True},
        {"key": "avis_cse", "type": "file", "label": "Avis du CSE"},
    ]},
    {"key": "budget", "title": "2. Budget", "fields": [
        {"key": "cout", "type": "amount", "label": "Coût total"},
    ]},
]}
ANSWERS = {"nom_projet": "Projet du CH de Lisieux", "cout": "1000.00"}
POSTED = {"nom_projet": "Réécrit par un tiers", "cout": "999999"}

LOGIN = "login"  # redirected to the login page
OK, SAVED, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404
PAGES = ("summary", "section", "section_post", "file", "attachment", "partners", "invite_post")

# A dossier is a draft (brouillon), filed (en construction: still editable by its members) or
# in instruction (read-only for everyone).
MATRIX = {
    #                                   summary    section    section POST file       attachment partners   invite POST
    ("member", "draft"):               (OK,        OK,        SAVED,       OK,        OK,        OK,        SAVED),
    ("member", "filed"):               (OK,        OK,        SAVED,       OK,        OK,        OK,        SAVED),
    ("member", "instruction"):         (OK,        OK,        FORBIDDEN,   OK,        OK,        OK,        FORBIDDEN),
    ("other_applicant", "draft"):      (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("other_applicant", "filed"):      (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("invited_pending", "draft"):      (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("invited_pending", "filed"):      (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("invited_accepted", "draft"):     (OK,        OK,        SAVED,       OK,        OK,        OK,        SAVED),
    ("invited_accepted", "filed"):     (OK,        OK,        SAVED,       OK,        OK,        OK,        SAVED),
    ("instructor_32", "draft"):        (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("instructor_32", "filed"):        (OK,        FORBIDDEN, FORBIDDEN,   FORBIDDEN, OK,        FORBIDDEN, FORBIDDEN),
    ("instructor_32", "instruction"):  (OK,        FORBIDDEN, FORBIDDEN,   FORBIDDEN, OK,        FORBIDDEN, FORBIDDEN),
    ("admin_32", "draft"):             (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("admin_32", "filed"):             (OK,        FORBIDDEN, FORBIDDEN,   FORBIDDEN, OK,        FORBIDDEN, FORBIDDEN),
    ("instructor_44", "draft"):        (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("instructor_44", "filed"):        (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("admin_44", "filed"):             (NOT_FOUND, NOT_FOUND, NOT_FOUND,   NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("superuser", "draft"):            (OK,        FORBIDDEN, FORBIDDEN,   FORBIDDEN, OK,        FORBIDDEN, FORBIDDEN),
    ("superuser", "filed"):            (OK,        FORBIDDEN, FORBIDDEN,   FORBIDDEN, OK,        FORBIDDEN, FORBIDDEN),
    ("anonymous", "draft"):            (LOGIN,     LOGIN,     LOGIN,       LOGIN,     LOGIN,     LOGIN,     LOGIN),
    ("anonymous", "filed"):            (LOGIN,     LOGIN,     LOGIN,       LOGIN,     LOGIN,     LOGIN,     LOGIN),
}
CASES = [pytest.param(role, state, view, code, id=f"{role}-{state}-{view}")
         for (role, state), codes in MATRIX.items() for view, code in zip(PAGES, codes, strict=True)]


@pytest.fixture
def world(db):
    """A region-32 call, applicant A's dossier with an attachment, and one user of every role."""
    call = CallFactory(schema=SCHEMA)
    mine = EstablishmentFactory()
    other = EstablishmentFactory(finess="140000076", name="CENTRE HOSPITALIER AUNAY-BAYEUX", siret="26140092300015")
    applicant = UserFactory(email="deposant.a@ch-lisieux.fr")
    EstablishmentAccess.objects.create(user=applicant, establishment=mine)
    other_applicant = UserFactory(email="deposant.b@ch-bayeux.fr")
    EstablishmentAccess.objects.create(user=other_applicant, establishment=other)
    dossier = DossierFactory(call=call, establishment=mine, created_by=applicant, answers=dict(ANSWERS))
    attachment = Attachment.objects.create(
        dossier=dossier, field_path="avis_cse", file=ContentFile(b"%PDF-1.4 avis", name="avis.pdf"),
        original_name="Avis CSE.pdf", size=13, content_type="application/pdf", scan_status="safe")
    dossier.answers["avis_cse"] = {"attachment": attachment.pk, "name": "Avis CSE.pdf", "size": 13}
    dossier.save()
    pending_colleague = UserFactory(email="collegue.attente@ch-lisieux.fr")
    Invitation.objects.create(dossier=dossier, email=pending_colleague.email, invited_by=applicant)
    colleague = UserFactory(email="collegue@ch-lisieux.fr")
    services.accept_invitation(
        Invitation.objects.create(dossier=dossier, email=colleague.email, invited_by=applicant), colleague)
    users = {
        "member": applicant,
        "other_applicant": other_applicant,
        "invited_pending": pending_colleague,
        "invited_accepted": colleague,
        "instructor_32": InstructorFactory(),
        "admin_32": ArsAdminFactory(),
        "instructor_44": InstructorFactory(region=region("44")),
        "admin_44": ArsAdminFactory(region=region("44")),
        "superuser": User.objects.create_superuser("super@exemple.fr", "motdepasse-de-test-2024"),
        "anonymous": None,
    }
    return {"call": call, "dossier": dossier, "attachment": attachment, "users": users, "other": other}


def put_in_state(dossier: Dossier, state: str) -> None:
    if state == "draft":
        return
    dossier.state = State.EN_CONSTRUCTION if state == "filed" else State.EN_INSTRUCTION
    dossier.number = f"2024-32-{dossier.pk:06d}"
    dossier.save()


def request(client, view: str, dossier: Dossier, attachment: Attachment):
    pk = dossier.pk
    if view == "summary":
        return [client.get(reverse("dossiers:summary", args=[pk]))]
    if view == "section":
        return [client.get(reverse("dossiers:section", args=[pk, s["key"]])) for s in SCHEMA["sections"]]
    if view == "section_post":
        return [client.post(reverse("dossiers:section", args=[pk, s["key"]]), POSTED) for s in SCHEMA["sections"]]
    if view == "file":
        return [client.get(reverse("dossiers:file", args=[pk]))]
    if view == "attachment":
        return [client.get(reverse("dossiers:attachment", args=[pk, attachment.pk]))]
    if view == "partners":
        return [client.get(reverse("dossiers:partners", args=[pk]))]
    if view == "invite_post":
        return [client.post(reverse("dossiers:invite", args=[pk]), {"email": "intrus@exemple.fr"})]
    raise AssertionError(view)


@pytest.mark.parametrize("role, state, view, expected", CASES)
def test_permission_matrix(client, world, role, state, view, expected):
    dossier, user = world["dossier"], world["users"][role]
    put_in_state(dossier, state)
    before = Dossier.objects.get(pk=dossier.pk)
    if user is not None:
        client.force_login(user)
    for response in request(client, view, dossier, world["attachment"]):
        if expected == LOGIN:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("account_login") + "?next=")
        else:
            assert response.status_code == expected, response
        if expected == OK and view == "attachment":
            assert b"".join(response.streaming_content) == b"%PDF-1.4 avis"
        if expected == OK and view == "summary":
            assert "Projet du CH de Lisieux" in response.content.decode()
        if expected in (NOT_FOUND, FORBIDDEN, LOGIN) and view != "attachment":
            # nothing of the dossier leaks into a refusal
            assert "Projet du CH de Lisieux" not in response.content.decode()
    after = Dossier.objects.get(pk=dossier.pk)
    if view == "section_post" and expected == SAVED:
        assert after.answers["nom_projet"] == POSTED["nom_projet"] and after.answers["cout"] == "999999.00"
    else:  # every refused or read-only request leaves the dossier exactly as it was
        assert (after.answers, after.pending, after.state, after.updated_at) == (
            before.answers, before.pending, before.state, before.updated_at)
    invited = Invitation.objects.filter(dossier=dossier, email="intrus@exemple.fr").exists()
    assert invited is (view == "invite_post" and expected == SAVED)


@pytest.mark.parametrize("role", ["instructor_32", "admin_32", "superuser", "other_applicant", "instructor_44"])
def test_non_members_cannot_write_partners(client, world, role):
    dossier = world["dossier"]
    put_in_state(dossier, "filed")
    client.force_login(world["users"][role])
    response = client.post(reverse("dossiers:partners", args=[dossier.pk]), {"partners": [world["other"].pk]})
    assert response.status_code in (FORBIDDEN, NOT_FOUND)
    assert not dossier.partners.exists()


def test_member_cannot_file_someone_elses_dossier_nor_a_draft_of_another_region(client, world):
    dossier = world["dossier"]
    client.force_login(world["users"]["other_applicant"])
    response = client.post(reverse("dossiers:file", args=[dossier.pk]))
    assert response.status_code == NOT_FOUND
    assert Dossier.objects.get(pk=dossier.pk).state == State.BROUILLON


def test_staff_listing_scope_follows_region_and_state(world):
    dossier = world["dossier"]
    users = world["users"]
    other_region_call = CallFactory(schema=SCHEMA, region=region("44"))
    far = DossierFactory(call=other_region_call, establishment=dossier.establishment,
                         created_by=users["member"], state=State.EN_CONSTRUCTION)
    put_in_state(dossier, "filed")
    visible = {role: set(Dossier.objects.visible_to(u).values_list("pk", flat=True))
               for role, u in users.items() if u is not None}
    assert visible["instructor_32"] == visible["admin_32"] == {dossier.pk}
    assert visible["instructor_44"] == visible["admin_44"] == {far.pk}
    assert visible["superuser"] == {dossier.pk, far.pk}
    assert visible["member"] == {dossier.pk, far.pk}
    assert visible["other_applicant"] == visible["invited_pending"] == set()


# --- an attachment is only served under its own dossier -------------------------------------------

@pytest.fixture
def second_dossier(world):
    """Applicant B's own dossier Y, on the same call."""
    users = world["users"]
    return DossierFactory(call=world["call"], establishment=world["other"], created_by=users["other_applicant"])


@pytest.mark.parametrize("state", ["draft", "filed"])
@pytest.mark.parametrize("role", ["other_applicant", "member_of_both", "instructor_32", "superuser"])
def test_attachment_of_x_under_y_url_is_404(client, world, second_dossier, role, state):
    x, y, attachment = world["dossier"], second_dossier, world["attachment"]
    put_in_state(x, state)
    put_in_state(y, state)
    if role == "member_of_both":
        y.members.add(world["users"]["member"])
        user = world["users"]["member"]
    else:
        user = world["users"][role]
    client.force_login(user)
    assert client.get(reverse("dossiers:attachment", args=[y.pk, attachment.pk])).status_code == NOT_FOUND
    own = Attachment.objects.create(dossier=y, field_path="avis_cse", file=ContentFile(b"y", name="y.pdf"),
                                    original_name="y.pdf", size=1, scan_status="safe")
    y_visible = role in ("other_applicant", "member_of_both", "superuser") or state == "filed"
    assert client.get(reverse("dossiers:attachment", args=[y.pk, own.pk])).status_code == (
        OK if y_visible else NOT_FOUND)
    # and the other way round: Y's file never comes out under X's address
    assert client.get(reverse("dossiers:attachment", args=[x.pk, own.pk])).status_code == NOT_FOUND


def test_unknown_attachment_or_dossier_is_404(client, world):
    client.force_login(world["users"]["member"])
    dossier = world["dossier"]
    assert client.get(reverse("dossiers:attachment", args=[dossier.pk, 999999])).status_code == NOT_FOUND
    assert client.get(reverse("dossiers:summary", args=[999999])).status_code == NOT_FOUND
    assert client.get(reverse("dossiers:section", args=[dossier.pk, "inconnue"])).status_code == NOT_FOUND


def test_staff_post_with_htmx_is_refused_too(client, world):
    dossier = world["dossier"]
    put_in_state(dossier, "filed")
    client.force_login(world["users"]["instructor_32"])
    response = client.post(reverse("dossiers:section", args=[dossier.pk, "identification"]), POSTED,
                           HTTP_HX_REQUEST="true")
    assert response.status_code in (FORBIDDEN, NOT_FOUND)
    assert Dossier.objects.get(pk=dossier.pk).answers == {**ANSWERS, "avis_cse": dossier.answers["avis_cse"]}


def test_expired_session_stash_is_not_applied_for_a_non_member(client, world):
    """A POST without a session is kept for after login; it must only ever be saved for a member."""
    dossier = world["dossier"]
    put_in_state(dossier, "filed")
    url = reverse("dossiers:section", args=[dossier.pk, "identification"])
    assert client.post(url, POSTED).status_code == 302
    client.force_login(world["users"]["instructor_32"])
    assert client.get(url).status_code == FORBIDDEN
    assert Dossier.objects.get(pk=dossier.pk).answers["nom_projet"] == ANSWERS["nom_projet"]
