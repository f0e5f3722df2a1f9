#!/usr/bin/env python
"""Benchmark of one region's budget year of payments: 1 000 grants' proofs validated, the year's payments
recomputed, the proofs dossiers accepted, one payment order per window created, exported and marked paid,
through the real code.

    .venv/bin/python benchmarks/payments.py [--database postgres|sqlite] [--grants N] [--no-doc] [--sql]

In a throwaway database (PostgreSQL ``guichet_bench_payments`` created and dropped with psycopg, or a
temporary SQLite file), the script creates, with ``bulk_create``, a Normandie proofs call (kind
« proofs », year 2024, the payment windows of seed 001: received until 31/05/2024 paid by 30/06/2024,
received 01/06/2024–15/11/2024 paid by 31/12/2024; covered years 2020, 2021, 2022, 2024), about
0.4 × N legal entities with 1 to 4 establishments each (fictitious FINESS numbers), N active grants
(default 1 000, years among the covered ones) with 1 to 5 actions each (ceilings 1 000–50 000 €, some
with an amount paid before the platform, some conventions whose total is below the sum of their
ceilings, some paid on invoices HT), one proofs dossier per legal entity in instruction (first filed
over the two windows, Europe/Paris) sending 2 to 6 invoices for most of its entity's actions, and an
instructor of the region. Then, through the domain functions the views, the API and the tasks call:

  (a) every invoice line validated (``payments.validate_line``: about 70 % accepted, 15 % accepted in
      part, 15 % rejected), each verdict recomputing its dossier's payments (``payments.schedule``);
  (b) the whole budget year recomputed: ``payments.schedule`` on every proofs dossier in the order
      received — and checked to change nothing (same Payment rows, amounts and ``updated_at``);
  (c) every dossier accepted (``workflow.apply(d, "accepter", user)``; the e-mail task run at commit by
      the test settings' immediate backend is timed apart), then one order per payment window
      (``payments.create_order``);
  (d) each order read and exported (``exports.order_rows`` on ``exports.order_payments``,
      ``exports.order_workbook``, ``exports.order_csv``);
  (e) each order marked paid (``payments.mark_paid``).

The same steps run first on a small world of another call (``SMALL`` grants): their query counts stand
beside the big ones, so that a count growing with the number of grants shows. ``--sql`` prints the SQL
patterns each step of the small world repeats. Results go into docs/performance.md between
``<!-- bench:payments:start -->`` and ``<!-- bench:payments:end -->`` (one block per database).
"""

import datetime as dt
import logging
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from common import (
    capture_queries,
    counted,
    database_parser,
    db_block,
    machine,
    machine_text,
    markdown_table,
    run_on_throwaway_database,
    stopwatch,
    summarize,
    write_db_blocks,
)

START, END = "<!-- bench:payments:start -->", "<!-- bench:payments:end -->"
HEADING = "## Versements : exercice budgétaire de 1 000 subventions"
PG_DB = "guichet_bench_payments"
REGION = "28"
DEPARTMENTS = ["14", "27", "50", "61", "76"]
SMALL = 50
PARIS = ZoneInfo("Europe/Paris")
CENT = Decimal("0.01")
COVERED = [2020, 2021, 2022, 2024]
WINDOWS = [{"label": "Versement à la fin du 1er semestre 2024", "received_from": None,
            "received_until": "2024-05-31", "paid_by": "2024-06-30"},
           {"label": "Versement en fin d'année 2024", "received_from": "2024-06-01",
            "received_until": "2024-11-15", "paid_by": "2024-12-31"}]
PAID_ON = [dt.date(2024, 6, 27), dt.date(2024, 12, 19)]
KINDS = [("sanitaire", "Centre hospitalier", "public"), ("medico_social", "EHPAD", "public"),
         ("medico_social", "EHPAD", "prive"), ("sanitaire", "Clinique", "prive"),
         ("medico_social", "Maison d'accueil spécialisée", "espic"), ("sanitaire", "Centre de soins de suite", "espic")]
