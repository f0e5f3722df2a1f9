#!/usr/bin/env python
"""Benchmark of the instructor's workspace with 100 000 dossiers, through the real view.

    .venv/bin/python benchmarks/workspace.py [--database postgres|sqlite] [--dossiers N] [--repeat N] [--no-doc]

In a throwaway database (PostgreSQL ``guichet_bench_ws`` created and dropped with psycopg, or a
temporary SQLite file), the script creates N dossiers (default 100 000) with ``bulk_create`` — spread
over the 18 regions, 2 calls per region (the biggest call, Grand Est, holds 30 %), states, sectors,
departments, amounts, QVCT themes and establishment names taken from the SAE extract — and their
``DossierIndex`` rows (built by ``guichet.instruction.index.build``, the code ``reindex`` uses). Then,
logged in as an instructor of the biggest call's region, with the Django test client:

  (a) the first page of « Tous »;
  (b) the 50th page (49 « Page suivante » cursors followed);
  (c) a filtered search: words + sector + requested amount range;
  (d) a rare word search;
  (e) the tab counts alone (one aggregate query, ``workspace.tab_counts``).

It prints median / p95 / SQL query count and writes them into docs/performance.md between
``<!-- bench:workspace:start -->`` and ``<!-- bench:workspace:end -->`` (one block per database).
"""

import csv
import datetime as dt
import random
import re
import sys
import time
from decimal import Decimal

from common import (
    ROOT,
    database_parser,
    db_block,
    machine,
    machine_text,
    markdown_table,
    measure,
    run_on_throwaway_database,
    write_db_blocks,
)

START, END = "<!-- bench:workspace:start -->", "<!-- bench:workspace:end -->"
PG_DB = "guichet_bench_ws"
SAE = ROOT / "guichet" / "establishments" / "data" / "sae_id_2023_extrait.csv"
BIG_REGION = "44"
WORDS = ("ergonomie prevention troubles musculosquelettiques dialogue social equipe nuit formation tutorat "
         "management participatif espace de repos rail plafond lève-personne qualite de vie au travail "
         "absenteisme fidelisation accueil nouveaux arrivants horaires coupes analyse des pratiques "
         "soutien psychologique charge mentale amenagement des locaux teletravail cadres").split()
CITIES = ["Metz", "Nancy", "Strasbourg", "Reims", "Troyes", "Épinal", "Colmar", "Mulhouse", "Verdun", "Charleville",
          "Lille", "Amiens", "Rouen", "Caen", "Rennes", "Nantes", "Tours", "Dijon", "Besançon", "Lyon", "Grenoble",
          "Clermont-Ferrand", "Limoges", "Bordeaux", "Toulouse", "Montpellier", "Marseille", "Nice", "Ajaccio"]
KINDS = [("sanitaire", "Centre hospitalier", "public"), ("sanitaire", "Clinique", "prive"),
         ("sanitaire", "Centre de soins de suite", "espic"), ("medico_social", "EHPAD", "public"),
         ("medico_social", "EHPAD", "prive"), ("medico_social", "Foyer d'accueil médicalisé", "espic"),
         ("medico_social", "Maison d'accueil spécialisée", "prive")]
SCENARIOS = [
    ("first", "(a) First page of « Tous » (50 rows)"),
    ("deep", "(b) 50th page of « Tous » (49 cursors followed)"),
    ("filtered", "(c) Filtered search: 2 words + sector + amount range"),
    ("rare", "(d) Search for a rare word"),
    ("counts", "(e) Tab counts alone (workspace.tab_counts)"),
]


def main():
    parser = database_parser(__doc__)
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    return run_on_throwaway_database(parser.parse_args(), PG_DB, bench, markdown_block, write_doc)


# --- the data ------------------------------------------------------------------------------------

def _sae_names() -> list[str]:
    with SAE.open(encoding="latin-1") as fh:
        return sorted({row["rs"].strip() for row in csv.DictReader(fh, delimiter=";") if row.get("rs")})


