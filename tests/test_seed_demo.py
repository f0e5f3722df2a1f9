"""`make demo` loads demo data twice without error and shows a commission ready to arbitrate."""

import io

from django.core.management import call_command

from guichet.commission.models import Session
from guichet.dossiers.models import State


def test_seed_demo_is_idempotent_and_prepares_a_commission(db):
    for _ in range(2):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
    assert "membre.commission@guichet-clact.localhost" in out.getvalue()
    # The accounts that must use MFA share one known authenticator key, printed for whoever tries the demo.
    from allauth.mfa.models import Authenticator

    from guichet.accounts.mfa import totp_code
    from guichet.accounts.models import User
    from guichet.core.management.commands.seed_demo import DEMO_TOTP_SECRET

    assert f"oathtool --totp -b {DEMO_TOTP_SECRET}" in out.getvalue()
    for email in ("instructeur.hdf", "admin.grand-est", "membre.commission", "superadmin"):
        totp = Authenticator.objects.get(user__email=f"{email}@guichet-clact.localhost", type="totp")
        assert totp.wrap().validate_code(totp_code(DEMO_TOTP_SECRET))
    assert not Authenticator.objects.filter(user=User.objects.get(email="deposant@guichet-clact.localhost")).exists()
    session = Session.objects.get()
    assert session.items.count() == 3
    assert {i.dossier.state for i in session.items.select_related("dossier")} == {State.EN_INSTRUCTION}
    assert session.members.get().user.email == "membre.commission@guichet-clact.localhost"
    assert session.call.criteria.count() == 4 and session.call.envelope == 60000
    # The proofs demo call covers the demo establishment's earlier grants.
    from guichet.calls.models import Call
    from guichet.establishments.models import Establishment
    from guichet.funding import payments

    proofs = Call.objects.get(slug="hdf-2024-justificatifs")
    lille = Establishment.objects.get(finess="590000006")
    assert {g.convention_reference for g in payments.grants_for(lille, proofs)} == {
        "AVENANT-CPOM-2022-DEMO", "CONVENTION-2024-DEMO"}
    # Its payment windows moved with its deadline: proofs sent today fall in one, the last ends with the call.
    from django.utils import timezone

    window = payments.window_for(proofs, timezone.localdate())
    assert window is not None and str(window.pay_by.year) in window.label
    assert payments.windows(proofs)[-1].received_until == proofs.deadline.last_day
    # Each side of the claims has something to decide: the demo applicant as referent, the ARS HdF a first claim.
    from guichet.accounts.models import User
    from guichet.establishments import claims

    applicant = User.objects.get(email="deposant@guichet-clact.localhost")
    assert applicant.establishments.count() == 4 and all(
        claims.can_manage(applicant, e) for e in applicant.establishments.all())
    assert [r.user.email for r in claims.requests_to_decide(applicant)] == ["collegue@guichet-clact.localhost"]
    ars_hdf = User.objects.get(email="instructeur.hdf@guichet-clact.localhost")
    assert [r.user.email for r in claims.first_claims_for_ars(ars_hdf)] == ["nouveau.deposant@guichet-clact.localhost"]
    assert not User.objects.get(email="nouveau.deposant@guichet-clact.localhost").establishments.exists()


def test_the_grand_est_commission_dossiers_are_filled_in(db):
    """A visitor of `make demo` sees a real call: every mandatory answer given, pieces attached as PDFs."""
    from pypdf import PdfReader

    from guichet.dossiers.models import Attachment
    from guichet.dossiers.services import missing_items
    from guichet.formschema import engine

    call_command("seed_demo", stdout=io.StringIO())
    session = Session.objects.get()
    dossiers = [item.dossier for item in session.items.select_related("dossier__form_version", "dossier__call")]
    assert len(dossiers) == 3
    for dossier in dossiers:
        assert [m.label for m in missing_items(dossier)] == [], dossier
        schema = dossier.form_version.parsed()
        assert engine.missing_items(schema, dossier.answers) == []
        answers = dossier.answers
        assert answers["raison_sociale"] == dossier.establishment.name
        assert len(answers["presentation_projet"]) > 200 and answers["actions"][0]["professionnels_concernes"]
        assert answers["total_montant_demande"] == str(sum(
            line.requested for item in dossier.agenda_items.all() for line in item.lines.all()))
        files = Attachment.objects.filter(dossier=dossier)
        assert files.count() >= 5
        for attachment in files:
            with attachment.file.open("rb") as fh:
                text = PdfReader(fh).pages[0].extract_text()
            assert dossier.establishment.name in text
