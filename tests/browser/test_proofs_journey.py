"""Proofs and payment in the browser: an establishment sends invoices for two actions of its grant and
files its proofs dossier; the instructor validates the invoices (one in full, one in part with a reason)
and accepts the dossier; the payment page shows the expected amounts in the window of the receipt date,
and the payment order holds them. Every page passes axe."""

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, CallKind, FormVersion
from guichet.dossiers import services
from guichet.establishments.models import Establishment, EstablishmentAccess, LegalEntity, Region
from guichet.funding.models import Grant, GrantAction, GrantStatus, Payment, PaymentOrder
from tests.browser.accessibility import assert_accessible
from tests.browser.instruire import instruire
from tests.browser.test_instruction_journey import log_in
from tests.factories import UserFactory

expect.set_options(timeout=15_000)

APPLICANT, INSTRUCTOR = "finances@ch-lille-demo.fr", "paiements@ars-hdf.sante.fr"
SCHEMA = {"sections": [{"key": "identification", "title": "1. Identification du demandeur", "fields": [
    {"key": "contact_nom", "type": "text", "label": "Nom et prénom de la personne à contacter", "required": True},
]}]}
YEAR_END = "Versement en fin d'année"


@pytest.fixture
def proofs(transactional_db, tmp_path):
    cache.clear()
    region = Region.objects.get(code="32")
    applicant = UserFactory(email=APPLICANT)
    instructor = UserFactory(email=INSTRUCTOR, role="instructor", region=region)
    for person in (applicant, instructor):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    entity = LegalEntity.objects.create(finess="590000014", name="CH de démonstration", siren="265900001")
    site = Establishment.objects.create(finess="590000006", name="CH de démonstration (Lille)", region=region,
                                        legal_entity=entity, sector="sanitaire", legal_status="public")
    EstablishmentAccess.objects.create(user=applicant, establishment=site)
    today = timezone.localdate()
    call = Call.objects.create(
        region=region, year=today.year, kind=CallKind.PROOFS, title="Justificatifs CLACT-QVCT", slug="justificatifs",
        opens_at=timezone.now() - dt.timedelta(days=60), closes_at=timezone.now() + dt.timedelta(days=30),
        envelope=None, covered_years=[2024], payment_windows=[
            {"label": "Versement à la fin du 1er semestre", "received_from": None,
             "received_until": (today - dt.timedelta(days=1)).isoformat(),
             "paid_by": (today + dt.timedelta(days=5)).isoformat()},
            {"label": YEAR_END, "received_from": today.isoformat(),
             "received_until": (today + dt.timedelta(days=30)).isoformat(),
             "paid_by": (today + dt.timedelta(days=40)).isoformat()}])
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    grant = Grant.objects.create(region=region, call_year=2024, beneficiary=site, legal_entity=entity,
                                 rate=Decimal("50"), total=Decimal("8000"), convention_reference="CONV-2024-12",
                                 status=GrantStatus.ACTIVE, imported=True)
    GrantAction.objects.create(grant=grant, position=1, title="Formation des encadrants", ceiling=Decimal("5000"),
                               paid_before=Decimal("1000"))
    GrantAction.objects.create(grant=grant, position=2, title="Rails de transfert", ceiling=Decimal("3000"))
    dossier = services.start_dossier(call, site, applicant)
    services.save_section(dossier, "identification", {"contact_nom": "Claire Martin"}, None, applicant)
    invoice = tmp_path / "facture.pdf"
    invoice.write_bytes(b"%PDF-1.4\n% facture de demonstration\n")
    return call, grant, dossier, invoice


def add_invoice(page, action, supplier, number, ht, ttc, invoice):
    block = page.locator(f"#action-{action.pk}")
    block.get_by_text("Ajouter une facture à cette action").click()
    block.get_by_label("Fournisseur").fill(supplier)
    block.get_by_label("N° de facture").fill(number)
    block.get_by_label("Date de la facture").fill(timezone.localdate().replace(day=1).isoformat())
    block.get_by_label("Montant HT (€)").fill(ht)
    block.get_by_label("Montant TTC (€)").fill(ttc)
    block.get_by_label("Facture (fichier)").set_input_files(str(invoice))
    block.get_by_role("button", name="Ajouter la facture").click()
    expect(page.get_by_text(f"Facture {number} de {supplier} ajoutée")).to_be_visible()
    block = page.locator(f"#action-{action.pk}")
    block.get_by_label("Degré de réalisation").select_option(label="Réalisée totalement")
    block.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(f"Degré de réalisation enregistré pour « {action.title} »")).to_be_visible()