NAMES = ["Les Tilleuls", "Saint-Joseph", "La Roseraie", "Sainte-Marie", "Les Charmilles", "Le Parc", "Bel Air",
         "Pays d'Auge", "La Source", "Notre-Dame", "Les Pommiers", "Côte de Nacre", "Val de Seine"]
CITIES = ["Caen", "Rouen", "Le Havre", "Cherbourg-en-Cotentin", "Évreux", "Alençon", "Lisieux", "Bayeux",
          "Dieppe", "Saint-Lô", "Argentan", "Fécamp", "Vernon", "Granville"]
ACTIONS = ["Formation des encadrants à la prévention des risques psychosociaux", "Rails plafonniers et lève-personnes",
           "Espace de repos des équipes de nuit", "Analyse des pratiques professionnelles",
           "Tutorat des nouveaux arrivants", "Aménagement ergonomique des postes de soins",
           "Démarche participative sur l'organisation des plannings", "Soutien psychologique des équipes",
           "Prévention des troubles musculo-squelettiques", "Semaine de la qualité de vie au travail"]
SUPPLIERS = ["Ergonomie Conseil", "Formavenir Normandie", "Arjo France", "Mobilier Santé Services", "Psy & Travail",
             "Institut du Management en Santé", "Handi-Move", "Qualitel Formation"]
REASONS = ["Facture antérieure à la convention.", "La facture ne concerne pas l'action financée.",
           "Facture illisible : transmettez l'original.", "Doublon d'une facture déjà transmise."]
PARTIAL_REASONS = ["Seule une partie de la facture concerne l'action.", "Frais de déplacement non éligibles.",
                   "Part de la facture hors période de la convention."]
MINIMAL_SCHEMA = {"sections": [{"key": "justificatifs", "title": "Justificatifs", "fields": [
    {"key": "commentaire", "type": "textarea", "label": "Commentaire"}]}]}


def main():
    parser = database_parser(__doc__)
    parser.add_argument("--grants", type=int, default=1000)
    parser.add_argument("--sql", action="store_true",
                        help="print the SQL patterns each step of the small world repeats")
    return run_on_throwaway_database(parser.parse_args(), PG_DB, bench, markdown_block, write_doc)


# --- the data ------------------------------------------------------------------------------------

