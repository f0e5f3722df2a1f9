#!/usr/bin/env python
"""Benchmark of one region's year of arbitration: the commission's table, amounts typed, decisions
applied, a letter and a convention per dossier, and the minutes, through the real code.

    .venv/bin/python benchmarks/commission.py [--database postgres|sqlite] [--dossiers N] [--repeat N] [--no-doc]

In a throwaway database (PostgreSQL ``guichet_bench_commission`` created and dropped with psycopg, or a
temporary SQLite file), the script creates a Grand Est call (envelope 3 800 000 €, co-financing rate
50 %), an instructor of the region, N dossiers (default 300) in instruction with ``bulk_create``, each
with 1 to 6 actions in its answers, 4 scoring criteria scored by 3 scorers, a session
(``arbitration.create_session``) with 4 members, and puts every dossier on its agenda
(``arbitration.add_to_agenda``, timed). Then, logged in as the instructor with the Django test client:

  (a) the arbitration table page (GET ``commission:session``), no decision taken yet;
  (b) one granted amount typed (htmx POST ``commission:line_amounts``): checked against the ceiling and
      the envelope, saved, the row and the totals answered;
  then every action's granted amount is written (``arbitration.set_amounts``) and every dossier accepted
  (``arbitration.set_decision``), both timed, and
  (a') the table page again, decisions taken (it lists what would block applying them);
  (c) the decisions applied (``arbitration.apply_decisions``, the document generation it enqueues
      replaced by a no-op), then each dossier's letter and convention generated as PDF
      (``documents.generate_item_documents``, on the items ``documents.generate_for_item`` reads),
      and the session's minutes (``documents.generate_minutes``).

(a), (b) and (a') are also counted on a 10-dossier session of another call: if the query counts
differ, they grow with the agenda. Results go into docs/performance.md between
``<!-- bench:commission:start -->`` and ``<!-- bench:commission:end -->`` (one block per database).
"""

import datetime as dt
import logging
import random
import re
import sys
from decimal import ROUND_DOWN, Decimal

from common import (
    ROOT,
    counted,
    database_parser,
    db_block,
    machine,
    machine_text,
    markdown_table,
    measure,
    run_on_throwaway_database,
    summarize,
    write_db_blocks,
)

START, END = "<!-- bench:commission:start -->", "<!-- bench:commission:end -->"
HEADING = "## Commission : tableau d'arbitrage et lettres"
PG_DB = "guichet_bench_commission"
REGION = "44"
ENVELOPE, RATE = Decimal("3800000.00"), Decimal("50.00")
SMALL = 10
CENT = Decimal("0.01")
KINDS = [("sanitaire", "Centre hospitalier", "public"), ("medico_social", "EHPAD", "public"),
         ("medico_social", "EHPAD", "prive"), ("sanitaire", "Clinique", "prive"),
         ("medico_social", "Maison d'accueil spécialisée", "espic"), ("sanitaire", "Centre de soins de suite", "espic")]
NAMES = ["Les Tilleuls", "Saint-Joseph", "La Roseraie", "Sainte-Marie", "Les Charmilles", "Le Parc", "Bel Air",
         "Les Jardins de la Moselle", "Émile Gallé", "La Source", "Notre-Dame", "Les Vignes", "Le Val de Meuse"]
CITIES = ["Metz", "Nancy", "Strasbourg", "Reims", "Troyes", "Épinal", "Colmar", "Mulhouse", "Verdun",
          "Charleville-Mézières", "Thionville", "Haguenau", "Châlons-en-Champagne", "Saint-Dié-des-Vosges"]
ACTIONS = ["Formation des encadrants à la prévention des risques psychosociaux", "Rails plafonniers et lève-personnes",
           "Espace de repos des équipes de nuit", "Analyse des pratiques professionnelles",
           "Tutorat des nouveaux arrivants", "Aménagement ergonomique des postes de soins",
           "Démarche participative sur l'organisation des plannings", "Soutien psychologique des équipes",
           "Prévention des troubles musculo-squelettiques", "Semaine de la qualité de vie au travail"]
CRITERIA = [("Qualité du diagnostic", "2", 5), ("Association des représentants du personnel", "1.5", 5),
            ("Pertinence des actions", "2", 5), ("Suivi et évaluation", "1", 5)]