@pytest.mark.browser
def test_proofs_for_two_actions_validated_and_ordered_in_the_right_window(page, browser, browser_context_args,
                                                                           live_server, proofs):
    call, grant, dossier, invoice = proofs
    formation, rails = grant.actions.order_by("position")
    log_in(page, APPLICANT, f"/subventions/dossiers/{dossier.pk}/justificatifs/")
    expect(page.get_by_role("heading", level=2, name="Pièces justificatives par action")).to_be_visible()
    expect(page.locator(f"#action-{formation.pk}")).to_contain_text("reste disponible : 4\u202f000,00\u00a0€")
    assert_accessible(page)
    add_invoice(page, formation, "Cabinet Ergonomia", "F-2024-118", "3 333,33", "4 000", invoice)
    add_invoice(page, rails, "Arjo France", "AF-552", "2 500", "3 000", invoice)
    assert_accessible(page)
    page.get_by_role("link", name="Vérifier et déposer").click()
    expect(page.get_by_text("Le dossier est complet.")).to_be_visible()
    page.get_by_role("button", name="Déposer le dossier").click()
    page.wait_for_url(lambda url: "/deposer/" not in url)

    # The instructor validates: the training invoice in full, the rails one for 2 000 € only.
    context = browser.new_context(**browser_context_args)
    ars = context.new_page()
    log_in(ars, INSTRUCTOR, f"/instruction/dossiers/{dossier.pk}/")
    instruire(ars, "Passer en instruction")
    expect(ars.locator("#dossier-state")).to_have_text("En instruction")
    ars.get_by_role("link", name="Valider les factures justificatives").click()
    assert_accessible(ars)
    line1 = ars.locator(f"#action-{formation.pk}")
    line1.locator("label[for$='-acceptee']").click()  # the DSFR label covers the radio
    expect(line1.get_by_label("Acceptée", exact=True)).to_be_checked()
    line1.get_by_role("button", name="Enregistrer le verdict sur la facture F-2024-118").click()
    expect(ars.get_by_test_id(f"payable-{formation.pk}")).to_contain_text("2\u202f000,00\u00a0€ — " + YEAR_END)
    line2 = ars.locator(f"#action-{rails.pk}")
    line2.locator("label[for$='-partielle']").click()
    line2.get_by_role("button", name="Enregistrer le verdict sur la facture AF-552").click()
    expect(ars.locator(f"#action-{rails.pk}")).to_contain_text("Indiquez le montant retenu")  # at the field
    line2 = ars.locator(f"#action-{rails.pk}")
    line2.get_by_label("Montant retenu (€)").fill("2 000")
    line2.get_by_label("Motif").fill("Seuls deux rails sur trois sont posés.")
    line2.get_by_role("button", name="Enregistrer le verdict sur la facture AF-552").click()
    expect(ars.get_by_test_id(f"payable-{rails.pk}")).to_contain_text("1\u202f000,00\u00a0€ — " + YEAR_END)
    assert_accessible(ars)
    ars.goto(f"/instruction/dossiers/{dossier.pk}/")
    instruire(ars, "Accepter")
    expect(ars.locator("#dossier-state")).to_have_text("Accepté")

    # The payment page: the year-end window holds 3 000 € for the legal entity; the order takes it.
    ars.goto(f"/paiements/appels/{call.slug}/")
    window = ars.locator("section", has=ars.get_by_role("heading", name=YEAR_END))
    expect(window).to_contain_text("Formation des encadrants")
    expect(window).to_contain_text("3\u202f000,00\u00a0€")
    assert_accessible(ars)
    ars.get_by_role("button", name=f"Créer l'ordre de paiement (3\u202f000,00\u00a0€) — {YEAR_END}").click()
    expect(ars.get_by_role("heading", level=1)).to_contain_text("Ordre de paiement n°")
    expect(ars.locator("main")).to_contain_text(YEAR_END)
    assert_accessible(ars)
    order = PaymentOrder.objects.get()
    assert order.window_label == YEAR_END
    assert sorted((p.action.title, p.amount) for p in Payment.objects.filter(order=order)) == [
        ("Formation des encadrants", Decimal("2000.00")), ("Rails de transfert", Decimal("1000.00"))]
    context.close()

    # The establishment sees what will be paid, when, and why a line was cut.
    page.goto(f"/subventions/dossiers/{dossier.pk}/justificatifs/")
    expect(page.locator(f"#action-{rails.pk}")).to_contain_text(
        "Acceptée pour 2\u202f000,00\u00a0€ : Seuls deux rails sur trois sont posés.")
    expect(page.locator(f"#action-{rails.pk}")).to_contain_text(YEAR_END)
