"""The session pages: creating a session, members, agenda, the arbitration table typed with htmx (errors
at the field, totals recomputed), decisions applied, the envelope page, the grant and its signed
convention — and who may reach each of them."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guichet.commission import arbitration
from guichet.commission.models import ActionLine, AgendaItem, Decision, Document, Session, SessionMember
from guichet.dossiers.models import Dossier, State
from guichet.funding.models import Grant, GrantStatus
from tests.factories import PARIS, ArsAdminFactory, CallFactory, InstructorFactory, UserFactory, region
from tests.test_arbitration import action, in_instruction

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return html.unescape(response.content.decode())

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def table(db):
    call = CallFactory(envelope=Decimal("10000.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission de mars",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS))
    dossier = in_instruction(call, [action("Formation des managers", 12000, 6000), action("Ergonomie", 2000, 1000)])
    [item] = arbitration.add_to_agenda(session, [dossier], instructor)[0]
    return call, instructor, session, item


def test_creating_a_session_keeps_input_and_reports_errors_in_french(client, db):
    call = CallFactory()
    client.force_login(InstructorFactory())
    url = reverse("commission:sessions", args=[call.slug])
    response = client.post(url, {"title": "Séance", "held_on": "12/03/2025", "place": "Metz",
                                 "convention_starts_on": "2025-04-01", "convention_ends_on": "2025-01-01"})
    assert response.status_code == 400
    page = text(response)
    assert "Saisissez une date et une heure valides." in page
    assert "La fin des conventions ne peut pas précéder leur début." in page
    assert 'value="Metz"' in page
    response = client.post(url, {"title": "Séance du 12 mars", "held_on": "2025-03-12T14:00", "place": "Metz",
                                 "signatory_title": "Le directeur général"})
    session = Session.objects.get(call=call)
    assert response.url == reverse("commission:session", args=[session.pk])
    assert session.held_on == dt.datetime(2025, 3, 12, 14, tzinfo=PARIS)


def test_members_are_added_by_email_of_an_existing_account(client, table):
    _, instructor, session, _ = table
    client.force_login(instructor)
    url = reverse("commission:member_add", args=[session.pk])
    response = client.post(url, {"email": "personne@inconnu.fr", "capacity": "membre"}, follow=True)
    assert "Aucun compte n'existe pour « personne@inconnu.fr »" in text(response)
    member = UserFactory(email="delegue@syndicat.fr")
    client.post(url, {"email": "Delegue@Syndicat.fr", "capacity": "membre", "organisation": "CFDT"})
    assert SessionMember.objects.get(session=session).user == member


def test_agenda_page_lists_candidates_and_adds_them(client, table):
    call, instructor, session, _ = table
    other = in_instruction(call, [action("Télétravail", 4000, 2000)])
    client.force_login(instructor)
    url = reverse("commission:agenda", args=[session.pk])
    page = text(client.get(url))
    assert f"n° {other.number}" in page
    client.post(url, {"dossiers": [str(other.pk)]})
    assert AgendaItem.objects.filter(session=session, dossier=other).exists()
    assert text(client.post(url, {}, follow=True)).count("Cochez au moins un dossier") == 1


def test_typing_an_amount_saves_it_and_recomputes_the_totals(client, table):
    _, instructor, session, item = table
    formation = item.lines.get(position=1)
    client.force_login(instructor)
    url = reverse("commission:line_amounts", args=[formation.pk])
    response = client.post(url, {"granted": "5 500,50"}, **HTMX)
    page = text(response)
    formation.refresh_from_db()
    assert formation.granted == Decimal("5500.50")
    assert 'id="totaux"' in page and 'hx-swap-oob="true"' in page
    assert "5\u202f500,50\u00a0€" in page and "4\u202f499,50\u00a0€" in page  # committed, remaining
    # Above the ceiling: refused at the field, the typed value kept, nothing saved.
    page = text(client.post(url, {"granted": "6 000,01"}, **HTMX))
    assert 'aria-invalid="true"' in page and "Le montant ne peut pas dépasser 6\u202f000,00" in page
    assert 'value="6 000,01"' in page
    formation.refresh_from_db()
    assert formation.granted == Decimal("5500.50")
    page = text(client.post(url, {"granted": "beaucoup"}, **HTMX))
    assert "Saisissez un nombre" in page
    # Without JavaScript: the same rule, back to the table with the message.
    response = client.post(url, {"granted": "7000"}, follow=True)
    assert "Formation des managers : Le montant ne peut pas dépasser" in text(response)


def test_the_session_page_shows_the_table_and_what_holds_decisions_back(client, table):
    _, instructor, session, item = table
    client.force_login(instructor)
    page = text(client.get(reverse("commission:session", args=[session.pk])))
    assert "Formation des managers" in page and "6\u202f000,00\u00a0€" in page  # ceiling: 50 % of 12 000
    assert "Aucune décision n'est prise sur ce dossier." in page
    assert f'for="granted-{item.lines.first().pk}"' in page


def test_a_large_agenda_shows_one_line_per_dossier_and_opens_one_on_demand(client, table, monkeypatch):
    from guichet.commission import views_sessions

    monkeypatch.setattr(views_sessions, "OPEN_ALL_UP_TO", 0)  # as if the agenda were a year's: collapsed
    call, instructor, session, item = table
    line = item.lines.get(position=1)
    arbitration.set_amounts(line, instructor, granted="4000")
    url = reverse("commission:session", args=[session.pk])
    client.force_login(instructor)
    page = text(client.get(url))
    assert 'name="granted"' not in page and 'name="decision"' not in page
    assert f'href="{url}?ouvrir={item.pk}#dossier-{item.pk}"' in page and "Voir les actions" in page
    assert "accordé : <strong><span" in page and "4\u202f000,00\u00a0€" in page  # the dossier's total, summed
    assert 'data-testid="reste">6\u202f000,00\u00a0€' in page  # the envelope's totals, always there
    # Without JavaScript: the same page, this dossier opened; a wrong or foreign number opens nothing.
    page = text(client.get(url, {"ouvrir": item.pk}))
    assert f'for="granted-{line.pk}"' in page and f'for="decision-{item.pk}"' in page and "Masquer les actions" in page
    for wrong in ("abc", "-1", "99999999999999", str(item.pk + 1000)):
        response = client.get(url, {"ouvrir": wrong})
        assert response.status_code == 200 and 'name="granted"' not in text(response)
    # With htmx: the dossier's rows, focus on the link that closes them.
    actions = reverse("commission:item_actions", args=[item.pk])
    fragment = text(client.get(actions, **HTMX))
    assert fragment.startswith(f'<tbody id="dossier-{item.pk}">') and f'for="granted-{line.pk}"' in fragment
    assert "autofocus" in fragment and "Ergonomie" in fragment and "4\u202f000,00\u00a0€" in fragment
    assert client.get(actions).url == f"{url}?ouvrir={item.pk}#dossier-{item.pk}"
    # Typing without JavaScript goes back to the dossier opened.
    response = client.post(reverse("commission:line_amounts", args=[line.pk]), {"granted": "5000"})
    assert response.url == f"{url}?ouvrir={item.pk}#ligne-{line.pk}"


def test_who_opens_a_dossiers_actions(client, table):
    call, instructor, session, item = table
    member = UserFactory()
    arbitration.add_member(session, instructor, member, "membre")
    actions = reverse("commission:item_actions", args=[item.pk])
    for outsider in (InstructorFactory(region=region("11")), UserFactory()):
        client.force_login(outsider)
        assert client.get(actions, **HTMX).status_code == 404
    client.force_login(member)  # read-only: the amounts, no input, no decision form
    fragment = text(client.get(actions, **HTMX))
    assert "Formation des managers" in fragment and 'name="granted"' not in fragment
    assert 'name="decision"' not in fragment
    client.logout()
    assert client.get(actions, **HTMX).status_code == 302
    assert client.get(reverse("commission:item_actions", args=[999999]), **HTMX).status_code in (302, 404)


def test_decisions_recorded_and_applied_from_the_page(client, table, django_capture_on_commit_callbacks, monkeypatch):

    from guichet.commission import documents

    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: None)
    _, instructor, session, item = table
    client.force_login(instructor)
    client.post(reverse("commission:line_amounts", args=[item.lines.get(position=1).pk]), {"granted": "6000"})
    client.post(reverse("commission:decision", args=[item.pk]), {"decision": "accepter", "motivation": "",
                                                                 "convention_kind": "avenant"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("commission:apply", args=[session.pk]), follow=True)
    assert "Les décisions sont appliquées à 1 dossier ;" in text(response)
    assert Dossier.objects.get(pk=item.dossier_id).state == State.ACCEPTE
    assert Grant.objects.get(dossier=item.dossier).total == Decimal("6000.00")


def test_envelope_page_for_administrators_only(client, table):
    call, instructor, _, _ = table
    url = reverse("commission:envelope", args=[call.slug])
    client.force_login(instructor)
    assert client.get(url).status_code == 403
    client.force_login(ArsAdminFactory())
    response = client.post(url, {"envelope": "12 000", "reason": ""})
    assert response.status_code == 400
    assert "Indiquez le motif de la modification de l'enveloppe." in text(response)
    assert 'value="12 000"' in text(response)
    client.post(url, {"envelope": "12 000", "reason": "Crédits FIR complémentaires"})
    call.refresh_from_db()
    assert call.envelope == Decimal("12000.00")


def test_who_reaches_the_session_pages(client, table):
    call, instructor, session, item = table
    line = item.lines.first()
    member = UserFactory()
    arbitration.add_member(session, instructor, member, "membre")
    pages = [reverse("commission:sessions", args=[call.slug]), reverse("commission:session", args=[session.pk]),
             reverse("commission:agenda", args=[session.pk])]
    for outsider in (InstructorFactory(region=region("11")), UserFactory()):
        client.force_login(outsider)
        assert [client.get(url).status_code for url in pages] == [404, 404, 404]
        assert client.post(reverse("commission:line_amounts", args=[line.pk]), {"granted": "1"}).status_code == 404
        assert client.post(reverse("commission:apply", args=[session.pk])).status_code == 404
    # A member sees the session, read-only: no inputs, and cannot write.
    client.force_login(member)
    page = client.get(reverse("commission:session", args=[session.pk]))
    assert page.status_code == 200 and 'name="granted"' not in text(page)
    assert client.get(pages[0]).status_code == 404
    assert client.post(reverse("commission:line_amounts", args=[line.pk]), {"granted": "1"}).status_code == 404
    assert client.post(reverse("commission:decision", args=[item.pk]), {"decision": "refuser"}).status_code == 404
    assert ActionLine.objects.get(pk=line.pk).granted is None
    client.logout()
    assert client.get(pages[1]).status_code == 302


@pytest.fixture
def granted(table, monkeypatch):

    from guichet.commission import documents

    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: None)
    call, instructor, session, item = table
    arbitration.set_amounts(item.lines.get(position=1), instructor, granted="6000")
    arbitration.set_decision(item, instructor, Decision.ACCEPT)
    arbitration.apply_decisions(session, instructor)
    return Grant.objects.get(dossier=item.dossier), instructor


def test_the_applicant_uploads_the_signed_convention_and_the_grant_becomes_active(client, granted):
    grant, _ = granted
    applicant = grant.dossier.created_by
    client.force_login(applicant)
    url = reverse("commission:grant", args=[grant.pk])
    page = text(client.get(url))
    assert "Formation des managers" in page and "6\u202f000,00\u00a0€" in page
    not_pdf = SimpleUploadedFile("convention.pdf", b"pas un pdf du tout", content_type="application/pdf")
    response = client.post(url, {"signed_on": "2025-04-02", "file": not_pdf})
    assert response.status_code == 400 and "ne correspond pas à son extension .pdf" in text(response)
    response = client.post(url, {"signed_on": "", "file": SimpleUploadedFile("c.pdf", PDF)})
    assert "Indiquez la date de signature de la convention." in text(response)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    response = client.post(url, {"signed_on": future, "file": SimpleUploadedFile("c.pdf", PDF)})
    assert "ne peut pas être dans le futur" in text(response)
    client.post(url, {"signed_on": "2025-04-02", "file": SimpleUploadedFile("Convention signée.pdf", PDF)})
    grant.refresh_from_db()
    assert (grant.status, grant.convention_signed_on) == (GrantStatus.ACTIVE, dt.date(2025, 4, 2))
    signed = Document.objects.get(dossier=grant.dossier, kind="convention_signee")
    assert signed.original_name == "Convention signée.pdf"
    # The dossier's page links to the grant; the download is the applicant's and the ARS' only.
    summary = text(client.get(reverse("dossiers:summary", args=[grant.dossier.pk])))
    assert reverse("commission:grant", args=[grant.pk]) in summary
    assert client.get(reverse("commission:document", args=[signed.pk])).status_code == 200
    for outsider in (UserFactory(), InstructorFactory(region=region("11"))):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(reverse("commission:document", args=[signed.pk])).status_code == 404