MEMBERS = [("president", "Direction de l'offre de soins, ARS Grand Est"), ("membre", "CFDT Santé-Sociaux"),
           ("membre", "Fédération hospitalière de France"), ("secretaire", "")]
SCENARIOS = [
    ("table", "(a) Arbitration table page, no decision yet (GET)"),
    ("amount", "(b) One granted amount typed, totals recomputed (htmx POST)"),
    ("table_decided", "(a') Arbitration table page, every decision taken (GET)"),
]


def main():
    parser = database_parser(__doc__)
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20, help="timed repetitions of (a), (b), (a') (default 20)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the table page and of one dossier's letter and convention")
    return run_on_throwaway_database(parser.parse_args(), PG_DB, bench, markdown_block, write_doc)


# --- the data ------------------------------------------------------------------------------------

def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def people() -> dict:
    from guichet.accounts.models import Role, User
    from guichet.establishments.models import Region

    region = Region.objects.get(code=REGION)
    instructor = User.objects.create_user("instructrice@bench.example", "bench-motdepasse-2026", role=Role.INSTRUCTOR,
                                          region=region, first_name="Claire", last_name="Martin")
    colleague = User.objects.create(email="instructeur@bench.example", role=Role.INSTRUCTOR, region=region)
    applicant = User.objects.create(email="deposant@bench.example", role=Role.APPLICANT)
    members = [User.objects.create(email=f"membre{i}@bench.example", first_name=f"Membre {i}", last_name="Commission")
               for i in range(len(MEMBERS))]
    return {"region": region, "instructor": instructor, "colleague": colleague, "applicant": applicant,
            "members": members}


