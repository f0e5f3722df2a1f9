"""An applicant fills a dossier part by part and files it: what they rely on."""

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from guichet.calls import deadlines
from guichet.dossiers import services
from guichet.dossiers.models import Attachment, Dossier, EventKind, State
from guichet.establishments.models import EstablishmentAccess
from tests.factories import PARIS, CallFactory, DossierFactory, EstablishmentFactory, UserFactory

SCHEMA = {
    "sections": [
        {
            "key": "identification",
            "title": "1. Identification du demandeur",
            "fields": [
                {"key": "raison_sociale", "type": "text", "label": "Raison sociale", "required": True},
                {"key": "membre_ght", "type": "yesno", "label": "Membre d'un GHT ?", "required": True},
                {"key": "ght", "type": "text", "label": "GHT de rattachement", "required": True,
                 "show_if": {"field": "membre_ght", "op": "equals", "value": True}},
                {"key": "absenteisme", "type": "percentage", "label": "Taux d'absentéisme", "required": True},
            ],
        },
        {
            "key": "actions",
            "title": "4. Actions",
            "fields": [
                {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 1, "max_rows": 50,
                 "fields": [
                     {"key": "intitule", "type": "text", "label": "Intitulé", "required": True},
                     {"key": "cout", "type": "amount", "label": "Coût total", "required": True},
                     {"key": "demande", "type": "computed", "label": "Montant demandé",
                      "expression": "round(cout * taux / 100, 2)", "format": "amount"},
                     {"key": "devis", "type": "file", "label": "Devis", "max_size_mb": 1,
                      "allowed_types": ["pdf"]},
                 ]},
                {"key": "total", "type": "computed", "label": "Coût total du projet",
                 "expression": "sum(actions.cout)", "format": "amount"},
            ],
        },
    ]
}


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def call(db):
    return CallFactory(schema=SCHEMA)


@pytest.fixture
def dossier(call, applicant):
    return services.start_dossier(call, applicant.establishments.get(), applicant)


def section_url(dossier, key):
    return reverse("dossiers:section", args=[dossier.pk, key])


def test_start_creates_a_draft_for_one_of_my_establishments(client, call, applicant):
    client.force_login(applicant)
    establishment = applicant.establishments.get()
    response = client.post(reverse("dossiers:start", args=[call.slug]), {"establishment": establishment.pk})
    dossier = Dossier.objects.get()
    assert response.status_code == 302 and response["Location"] == section_url(dossier, "identification")
    assert dossier.state == State.BROUILLON and dossier.members.get() == applicant


def test_cannot_start_for_an_establishment_that_is_not_mine(client, call, applicant):
    other = EstablishmentFactory(finess="140000076", name="CH AUNAY-BAYEUX", siret="26140092300015")
    client.force_login(applicant)
    response = client.post(reverse("dossiers:start", args=[call.slug]), {"establishment": other.pk})
    assert response.status_code == 200
    assert "Choisissez un de vos établissements." in response.content.decode()
    assert not Dossier.objects.exists()


def test_invalid_value_is_kept_and_reported_at_its_field(client, dossier, applicant):
    client.force_login(applicant)
    client.post(section_url(dossier, "identification"),
                {"raison_sociale": "CH de Lisieux", "membre_ght": "non", "absenteisme": "8,5 %x"})
    dossier.refresh_from_db()
    assert dossier.answers["raison_sociale"] == "CH de Lisieux"
    assert dossier.pending == {"absenteisme": "8,5 %x"}
    page = client.get(section_url(dossier, "identification")).content.decode()
    assert 'value="8,5 %x"' in page
    assert "Saisissez un nombre" in page
    client.post(section_url(dossier, "identification"),
                {"raison_sociale": "CH de Lisieux", "membre_ght": "non", "absenteisme": "8,5"})
    dossier.refresh_from_db()
    assert dossier.answers["absenteisme"] == "8.50" and dossier.pending == {}


def test_percentage_out_of_range_is_refused_with_a_message(client, dossier, applicant):
    client.force_login(applicant)
    client.post(section_url(dossier, "identification"), {"absenteisme": "120"})
    page = client.get(section_url(dossier, "identification")).content.decode()
    assert "La valeur doit être inférieure ou égale à 100." in page


