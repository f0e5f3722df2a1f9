"""Large files in the browser: a file over the field's limit is refused before it is sent; an
upload shows its progress; an upload cut off by the network can be retried, and nothing typed
in the rest of the form is lost."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.dossiers.models import Attachment
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from tests.factories import PASSWORD, UserFactory

expect.set_options(timeout=15_000)

SCHEMA = {"sections": [{"key": "pieces", "title": "Pièces justificatives", "fields": [
    {"key": "intitule", "type": "text", "label": "Intitulé du projet"},
    {"key": "devis", "type": "file", "label": "Devis", "max_size_mb": 1, "allowed_types": ["pdf"]},
    {"key": "bilan", "type": "file", "label": "Bilan social", "allowed_types": ["pdf"]},
]}]}


@pytest.fixture
def dossier(transactional_db):
    region = Region.objects.get(code="32")
    user = UserFactory(email="deposant@ch-exemple.fr")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    establishment = Establishment.objects.create(finess="590000006", name="CH EXEMPLE", region=region,
                                                 sector="sanitaire", legal_status="public")
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    call = Call.objects.create(region=region, year=2026, title="Appel", slug="appel",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=1))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    return services.start_dossier(call, establishment, user)


def log_in(page, dossier):
    page.goto(f"/dossiers/{dossier.pk}/partie/pieces/")
    page.get_by_label("Courriel").fill("deposant@ch-exemple.fr")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").last.click()
    page.wait_for_url(lambda url: "/comptes/login" not in url)
    page.wait_for_load_state("load")  # the page's scripts (htmx, dossier.js) are running before anything is typed
    expect(page.get_by_role("heading", level=2, name="Pièces justificatives")).to_be_visible()


def pdf(tmp_path, name, size):
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\n" + b"0" * (size - 9))
    return str(path)


@pytest.mark.browser
def test_a_file_over_the_limit_is_refused_before_sending(page, live_server, dossier, tmp_path):
    log_in(page, dossier)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.locator("#champ-devis").set_input_files(pdf(tmp_path, "devis.pdf", 2 * 1024 * 1024))
    expect(page.locator("#champ-devis-messages")).to_contain_text("la taille maximale est de 1 Mo")
    assert posts == [] and not Attachment.objects.exists()


@pytest.mark.browser
def test_an_interrupted_upload_is_retried_without_losing_the_form(page, live_server, dossier, tmp_path):
    log_in(page, dossier)
    page.get_by_label("Intitulé du projet").fill("Prévention des TMS")
    page.get_by_label("Intitulé du projet").press("Tab")
    expect(page.locator("#save-status")).to_contain_text("Enregistré")
    cut = {"done": False}

    def cut_first_upload(route):
        if not cut["done"] and b"bilan-social.pdf" in (route.request.post_data_buffer or b""):
            cut["done"] = True
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/partie/pieces/", cut_first_upload)
    page.locator("#champ-bilan").set_input_files(pdf(tmp_path, "bilan-social.pdf", 3 * 1024 * 1024))
    expect(page.locator("#save-status")).to_contain_text("L'enregistrement a échoué")
    expect(page.get_by_label("Intitulé du projet")).to_have_value("Prévention des TMS")
    page.get_by_role("button", name="Réessayer").click()
    expect(page.locator("#champ-bilan-current")).to_contain_text("bilan-social.pdf")
    attachment = Attachment.objects.get()
    assert attachment.size == 3 * 1024 * 1024
    dossier.refresh_from_db()
    assert dossier.answers["intitule"] == "Prévention des TMS"


@pytest.mark.browser
def test_an_upload_shows_its_progress(page, live_server, dossier, tmp_path):
    log_in(page, dossier)
    page.evaluate("""() => { window.progressSeen = false;
        document.body.addEventListener('htmx:xhr:progress', () => {
            if (document.getElementById('upload-progress')) window.progressSeen = true; }); }""")
    page.locator("#champ-bilan").set_input_files(pdf(tmp_path, "bilan.pdf", 8 * 1024 * 1024))
    expect(page.locator("#champ-bilan-current")).to_contain_text("bilan.pdf")
    assert page.evaluate("window.progressSeen")