def populate(n: int) -> dict:
    from django.utils import timezone

    from guichet.accounts.models import Role, User
    from guichet.calls.models import Call, FormVersion
    from guichet.dossiers.models import Dossier, State
    from guichet.establishments.models import Establishment, Region
    from guichet.formschema import qvct
    from guichet.instruction import index
    from guichet.instruction.models import Label

    rng = random.Random(20261122)
    regions = list(Region.objects.order_by("code"))
    big = next(r for r in regions if r.code == BIG_REGION)
    owner = User.objects.create(email="deposant@bench.example", role=Role.APPLICANT)
    instructor = User.objects.create(email="instructeur@bench.example", role=Role.INSTRUCTOR, region=big)
    schema = {"sections": [{"key": "projet", "title": "Projet", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
        {"key": "description", "type": "textarea", "label": "Description"},
        {"key": "themes_qvct", "type": "qvct_theme", "label": "Thèmes"},
        {"key": "total_montant_demande", "type": "amount", "label": "Montant demandé"},
    ]}]}
    now = timezone.now()
    calls, versions = [], {}
    for region in regions:
        for year in (2024, 2025):
            call = Call.objects.create(region=region, year=year, title=f"CLACT-QVCT {year} — {region.name}",
                                       slug=f"clact-{year}-{region.slug}", opens_at=now - dt.timedelta(days=90),
                                       closes_at=now + dt.timedelta(days=30))
            versions[call.pk] = FormVersion.objects.create(call=call, number=1, schema=schema)
            calls.append(call)
    big_call = next(c for c in calls if c.region_id == big.pk and c.year == 2025)
    names = _sae_names()
    establishments = []
    for i in range(6000):
        region = big if i < 1500 else regions[i % len(regions)]
        sector, category, status = KINDS[i % len(KINDS)]
        base = names[i % len(names)]
        city = CITIES[(i * 7) % len(CITIES)]
        establishments.append(Establishment(
            finess=f"{9 * 10**8 + i:09d}", name=f"{base} — site {city} {i}" if i >= len(names) else base,
            sector=sector, category=category, legal_status=status, department=f"{(i * 13) % 95 + 1:02d}",
            city=city, region=region))
    Establishment.objects.bulk_create(establishments, batch_size=2000)
    establishments = list(Establishment.objects.all())
    by_region: dict[int, list] = {}
    for e in establishments:
        by_region.setdefault(e.region_id, []).append(e)
    theme_codes = [code for code, _ in qvct.choices()]
    states = ([State.EN_CONSTRUCTION] * 35 + [State.EN_INSTRUCTION] * 30 + [State.ACCEPTE] * 15
              + [State.REFUSE] * 10 + [State.SANS_SUITE] * 5 + [State.BROUILLON] * 5)
    other_calls = [c for c in calls if c is not big_call]
    start = now - dt.timedelta(days=400)
    labels = [Label.objects.create(call=big_call, name=name, colour=colour) for name, colour in
              (("Prioritaire", "green-emeraude"), ("À compléter", "orange-terre-battue"), ("Expert", "purple-glycine"))]
    label_links, follow_links = [], []
    batch = 2000
    t0 = time.perf_counter()
    for first in range(0, n, batch):
        dossiers = []
        for i in range(first, min(n, first + batch)):
            call = big_call if i % 10 < 3 else other_calls[i % len(other_calls)]
            est = rng.choice(by_region[call.region_id])
            state = rng.choice(states)
            filed = start + dt.timedelta(minutes=rng.randrange(400 * 24 * 60))
            amount = Decimal(rng.randrange(2_000, 200_000)) + Decimal(rng.randrange(100)) / 100
            text = " ".join(rng.choice(WORDS) for _ in range(25))
            answers = {"nom_projet": f"Projet QVCT {i}", "description": text,
                       "themes_qvct": rng.sample(theme_codes, rng.randrange(1, 4)),
                       "total_montant_demande": str(amount)}
            filed_state = state != State.BROUILLON
            d = Dossier(call=call, form_version=versions[call.pk], establishment=est, created_by=owner, state=state,
                        answers=answers, number=f"{call.year}-{call.region_id:02d}-{i:07d}" if filed_state else None,
                        first_filed_at=filed if filed_state else None, last_filed_at=filed if filed_state else None,
                        archived=state in (State.ACCEPTE, State.REFUSE) and rng.random() < 0.3)
            if state in (State.ACCEPTE, State.REFUSE, State.SANS_SUITE):
                d.decided_at = filed + dt.timedelta(days=30)
            dossiers.append(d)
        Dossier.objects.bulk_create(dossiers)
        rows = []
        for d in dossiers:
            d.created_at = d.created_at or now
            d.updated_at = d.updated_at or now
            if d.state == State.BROUILLON:
                continue
            followed = d.call_id == big_call.pk and rng.random() < 0.1
            chosen = [lb.pk for lb in labels if d.call_id == big_call.pk and rng.random() < 0.05]
            if followed:
                follow_links.append(Dossier.followers.through(dossier_id=d.pk, user_id=instructor.pk))
            label_links += [Label.dossiers.through(dossier_id=d.pk, label_id=lb) for lb in chosen]
            rows.append(index.build(d, followed, chosen))
        index.upsert(rows)
        done = min(n, first + batch)
        if done % 20000 == 0 or done == n:
            print(f"  {done} dossiers ({time.perf_counter() - t0:.0f} s)", flush=True)
    Dossier.followers.through.objects.bulk_create(follow_links, batch_size=5000)
    Label.dossiers.through.objects.bulk_create(label_links, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"instructor": instructor, "call": big_call, "load_seconds": time.perf_counter() - t0,
            "big_call_dossiers": big_call.dossier_indexes.count()}


