"""The realistic set of the statistics' tests (test_statistics, test_bilan, the browser test): Hauts-de-France's
2024 call with dossiers in every state from three establishments (sanitaire public in a GHT, médico-social privé,
sanitaire ESPIC), actions under HAS QVCT themes, a commission, two grants with payments in two windows of a proofs
call; its 2025 call; a grant imported from 2021; Grand Est's call."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from guichet.calls.models import CallKind
from guichet.commission.models import ActionLine, AgendaItem, Decision, Session, SessionMember
from guichet.dossiers.models import State
from guichet.funding.models import Grant, GrantAction, GrantStatus, Payment, PaymentStatus
from tests.factories import (
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    UserFactory,
    region,
)

PARIS = ZoneInfo("Europe/Paris")
D = Decimal
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "total_montant_demande", "type": "amount", "label": "Montant total demandé"},
    {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 0, "fields": [
        {"key": "intitule", "type": "text", "label": "Intitulé"},
        {"key": "theme_qvct", "type": "qvct_theme", "label": "Thèmes QVCT"},
    ]},
]}]}
GHT_NAME = "GHT Lille Métropole Flandre intérieure"


def paris(*args):
    return dt.datetime(*args, tzinfo=PARIS)


def establishments():
    hdf = region("32")
    e1 = EstablishmentFactory(finess="590780193", name="CENTRE HOSPITALIER DE ROUBAIX", sector="sanitaire",
                              legal_status="public", category="Centre hospitalier", department="59", ght=GHT_NAME,
                              legal_entity=LegalEntityFactory(finess="590780250", name="CH ROUBAIX EJ"), region=hdf)
    e2 = EstablishmentFactory(finess="620000059", name="EHPAD LES TILLEULS", sector="medico_social",
                              legal_status="prive", category="EHPAD", department="62",
                              legal_entity=LegalEntityFactory(finess="620000018", name="TILLEULS EJ"), region=hdf)
    e3 = EstablishmentFactory(finess="590000238", name="HOPITAL SAINT VINCENT", sector="sanitaire",
                              legal_status="espic", category="Centre hospitalier", department="59",
                              legal_entity=LegalEntityFactory(finess="590000220", name="GHICL EJ"), region=hdf)
    e4 = EstablishmentFactory(finess="570000026", name="EHPAD DE METZ", sector="medico_social", legal_status="public",
                              category="EHPAD", department="57",
                              legal_entity=LegalEntityFactory(finess="570000018", name="METZ EJ"), region=region("44"))
    return e1, e2, e3, e4


def dossier(call, establishment, state, filed, decided_days=None, amount=None, actions=(), creator=None):
    answers = {"actions": [{"intitule": f"Action {i + 1}", "theme_qvct": list(codes)} for i, codes in
                           enumerate(actions)]}
    if amount is not None:
        answers["total_montant_demande"] = str(amount)
    extra = {"created_by": creator} if creator else {}
    return DossierFactory(
        call=call, establishment=establishment, state=state, answers=answers,
        first_filed_at=None if state == State.BROUILLON else filed, last_filed_at=filed,
        decided_at=filed + dt.timedelta(days=decided_days) if decided_days is not None else None, **extra)


def grant(call, reg, dossier_, beneficiary, reference, total, ceilings, year=2024, paid_before=(), **extra):
    g = Grant.objects.create(region=reg, call=call, call_year=year, dossier=dossier_, beneficiary=beneficiary,
                             legal_entity=beneficiary.legal_entity, rate=D("50"), total=D(total),
                             convention_reference=reference, status=extra.pop("status", GrantStatus.ACTIVE), **extra)
    actions = []
    for position, ceiling in enumerate(ceilings, start=1):
        before = D(paid_before[position - 1]) if position <= len(paid_before) else D(0)
        actions.append(GrantAction.objects.create(grant=g, position=position, title=f"Action {position}",
                                                  ceiling=D(ceiling), paid_before=before))
    return g, actions


def build_data():
    """The realistic set of the module docstring (also the browser test's)."""
    hdf, grand_est = region("32"), region("44")
    e1, e2, e3, e4 = establishments()
    call_a = CallFactory(region=hdf, year=2024, title="CLACT-QVCT 2024 Hauts-de-France", slug="clact-2024-hdf",
                         envelope=D("100000.00"), schema=SCHEMA)
    call_b = CallFactory(region=hdf, year=2025, title="CLACT-QVCT 2025", slug="clact-2025-hdf",
                         envelope=D("50000.00"), schema=SCHEMA)
    call_c = CallFactory(region=grand_est, year=2024, title="CLACT Grand Est 2024", slug="clact-2024-ge",
                         envelope=D("200000.00"), schema=SCHEMA)
    proofs = CallFactory(region=hdf, year=2024, kind=CallKind.PROOFS, title="Justificatifs 2024",
                         slug="justificatifs-2024", envelope=None, schema=SCHEMA)
    org, qual = "sante_travail/organisation_temps", "sante_travail/qualite_prevention"
    applicant = UserFactory(email="jeanne.deposante@exemple.fr", first_name="Jeanne", last_name="Déposante")
    d1 = dossier(call_a, e1, State.ACCEPTE, paris(2024, 3, 4, 10), 10, 10000,
                 [[org], [qual, "relations_climat/dialogue_social"]], creator=applicant)
    d2 = dossier(call_a, e2, State.ACCEPTE, paris(2024, 3, 5, 9), 20, 20000, [["relations_climat/relations_collegues"]])
    dossier(call_a, e1, State.ACCEPTE, paris(2024, 3, 6, 10), 12.5, 4000, [[org, qual]])
    d3 = dossier(call_a, e3, State.REFUSE, paris(2024, 3, 12, 10), 30, 5000, [[org]])
    dossier(call_a, e1, State.SANS_SUITE, paris(2024, 3, 13, 10), 40)
    dossier(call_a, e2, State.EN_INSTRUCTION, paris(2024, 3, 20, 10), None, 8000, [[]])
    # Sunday 23:30 UTC is Monday 00:30 in Paris: the week of 18 March.
    dossier(call_a, e3, State.EN_CONSTRUCTION, dt.datetime(2024, 3, 17, 23, 30, tzinfo=dt.UTC), None, 1000)
    dossier(call_a, e1, State.BROUILLON, paris(2024, 3, 22, 10), None, 99999, [["egalite_chances/diversite"]])
    dossier(call_b, e1, State.ACCEPTE, paris(2025, 1, 6, 10), 1)
    dossier(call_b, e2, State.REFUSE, paris(2025, 1, 7, 10), 4)
    d_ge = dossier(call_c, e4, State.ACCEPTE, paris(2024, 5, 6, 10), 2, 3000)
    proofs_dossier = dossier(proofs, e1, State.EN_INSTRUCTION, paris(2024, 5, 2, 10))

    # The commission of the 2024 call: two accepted, one refused (its lines are not committed).
    staff = InstructorFactory(email="paul.instructeur@ars.sante.fr", first_name="Paul", last_name="Instructeur")
    session = Session.objects.create(call=call_a, title="Commission du 2 avril", held_on=paris(2024, 4, 2, 14),
                                     created_by=staff)
    member = UserFactory(email="camille.membre@exemple.fr")
    SessionMember.objects.create(session=session, user=member)
    for order, (d, decision, lines) in enumerate((
            (d1, Decision.ACCEPT, [(4000, 4000), (3000, 2500)]), (d2, Decision.ACCEPT, [(9000, 8000)]),
            (d3, Decision.REFUSE, [(2000, None)]))):
        item = AgendaItem.objects.create(session=session, dossier=d, order=order, decision=decision)
        for position, (proposed, granted) in enumerate(lines, start=1):
            ActionLine.objects.create(item=item, position=position, title=f"Action {position}", cost=D(10000),
                                      eligible_cost=D(10000), requested=D(5000), proposed=D(proposed),
                                      granted=None if granted is None else D(granted))
    g1, (a11, a12) = grant(call_a, hdf, d1, e1, "CLACT-2024-001", "6500", ["4000", "2500"])
    g2, (a21,) = grant(call_a, hdf, d2, e2, "CLACT-2024-002", "8000", ["8000"], status=GrantStatus.CLOSED)
    g0, (a01,) = grant(None, hdf, None, e3, "CLACT-2021-017", "3000", ["3000"], year=2021, paid_before=["1000"],
                       imported=True)
    grant(call_c, grand_est, d_ge, e4, "GE-2024-001", "1000", ["1000"])
    windows = {0: ("1er semestre", dt.date(2024, 6, 30)), 1: ("2nd semestre", dt.date(2024, 12, 31))}

    def pay(action, amount, window, status):
        label, pay_by = windows[window]
        Payment.objects.create(action=action, dossier=proofs_dossier, call=proofs, window_index=window,
                               window_label=label, pay_by=pay_by, amount=D(amount), status=status)

    pay(a11, "1500", 0, PaymentStatus.PAID)
    pay(a11, "2500", 1, PaymentStatus.SCHEDULED)
    pay(a12, "500", 0, PaymentStatus.ORDERED)
    pay(a21, "8000", 1, PaymentStatus.PAID)
    pay(a21, "999", 0, PaymentStatus.CANCELLED)
    pay(a01, "2000", 0, PaymentStatus.PAID)
    return {"call_a": call_a, "call_b": call_b, "call_c": call_c, "hdf": hdf, "grand_est": grand_est,
            "staff": staff, "member": member, "applicant": applicant, "d1": d1, "g1": g1}