def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _paris(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def _filed_at(rng: random.Random) -> dt.datetime:
    """A receipt time in one of the two windows, a few on the evening of 31 May (Paris: still the first)
    and the morning of 1 June (the second)."""
    pick = rng.random()
    if pick < 0.03:
        return _paris(dt.date(2024, 5, 31), 23, rng.randrange(0, 60))
    if pick < 0.06:
        return _paris(dt.date(2024, 6, 1), 0, rng.randrange(0, 60))
    if pick < 0.48:
        start, days = dt.date(2024, 1, 15), (dt.date(2024, 5, 31) - dt.date(2024, 1, 15)).days
    else:
        start, days = dt.date(2024, 6, 1), (dt.date(2024, 11, 15) - dt.date(2024, 6, 1)).days
    return _paris(start + dt.timedelta(days=rng.randint(0, days)), rng.randint(7, 22), rng.randrange(0, 60))


def people() -> dict:
    from guichet.accounts.models import Role, User
    from guichet.establishments.models import Region

    region = Region.objects.get(code=REGION)
    instructor = User.objects.create_user("instructrice@bench.example", "bench-motdepasse-2026", role=Role.INSTRUCTOR,
                                          region=region, first_name="Claire", last_name="Martin")
    applicant = User.objects.create(email="deposant@bench.example", role=Role.APPLICANT)
    return {"region": region, "instructor": instructor, "applicant": applicant}


def populate(who: dict, n_grants: int, tag: str, rng: random.Random) -> dict:
    """A proofs call, ≈ 0.4 × ``n_grants`` legal entities and their establishments, ``n_grants`` active
    grants and their actions, one proofs dossier per legal entity in instruction with its invoices (not
    validated yet). ``tag`` (two digits) keeps the FINESS numbers and references of two worlds apart."""
    from guichet.calls.models import Call, CallKind, FormVersion
    from guichet.dossiers.models import Dossier, State
    from guichet.establishments.models import Establishment, LegalEntity
    from guichet.funding.models import Grant, GrantAction, GrantStatus, InvoiceLine
    from guichet.instruction import index

    region = who["region"]
    call = Call.objects.create(
        region=region, year=2024, kind=CallKind.PROOFS, title=f"Justificatifs CLACT-QVCT 2024 — Normandie ({tag})",
        slug=f"justificatifs-2024-normandie-{tag}", opens_at=_paris(dt.date(2024, 1, 15), 9, 0),
        closes_at=_paris(dt.date(2024, 11, 15), 23, 59), envelope=None, payment_windows=WINDOWS,
        covered_years=COVERED)
    version = FormVersion.objects.create(call=call, number=1, schema=MINIMAL_SCHEMA)

    n_entities = max(1, round(n_grants * 0.4))
    entities = []
    for i in range(n_entities):
        kind = KINDS[i % len(KINDS)]
        entities.append(LegalEntity(
            finess=f"{DEPARTMENTS[i % len(DEPARTMENTS)]}{tag}0{i:04d}", siren=f"2{tag}{i:06d}",
            name=f"{'Groupement' if kind[2] != 'public' else 'Centre hospitalier'} {NAMES[i % len(NAMES)]} {i}",
            legal_status=kind[2]))
    LegalEntity.objects.bulk_create(entities)
    entities = list(LegalEntity.objects.filter(finess__in=[e.finess for e in entities]).order_by("finess"))
    establishments = []
    for i, entity in enumerate(entities):
        for k in range(rng.randint(1, 4)):
            sector, category, status = KINDS[(i + k) % len(KINDS)]
            city = CITIES[(i * 3 + k) % len(CITIES)]
            establishments.append(Establishment(
                finess=f"{entity.finess[:2]}{tag}{k + 1}{i:04d}", legal_entity=entity,
                siret=f"{entity.siren}{k + 1:05d}",
                name=f"{category} {NAMES[(i + k) % len(NAMES)]} — {city}", category=category, sector=sector,
                legal_status=status, department=entity.finess[:2], city=city, region=region))
    Establishment.objects.bulk_create(establishments)
    by_entity: dict[int, list] = {}
    for e in Establishment.objects.filter(legal_entity__in=entities).order_by("finess"):
        by_entity.setdefault(e.legal_entity_id, []).append(e)


    # Grants: every legal entity has at least one; the ceilings of their actions make their totals.
    owners = [entities[i] if i < len(entities) else rng.choice(entities) for i in range(n_grants)]
    plans: dict[str, list] = {}
    grants = []
    for i, entity in enumerate(owners):
        year = rng.choice(COVERED)
        actions = []
        for position in range(1, rng.randint(1, 5) + 1):
            ceiling = Decimal(rng.randrange(100, 5001) * 10)
            paid_before = Decimal(0)
            if rng.random() < 0.15:  # partly (or wholly) paid before the platform
                paid_before = _money(ceiling * Decimal(rng.choice(("0.2", "0.4", "0.6", "1"))))
            actions.append((position, ACTIONS[(i + position) % len(ACTIONS)], ceiling, paid_before))
        total = sum((a[2] for a in actions), Decimal(0))
        if rng.random() < 0.1:  # a convention whose total is below the sum of its ceilings
            total = _money(total * Decimal("0.8"))
        reference = f"CONV-{year}-{tag}-{i + 1:05d}"
        plans[reference] = actions
        grants.append(Grant(
            region=region, call_year=year, beneficiary=rng.choice(by_entity[entity.pk]), legal_entity=entity,
            rate=Decimal("50.00"), total=total, convention_reference=reference,
            convention_starts_on=dt.date(year, 9, 1), convention_ends_on=dt.date(year + 3, 8, 31),
            convention_signed_on=dt.date(year, 10, 15), status=GrantStatus.ACTIVE,
            invoice_basis="ht" if rng.random() < 0.2 else "ttc", imported=True))
    Grant.objects.bulk_create(grants)
    grants = list(Grant.objects.filter(convention_reference__in=plans).order_by("pk"))
    GrantAction.objects.bulk_create(
        [GrantAction(grant=g, position=position, title=title, ceiling=ceiling, paid_before=paid_before)
         for g in grants for position, title, ceiling, paid_before in plans[g.convention_reference]],
        batch_size=2000)
    actions = list(GrantAction.objects.filter(grant__in=grants).select_related("grant")
                   .order_by("grant_id", "position"))
    GrantAction.establishments.through.objects.bulk_create(
        [GrantAction.establishments.through(grantaction_id=a.pk, establishment_id=a.grant.beneficiary_id)
         for a in actions], batch_size=2000)

    # One proofs dossier per legal entity, in instruction.
    dossiers = []
    for i, entity in enumerate(entities):
        filed = _filed_at(rng)
        dossiers.append(Dossier(
            call=call, form_version=version, establishment=by_entity[entity.pk][0], created_by=who["applicant"],
            state=State.EN_INSTRUCTION, number=f"2024-{REGION}-J{tag}{i + 1:05d}", answers={},
            first_filed_at=filed, last_filed_at=filed,
            instruction_started_at=filed + dt.timedelta(days=rng.randint(1, 9))))
    Dossier.objects.bulk_create(dossiers)
    dossiers = list(Dossier.objects.filter(call=call).select_related("establishment", "form_version").order_by("pk"))
    index.upsert([index.build(d, False, []) for d in dossiers])  # bulk_create sends no post_save
    Dossier.members.through.objects.bulk_create(
        Dossier.members.through(dossier_id=d.pk, user_id=who["applicant"].pk) for d in dossiers)

    # 2 to 6 invoices for most of the legal entity's actions; 50 % of them about 0.3 to 1.4 × the ceiling.
    actions_by_entity: dict[int, list] = {}
    for a in actions:
        actions_by_entity.setdefault(a.grant.legal_entity_id, []).append(a)
    # Every invoice is retained only with a file the ARS can open: one stored PDF row per dossier (no bytes
    # are read by the payment steps), « non analysé » as on an instance without an antivirus.
    from guichet.core.models import ScanStatus
    from guichet.dossiers.models import Attachment

    files = Attachment.objects.bulk_create([
        Attachment(dossier=d, field_path="factures", file=f"dossiers/{d.pk}/factures.pdf",
                   original_name="factures.pdf", size=1, content_type="application/pdf",
                   scan_status=ScanStatus.NOT_SCANNED) for d in dossiers])
    file_of = {f.dossier_id: f for f in files}
    lines = []
    for d in dossiers:
        entity_id = d.establishment.legal_entity_id
        mine = actions_by_entity[entity_id]
        sent = [a for a in mine if rng.random() < 0.8] or [rng.choice(mine)]
        filed_day = d.first_filed_at.astimezone(PARIS).date()
        for a in sent:
            weights = [rng.uniform(0.5, 1.5) for _ in range(rng.randint(2, 6))]
            target = float(a.ceiling) * 2 * rng.uniform(0.3, 1.4)
            for w in weights:
                ttc = _money(target * w / sum(weights))
                lines.append(InvoiceLine(
                    dossier=d, action=a, establishment=rng.choice(by_entity[entity_id]),
                    supplier=rng.choice(SUPPLIERS), number=f"F{filed_day.year}-{rng.randrange(1000, 99999)}",
                    invoice_date=filed_day - dt.timedelta(days=rng.randint(5, 400)), amount_ttc=ttc,
                    amount_ht=_money(ttc / Decimal("1.2")), source="online", received_at=d.first_filed_at,
                    attachment=file_of[d.pk]))
    InvoiceLine.objects.bulk_create(lines, batch_size=2000)
    return {"call": call, "entities": len(entities), "establishments": sum(len(v) for v in by_entity.values()),
            "grants": len(grants), "actions": len(actions), "dossiers": len(dossiers), "lines": len(lines),
            "paid_before": sum(1 for a in actions if a.paid_before)}


# --- the measures --------------------------------------------------------------------------------

class Step:
    """The timings and query counts of one step, item by item (or once); in ``capture`` mode (the small
    world) the SQL is also captured and the patterns repeated within one call kept (the call with the most
    queries). Both modes count queries with ``common.counted`` (an execute wrapper), so they compare."""

    def __init__(self, capture: bool):
        self.capture, self.times, self.queries, self.repeated = capture, [], [], {}

    def __call__(self, fn, *args, **kwargs):
        if self.capture:
            from django.db import connection

            connection.queries_log.clear()  # the log keeps 9 000 queries: a call's capture starts from empty
            # Counted as in the other mode (the capture's log also holds COMMIT); the capture gives the patterns.
            (result, captured), ms, count = counted(capture_queries, fn, *args, **kwargs)
            if count >= max(self.queries, default=0):
                self.repeated = captured["repeated"]
        else:
            result, ms, count = counted(fn, *args, **kwargs)
        self.times.append(ms)
        self.queries.append(count)
        return result

    def figures(self) -> dict:
        ordered = sorted(self.queries)
        return {"n": len(self.times), "ms": sum(self.times), "queries": sum(self.queries),
                "per_item": summarize(self.times) if self.times else None,
                "q_median": ordered[len(ordered) // 2] if ordered else 0,
                "q_min": ordered[0] if ordered else 0, "q_max": ordered[-1] if ordered else 0}


class _TimedTask:
    """Stands for a task: runs the real one's ``enqueue`` (the immediate backend runs it there) and adds
    up its time and queries."""

    def __init__(self, task):
        self.task, self.ms, self.calls, self.queries = task, 0.0, 0, 0

    def enqueue(self, *args, **kwargs):
        result, ms, queries = counted(self.task.enqueue, *args, **kwargs)
        self.ms, self.queries, self.calls = self.ms + ms, self.queries + queries, self.calls + 1
        return result


def _payments_snapshot(call) -> list[tuple]:
    from guichet.funding.models import Payment

    return list(Payment.objects.filter(dossier__call=call).order_by("pk").values_list(
        "pk", "action_id", "dossier_id", "amount", "window_index", "status", "updated_at"))


def _check_limits(call) -> None:
    """No action paid beyond what its ceiling leaves after ``paid_before``; no grant paid beyond what its
    total leaves after the amounts paid before the platform."""
    from django.db.models import Sum

    from guichet.funding.models import Grant, Payment, PaymentStatus

    counted_statuses = (PaymentStatus.SCHEDULED, PaymentStatus.ORDERED, PaymentStatus.PAID)
    sums = dict(Payment.objects.filter(dossier__call=call, status__in=counted_statuses).values("action_id")
                .annotate(s=Sum("amount")).values_list("action_id", "s"))
    for grant in Grant.objects.filter(actions__in=sums).distinct().prefetch_related("actions"):
        actions = list(grant.actions.all())
        for a in actions:
            assert sums.get(a.pk, 0) <= max(0, a.ceiling - a.paid_before), (a.pk, sums.get(a.pk), a.ceiling)
        paid = sum((sums.get(a.pk, Decimal(0)) for a in actions), Decimal(0))
        assert paid <= max(Decimal(0), grant.total - sum((a.paid_before for a in actions), Decimal(0))), grant.pk


def run_year(world: dict, who: dict, rng: random.Random, capture: bool) -> dict:
    from guichet.dossiers import notifications, workflow
    from guichet.dossiers.models import Dossier
    from guichet.funding import exports, payments
    from guichet.funding.models import Grant, GrantStatus, InvoiceLine, LineStatus, Payment, PaymentOrder, PaymentStatus

    call, user = world["call"], who["instructor"]
    out: dict = {"steps": {}, "orders": []}

    # (a) every invoice validated, in the order the dossiers were received
    lines = list(InvoiceLine.objects.filter(dossier__call=call).select_related("dossier__call", "action__grant")
                 .order_by("dossier__first_filed_at", "dossier_id", "pk"))
    step, verdicts = Step(capture), {LineStatus.ACCEPTED: 0, LineStatus.PARTIAL: 0, LineStatus.REJECTED: 0}
    for line in lines:
        pick = rng.random()
        if pick < 0.70:
            step(payments.validate_line, line, user, LineStatus.ACCEPTED)
            verdicts[LineStatus.ACCEPTED] += 1
        elif pick < 0.85:
            basis = line.amount_ht if line.action.grant.invoice_basis == "ht" else line.amount_ttc
            accepted = max(CENT, _money(basis * Decimal(str(round(rng.uniform(0.3, 0.9), 2)))))
            step(payments.validate_line, line, user, LineStatus.PARTIAL, accepted_amount=accepted,
                 reason=rng.choice(PARTIAL_REASONS))
            verdicts[LineStatus.PARTIAL] += 1
        else:
            step(payments.validate_line, line, user, LineStatus.REJECTED, reason=rng.choice(REASONS))
            verdicts[LineStatus.REJECTED] += 1
    scheduled = Payment.objects.filter(dossier__call=call, status=PaymentStatus.SCHEDULED)
    out["steps"]["validate"] = {**step.figures(), "repeated": step.repeated, "verdicts": verdicts,
                                "payments": scheduled.count(),
                                "amount": sum(scheduled.values_list("amount", flat=True), Decimal(0))}
    _check_limits(call)

    # (b) the budget year recomputed, every proofs dossier in the order received: nothing changes
    before = _payments_snapshot(call)
    dossiers = list(Dossier.objects.filter(call=call).select_related("call").order_by("first_filed_at", "pk"))
    step = Step(capture)
    for d in dossiers:
        step(payments.schedule, d)
    after = _payments_snapshot(call)
    out["steps"]["recompute"] = {**step.figures(), "repeated": step.repeated, "unchanged": before == after,
                                 "payments": len(after), "amount": sum((p[3] for p in after), Decimal(0))}
    assert before == after, "recomputing the budget year changed payments"

    # (c) every dossier accepted (its payments recomputed by the funding listener), then one order per window
    real_transition = notifications.transition
    notifications.transition = mails = _TimedTask(real_transition)
    step = Step(capture)
    try:
        for d in dossiers:
            step(workflow.apply, d, "accepter", user)
    finally:
        notifications.transition = real_transition
    out["steps"]["accept"] = {**step.figures(), "repeated": step.repeated, "mails_ms": mails.ms,
                              "mails": mails.calls, "mails_queries": mails.queries}
    # Accepting recomputes the dossier's payments (the funding listener): the amounts stay.
    assert [p[:5] for p in _payments_snapshot(call)] == [p[:5] for p in after]

    for window in payments.windows(call):
        step = Step(capture)
        order = step(payments.create_order, call, window.index, user)
        figures = {"window": window.label, "create": {**step.figures(), "repeated": step.repeated}}
        ordered = Payment.objects.filter(order=order)
        figures["payments"] = ordered.count()
        figures["amount"] = sum(ordered.values_list("amount", flat=True))
        figures["grants"] = ordered.values("action__grant_id").distinct().count()
        # (d) the order as the views read it, then its files
        order = PaymentOrder.objects.select_related("call__region", "created_by").get(pk=order.pk)
        step = Step(capture)
        rows = step(lambda o=order: exports.order_rows(exports.order_payments(o)))
        figures["rows"] = {**step.figures(), "repeated": step.repeated, "count": len(rows)}
        assert sum((r.amount for r in rows), Decimal(0)) == figures["amount"]
        for kind, export in (("xlsx", exports.order_workbook), ("csv", exports.order_csv)):
            step = Step(capture)
            content = step(export, order, rows)
            figures[kind] = {**step.figures(), "repeated": step.repeated, "bytes": len(content)}
        # (e) marked paid; the order dated in the budget year it pays (it is paid no earlier than it was issued)
        PaymentOrder.objects.filter(pk=order.pk).update(
            created_at=dt.datetime.combine(PAID_ON[window.index], dt.time(9), tzinfo=PARIS))
        order = PaymentOrder.objects.select_related("call__region", "created_by").get(pk=order.pk)
        closed_before = Grant.objects.filter(status=GrantStatus.CLOSED).count()
        step = Step(capture)
        step(payments.mark_paid, order, user, PAID_ON[window.index],
             f"MANDAT-2024-{window.index + 1:02d}-{order.pk:05d}")
        assert not ordered.exclude(status=PaymentStatus.PAID).exists()
        figures["paid"] = {**step.figures(), "repeated": step.repeated,
                           "closed": Grant.objects.filter(status=GrantStatus.CLOSED).count() - closed_before}
        out["orders"].append(figures)
    return out


def bench(args) -> dict:
    from django.db import connection

    # The immediate task backend logs each task it runs: keep its warnings only.
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    rng = random.Random(20261123)
    who = people()
    print(f"Creating the small world ({SMALL} grants)…", flush=True)
    small = populate(who, SMALL, "91", rng)
    print(f"Creating {args.grants} grants, their actions, proofs dossiers and invoices…", flush=True)
    big, setup_ms = stopwatch(populate, who, args.grants, "10", rng)
    print(f"  {big['entities']} legal entities, {big['establishments']} establishments, {big['grants']} grants, "
          f"{big['actions']} actions, {big['dossiers']} proofs dossiers, {big['lines']} invoice lines "
          f"({setup_ms / 1000:.1f} s)", flush=True)
    print("Running the small world's year (SQL captured)…", flush=True)
    small_year = run_year(small, who, random.Random(7), capture=True)
    if args.sql:
        print_repeated(small_year)
    print(f"Running the year of {args.grants} grants…", flush=True)
    big_year = run_year(big, who, random.Random(11), capture=False)
    described = machine(connection)
    return {"database": args.database, "world": big, "small_world": small, "year": big_year,
            "small": small_year, "setup_ms": setup_ms, "machine": described, "date": described["date"]}


def print_repeated(year: dict) -> None:
    def show(name, figures):
        repeated = {p: n for p, n in figures.get("repeated", {}).items() if n >= 3}
        if repeated:
            print(f"  [{name}] SQL repeated in one call (the call with the most queries, {figures['q_max']}):")
            for pattern, n in repeated.items():
                print(f"      {n}× {pattern}")

    for key, figures in year["steps"].items():
        show(key, figures)
    for order in year["orders"]:
        for key in ("create", "rows", "xlsx", "csv", "paid"):
            show(f"{key} {order['window']}", order[key])


# --- output --------------------------------------------------------------------------------------

def _n(value) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _s(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _euros(amount: Decimal) -> str:
    return f"{_n(int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)))} €"


def _per(f: dict, unit: str) -> str:
    p = f["per_item"]
    return f"{p['median_ms']:.1f} ms / {unit} (p95 {p['p95_ms']:.1f})"


def _q(f: dict) -> str:
    """Total queries, and per item when the step has several."""
    if f["n"] == 1:
        return _n(f["queries"])
    spread = f"{f['q_median']}" if f["q_min"] == f["q_max"] else f"{f['q_median']} ({f['q_min']}–{f['q_max']})"
    return f"{_n(f['queries'])} — {spread} / item"


def _q_small(f: dict) -> str:
    if f["n"] == 1:
        return _n(f["queries"])
    spread = f"{f['q_median']}" if f["q_min"] == f["q_max"] else f"{f['q_median']} ({f['q_min']}–{f['q_max']})"
    return f"{spread} / item"


def markdown_block(result: dict) -> str:
    m, w, sw = result["machine"], result["world"], result["small_world"]
    year, small = result["year"], result["small"]
    lines = [
        f"### {m['engine']}",
        "",
        f"Measured {result['date']}: one proofs call (2 payment windows), {_n(w['grants'])} active grants of "
        f"{_n(w['entities'])} legal entities ({_n(w['establishments'])} establishments), {_n(w['actions'])} actions "
        f"({_n(w['paid_before'])} partly paid before the platform), {_n(w['dossiers'])} proofs dossiers, "
        f"{_n(w['lines'])} invoice lines; set up in {_s(result['setup_ms'])} with `bulk_create`. Each step once.  ",
        f"*queries ({sw['grants']} grants)*: the same step on a world of {sw['grants']} grants "
        f"({sw['dossiers']} dossiers, {sw['lines']} invoice lines).  ",
        f"Machine: {machine_text(m)}. Load average at the end: {m['load']}.",
        "",
    ]
    s = year["steps"]
    v, r, a = s["validate"], s["recompute"], s["accept"]
    verdicts = v["verdicts"]
    rows = [
        [f"(a) {_n(v['n'])} invoice lines validated (`payments.validate_line`)", _s(v["ms"]), _per(v, "line"),
         _q(v), _q_small(small["steps"]["validate"]),
         f"{_n(verdicts['acceptee'])} accepted, {_n(verdicts['partielle'])} in part, {_n(verdicts['rejetee'])} "
         f"rejected → {_n(v['payments'])} payments, {_euros(v['amount'])}"],
        [f"(b) Budget year recomputed: `payments.schedule` on {_n(r['n'])} dossiers in receipt order", _s(r["ms"]),
         _per(r, "dossier"), _q(r), _q_small(small["steps"]["recompute"]),
         ("unchanged" if r["unchanged"] else "**changed**") + f": {_n(r['payments'])} payments, {_euros(r['amount'])}"],
        [f"(c) {_n(a['n'])} dossiers accepted (`workflow.apply(…, \"accepter\")`), of which the e-mails at commit",
         f"{_s(a['ms'])} (e-mails {_s(a['mails_ms'])})", _per(a, "dossier"), _q(a), _q_small(small["steps"]["accept"]),
         f"{_n(a['mails'])} e-mail tasks ({_n(a['mails_queries'])} queries)"],
    ]
    for i, (order, small_order) in enumerate(zip(year["orders"], small["orders"], strict=True), start=1):
        label = f"window {i}"
        rows += [
            [f"(c) Order of {label} created (`payments.create_order`)", _s(order["create"]["ms"]), "—",
             _q(order["create"]), _q_small(small_order["create"]),
             f"{_n(order['payments'])} payments, {_n(order['grants'])} grants, {_euros(order['amount'])}"],
            [f"(d) Order of {label} read (`exports.order_rows(order_payments(…))`)", _s(order["rows"]["ms"]), "—",
             _q(order["rows"]), _q_small(small_order["rows"]), f"{_n(order['rows']['count'])} rows"],
            [f"(d) Order of {label} as XLSX (`exports.order_workbook`)", _s(order["xlsx"]["ms"]), "—",
             _q(order["xlsx"]), _q_small(small_order["xlsx"]), f"{order['xlsx']['bytes'] / 1024:.0f} KiB"],
            [f"(d) Order of {label} as CSV (`exports.order_csv`)", _s(order["csv"]["ms"]), "—",
             _q(order["csv"]), _q_small(small_order["csv"]), f"{order['csv']['bytes'] / 1024:.0f} KiB"],
            [f"(e) Order of {label} marked paid (`payments.mark_paid`)", _s(order["paid"]["ms"]), "—",
             _q(order["paid"]), _q_small(small_order["paid"]),
             f"{_n(order['paid']['closed'])} grants closed (paid in full)"],
        ]
    lines += markdown_table(["Step", "total", "per item", "SQL queries", f"queries ({sw['grants']} grants)", "output"],
                            rows)
    return db_block(result["database"], "\n".join(lines))


def write_doc(result: dict) -> None:
    legend = ("Figures produced by `benchmarks/payments.py` (`make bench`): a region's budget year of payments "
              "through the domain functions the views, the API and the tasks call — every invoice validated, the "
              "year recomputed, the proofs dossiers accepted, one payment order per window created, exported and "
              "marked paid. E-mails go to the in-memory backend through the test settings' immediate task backend. "
              "*per item*: median and p95 of the step's calls; *SQL queries*: the step's total, then the median "
              "(min–max) per call.")
    write_db_blocks(START, END, legend, {result["database"]: markdown_block(result)}, order=("postgres", "sqlite"),
                    heading=HEADING)


if __name__ == "__main__":
    sys.exit(main())