def populate(who: dict, n: int, slug: str, first_finess: int, first_number: int, rng: random.Random) -> dict:
    """A call with ``n`` dossiers in instruction (1 to 6 actions each), criteria and scores, and a
    session with its members; the dossiers are not on its agenda yet."""
    from django.utils import timezone

    from guichet.calls.models import Call, FormVersion
    from guichet.commission import arbitration
    from guichet.commission.models import Criterion, Score
    from guichet.dossiers.models import Dossier, State
    from guichet.establishments.models import Establishment, LegalEntity
    from guichet.instruction import index

    region, instructor = who["region"], who["instructor"]
    now = timezone.now()
    call = Call.objects.create(region=region, year=2025, title=f"CLACT-QVCT 2025 — {region.name} ({slug})", slug=slug,
                               opens_at=now - dt.timedelta(days=120), closes_at=now - dt.timedelta(days=60),
                               envelope=ENVELOPE, cofinancing_rate=RATE)
    version = FormVersion.objects.create(call=call, number=1, schema={"sections": [{
        "key": "projet", "title": "Projet", "fields": [
            {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
            {"key": "actions", "type": "repeat", "label": "Actions", "fields": [
                {"key": "intitule", "type": "text", "label": "Intitulé"},
                {"key": "cout_total", "type": "amount", "label": "Coût total"},
                {"key": "montant_demande", "type": "amount", "label": "Montant demandé"},
                {"key": "structures_concernees", "type": "text", "label": "Structures concernées"}]}]}]})
    LegalEntity.objects.bulk_create(
        LegalEntity(finess=f"{first_finess + 2 * i:09d}", siren=f"{267000000 + first_finess % 1000 + i:09d}",
                    name=f"Groupement {NAMES[i % len(NAMES)]} {i}", legal_status=KINDS[i % len(KINDS)][2])
        for i in range((n + 1) // 2))
    entities = list(LegalEntity.objects.filter(finess__gte=f"{first_finess:09d}",
                                               finess__lt=f"{first_finess + 2 * n:09d}").order_by("finess"))
    establishments = []
    for i in range(n):
        sector, category, status = KINDS[i % len(KINDS)]
        city = CITIES[(i * 7) % len(CITIES)]
        establishments.append(Establishment(
            finess=f"{first_finess + 2 * i + 1:09d}", legal_entity=entities[i // 2], siret=f"{26700000000000 + i:014d}",
            name=f"{category} {NAMES[i % len(NAMES)]} — {city}", category=category, sector=sector,
            legal_status=status, department=str(54 + i % 4), city=city, region=region))
    Establishment.objects.bulk_create(establishments)
    establishments = list(Establishment.objects.filter(finess__in=[e.finess for e in establishments])
                          .order_by("finess"))
    filed = now - dt.timedelta(days=75)
    dossiers = []
    for i, establishment in enumerate(establishments):
        actions = []
        for a in range(rng.randint(1, 6)):
            cost = _money(rng.randrange(1_500_00, 15_000_00) / 100)
            requested = _money(cost * Decimal(rng.choice(("0.5", "0.5", "0.5", "0.4", "0.3"))))
            actions.append({"intitule": ACTIONS[(i + a) % len(ACTIONS)], "cout_total": str(cost),
                            "montant_demande": str(requested),
                            "structures_concernees": f"{establishment.name} ({establishment.finess})"})
        dossiers.append(Dossier(
            call=call, form_version=version, establishment=establishment, created_by=who["applicant"],
            state=State.EN_INSTRUCTION, number=f"2025-{REGION}-{first_number + i:06d}",
            answers={"nom_projet": f"Projet QVCT {establishment.name}", "actions": actions},
            first_filed_at=filed, last_filed_at=filed, instruction_started_at=filed + dt.timedelta(days=5)))
    Dossier.objects.bulk_create(dossiers)
    dossiers = list(Dossier.objects.filter(call=call).order_by("number"))
    index.upsert([index.build(d, False, []) for d in dossiers])  # bulk_create sends no post_save
    Dossier.members.through.objects.bulk_create(
        Dossier.members.through(dossier_id=d.pk, user_id=who["applicant"].pk) for d in dossiers)
    criteria = [Criterion.objects.create(call=call, label=label, weight=Decimal(weight), scale_max=scale, order=i)
                for i, (label, weight, scale) in enumerate(CRITERIA)]
    scores = []
    for d in dossiers:
        if rng.random() < 0.05:  # a few dossiers not scored yet
            continue
        for scorer in (instructor, who["colleague"], who["members"][1]):
            scores += [Score(dossier=d, criterion=c, scorer=scorer, value=rng.randint(1, c.scale_max))
                       for c in criteria]
    Score.objects.bulk_create(scores, batch_size=2000)
    session = arbitration.create_session(
        call, instructor, title=f"Commission d'arbitrage CLACT-QVCT 2025 ({slug})",
        held_on=now + dt.timedelta(days=7), place="ARS Grand Est, Nancy",
        signatory_name="Le directeur général", convention_starts_on=dt.date(2026, 1, 1),
        convention_ends_on=dt.date(2027, 12, 31))
    for user, (capacity, organisation) in zip(who["members"], MEMBERS, strict=True):
        arbitration.add_member(session, instructor, user, capacity, organisation)
    return {"call": call, "session": session, "dossiers": dossiers, "scores": len(scores),
            "actions": sum(len(d.answers["actions"]) for d in dossiers)}


# --- the measures --------------------------------------------------------------------------------

def _french(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def _table_request(client, session, lines: int):
    from django.urls import reverse

    url = reverse("commission:session", args=[session.pk])

    def run():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        # A large agenda shows one line per dossier, its actions opened on demand; a small one, every action.
        assert response.content.count(b'<tr id="ligne-') in (0, lines), "no action row, or every one"
        return response
    return run


def _amount_request(client, session):
    """Typing one granted amount: values alternating under the line's ceiling, so that each POST changes it."""
    from django.urls import reverse

    from guichet.commission import arbitration
    from guichet.commission.models import ActionLine

    items = list(session.items.order_by("order"))
    line = ActionLine.objects.filter(item=items[len(items) // 2]).order_by("position").first()
    limit = arbitration.line_ceiling(line, RATE)
    values = [_french((limit * Decimal(f)).quantize(CENT, rounding=ROUND_DOWN)) for f in ("0.5", "0.75")]
    url = reverse("commission:line_amounts", args=[line.pk])
    counter = iter(range(10**9))

    def run():
        response = client.post(url, {"granted": values[next(counter) % 2]}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.status_code
        assert b"fr-message--error" not in response.content, response.content[:2000]
        assert b'hx-swap-oob="true"' in response.content
        return response
    return run, line


def grant_everything(session, user) -> dict:
    """Every action granted about 80 % of its ceiling (in tens of euros, within the envelope), every
    dossier accepted: through ``arbitration.set_amounts`` and ``arbitration.set_decision``, timed."""
    from guichet.commission import arbitration
    from guichet.commission.models import ActionLine, Decision

    lines = list(ActionLine.objects.filter(item__session=session).select_related("item__session__call")
                 .order_by("item__order", "position"))
    ceilings = [arbitration.line_ceiling(line, RATE) for line in lines]
    factor = min(Decimal("0.8"), ENVELOPE * Decimal("0.95") / max(sum(ceilings), Decimal(1)))
    amounts = [(c * factor / 10).quantize(Decimal(1), rounding=ROUND_DOWN) * 10 for c in ceilings]
    amounts = [a if a > 0 else c for a, c in zip(amounts, ceilings, strict=True)]

    def write_all():
        for line, amount in zip(lines, amounts, strict=True):
            arbitration.set_amounts(line, user, granted=amount)

    _, amounts_ms, amounts_queries = counted(write_all)
    items = list(session.items.select_related("session__call").order_by("order"))

    def decide_all():
        for item in items:
            arbitration.set_decision(item, user, Decision.ACCEPT, convention_kind="convention")

    _, decisions_ms, decisions_queries = counted(decide_all)
    return {"lines": len(lines), "granted": sum(amounts, Decimal(0)), "amounts_ms": amounts_ms,
            "amounts_queries": amounts_queries, "decisions": len(items), "decisions_ms": decisions_ms,
            "decisions_queries": decisions_queries}


class _TimedTask:
    """Stands for a task: runs the real one's ``enqueue`` and adds up the time it takes."""

    def __init__(self, task):
        self.task, self.ms, self.calls = task, 0.0, 0

    def enqueue(self, *args, **kwargs):
        import time

        start = time.perf_counter()
        try:
            return self.task.enqueue(*args, **kwargs)
        finally:
            self.ms += (time.perf_counter() - start) * 1000
            self.calls += 1


def apply_and_generate(session, user) -> dict:
    from guichet.commission import arbitration, documents
    from guichet.commission.models import Decision, Document, Session
    from guichet.dossiers import notifications

    # (c) apply: the letters are generated below, explicitly; the e-mails of each transition are
    # timed apart (the test settings' immediate task backend sends them at commit, in this process).
    real_generate, real_transition = documents.enqueue_decision_documents, notifications.transition
    enqueued = []
    documents.enqueue_decision_documents = lambda s: enqueued.append(s.pk)
    notifications.transition = mails = _TimedTask(real_transition)
    try:
        applied, apply_ms, apply_queries = counted(arbitration.apply_decisions, session, user,
                                                        early_reason="Mesure de performance.")
    finally:
        documents.enqueue_decision_documents, notifications.transition = real_generate, real_transition
    assert enqueued == [session.pk] and len(applied) == session.items.count()
    # The items as documents.generate_for_item reads them.
    session = Session.objects.select_related("call__region").get(pk=session.pk)
    items = list(session.items.exclude(decision=Decision.POSTPONE).filter(applied_at__isnull=False)
                 .select_related("session__call__region", "dossier__establishment__legal_entity", "dossier__grant")
                 .prefetch_related("lines"))
    per_dossier, sizes, letters_queries = [], [], 0
    for item in items:
        made, ms, queries = counted(documents.generate_item_documents, item)
        assert len(made) == 2 and all(d.size > 1000 for d in made), made
        per_dossier.append(ms)
        sizes += [d.size for d in made]
        letters_queries += queries
    stored = Document.objects.filter(dossier__in=[i.dossier_id for i in items])
    first = stored.order_by("pk").first()
    with first.file.open("rb") as fh:
        assert fh.read(5) == b"%PDF-", "a stored letter is a PDF"
    minutes, minutes_ms, minutes_queries = counted(documents.generate_minutes, session)
    with minutes.file.open("rb") as fh:
        pdf = fh.read()
    pages = _pages(pdf)
    return {"applied": len(applied), "apply_ms": apply_ms, "apply_queries": apply_queries, "mails_ms": mails.ms,
            "mails": mails.calls, "letters": len(items), "documents": len(sizes), "letters_ms": sum(per_dossier),
            "per_dossier": summarize(per_dossier), "letters_queries": letters_queries, "pdf_bytes": sum(sizes),
            "minutes_ms": minutes_ms, "minutes_queries": minutes_queries, "minutes_bytes": minutes.size,
            "minutes_pages": pages or None}


def _pages(pdf: bytes) -> int | None:
    try:
        import io

        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) or None
    return len(PdfReader(io.BytesIO(pdf)).pages)


def profile(title: str, fn) -> None:
    """A cProfile of one call of ``fn`` (``--profile``): where the time goes."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    for order, restrictions in (("cumulative", (r"guichet/|templates?/|loader_tags", 30)), ("tottime", (20,))):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restrictions)
        print(f"\n--- cProfile of {title} ({order}) ---")
        print("\n".join(line.replace(str(ROOT) + "/", "") for line in out.getvalue().splitlines() if line.strip()))


def _one_letter(session):
    from guichet.commission import documents

    item = (session.items.select_related("session__call__region", "dossier__establishment__legal_entity",
                                         "dossier__grant").prefetch_related("lines").first())
    return lambda: documents.generate_item_documents(item)


def bench(args) -> dict:
    from django.db import connection
    from django.test import Client

    from guichet.commission import arbitration
    from guichet.commission.models import ActionLine

    # The immediate task backend logs each task it runs: keep its warnings only.
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    rng = random.Random(20261122)
    who = people()
    print(f"Creating {args.dossiers} dossiers (and {SMALL} for the small session)…", flush=True)
    big = populate(who, args.dossiers, "clact-2025-grand-est", 670_000_000, 1, rng)
    small = populate(who, SMALL, "clact-2025-grand-est-petite", 690_000_000, 900_001, rng)
    instructor = who["instructor"]
    print("Putting every dossier on the agenda…", flush=True)
    (added, refused), agenda_ms, agenda_queries = counted(arbitration.add_to_agenda, big["session"],
                                                          big["dossiers"], instructor)
    assert len(added) == args.dossiers and not refused, refused
    arbitration.add_to_agenda(small["session"], small["dossiers"], instructor)
    lines = ActionLine.objects.filter(item__session=big["session"]).count()
    small_lines = ActionLine.objects.filter(item__session=small["session"]).count()
    client = Client()
    client.force_login(instructor)
    from guichet.accounts.mfa import mark_session_verified

    login = client.session  # an instructor's pages need the second factor: mark it passed, as the tests do
    mark_session_verified(login, instructor)
    login.save()
    measures, small_queries = {}, {}

    def run(key, fn, fn_small, repeat):
        print(f"Measuring {key}…", flush=True)
        measures[key] = measure(fn, repeat)
        measures[key]["bytes"] = len(fn().content)
        small_queries[key] = measure(fn_small, 1, warmup=1)["queries"]

    run("table", _table_request(client, big["session"], lines), _table_request(client, small["session"], small_lines),
        args.repeat)
    amount, line = _amount_request(client, big["session"])
    amount_small, line_small = _amount_request(client, small["session"])
    run("amount", amount, amount_small, args.repeat)
    ActionLine.objects.filter(pk__in=[line.pk, line_small.pk]).update(granted=None)
    print(f"Granting every action ({lines}) and accepting every dossier…", flush=True)
    granted = grant_everything(big["session"], instructor)
    grant_everything(small["session"], instructor)
    run("table_decided", _table_request(client, big["session"], lines),
        _table_request(client, small["session"], small_lines), args.repeat)
    if args.profile:
        profile("the arbitration table page, decisions taken", _table_request(client, big["session"], lines))
    for key, m in measures.items():
        print(f"  {key}: median {m['median_ms']:.1f} ms, p95 {m['p95_ms']:.1f} ms, {m['queries']} queries, "
              f"{m['bytes'] / 1024:.0f} KiB", flush=True)
    print(f"Applying the decisions, then generating {args.dossiers} letters and conventions and the minutes…",
          flush=True)
    generated = apply_and_generate(big["session"], instructor)
    if args.profile:
        profile("one dossier's letter and convention", _one_letter(big["session"]))
    for key, m in measures.items():
        m["queries_small"] = small_queries[key]
        for pattern, n in m.pop("repeated").items():
            if n >= 10:
                print(f"  [{key}] repeated {n}×: {pattern}")
    described = machine(connection)
    return {"database": args.database, "dossiers": args.dossiers, "actions": lines, "scores": big["scores"],
            "repeat": args.repeat, "agenda_ms": agenda_ms, "agenda_queries": agenda_queries, **granted,
            **generated, "machine": described, "date": described["date"], "measures": measures}


# --- output --------------------------------------------------------------------------------------

def _n(value) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _s(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


def markdown_block(result: dict) -> str:
    m, n = result["machine"], result["dossiers"]
    lines = [
        f"### {m['engine']}",
        "",
        f"Measured {result['date']}: one session of {_n(n)} dossiers in instruction ({_n(result['actions'])} actions, "
        f"{_n(result['scores'])} scores on 4 criteria by 3 scorers), envelope {_n(int(ENVELOPE))} €, rate "
        f"{int(RATE)} %; {result['repeat']} timed repetitions of (a), (b), (a') after 2 warm-up requests, the other "
        "steps once.  ",
        f"Machine: {machine_text(m)}. Load average at the end: {m['load']}.",
        "",
    ]
    rows = []
    for key, label in SCENARIOS:
        r = result["measures"][key]
        rows.append([label, f"{r['median_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['min_ms']:.1f}", str(r["queries"]),
                     str(r["queries_small"]), f"{r['bytes'] / 1024:.0f} KiB"])
    lines += markdown_table(["Measure", "median (ms)", "p95 (ms)", "min (ms)", "SQL queries",
                             f"queries ({SMALL} dossiers)", "response"], rows)
    per = result["per_dossier"]
    mb = result["pdf_bytes"] / 1e6
    steps = [
        [f"All {_n(n)} dossiers put on the agenda (`arbitration.add_to_agenda`)", _s(result["agenda_ms"]),
         f"{result['agenda_ms'] / n:.1f} ms / dossier", _n(result["agenda_queries"]), "—"],
        [f"Every granted amount written ({_n(result['lines'])} actions, `arbitration.set_amounts`)",
         _s(result["amounts_ms"]), f"{result['amounts_ms'] / result['lines']:.1f} ms / action",
         _n(result["amounts_queries"]), f"{_n(int(result['granted']))} € granted"],
        ["Every dossier accepted (`arbitration.set_decision`)", _s(result["decisions_ms"]),
         f"{result['decisions_ms'] / n:.1f} ms / dossier", _n(result["decisions_queries"]), "—"],
        ["(c) Decisions applied (`arbitration.apply_decisions`), of which the e-mails sent at commit",
         f"{_s(result['apply_ms'])} (e-mails {_s(result['mails_ms'])})", f"{result['apply_ms'] / n:.1f} ms / dossier",
         _n(result["apply_queries"]), f"{result['applied']} dossiers, {result['mails']} e-mail tasks"],
        [f"(c) {_n(result['letters'])} letters + conventions (`documents.generate_item_documents`)",
         _s(result["letters_ms"]), f"{per['median_ms']:.0f} ms / dossier (p95 {per['p95_ms']:.0f})",
         _n(result["letters_queries"]), f"{result['documents']} PDF, {mb:.1f} MB "
                                        f"({result['pdf_bytes'] / result['documents'] / 1024:.0f} KiB each)"],
        [f"(c) Minutes of the {_n(n)}-dossier session (`documents.generate_minutes`)", _s(result["minutes_ms"]), "—",
         _n(result["minutes_queries"]), f"{result['minutes_bytes'] / 1024:.0f} KiB"
                                        + (f", {result['minutes_pages']} pages" if result["minutes_pages"] else "")],
    ]
    lines += ["", *markdown_table(["Step (once)", "total", "per item", "SQL queries", "output"], steps)]
    return db_block(result["database"], "\n".join(lines))


def write_doc(result: dict) -> None:
    legend = ("Figures produced by `benchmarks/commission.py` (`make bench`): a region's year of arbitration "
              "through the real code — the session page and the amounts through the views (Django test client, "
              "`force_login` as an instructor of the region), the rest through the domain functions the views and "
              "the task call. PDF by WeasyPrint from the region's default templates, stored in the local file "
              "storage. *queries (10 dossiers)*: the same request on a 10-dossier session — if it differs, the "
              "query count grows with the agenda.")
    write_db_blocks(START, END, legend, {result["database"]: markdown_block(result)}, order=("postgres", "sqlite"),
                    heading=HEADING)


if __name__ == "__main__":
    sys.exit(main())
