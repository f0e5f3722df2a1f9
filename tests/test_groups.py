"""Instructor groups (routing at filing, reassignment, workspace filter), who among the ARS is e-mailed,
per-instructor notification preferences (page and effect) and the daily digest."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from guichet.core.models import AuditRecord
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Dossier
from guichet.establishments.models import Establishment
from guichet.instruction import groups
from guichet.instruction.models import DossierGroup, InstructorGroup, NewDossierNotice, NotificationPreference
from guichet.instruction.preferences import staff_recipients
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)

pytestmark = pytest.mark.django_db


def establishment(finess, department):
    return Establishment.objects.create(finess=finess, name=f"Établissement {finess}", department=department,
                                        sector="sanitaire", legal_status="public", region=region("32"))


def draft(call, est=None):
    d = DossierFactory(call=call, establishment=est or EstablishmentFactory())
    Dossier.objects.filter(pk=d.pk).update(answers={"nom_projet": "QVCT", "cout": "1000.00"})
    return Dossier.objects.get(pk=d.pk)


def filed(call, est=None, when=None):
    """A filed dossier (no e-mail, no routing: written directly)."""
    d = DossierFactory(call=call, establishment=est or EstablishmentFactory())
    when = when or timezone.now()
    d.state, d.number, d.first_filed_at, d.last_filed_at = "en_construction", f"2024-32-{d.pk:06d}", when, when
    d.save()
    return d


@pytest.fixture
def call():
    return CallFactory()


@pytest.fixture
def setup(call):
    """Two groups: « Nord » (59, 62) and the default « Autres départements »; members of each."""
    north_member, other_member, outsider = InstructorFactory(), InstructorFactory(), InstructorFactory()
    north = InstructorGroup.objects.create(call=call, name="Nord", departments=["59", "62"])
    north.members.add(north_member)
    default = InstructorGroup.objects.create(call=call, name="Autres départements", is_default=True)
    default.members.add(other_member)
    return {"north": north, "default": default, "north_member": north_member, "other_member": other_member,
            "outsider": outsider}


# --- routing ----------------------------------------------------------------------------------------

def test_filing_routes_by_department_else_to_the_default_group(call, setup, django_capture_on_commit_callbacks):
    lille, caen = establishment("590000001", "59"), establishment("140000999", "14")
    first, second = draft(call, lille), draft(call, caen)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.file_dossier(first, first.created_by)
    assert groups.group_of(first) == setup["north"]
    # The applicant's acknowledgement, then the group's notice (members only, not the whole region).
    staff = [m for m in mail.outbox if setup["north_member"].email in m.to]
    assert len(staff) == 1 and staff[0].to == [setup["north_member"].email]
    assert first.number in staff[0].subject and "Groupe instructeur : Nord" in staff[0].body
    assert reverse("instruction:dossier", args=[first.pk]) in staff[0].body
    assert not [m for m in mail.outbox if setup["outsider"].email in m.to]
    services.file_dossier(second, second.created_by)
    assert groups.group_of(second) == setup["default"]


def test_a_call_without_groups_routes_nowhere_and_tells_no_instructor(call, django_capture_on_commit_callbacks):
    InstructorFactory()
    d = draft(call)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_dossier(d, d.created_by)
    assert not DossierGroup.objects.exists()
    assert [m.to for m in mail.outbox] == [[d.created_by.email]]  # the acknowledgement only


def test_filing_notice_follows_the_preferences(call, setup, django_capture_on_commit_callbacks):
    every = InstructorFactory()
    NotificationPreference.objects.create(user=every, call=call, on_new_dossier=NewDossierNotice.EACH)
    NotificationPreference.objects.create(user=setup["north_member"], call=call,
                                          on_new_dossier=NewDossierNotice.NEVER)
    d = draft(call, establishment("620000001", "62"))
    with django_capture_on_commit_callbacks(execute=True):
        services.file_dossier(d, d.created_by)
    staff = [m for m in mail.outbox if m.subject.startswith("Nouveau dossier")]
    assert len(staff) == 1 and staff[0].to == [every.email]


def test_route_keeps_an_existing_group(call, setup):
    d = filed(call, establishment("590000002", "59"))
    DossierGroup.objects.create(dossier=d, group=setup["default"])
    assert groups.route(d) == setup["default"]


# --- reassignment -----------------------------------------------------------------------------------

def test_an_instructor_of_the_region_reassigns_and_it_is_audited(client, call, setup):
    d = filed(call, establishment("590000003", "59"))
    groups.route(d)
    instructor = InstructorFactory()
    client.force_login(instructor)
    page = client.get(reverse("instruction:dossier", args=[d.pk])).content.decode()
    assert 'id="groupe-instructeur"' in page and 'for="assignment-group"' in page
    assert "Ce dossier est confié au groupe « Nord »" in page
    url = reverse("instruction:assign_group", args=[d.pk])
    response = client.post(url, {"groupe": setup["default"].pk})
    assert response.status_code == 302
    assert groups.group_of(d) == setup["default"]
    record = AuditRecord.objects.filter(action="assignment").get()
    assert record.dossier_id == d.pk and record.details["group"] == "Autres départements"
    assert record.details["previous"] == "Nord" and record.actor == instructor
    client.post(url, {"groupe": ""})
    assert groups.group_of(d) is None


def test_reassignment_is_refused_outside_the_region_and_to_another_calls_group(client, call, setup):
    d = filed(call, establishment("590000004", "59"))
    groups.route(d)
    url = reverse("instruction:assign_group", args=[d.pk])
    client.force_login(InstructorFactory(region=region("44")))
    assert client.post(url, {"groupe": setup["default"].pk}).status_code == 404
    client.force_login(d.created_by)
    assert client.post(url, {"groupe": setup["default"].pk}).status_code == 404
    foreign = InstructorGroup.objects.create(call=CallFactory(), name="Autre appel")
    client.force_login(InstructorFactory())
    assert client.post(url, {"groupe": foreign.pk}).status_code == 404
    assert client.post(url, {"groupe": "abc"}).status_code == 404
    assert client.get(url).status_code == 405
    assert groups.group_of(d) == setup["north"]


# --- workspace filter -------------------------------------------------------------------------------

def test_workspace_filters_on_the_group(client, call, setup):
    north = filed(call, establishment("590000005", "59"))
    other = filed(call, establishment("140000998", "14"))
    loose = filed(call, establishment("750000001", "75"))
    groups.route(north)
    groups.route(other)
    client.force_login(InstructorFactory())
    url = reverse("instruction:workspace", args=[call.slug])
    page = client.get(url).content.decode()
    assert 'for="id_groupe"' in page and "Sans groupe" in page
    for number in (north.number, other.number, loose.number):
        assert number in page  # « À traiter » unchanged: every unfollowed open dossier
    page = client.get(url, {"onglet": "tous", "groupe": setup["north"].pk}).content.decode()
    assert north.number in page and other.number not in page and loose.number not in page
    page = client.get(url, {"onglet": "tous", "groupe": 0}).content.decode()
    assert loose.number in page and north.number not in page and other.number not in page
    bare = CallFactory()
    assert 'for="id_groupe"' not in client.get(reverse("instruction:workspace", args=[bare.slug])).content.decode()


# --- messages and corrections -----------------------------------------------------------------------

def test_an_applicant_message_goes_to_followers_else_group_else_region(call, setup, client,
                                                                       django_capture_on_commit_callbacks):
    d = filed(call, establishment("590000006", "59"))
    assert staff_recipients(d, "message") == sorted(
        [setup["north_member"].email, setup["other_member"].email, setup["outsider"].email])  # no group yet
    groups.route(d)
    client.force_login(d.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("messaging:thread", args=[d.pk]), {"body": "Une question"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [setup["north_member"].email]
    follower = InstructorFactory()
    d.followers.add(follower)
    assert staff_recipients(d, "message") == [follower.email]
    NotificationPreference.objects.create(user=follower, call=call, on_message=False)
    assert staff_recipients(d, "message") == []


def test_an_instructor_who_turned_messages_off_is_left_out(call, setup):
    d = filed(call, establishment("590000007", "59"))
    groups.route(d)
    second = InstructorFactory()
    setup["north"].members.add(second)
    NotificationPreference.objects.create(user=setup["north_member"], call=call, on_message=False)
    assert staff_recipients(d, "message") == [second.email]
    assert staff_recipients(d, "corrections") == sorted([second.email, setup["north_member"].email])


def test_corrections_go_to_the_group_when_nobody_follows(call, setup, django_capture_on_commit_callbacks):
    d = filed(call, establishment("590000008", "59"))
    groups.route(d)
    instructor = InstructorFactory()
    workflow.apply(d, "passer_en_instruction", instructor)
    workflow.apply(d, "demander_correction", instructor, motivation="Joindre le DUERP.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(Dossier.objects.get(pk=d.pk), "deposer_corrections", d.created_by)
    staff = [m for m in mail.outbox if setup["north_member"].email in m.to]
    assert len(staff) == 1 and staff[0].to == [setup["north_member"].email]
    assert "corrections" in staff[0].body
    NotificationPreference.objects.create(user=setup["north_member"], call=call, on_corrections=False)
    assert staff_recipients(d, "corrections") == []


def test_group_members_outside_the_region_or_inactive_get_nothing(call, setup):
    d = filed(call, establishment("590000009", "59"))
    groups.route(d)
    stranger = InstructorFactory(region=region("44"))
    gone = InstructorFactory(is_active=False)
    setup["north"].members.add(stranger, gone)
    assert staff_recipients(d, "message") == [setup["north_member"].email]


# --- daily digest -----------------------------------------------------------------------------------

def test_send_digests_lists_the_last_days_filings_to_subscribers(call):
    subscriber, silent = InstructorFactory(), InstructorFactory()
    NotificationPreference.objects.create(user=subscriber, call=call, on_new_dossier=NewDossierNotice.DIGEST)
    NotificationPreference.objects.create(user=silent, call=call, on_new_dossier=NewDossierNotice.NEVER)
    other_call = CallFactory()
    NotificationPreference.objects.create(user=subscriber, call=other_call, on_new_dossier=NewDossierNotice.DIGEST)
    recent = filed(call, establishment("590000010", "59"), when=timezone.now() - dt.timedelta(hours=3))
    old = filed(call, establishment("590000011", "59"), when=timezone.now() - dt.timedelta(hours=30))
    DossierFactory(call=call)  # a draft is never listed
    out = io.StringIO()
    call_command("send_digests", stdout=out)
    assert "1 récapitulatif envoyé." in out.getvalue()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [subscriber.email]
    body = mail.outbox[0].body
    assert recent.number in body and old.number not in body and call.title in body
    assert other_call.title not in body  # nothing new there
    assert reverse("instruction:preferences") in body
    assert mail.outbox[0].subject == "Récapitulatif : 1 nouveau dossier déposé"


def test_no_digest_without_new_dossiers_or_for_someone_who_left_the_region(call):
    moved = InstructorFactory()
    NotificationPreference.objects.create(user=moved, call=call, on_new_dossier=NewDossierNotice.DIGEST)
    call_command("send_digests", stdout=io.StringIO())
    assert mail.outbox == []
    filed(call, establishment("590000012", "59"))
    moved.region = region("44")
    moved.save()
    call_command("send_digests", stdout=io.StringIO())
    assert mail.outbox == []


def test_digest_subscribers_get_no_notice_at_each_filing(call, setup, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=setup["north_member"], call=call,
                                          on_new_dossier=NewDossierNotice.DIGEST)
    d = draft(call, establishment("590000013", "59"))
    with django_capture_on_commit_callbacks(execute=True):
        services.file_dossier(d, d.created_by)
    assert not [m for m in mail.outbox if m.subject.startswith("Nouveau dossier")]


# --- preferences page -------------------------------------------------------------------------------

def test_preferences_page_is_for_ars_staff_only(client, call):
    url = reverse("instruction:preferences")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(ArsAdminFactory())
    assert client.get(url).status_code == 200


def test_preferences_page_lists_the_regions_calls_with_defaults_and_saves(client, call):
    foreign = CallFactory(region=region("44"))
    instructor = InstructorFactory()
    client.force_login(instructor)
    url = reverse("instruction:preferences")
    page = client.get(url).content.decode()
    assert call.title in page and foreign.title not in page
    prefix = f"appel-{call.pk}"
    assert f'id="id_{prefix}-on_message"' in page and f'for="id_{prefix}-on_message"' in page
    assert f'name="{prefix}-on_new_dossier" value="group" checked' in page  # the default
    assert f'name="{prefix}-on_message" checked' in page
    response = client.post(url, {f"{prefix}-on_new_dossier": "digest", f"{prefix}-on_corrections": "on"})
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=instructor, call=call)
    assert (pref.on_new_dossier, pref.on_message, pref.on_corrections) == ("digest", False, True)
    assert AuditRecord.objects.filter(action="notification_preferences", actor=instructor).exists()
    page = client.get(url).content.decode()
    assert f'name="{prefix}-on_new_dossier" value="digest" checked' in page
    assert f'name="{prefix}-on_message" checked' not in page
    # An unknown choice is refused, nothing changes.
    response = client.post(url, {f"{prefix}-on_new_dossier": "toujours"})
    assert response.status_code == 400 and "fr-fieldset--error" in response.content.decode()
    assert NotificationPreference.objects.get(user=instructor, call=call).on_new_dossier == "digest"
    # Another region's call cannot be set through the page: its fields are not read.
    client.post(url, {f"appel-{foreign.pk}-on_new_dossier": "each", f"{prefix}-on_new_dossier": "never"})
    assert not NotificationPreference.objects.filter(call=foreign).exists()


# --- admin ------------------------------------------------------------------------------------------

def test_admin_groups_are_restricted_to_the_region(client, call, setup):
    foreign = InstructorGroup.objects.create(call=CallFactory(region=region("44")), name="Hors région")
    admin_user = ArsAdminFactory()
    client.force_login(admin_user)
    page = client.get(reverse("admin:instruction_instructorgroup_changelist")).content.decode()
    assert "Nord" in page and "Hors région" not in page
    assert client.get(reverse("admin:instruction_instructorgroup_change",
                              args=[foreign.pk])).status_code in (302, 403, 404)
    page = client.get(reverse("admin:instruction_instructorgroup_add")).content.decode()
    stranger = InstructorFactory(region=region("44"))
    assert setup["north_member"].email in page and stranger.email not in page
    response = client.post(reverse("admin:instruction_instructorgroup_add"), {
        "call": call.pk, "name": "Sud", "members": [setup["outsider"].pk], "departments": "59, 2a"})
    assert response.status_code == 200 and "Déjà confiés à un autre groupe de cet appel : 59." in (
        response.content.decode())
    response = client.post(reverse("admin:instruction_instructorgroup_add"), {
        "call": call.pk, "name": "Sud", "members": [setup["outsider"].pk], "departments": "13; 2a, 6"})
    assert response.status_code == 302
    assert InstructorGroup.objects.get(name="Sud").departments == ["13", "2A", "06"]


@pytest.mark.parametrize("raw", ["²", "99999999999999999999", "abc"])
def test_a_group_that_is_not_an_id_is_a_404_not_a_server_error(client, call, setup, raw):
    d = filed(call, establishment("590000005", "59"))
    groups.route(d)
    client.force_login(InstructorFactory())
    assert client.post(reverse("instruction:assign_group", args=[d.pk]), {"groupe": raw}).status_code == 404