# --- the measures --------------------------------------------------------------------------------

NEXT = re.compile(r'href="([^"]+)" rel="next"')


def bench(args) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from guichet.instruction import workspace

    print(f"Creating {args.dossiers} dossiers…", flush=True)
    world = populate(args.dossiers)
    client = Client()
    client.force_login(world["instructor"])
    url = reverse("instruction:workspace", args=[world["call"].slug])

    def get(target, params=None):
        response = client.get(target, params or {})
        assert response.status_code == 200, response.status_code
        return response

    first = f"{url}?onglet=tous"
    target, depth = first, 1
    for _ in range(49):
        match = NEXT.search(get(target).content.decode())
        if not match:  # a small run (--dossiers) may have fewer pages
            break
        target, depth = match.group(1).replace("&amp;", "&"), depth + 1
    deep = target
    filtered = {"onglet": "tous", "q": "ergonomie nuit", "secteur": "medico_social", "montant_min": "20 000",
                "montant_max": "80 000"}
    rare = {"onglet": "tous", "q": "Projet QVCT 12345"}
    measures = {}
    for key, fn in (("first", lambda: get(first)), ("deep", lambda: get(deep)),
                    ("filtered", lambda: get(url, filtered)), ("rare", lambda: get(url, rare)),
                    ("counts", lambda: workspace.tab_counts(world["call"], world["instructor"]))):
        print(f"Measuring {key}…", flush=True)
        measures[key] = measure(fn, args.repeat)
    described = machine(connection)
    return {"database": args.database, "dossiers": args.dossiers, "repeat": args.repeat,
            "big_call_dossiers": world["big_call_dossiers"], "depth": depth, "load_seconds": world["load_seconds"],
            "machine": described, "date": described["date"], "measures": measures}


# --- output --------------------------------------------------------------------------------------

def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def markdown_block(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"### {m['engine']}",
        "",
        f"Measured {result['date']}: {_n(result['dossiers'])} dossiers in the database (the measured call: "
        f"{_n(result['big_call_dossiers'])} filed dossiers), {result['repeat']} timed repetitions per measure "
        f"after 2 warm-up requests; data created in {result['load_seconds']:.0f} s.  ",
        f"Machine: {machine_text(m)}. Load average at the end: {m['load']}.",
        "",
    ]
    rows = []
    for key, label in SCENARIOS:
        r = result["measures"][key]
        label = label.replace("50th page", f"page {result['depth']}").replace("49 ", f"{result['depth'] - 1} ")
        rows.append([label, f"{r['median_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['min_ms']:.1f}", str(r["queries"])])
    lines += markdown_table(["Measure", "median (ms)", "p95 (ms)", "min (ms)", "SQL queries"], rows)
    return db_block(result["database"], "\n".join(lines))


def write_doc(result: dict) -> None:
    legend = ("Figures produced by `benchmarks/workspace.py` (`make bench`): the workspace list through the real "
              "view (Django test client, `force_login` as an instructor of the measured call's region). "
              "*SQL queries*: queries of one request (session and user included).")
    write_db_blocks(START, END, legend, {result["database"]: markdown_block(result)}, order=("postgres", "sqlite"),
                    heading="## Instructor's workspace")


if __name__ == "__main__":
    sys.exit(main())