def test_autosave_answers_htmx_with_status_and_computed_values(client, dossier, applicant):
    client.force_login(applicant)
    response = client.post(section_url(dossier, "actions"),
                           {"actions__rows": "2", "actions__0__intitule": "Formation", "actions__0__cout": "1 000",
                            "actions__1__intitule": "Rails", "actions__1__cout": "2500,50"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enregistré à" in body
    assert "3\u202f500,50 €" in body  # total, swapped out of band
    dossier.refresh_from_db()
    assert dossier.answers["total"] == "3500.50"
    assert [r["demande"] for r in dossier.answers["actions"]] == ["500.00", "1250.25"]


def test_rows_can_be_added_and_removed_without_losing_the_others(client, dossier, applicant):
    client.force_login(applicant)
    url = section_url(dossier, "actions")
    client.post(url, {"actions__rows": "1", "actions__0__intitule": "A", "actions__0__cout": "10",
                      "_action": "add:actions"})
    client.post(url, {"actions__rows": "2", "actions__0__intitule": "A", "actions__0__cout": "10",
                      "actions__1__intitule": "B", "actions__1__cout": "x"})
    dossier.refresh_from_db()
    assert len(dossier.answers["actions"]) == 2 and dossier.pending == {"actions.1.cout": "x"}
    client.post(url, {"actions__rows": "2", "actions__0__intitule": "A", "actions__0__cout": "10",
                      "actions__1__intitule": "B", "actions__1__cout": "x", "_action": "remove:actions:0"})
    dossier.refresh_from_db()
    assert [r["intitule"] for r in dossier.answers["actions"]] == ["B"]
    assert dossier.pending == {"actions.0.cout": "x"}


@pytest.mark.parametrize("action", ["remove:actions", "remove:actions:abc", "remove:actions:0:1",
                                    "remove:actions:99999999999999999999", "remove:inconnu:0"])
def test_a_malformed_row_removal_is_refused_in_french_and_keeps_what_was_typed(client, dossier, applicant, action):
    """A hand-made or stale « remove » button was a 500 after the fields were saved: now a French message."""
    client.force_login(applicant)
    url = section_url(dossier, "actions")
    response = client.post(url, {"actions__rows": "2", "actions__0__intitule": "A", "actions__0__cout": "10",
                                 "actions__1__intitule": "B", "actions__1__cout": "20", "_action": action},
                           follow=True)
    assert response.status_code in (200, 400)
    assert "La ligne à supprimer est introuvable" in response.content.decode()
    dossier.refresh_from_db()
    assert [r["intitule"] for r in dossier.answers["actions"]] == ["A", "B"]


def test_removing_below_the_minimum_rows_is_explained(client, dossier, applicant):
    client.force_login(applicant)
    url = section_url(dossier, "actions")
    response = client.post(url, {"actions__rows": "1", "actions__0__intitule": "Seule", "actions__0__cout": "10",
                                 "_action": "remove:actions:0"}, follow=True)
    assert response.status_code in (200, 400)
    assert "doit garder au moins 1 ligne" in response.content.decode()
    dossier.refresh_from_db()
    assert [r["intitule"] for r in dossier.answers["actions"]] == ["Seule"]


def test_completeness_lists_visible_mandatory_items_only(dossier, applicant):
    items = {m.path for m in services.missing_items(dossier)}
    assert items == {"raison_sociale", "membre_ght", "absenteisme", "actions"}
    dossier.answers = {"membre_ght": True}
    dossier.save()
    assert "ght" in {m.path for m in services.missing_items(dossier)}


def fill_completely(dossier, **extra):
    dossier.answers = {"raison_sociale": "CH", "membre_ght": False, "ght": "GHT caché", "absenteisme": "5.00",
                       "actions": [{"intitule": "Formation", "cout": "1000.00"}], **extra}
    dossier.save()


def test_filing_freezes_the_dossier_numbers_it_and_acknowledges_by_email(
        dossier, applicant, django_capture_on_commit_callbacks):
    fill_completely(dossier)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_dossier(dossier, applicant)
    dossier.refresh_from_db()
    assert dossier.state == State.EN_CONSTRUCTION
    assert dossier.number == f"2024-32-{dossier.pk:06d}"
    assert "ght" not in dossier.answers  # hidden field cleared on filing
    assert dossier.answers["total"] == "1000.00"
    assert dossier.first_filed_at is not None
    assert len(mail.outbox) == 1 and dossier.number in mail.outbox[0].subject
    assert mail.outbox[0].to == [applicant.email]


def test_filing_refused_when_incomplete(dossier, applicant):
    with pytest.raises(services.FilingError, match="incomplet"):
        services.file_dossier(dossier, applicant)
    dossier.refresh_from_db()
    assert dossier.state == State.BROUILLON


@pytest.mark.parametrize("moment, accepted", [
    (dt.datetime(2024, 7, 31, 23, 59, 59, 999000), True),
    (dt.datetime(2024, 8, 1, 0, 0, 0), False),
    (dt.datetime(2024, 8, 1, 0, 0, 1), False)])
def test_deadline_is_enforced_to_the_second_in_paris_time(call, dossier, applicant, moment, accepted):
    call.closes_at = deadlines.closing_instant(dt.date(2024, 7, 31))  # « au 31 juillet 2024 »
    call.opens_at = dt.datetime(2024, 1, 26, 0, 0, tzinfo=PARIS)
    call.save()
    fill_completely(dossier)
    now = moment.replace(tzinfo=PARIS)
    if accepted:
        services.file_dossier(dossier, applicant, now=now)
        assert Dossier.objects.get(pk=dossier.pk).state == State.EN_CONSTRUCTION
    else:
        with pytest.raises(services.FilingError, match="jusqu'au 31 juillet 2024 inclus \\(heure de Paris\\)"):
            services.file_dossier(dossier, applicant, now=now)


def test_file_page_files_and_shows_the_number(client, dossier, applicant):
    fill_completely(dossier)
    client.force_login(applicant)
    response = client.post(reverse("dossiers:file", args=[dossier.pk]), follow=True)
    dossier.refresh_from_db()
    assert dossier.number in response.content.decode()


def test_edits_after_filing_are_kept_in_the_history(client, dossier, applicant):
    fill_completely(dossier)
    services.file_dossier(dossier, applicant)
    client.force_login(applicant)
    client.post(section_url(dossier, "identification"),
                {"raison_sociale": "CH de Lisieux", "membre_ght": "non", "absenteisme": "6"})
    event = dossier.events.get(kind=EventKind.EDITED)
    assert event.details["changes"]["raison_sociale"] == ["CH", "CH de Lisieux"]
    assert event.details["changes"]["absenteisme"] == ["5.00", "6.00"]


def test_no_write_once_in_instruction(client, dossier, applicant):
    fill_completely(dossier)
    services.file_dossier(dossier, applicant)
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_INSTRUCTION)
    client.force_login(applicant)
    response = client.post(section_url(dossier, "identification"), {"raison_sociale": "Autre"})
    assert response.status_code == 403
    dossier.refresh_from_db()
    assert dossier.answers["raison_sociale"] == "CH"


def test_attachment_is_stored_privately_and_served_to_members_only(client, dossier, applicant):
    client.force_login(applicant)
    pdf = SimpleUploadedFile("Devis signé.pdf", b"%PDF-1.4 devis", content_type="application/pdf")
    client.post(section_url(dossier, "actions"), {"actions__rows": "1", "actions__0__intitule": "A",
                                                  "actions__0__devis": pdf})
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Devis signé.pdf" and len(attachment.sha256) == 64
    dossier.refresh_from_db()
    assert dossier.answers["actions"][0]["devis"]["attachment"] == attachment.pk
    url = reverse("dossiers:attachment", args=[dossier.pk, attachment.pk])
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 devis"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_oversize_or_wrong_type_files_get_a_message_at_their_field(client, dossier, applicant):
    client.force_login(applicant)
    big = SimpleUploadedFile("devis.pdf", b"0" * (1024 * 1024 + 1), content_type="application/pdf")
    response = client.post(section_url(dossier, "actions"),
                           {"actions__rows": "1", "actions__0__intitule": "Garde", "actions__0__devis": big},
                           HTTP_HX_REQUEST="true")
    assert "la taille maximale est de 1 Mo" in response.content.decode()
    exe = SimpleUploadedFile("devis.exe", b"MZ", content_type="application/octet-stream")
    response = client.post(section_url(dossier, "actions"),
                           {"actions__rows": "1", "actions__0__intitule": "Garde", "actions__0__devis": exe},
                           HTTP_HX_REQUEST="true")
    assert "n&#x27;est pas d&#x27;un type accepté" in response.content.decode()
    assert not Attachment.objects.exists()
    dossier.refresh_from_db()
    assert dossier.answers["actions"][0]["intitule"] == "Garde"


def test_a_refused_file_is_named_at_its_field_with_the_reason_without_javascript(client, dossier, applicant):
    """The banner said the errors were « signalées ci-dessous », but after the redirect nothing said which
    file was refused, nor why."""
    client.force_login(applicant)
    big = SimpleUploadedFile("devis signé.pdf", b"%PDF-1.4 " + b"0" * (1024 * 1024 + 1),
                             content_type="application/pdf")
    response = client.post(section_url(dossier, "actions"), {"actions__rows": "1", "actions__0__intitule": "Garde",
                                                             "actions__0__devis": big}, follow=True)
    page = response.content.decode()
    assert "signalées ci-dessous" in page
    messages = page.split('id="champ-actions-0-devis-messages"')[1].split("</div>")[0]
    assert "devis signé.pdf" in messages and "la taille maximale est de 1 Mo" in messages
    assert "fr-upload-group--error" in page.split('id="wrap-champ-actions-0-devis"')[0][-200:]
    # shown once: the next visit of the page is clean
    assert "devis signé.pdf" not in client.get(section_url(dossier, "actions")).content.decode()
    dossier.refresh_from_db()
    assert dossier.answers["actions"][0]["intitule"] == "Garde"


def _expire_session(client):
    """What the browser sends once the session has expired: no session cookie (and the row is gone), but the
    signed « was logged in here » cookie the login left."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    client.cookies.pop(settings.SESSION_COOKIE_NAME, None)


def _stashes(client) -> list[str]:
    return [key for key in client.session.keys() if key.startswith("dossier-stash:")]


def test_expired_session_keeps_what_was_typed(client, dossier, applicant):
    client.force_login(applicant)
    client.get(section_url(dossier, "identification"))
    _expire_session(client)
    response = client.post(section_url(dossier, "identification"), {"raison_sociale": "Saisie précieuse"})
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    client.force_login(applicant)
    client.get(section_url(dossier, "identification"))
    dossier.refresh_from_db()
    assert dossier.answers["raison_sociale"] == "Saisie précieuse"


def test_a_visitor_who_never_logged_in_gets_nothing_stored(client, dossier):
    from django.contrib.sessions.models import Session

    for _ in range(3):
        response = client.post(section_url(dossier, "identification"), {"raison_sociale": "x" * 4_000_000})
        assert response.status_code == 302
    assert not Session.objects.exists() and not _stashes(client)


def test_another_accounts_browser_stashes_nothing_for_a_dossier_it_is_not_member_of(client, dossier):
    client.force_login(UserFactory())
    client.get(reverse("dossiers:mine"))
    _expire_session(client)
    client.post(section_url(dossier, "identification"), {"raison_sociale": "Intrus"})
    assert not _stashes(client)


def test_the_stash_is_bounded_in_size_and_one_per_dossier(client, dossier, applicant, settings):
    settings.GUICHET_STASH_MAX_BYTES = 256 * 1024
    client.force_login(applicant)
    client.get(section_url(dossier, "identification"))
    _expire_session(client)
    response = client.post(section_url(dossier, "identification"), {"raison_sociale": "x" * 300 * 1024},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 401 and "n'a pas pu être conservée" in response.content.decode()
    assert not _stashes(client)
    client.post(section_url(dossier, "identification"), {"raison_sociale": "Première"})
    client.post(section_url(dossier, "actions"), {"actions__rows": "1", "actions__0__intitule": "Seconde"})
    assert _stashes(client) == [f"dossier-stash:{dossier.pk}:actions"]
    client.force_login(applicant)
    client.get(section_url(dossier, "actions"))
    dossier.refresh_from_db()
    assert dossier.answers["actions"][0]["intitule"] == "Seconde" and not dossier.answers.get("raison_sociale")


def test_invited_colleague_can_work_on_the_dossier(client, dossier, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dossiers:invite", args=[dossier.pk]), {"email": "collegue@exemple.fr"})
    assert mail.outbox and mail.outbox[-1].to == ["collegue@exemple.fr"]
    token = dossier.invitations.get().token
    colleague = UserFactory(email="collegue@exemple.fr")
    client.force_login(colleague)
    assert client.get(section_url(dossier, "identification")).status_code == 404
    client.get(reverse("dossiers:accept_invitation", args=[token]))
    assert client.get(section_url(dossier, "identification")).status_code == 200


def test_mes_dossiers_lists_only_mine(client, dossier, applicant):
    other = DossierFactory(call=dossier.call)
    client.force_login(applicant)
    page = client.get(reverse("dossiers:mine")).content.decode()
    assert reverse("dossiers:file", args=[dossier.pk]) in page
    assert reverse("dossiers:file", args=[other.pk]) not in page


def test_closed_call_refuses_new_dossiers(client, call, applicant):
    call.closes_at = timezone.now() - dt.timedelta(seconds=1)
    call.save()
    client.force_login(applicant)
    response = client.post(reverse("dossiers:start", args=[call.slug]),
                           {"establishment": applicant.establishments.get().pk})
    assert response.status_code == 302 and not Dossier.objects.exists()


def test_a_new_dossier_starts_with_what_the_directory_knows(applicant):
    schema = {"sections": [{"key": "id", "title": "Identification", "fields": [
        {"key": "raison_sociale", "type": "text", "label": "Raison sociale", "prefill": "establishment.name"},
        {"key": "finess_ej", "type": "finess", "label": "FINESS juridique", "prefill": "legal_entity.finess"},
        {"key": "statut", "type": "choice", "label": "Statut", "options": ["Public", "Privé"],
         "prefill": "establishment.legal_status"},
        {"key": "courriel", "type": "email", "label": "Courriel", "prefill": "user.email"},
    ]}]}
    dossier = services.start_dossier(CallFactory(schema=schema), applicant.establishments.get(), applicant)
    assert dossier.answers == {"raison_sociale": "CENTRE HOSPITALIER DE LISIEUX", "finess_ej": "140000035",
                               "statut": "Public", "courriel": applicant.email}


def test_every_missing_item_links_to_an_element_of_its_part(client, dossier, applicant):
    dossier.answers = {"membre_ght": True, "actions": [{"intitule": ""}]}
    dossier.pending = {"absenteisme": "beaucoup"}
    dossier.save()
    client.force_login(applicant)
    page = client.get(reverse("dossiers:file", args=[dossier.pk])).content.decode()
    missing = services.missing_items(dossier)
    assert {m.path for m in missing} == {"raison_sociale", "ght", "absenteisme", "actions.0.intitule",
                                         "actions.0.cout"}
    for item in missing:
        link = f'{section_url(dossier, item.section_key)}#{item.anchor}'
        assert link in page
        assert f'id="{item.anchor}"' in client.get(section_url(dossier, item.section_key)).content.decode()
    empty = services.start_dossier(dossier.call, applicant.establishments.get(), applicant)
    Dossier.objects.filter(pk=empty.pk).update(answers={"actions": []})
    block = next(m for m in services.missing_items(Dossier.objects.get(pk=empty.pk)) if m.path == "actions")
    assert f'id="{block.anchor}"' in client.get(section_url(empty, "actions")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_acknowledgement_goes_through_the_task_queue_when_a_worker_is_configured(settings, applicant):
    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}
    dossier = services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)
    fill_completely(dossier)
    services.file_dossier(dossier, applicant)
    assert mail.outbox == []  # queued, not sent inside the request
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)
    assert len(mail.outbox) == 1 and dossier.pk and "déposé" in mail.outbox[0].subject


def test_autosave_answer_only_carries_what_changed(client, dossier, applicant):
    client.force_login(applicant)
    url = section_url(dossier, "identification")
    body = client.post(url, {"raison_sociale": "CH", "absenteisme": "abc"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="champ-absenteisme-messages"' in body and "Saisissez un nombre" in body
    assert 'id="champ-raison_sociale-messages"' not in body
    # Corrected: the message block of the field is sent again, now empty, to clear the error.
    body = client.post(url, {"raison_sociale": "CH", "absenteisme": "4"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="champ-absenteisme-messages"' in body and "Saisissez un nombre" not in body


@pytest.mark.parametrize("status, served", [("safe", True), ("not_scanned", True), ("pending", False),
                                            ("infected", False), ("error", False)])
def test_only_safe_or_honestly_unscanned_files_are_served(client, dossier, applicant, status, served):
    client.force_login(applicant)
    pdf = SimpleUploadedFile("bilan.pdf", b"%PDF-1.4 bilan", content_type="application/pdf")
    client.post(section_url(dossier, "actions"), {"actions__rows": "1", "actions__0__devis": pdf})
    attachment = Attachment.objects.get()
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=status)
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, attachment.pk]))
    assert response.status_code == (200 if served else 403)
    if not served:
        assert "ne peut pas être téléchargé" in response.content.decode()
