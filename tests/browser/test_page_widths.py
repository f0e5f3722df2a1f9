"""Pages that used to be wider than the window, on a laptop (1 280 px) and a phone (375 px), with the demo data
made realistic (long establishment and action names, many dossiers, many invoices): the page never scrolls
sideways (a wide table scrolls inside its own focusable, named region), nothing is cut, and axe finds no critical
or serious violation (``scrollable-region-focusable`` was one, on the grants, « Mes subventions », proofs and ledger
pages)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from guichet.accounts.models import User
from guichet.calls.models import Call
from guichet.commission.models import ActionLine, Session
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment
from guichet.funding.models import Grant, GrantAction, LineStatus
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import DossierFactory
from tests.test_payments import invoice, proofs_dossier

DOMAIN = "guichet-clact.localhost"
DEMO_PASSWORD = "demo-clact-2026"
LONG_SITE = ("Centre hospitalier intercommunal de Lille-Roubaix-Tourcoing et de la métropole lilloise — "
             "site Calmette, pôle de gérontologie et de soins de suite et de réadaptation")
LONG_ACTION = ("Formation-action des encadrants de proximité à la prévention des risques psychosociaux et "
               "à la conduite des entretiens professionnels annuels, avec un accompagnement individuel")
WIDTHS = (1280, 375)

# The page, then what is wider than the window on it (to say what to fix).
WIDTH_REPORT = """() => {
  const limit = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    const parent = el.parentElement.getBoundingClientRect();
    if (box.right > limit + 1 && box.width > 0 && parent.right <= limit + 1) {
      wide.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${Math.round(box.right)} px)`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: limit, wide: wide.slice(0, 8)};
}"""
# Tables wider than their region (they scroll inside it): what must not happen to the workspace on a laptop.
TABLES_SCROLLING = """() => [...document.querySelectorAll('.fr-table__container')]
  .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => `${c.scrollWidth} px in ${c.clientWidth} px`)"""
# Texts cut with an ellipsis, or hidden by a cell too narrow (the arbitration table cut action names).
CUT_TEXT = """() => [...document.querySelectorAll('td, th')]
  .filter(c => getComputedStyle(c).textOverflow === 'ellipsis' && c.scrollWidth > c.clientWidth + 1)
  .map(c => c.textContent.trim().slice(0, 60))"""


@pytest.fixture
def demo(transactional_db):
    """The demo data, then what a real region holds: long names, 60 dossiers in the Grand Est workspace, a
    proofs dossier of 25 invoices with long suppliers."""
    cache.clear()
    call_command("seed_demo", stdout=io.StringIO())
    for user in User.objects.filter(email__endswith=DOMAIN):
        EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    lille = Establishment.objects.get(finess="590000006")
    Establishment.objects.filter(pk=lille.pk).update(name=LONG_SITE)
    GrantAction.objects.filter(grant__beneficiary=lille).update(title=LONG_ACTION)
    session = Session.objects.get()
    workspace_call = session.call
    for item in session.items.select_related("dossier__establishment"):
        Establishment.objects.filter(pk=item.dossier.establishment_id).update(
            name=item.dossier.establishment.name + " — pôle médico-social intercommunal et de coopération territoriale")
    ActionLine.objects.filter(item__session=session).update(title=LONG_ACTION)
    ge_site = session.items.first().dossier.establishment
    base = timezone.now() - dt.timedelta(days=40)
    for i in range(60):
        d = DossierFactory(call=workspace_call, establishment=ge_site, created_by=User.objects.get(
            email=f"deposant@{DOMAIN}"))
        Dossier.objects.filter(pk=d.pk).update(state=State.EN_CONSTRUCTION, number=f"2025-44-{d.pk:06d}",
                                               first_filed_at=base + dt.timedelta(hours=i),
                                               last_filed_at=base + dt.timedelta(hours=i))
        Dossier.objects.get(pk=d.pk).save()  # the workspace's index follows the save
    proofs_call = Call.objects.get(slug="hdf-2024-justificatifs")
    dossier = proofs_dossier(proofs_call, lille, timezone.now() - dt.timedelta(days=2))
    dossier.members.add(User.objects.get(email=f"deposant@{DOMAIN}"))
    actions = list(GrantAction.objects.filter(grant__beneficiary=lille))
    for i in range(25):
        line = invoice(dossier, actions[i % len(actions)], Decimal("1234.56") + i,
                       status=LineStatus.ACCEPTED if i % 3 else LineStatus.PENDING,
                       accepted=Decimal("1000") if i % 3 else None)
        line.supplier = "Institut régional de formation aux métiers de la santé et de l'accompagnement social"
        line.number = f"FACT-2024-REGION-HAUTS-DE-FRANCE-{i:05d}"
        line.save()
    return {"workspace_call": workspace_call, "session": session, "proofs": dossier,
            "grants": list(Grant.objects.filter(beneficiary=lille))}


def pages_of(demo):
    grants = demo["grants"]
    return {
        f"instructeur.grand-est@{DOMAIN}": [
            f"/instruction/appels/{demo['workspace_call'].slug}/?onglet=tous",
            f"/commission/seances/{demo['session'].pk}/",
        ],
        f"instructeur.hdf@{DOMAIN}": [
            "/subventions/",
            f"/paiements/dossiers/{demo['proofs'].pk}/justificatifs/",
            *[f"/paiements/subventions/{g.pk}/" for g in grants],
        ],
        f"deposant@{DOMAIN}": [
            "/etablissements/",
            "/subventions/mes-subventions/",
            f"/subventions/dossiers/{demo['proofs'].pk}/justificatifs/",
        ],
    }


def test_wide_pages_fit_the_window_on_a_laptop_and_a_phone(page, demo):
    problems = []
    for email, paths in pages_of(demo).items():
        page.context.clear_cookies()
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, email, paths[0], password=DEMO_PASSWORD)
        for path in paths:
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                response = page.goto(path)
                assert response.status == 200, f"{path}: {response.status}"
                report = page.evaluate(WIDTH_REPORT)
                if report["scroll"] > report["inner"]:
                    problems.append(f"{path} at {width} px: {report['scroll']} px wide — {report['wide']}")
                if width == 1280 and "/instruction/appels/" in path:  # the workspace: every column seen at once
                    inner = page.evaluate(TABLES_SCROLLING)
                    if inner:
                        problems.append(f"{path} at {width} px: the list scrolls sideways {inner}")
                cut = page.evaluate(CUT_TEXT)
                if cut:
                    problems.append(f"{path} at {width} px: texts cut {cut[:3]}")
                try:
                    assert_accessible(page)
                except AssertionError as exc:
                    problems.append(f"{path} at {width} px: {exc}")
    assert not problems, "\n".join(problems)
