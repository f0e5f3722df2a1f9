"""The establishment's proofs pages: its grants with what remains per action; the invoices per action typed
online (errors at the field, typed values and the uploaded file kept), completion, what will be paid
and why a line was not accepted; the filing check; who may reach them."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from guichet.calls.models import CallKind
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments.models import EstablishmentAccess
from guichet.funding import payments
from guichet.funding.models import InvoiceLine, LineStatus
from guichet.funding.proofs import missing
from tests.factories import CallFactory, DossierFactory, EstablishmentFactory, InstructorFactory, UserFactory, region
from tests.test_payments import WINDOWS, make_grant, paris

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def setting(db):
    call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2022, 2024])
    establishment = EstablishmentFactory()
    grant = make_grant(establishment, ["8000", "3000"], paid_before=["2000", "0"], year=2022,
                       reference="AVENANT-2022-1")
    make_grant(establishment, ["1000"], year=2019, reference="ANCIENNE-2019")  # not covered by this call
    dossier = DossierFactory(call=call, establishment=establishment)
    EstablishmentAccess.objects.create(user=dossier.created_by, establishment=establishment)
    return call, grant, dossier


def test_the_invoices_page_lists_the_covered_actions_with_their_balance(client, setting):
    _, grant, dossier = setting
    client.force_login(dossier.created_by)
    page = text(client.get(reverse("funding:invoices", args=[dossier.pk])))
    assert "AVENANT-2022-1" in page and "ANCIENNE-2019" not in page
    assert "Plafond : <strong>8\u202f000,00\u00a0€</strong> — déjà versé : 2\u202f000,00\u00a0€" in page
    assert "reste disponible : <strong>6\u202f000,00\u00a0€</strong>" in page
    grants_page = text(client.get(reverse("funding:mine")))
    assert "AVENANT-2022-1" in grants_page and "ANCIENNE-2019" in grants_page


def test_adding_an_invoice_keeps_what_was_typed_and_the_file_on_error(client, setting):
    _, grant, dossier = setting
    formation = grant.actions.get(position=1)
    client.force_login(dossier.created_by)
    url = reverse("funding:invoice_add", args=[dossier.pk])
    response = client.post(url, {"action": formation.pk, "supplier": "Ergonomie Conseil", "number": "F-12",
                                 "invoice_date": "2024-03-15", "amount_ht": "1 000", "amount_ttc": "900",
                                 "file": SimpleUploadedFile("facture F-12.pdf", PDF)})
    assert response.status_code == 400
    page = text(response)
    assert "Le montant TTC ne peut pas être inférieur au montant HT." in page
    assert 'value="Ergonomie Conseil"' in page and 'value="1 000"' in page
    kept = Attachment.objects.get(dossier=dossier, field_path="factures.en_attente")
    assert "Fichier déjà reçu : facture F-12.pdf" in page
    response = client.post(url, {"action": formation.pk, "supplier": "Ergonomie Conseil", "number": "F-12",
                                 "invoice_date": "15/03/2024", "amount_ht": "1 000", "amount_ttc": "1 200",
                                 "kept_file": kept.pk})
    assert response.status_code == 302
    line = InvoiceLine.objects.get(dossier=dossier)
    assert (line.amount_ht, line.amount_ttc, line.invoice_date) == (Decimal("1000.00"), Decimal("1200.00"),
                                                                   dt.date(2024, 3, 15))
    assert line.attachment == kept and Attachment.objects.get(pk=kept.pk).field_path == f"factures.{line.pk}"
    for bad, message in (({"invoice_date": "2099-01-01"}, "ne peut pas être dans le futur"),
                         ({"amount_ht": "beaucoup"}, "Saisissez un nombre"),
                         ({"action": "999999"}, "Choisissez une action de vos conventions.")):
        data = {"action": formation.pk, "supplier": "X", "number": "1", "invoice_date": "2024-03-01",
                "amount_ht": "10", "amount_ttc": "12", **bad}
        assert message in text(client.post(url, data))


def test_completion_filing_check_and_what_will_be_paid(client, setting):
    call, grant, dossier = setting
    today = timezone.localdate()
    call.payment_windows = [*WINDOWS, {"label": "Exercice en cours", "received_from": today.isoformat(),
                                       "received_until": today.isoformat(), "paid_by": today.isoformat()}]
    call.save(update_fields=["payment_windows"])
    formation = grant.actions.get(position=1)
    client.force_login(dossier.created_by)
    assert missing(dossier) == ["Ajoutez au moins une facture justificative."]
    client.post(reverse("funding:invoice_add", args=[dossier.pk]), {
        "action": formation.pk, "supplier": "Ergonomie Conseil", "number": "F-12", "invoice_date": "2024-03-15",
        "amount_ht": "9000", "amount_ttc": "9000"})
    line = InvoiceLine.objects.get(dossier=dossier)
    # Typed without its file: it is missing, as for a line read from the bordereau.
    assert missing(dossier) == [
        "Joignez le fichier de la facture n° F-12 de Ergonomie Conseil (9\u202f000,00\u00a0€ TTC, action "
        f"« {formation.title} »).", f"Indiquez le degré de réalisation de l'action « {formation.title} »."]
    client.post(reverse("funding:invoice_file", args=[dossier.pk, line.pk]),
                {"file": SimpleUploadedFile("facture F-12.pdf", PDF)})
    assert missing(dossier) == [f"Indiquez le degré de réalisation de l'action « {formation.title} »."]
    file_page = text(client.get(reverse("dossiers:file", args=[dossier.pk])))
    assert reverse("funding:invoices", args=[dossier.pk]) in file_page
    client.post(reverse("funding:progress", args=[dossier.pk]), {"action": formation.pk, "completion": "totale"})
    assert missing(dossier) == []
    # Filed in May, taken into instruction, the instructor validates part of the invoice.
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_INSTRUCTION, first_filed_at=paris(2024, 5, 20, 9))
    InvoiceLine.objects.filter(dossier=dossier).update(received_at=paris(2024, 5, 20, 9))
    line = InvoiceLine.objects.get(dossier=dossier)
    payments.validate_line(line, InstructorFactory(), LineStatus.PARTIAL, accepted_amount="8000",
                           reason="1 000 € de frais de déplacement ne sont pas éligibles.")
    page = text(client.get(reverse("funding:invoices", args=[dossier.pk])))
    assert "Acceptée pour 8\u202f000,00\u00a0€ : 1 000 € de frais de déplacement ne sont pas éligibles." in page
    assert ("Versement prévu par ce dossier : <strong>4\u202f000,00\u00a0€</strong> — Versement à la fin du "
            "1er semestre 2024") in page
    # Not editable any more: no form to add.
    assert reverse("funding:invoice_add", args=[dossier.pk]) not in page


def test_who_reaches_the_invoices_page(client, setting):
    _, grant, dossier = setting
    url = reverse("funding:invoices", args=[dossier.pk])
    for outsider in (UserFactory(), InstructorFactory(region=region("11"))):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.post(reverse("funding:invoice_add", args=[dossier.pk]), {
            "action": grant.actions.first().pk}).status_code == 404
    # The ARS reads a filed dossier's invoices but adds none.
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION)
    client.force_login(InstructorFactory())
    assert client.get(url).status_code == 200
    assert client.post(reverse("funding:invoice_add", args=[dossier.pk]), {
        "action": grant.actions.first().pk, "supplier": "X", "number": "1", "invoice_date": "2024-03-01",
        "amount_ht": "10", "amount_ttc": "12"}).status_code == 404
    assert not InvoiceLine.objects.exists()


def test_proofs_after_the_budget_years_last_window_cannot_be_filed(setting):
    call, _, dossier = setting  # the seed's 2024 windows: today is past 15 November 2024
    assert missing(dossier) == [payments.why_out_of_windows(call, timezone.localdate())]
    assert "dernière date de l'exercice 2024" in missing(dossier)[0]


def test_my_grants_points_to_the_open_proofs_call(client, setting):
    call, _, dossier = setting
    client.force_login(dossier.created_by)
    assert "Déposer des justificatifs" in text(client.get(reverse("funding:mine")))  # the call is open
    call.closes_at = timezone.now() - dt.timedelta(days=1)
    call.save(update_fields=["closes_at"])
    assert "Déposer des justificatifs" not in text(client.get(reverse("funding:mine")))


@pytest.mark.parametrize(("bad", "key", "message"), [
    ({"invoice_date": "01/01/1900"}, "invoice_date",
     "La date de la facture ne peut pas être antérieure au 01/01/2000 : vérifiez l'année."),
    ({"supplier": "S" * 100_000}, "supplier", "Le nom du fournisseur compte 100000 caractères : 255 au plus."),
    ({"number": "9" * 101}, "number", "Le numéro de facture compte 101 caractères : 100 au plus."),
    ({"amount_ht": "1 000 000 000 000", "amount_ttc": "1 000 000 000 001"}, "amount_ht",
     "Le montant ne peut pas dépasser 999\u202f999\u202f999\u202f999,99\u00a0€ : vérifiez-le."),
    ({"amount_ht": "-0"}, "amount_ht", "Le montant doit être positif."),
])
def test_an_invoice_out_of_bounds_is_refused_at_its_field_with_the_reason(client, setting, bad, key, message):
    """An invoice dated 1900 or with a supplier of 100 000 characters was stored (or a 500 on PostgreSQL)."""
    _, grant, dossier = setting
    formation = grant.actions.get(position=1)
    client.force_login(dossier.created_by)
    data = {"action": formation.pk, "supplier": "X", "number": "1", "invoice_date": "2024-03-01",
            "amount_ht": "10", "amount_ttc": "12", **bad}
    response = client.post(reverse("funding:invoice_add", args=[dossier.pk]), data)
    assert response.status_code == 400
    assert f'<p class="fr-error-text" id="{key}-{formation.pk}-error">{message}</p>' in text(response)
    assert not InvoiceLine.objects.filter(dossier=dossier).exists()


def test_a_completion_comment_of_a_megabyte_is_refused(client, setting):
    _, grant, dossier = setting
    formation = grant.actions.get(position=1)
    client.force_login(dossier.created_by)
    response = client.post(reverse("funding:progress", args=[dossier.pk]),
                           {"action": formation.pk, "completion": "totale", "comment": "x" * 1_000_000},
                           follow=True)
    assert "Le commentaire compte 1000000 caractères : 2000 au plus." in text(response)
    assert not formation.progress.exists()


@pytest.mark.parametrize("raw", ["abc", "²", "99999999999999999999"])
def test_an_action_that_is_not_an_id_is_a_french_message_or_404(client, setting, raw):
    _, grant, dossier = setting
    client.force_login(dossier.created_by)
    response = client.post(reverse("funding:invoice_add", args=[dossier.pk]), {
        "action": raw, "supplier": "X", "number": "1", "invoice_date": "2024-03-01", "amount_ht": "10",
        "amount_ttc": "12"})
    assert response.status_code == 400 and "Choisissez une action de vos conventions." in text(response)
    response = client.post(reverse("funding:progress", args=[dossier.pk]), {"action": raw, "completion": "totale"})
    assert response.status_code == 404
