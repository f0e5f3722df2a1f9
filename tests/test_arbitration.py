"""Arbitration: the agenda, amounts within the ceiling and the envelope (Decimal), the envelope raised
by an administrator only, decisions applied in one step through the dossier's transitions, grants."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.commission import arbitration, documents
from guichet.commission.actions import actions_of, ceiling
from guichet.commission.arbitration import ArbitrationError
from guichet.commission.models import ActionLine, Decision, EnvelopeChange, SessionStatus
from guichet.core.models import AuditRecord
from guichet.dossiers.models import Dossier, DossierEvent, State
from guichet.funding.models import Grant, GrantStatus
from tests.factories import (
    PARIS,
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)


def action(title, cost, requested, structures=""):
    return {"intitule": title, "cout_total": str(cost), "montant_demande": str(requested),
            "structures_concernees": structures}


def in_instruction(call, actions, establishment=None, number=None) -> Dossier:
    d = DossierFactory(call=call, **({"establishment": establishment} if establishment else {}))
    Dossier.objects.filter(pk=d.pk).update(state=State.EN_INSTRUCTION, number=number or f"2024-32-{d.pk:06d}",
                                           answers={"actions": actions}, first_filed_at=dt.datetime(
                                               2024, 3, 1, 10, tzinfo=PARIS))
    return Dossier.objects.get(pk=d.pk)


@pytest.fixture
def setting(db):
    call = CallFactory(envelope=Decimal("10000.00"), cofinancing_rate=Decimal("50.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission du 12 mars",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS), place="Lille",
                                         convention_starts_on=dt.date(2025, 4, 1),
                                         convention_ends_on=dt.date(2026, 12, 31))
    return call, instructor, session


def test_actions_are_read_from_the_answers_and_a_form_without_actions_is_one_project():
    found = actions_of({"actions": [action("Formation", "12000", "6000,50"), action("Ergonomie", "1 000", 400)]})
    assert [(a.position, a.title, a.cost, a.requested) for a in found] == [
        (1, "Formation", Decimal("12000.00"), Decimal("6000.50")), (2, "Ergonomie", Decimal("1000.00"),
                                                                    Decimal("400.00"))]
    [whole] = actions_of({"total_cout": "9000", "total_montant_demande": "4500"})
    assert (whole.title, whole.cost, whole.requested) == ("Projet", Decimal("9000.00"), Decimal("4500.00"))


def test_ceiling_is_rate_of_eligible_cost_rounded_down_and_never_above_the_request():
    assert ceiling(Decimal("1000.01"), Decimal("9999"), Decimal("50")) == Decimal("500.00")  # 500.005 → down
    assert ceiling(Decimal("1000.00"), Decimal("300.00"), Decimal("50")) == Decimal("300.00")
    assert ceiling(Decimal("999.99"), Decimal("9999"), Decimal("33.33")) == Decimal("333.29")


@settings(max_examples=300, deadline=None)
@given(cost=st.decimals(min_value=0, max_value=10**9, places=2),
       requested=st.decimals(min_value=0, max_value=10**9, places=2),
       rate=st.decimals(min_value=0, max_value=100, places=2))
def test_ceiling_never_exceeds_rate_times_cost_nor_the_request(cost, requested, rate):
    limit = ceiling(cost, requested, rate)
    assert Decimal(0) <= limit <= requested
    assert limit <= cost * rate / 100
    assert limit == limit.quantize(Decimal("0.01"))
    assert cost * rate / 100 - limit < Decimal("0.01") or limit == requested


def test_agenda_copies_the_actions_and_refuses_what_cannot_come(setting):
    call, instructor, session = setting
    good = in_instruction(call, [action("Formation", 10000, 5000), action("Ergonomie", 3000, 2000)])
    draft = DossierFactory(call=call)
    other_call = in_instruction(CallFactory(), [action("A", 100, 50)])
    added, refused = arbitration.add_to_agenda(session, [good, draft, other_call], instructor)
    assert [i.dossier for i in added] == [good]
    assert [(li.title, li.cost, li.eligible_cost, li.requested) for li in added[0].lines.all()] == [
        ("Formation", Decimal("10000.00"), Decimal("10000.00"), Decimal("5000.00")),
        ("Ergonomie", Decimal("3000.00"), Decimal("3000.00"), Decimal("2000.00"))]
    assert "en instruction" in refused[str(draft)]
    assert "appel à projets de la séance" in refused[str(other_call)]
    second = arbitration.create_session(call, instructor, title="Deuxième", held_on=session.held_on)
    _, refused = arbitration.add_to_agenda(second, [good], instructor)
    assert "déjà à l'ordre du jour de la séance « Commission du 12 mars »" in refused[str(good)]


def test_granted_amount_within_the_ceiling_and_the_envelope(setting):
    call, instructor, session = setting
    dossier = in_instruction(call, [action("Formation", 10000, 6000), action("Ergonomie", 3000, 1000)])
    [item], _ = arbitration.add_to_agenda(session, [dossier], instructor)
    formation, ergonomie = item.lines.all()
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_amounts(formation, instructor, granted="5000.01")
    assert "5\u202f000,00\u00a0€ : 50\u00a0% du coût éligible" in exc.value.message_dict["granted"][0]
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_amounts(ergonomie, instructor, granted="1200")
    assert "montant demandé (1\u202f000,00\u00a0€)" in exc.value.message_dict["granted"][0]
    totals = arbitration.set_amounts(formation, instructor, granted="5000")
    assert (totals.envelope, totals.committed, totals.remaining) == (Decimal("10000.00"), Decimal("5000.00"),
                                                                      Decimal("5000.00"))
    # Lowering the eligible cost under what was granted is refused until the amount is lowered.
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_amounts(formation, instructor, eligible_cost="8000")
    assert "dépasserait le plafond de 4\u202f000,00" in exc.value.message_dict["eligible_cost"][0]
    with pytest.raises(ArbitrationError):
        arbitration.set_amounts(formation, instructor, eligible_cost="10000.01")  # above the total cost
    formation.refresh_from_db()
    assert (formation.eligible_cost, formation.granted) == (Decimal("10000.00"), Decimal("5000.00"))


def test_the_envelope_refuses_and_an_administrator_raises_it_on_record(setting):
    call, instructor, session = setting
    first = in_instruction(call, [action("A", 16000, 8000)])
    second = in_instruction(call, [action("B", 10000, 5000)])
    (item1, item2), _ = arbitration.add_to_agenda(session, [first, second], instructor)
    arbitration.set_amounts(item1.lines.get(), instructor, granted="8000")
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_amounts(item2.lines.get(), instructor, granted="2500")
    assert "serait dépassée de 500,00\u00a0€" in exc.value.message_dict["granted"][0]
    assert item2.lines.get().granted is None  # nothing was written
    with pytest.raises(PermissionDenied):
        arbitration.raise_envelope(call, instructor, "12000", "Crédits complémentaires")
    admin = ArsAdminFactory()
    with pytest.raises(ArbitrationError) as exc:
        arbitration.raise_envelope(call, admin, "7000", "Erreur")
    assert "déjà engagés (8\u202f000,00\u00a0€)" in exc.value.message_dict["envelope"][0]
    with pytest.raises(PermissionDenied):
        arbitration.raise_envelope(call, ArsAdminFactory(region=region("11")), "12000", "Autre région")
    arbitration.raise_envelope(call, admin, "12000", "Crédits complémentaires du FIR")
    change = EnvelopeChange.objects.get(call=call)
    assert (change.previous, change.new, change.changed_by) == (Decimal("10000.00"), Decimal("12000.00"), admin)
    assert AuditRecord.objects.filter(action="call:envelope").exists()
    assert arbitration.set_amounts(item2.lines.get(), instructor, granted="2500").remaining == Decimal("1500.00")
    # Refusing a dossier frees what it committed.
    arbitration.set_decision(item1, instructor, Decision.REFUSE, "Hors critères")
    assert arbitration.totals(call).committed == Decimal("2500.00")


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(envelope=st.decimals(min_value=0, max_value=50000, places=2),
       typed=st.lists(st.tuples(st.integers(0, 5), st.decimals(min_value=0, max_value=20000, places=2)),
                      min_size=1, max_size=25))
def test_property_the_sum_granted_never_exceeds_the_envelope_nor_an_action_its_ceiling(envelope, typed):
    call = CallFactory(envelope=envelope, cofinancing_rate=Decimal("40.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="S", held_on=dt.datetime(2025, 3, 12, tzinfo=PARIS))
    dossiers = [in_instruction(call, [action("A", 30000, 15000), action("B", 9999.99, 9000), action("C", 500, 0)])
                for _ in range(2)]
    arbitration.add_to_agenda(session, dossiers, instructor)
    lines = list(ActionLine.objects.filter(item__session=session).order_by("pk"))
    for index, amount in typed:
        try:
            arbitration.set_amounts(lines[index], instructor, granted=amount)
        except ArbitrationError:
            pass
    rows = list(ActionLine.objects.filter(item__session=session))
    assert sum((r.granted or 0 for r in rows), Decimal(0)) <= envelope
    for r in rows:
        assert (r.granted or 0) <= ceiling(r.eligible_cost, r.requested, call.cofinancing_rate)
    assert arbitration.totals(call).committed == sum((r.granted or 0 for r in rows), Decimal(0))


def test_only_the_regions_ars_arbitrates(setting):
    call, instructor, session = setting
    dossier = in_instruction(call, [action("A", 1000, 500)])
    [item], _ = arbitration.add_to_agenda(session, [dossier], instructor)
    member = UserFactory()
    arbitration.add_member(session, instructor, member, "membre", "CFDT")
    for outsider in (member, InstructorFactory(region=region("11")), UserFactory()):
        with pytest.raises(PermissionDenied):
            arbitration.set_amounts(item.lines.get(), outsider, granted="100")
        with pytest.raises(PermissionDenied):
            arbitration.add_to_agenda(session, [dossier], outsider)
        with pytest.raises(PermissionDenied):
            arbitration.apply_decisions(session, outsider)
    assert arbitration.sits_on(member, dossier)
    assert not arbitration.sits_on(UserFactory(), dossier)
    assert list(arbitration.sessions_visible_to(member)) == [session]
    assert not arbitration.sessions_visible_to(InstructorFactory(region=region("11"))).exists()


def test_decisions_applied_in_one_step_with_grants(setting, monkeypatch, django_capture_on_commit_callbacks):
    call, instructor, session = setting
    generated = []
    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: generated.append(session.pk))
    porteur = EstablishmentFactory()
    partner = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CH AUNAY-BAYEUX")
    accepted = in_instruction(call, [action("Formation", 10000, 5000, f"Tous ({partner.finess})"),
                                     action("Ergonomie", 3000, 1500), action("Refusée", 1000, 500)],
                              establishment=porteur)
    accepted.partners.add(partner)
    refused = in_instruction(call, [action("X", 1000, 500)])
    postponed = in_instruction(call, [action("Y", 1000, 500)])
    items, _ = arbitration.add_to_agenda(session, [accepted, refused, postponed], instructor)
    a, r, p = items
    lines = list(a.lines.all())
    arbitration.set_amounts(lines[0], instructor, granted="4000")
    arbitration.set_amounts(lines[1], instructor, granted="1500")
    arbitration.set_decision(a, instructor, Decision.ACCEPT, convention_kind="avenant")
    arbitration.set_decision(r, instructor, Decision.REFUSE, "")
    # Missing motivation and a pending decision hold everything back.
    with pytest.raises(ArbitrationError) as exc:
        arbitration.apply_decisions(session, instructor)
    text = " ".join(exc.value.messages)
    assert "motivation est obligatoire" in text and "Aucune décision" in text
    assert Dossier.objects.get(pk=accepted.pk).state == State.EN_INSTRUCTION
    arbitration.set_decision(r, instructor, Decision.REFUSE, "Le diagnostic n'associe pas les représentants.")
    arbitration.set_decision(p, instructor, Decision.POSTPONE)
    with django_capture_on_commit_callbacks(execute=True):
        applied = arbitration.apply_decisions(session, instructor)
    assert [i.dossier_id for i in applied] == [accepted.pk, refused.pk]
    states = dict(Dossier.objects.filter(pk__in=[accepted.pk, refused.pk, postponed.pk]).values_list("pk", "state"))
    assert states == {accepted.pk: State.ACCEPTE, refused.pk: State.REFUSE, postponed.pk: State.EN_INSTRUCTION}
    event = DossierEvent.objects.get(dossier=accepted, event="accepter")
    assert "Subvention accordée : 5\u202f500,00\u00a0€" in event.motivation and "- Formation : 4\u202f000,00" in \
        event.motivation
    grant = Grant.objects.get(dossier=accepted)
    assert (grant.beneficiary, grant.total, grant.rate, grant.status, grant.convention_kind) == (
        porteur, Decimal("5500.00"), Decimal("50.00"), GrantStatus.AWAITING_SIGNATURE, "avenant")
    assert grant.convention_reference == f"CLACT-{accepted.number}"
    assert (grant.convention_starts_on, grant.convention_ends_on) == (dt.date(2025, 4, 1), dt.date(2026, 12, 31))
    assert [(x.title, x.ceiling, [e.finess for e in x.establishments.all()]) for x in grant.actions.all()] == [
        ("Formation", Decimal("4000.00"), [partner.finess]), ("Ergonomie", Decimal("1500.00"), [porteur.finess])]
    assert not Grant.objects.filter(dossier=refused).exists()
    session.refresh_from_db()
    assert session.status == SessionStatus.DECIDED and generated == [session.pk]
    with pytest.raises(ArbitrationError):
        arbitration.set_amounts(lines[0], instructor, granted="100")
    # The postponed dossier may go on the next session.
    later = arbitration.create_session(call, instructor, title="Avril", held_on=session.held_on)
    added, _ = arbitration.add_to_agenda(later, [postponed], instructor)
    assert len(added) == 1


def test_a_transition_refused_for_one_dossier_applies_none(setting, monkeypatch):
    call, instructor, session = setting
    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: None)
    one = in_instruction(call, [action("A", 1000, 500)])
    two = in_instruction(call, [action("B", 1000, 500)])
    (i1, i2), _ = arbitration.add_to_agenda(session, [one, two], instructor)
    arbitration.set_amounts(i1.lines.get(), instructor, granted="500")
    arbitration.set_decision(i1, instructor, Decision.ACCEPT)
    arbitration.set_decision(i2, instructor, Decision.CLOSE, "Projet abandonné par l'établissement.")
    Dossier.objects.filter(pk=two.pk).update(archived=True)
    with pytest.raises(ArbitrationError) as exc:
        arbitration.apply_decisions(session, instructor)
    assert "archivé" in " ".join(exc.value.messages)
    assert Dossier.objects.get(pk=one.pk).state == State.EN_INSTRUCTION
    assert not Grant.objects.exists()


def test_raising_the_envelope_on_its_page_answers_with_the_new_amount(client, setting):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    call, _, _ = setting
    client.force_login(ArsAdminFactory())
    response = client.post(reverse("commission:envelope", args=[call.slug]),
                           {"envelope": "12 500,50", "reason": "Crédits complémentaires du FIR"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "L'enveloppe de l'appel est portée à 12\u202f500,50\u00a0€."]
    call.refresh_from_db()
    assert call.envelope == Decimal("12500.50")


def test_amounts_beyond_a_money_column_and_endless_reasons_are_refused_in_french(setting):
    """A granted amount or an envelope of 10^13 € was a database error on PostgreSQL (numeric overflow)."""
    call, instructor, session = setting
    dossier = in_instruction(call, [action("A", 16000, 8000)])
    (item,), _ = arbitration.add_to_agenda(session, [dossier], instructor)
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_amounts(item.lines.get(), instructor, eligible_cost="10000000000000")
    assert "ne peut pas dépasser 999\u202f999\u202f999\u202f999,99\u00a0€" in exc.value.message_dict["eligible_cost"][0]
    admin = ArsAdminFactory()
    with pytest.raises(ArbitrationError) as exc:
        arbitration.raise_envelope(call, admin, "10000000000000", "Erreur de frappe")
    assert "ne peut pas dépasser" in exc.value.message_dict["envelope"][0]
    with pytest.raises(ArbitrationError) as exc:
        arbitration.raise_envelope(call, admin, "12000", "x" * 1_000_000)
    assert exc.value.message_dict["reason"] == ["Le motif compte 1000000 caractères : 1000 au plus."]
    with pytest.raises(ArbitrationError) as exc:
        arbitration.set_decision(item, instructor, Decision.REFUSE, "x" * 10001)
    assert exc.value.message_dict["motivation"] == ["La motivation compte 10001 caractères : 10000 au plus."]
