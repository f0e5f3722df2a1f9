#!/usr/bin/env python
"""Benchmark of the follow-up (issue 13): the workspace export of 100 000 dossiers to XLSX and CSV, and the
statistics pages of a region holding them and of the whole country.

    .venv/bin/python benchmarks/reporting.py [--dossiers N] [--database sqlite|postgres|both] [--repeat N]
                                             [--no-jobs] [--no-doc]

In a throwaway database (PostgreSQL ``guichet_bench13`` on ``BENCH_PG_URL``, created and dropped with psycopg,
or a temporary SQLite file), the script creates with ``bulk_create`` (not part of the figures):

- Grand Est's 2025 call holding N dossiers (default 100 000) on the seed form of Hauts-de-France 2024
  (``calls/seed_templates/hdf-2024-candidature.yaml``): every section answered, **5 rows of actions** each
  (title, description, HAS QVCT sub-themes, costs, amounts, computed totals), states spread (a few drafts),
  establishments of every sector, legal status and department of the region, labels and followers;
- Grand Est's 2024 call and Hauts-de-France's 2025 call with N / 10 dossiers each (several calls and years,
  a second region);
- for the decided dossiers: a commission session per call with the action lines (proposed / granted), and
  for the accepted ones a grant with its 5 actions and payments (paid, ordered, scheduled) in two windows of a
  proofs call; the instruction's ``DossierIndex`` rows (``guichet.instruction.index.build``).

Then it measures:

- (a) the export of the 2025 call's list (« Tous ») as XLSX and as CSV, as the download builds it
  (``reporting.exports.build`` + ``formats.xlsx_file`` / ``csv_lines``), each in its own process: wall time of
  the export and peak memory of the process (its ``VmHWM``), next to a process that only sets Django up;
  (a') the same through the background job (``reporting.jobs.run``: progress saved, file stored);
- (b) the statistics page of the region (Grand Est) and (c) the national page, through the real views (Django
  test client, ``force_login``): median / p95 / min of ``--repeat`` requests and the SQL queries of one.

It prints the figures beside their targets (export under 60 s and 300 MB, each page under 300 ms) and writes
them into docs/performance.md between ``<!-- bench:reporting:start -->`` and ``<!-- bench:reporting:end -->``
(one block per database).
"""

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

from common import (
    DOC,
    ROOT,
    db_block,
    django_setup,
    machine,
    machine_text,
    markdown_table,
    measure,
    throwaway_database,
    write_db_blocks,
)

START, END = "<!-- bench:reporting:start -->", "<!-- bench:reporting:end -->"
PG_DB = "guichet_bench13"
SEED_FORM = ROOT / "guichet" / "calls" / "seed_templates" / "hdf-2024-candidature.yaml"
BIG_REGION, OTHER_REGION = "44", "32"
ACTIONS = 5
EXPORT_TARGET_S, MEMORY_TARGET_MB, PAGE_TARGET_MS = 60, 300, 300
WORDS = ("ergonomie prevention troubles musculosquelettiques dialogue social equipe nuit formation tutorat "
         "management participatif espace de repos rail plafond lève-personne qualité de vie au travail "
         "absentéisme fidélisation accueil nouveaux arrivants horaires coupés analyse des pratiques "
         "soutien psychologique charge mentale aménagement des locaux télétravail cadres").split()
CITIES = ["Metz", "Nancy", "Strasbourg", "Reims", "Troyes", "Épinal", "Colmar", "Mulhouse", "Verdun", "Charleville",
          "Lille", "Amiens", "Roubaix", "Arras", "Beauvais"]
KINDS = [("sanitaire", "Centre hospitalier", "public"), ("sanitaire", "Clinique", "prive"),
         ("sanitaire", "Centre de soins de suite", "espic"), ("medico_social", "EHPAD", "public"),
         ("medico_social", "EHPAD", "prive"), ("medico_social", "Foyer d'accueil médicalisé", "espic"),
         ("medico_social", "Maison d'accueil spécialisée", "prive")]
STATUS_LABELS = {"public": "Public", "prive": "Privé", "espic": "Privé d'intérêt collectif (ESPIC)"}
DEPARTMENTS = {BIG_REGION: ["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
               OTHER_REGION: ["02", "59", "60", "62", "80"]}
EXPORTS = [("xlsx", "direct"), ("csv", "direct"), ("xlsx", "job"), ("csv", "job")]


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgres", "sqlite", "both"], default="sqlite")
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-jobs", action="store_true", help="skip the background job path (a')")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--only", choices=["all", "exports", "pages"], default="all")
    parser.add_argument("--reuse-sqlite", metavar="FILE",
                        help="measure a SQLite file this script filled before (a copy: it is not removed)")
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.reuse_sqlite:
        args.db = "sqlite"
        files = tempfile.mkdtemp(prefix="bench-reporting-files-")
        django_setup({"DJANGO_SETTINGS_MODULE": "guichet.test_settings", "GUICHET_FILES_DIR": files,
                      "DATABASE_URL": f"sqlite:///{os.path.abspath(args.reuse_sqlite)}",
                      "DJANGO_ALLOW_ASYNC_UNSAFE": "true"}, migrate=False)
        result = bench(args)
        shutil.rmtree(files, ignore_errors=True)
        print(markdown_block(result))
        if not args.no_doc:
            write_doc(result)
        return 0
    for database in (["sqlite", "postgres"] if args.database == "both" else [args.database]):
        args.db = database
        with throwaway_database(database, PG_DB):
            result = bench(args)
        print(markdown_block(result))
        if not args.no_doc:
            write_doc(result)
            print(f"Written to {DOC.relative_to(ROOT)}")
    return 0


# --- the data ------------------------------------------------------------------------------------

def _seed_schema() -> dict:
    import yaml

    with SEED_FORM.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["form"]


def _answers(rng, i: int, est, sub_themes) -> dict:
    """Answers to every section of the seed form, with ``ACTIONS`` action rows and their computed totals."""
    text = " ".join(rng.choice(WORDS) for _ in range(30))
    actions, totals = [], [Decimal(0)] * 4
    for a in range(ACTIONS):
        cost = Decimal(rng.randrange(2_000, 60_000))
        other = Decimal(rng.randrange(0, int(cost) // 4))
        asked = ((cost - other) / 2).quantize(Decimal("0.01"))
        rest = cost - other - asked
        actions.append({"intitule": f"Action {a + 1} : {' '.join(rng.sample(WORDS, 4))}",
                        "description": " ".join(rng.choice(WORDS) for _ in range(20)),
                        "theme_qvct": rng.sample(sub_themes, rng.randrange(1, 3)),
                        "calendrier": f"{rng.choice(['janvier', 'mars', 'juin', 'septembre'])} 2025",
                        "cout_total": str(cost), "financement_autre": str(other),
                        "autre_organisme": "FIPHFP" if other else "", "montant_demande": str(asked),
                        "reste_a_charge": str(rest)})
        totals = [totals[0] + cost, totals[1] + other, totals[2] + asked, totals[3] + rest]
    return {
        "raison_sociale": est.name, "finess_juridique": f"{int(est.finess) + 1:09d}", "finess_geographique": est.finess,
        "siret": est.siret, "statut_juridique": STATUS_LABELS[est.legal_status], "adresse": f"{i % 200 + 1} rue Haute",
        "code_postal": f"{est.department}{i % 900 + 100:03d}", "commune": est.city, "membre_ght": bool(est.ght),
        "ght_nom": est.ght, "effectif_total": str(rng.randrange(20, 3000)), "etp_total": "312.5",
        "etp_personnel_medical": "40.2", "etp_personnel_non_medical": "272.3",
        "nombre_lits_places": str(rng.randrange(20, 800)), "taux_absenteisme": "9.8", "taux_turnover": "14.2",
        "nombre_at_mp": str(rng.randrange(0, 60)), "titre_projet": f"Projet QVCT {i}", "diagnostic": text,
        "objectifs": text[:200], "resultats_attendus": text[100:300], "themes_qvct": rng.sample(sub_themes, 2),
        "partenaires_projet": "", "precedent_clact": rng.random() < 0.4, "actions": actions,
        "nombre_actions": str(ACTIONS), "total_cout": str(totals[0]), "total_financement_autre": str(totals[1]),
        "total_montant_demande": str(totals[2]), "total_reste_a_charge": str(totals[3]),
        "part_demandee_ars": str((totals[2] / totals[0] * 100).quantize(Decimal("0.01"))),
        "referent_nom": "Martin", "referent_prenom": "Claire", "referent_fonction": "Directrice des soins",
        "referent_email": f"referent{i}@etablissement.example", "referent_telephone": "03 87 00 00 00",
    }


def populate(n: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from guichet.accounts.models import Role, User
    from guichet.calls.models import Call, CallKind, FormVersion
    from guichet.commission.models import ActionLine, AgendaItem, Decision, Session
    from guichet.dossiers.models import Dossier, State
    from guichet.establishments.models import Establishment, Region
    from guichet.formschema import qvct
    from guichet.funding.models import Grant, GrantAction, GrantStatus, Payment, PaymentStatus
    from guichet.instruction import index
    from guichet.instruction.models import Label

    rng = random.Random(20261207)
    t0 = time.perf_counter()
    regions = {r.code: r for r in Region.objects.filter(code__in=(BIG_REGION, OTHER_REGION))}
    owner = User.objects.create(email="deposant@bench.example", role=Role.APPLICANT)
    instructor = User.objects.create(email="instructrice@bench.example", role=Role.INSTRUCTOR,
                                     region=regions[BIG_REGION], first_name="Anne", last_name="Instructrice")
    national = User.objects.create(email="lecteur@sante.gouv.example", role=Role.NATIONAL)
    schema = _seed_schema()
    now = timezone.now()
    plan = [(BIG_REGION, 2025, n), (BIG_REGION, 2024, n // 10), (OTHER_REGION, 2025, n // 10)]
    calls = []
    for code, year, count in plan:
        region = regions[code]
        call = Call.objects.create(region=region, year=year, title=f"CLACT-QVCT {year} — {region.name}",
                                   slug=f"clact-{year}-{region.slug}", opens_at=now - dt.timedelta(days=500),
                                   closes_at=now + dt.timedelta(days=30), envelope=Decimal(count) * 12000)
        calls.append((call, FormVersion.objects.create(call=call, number=1, schema=schema), count))
    proofs = {code: Call.objects.create(region=r, year=2025, kind=CallKind.PROOFS, title=f"Justificatifs {r.name}",
                                        slug=f"justificatifs-2025-{r.slug}", opens_at=now - dt.timedelta(days=90),
                                        closes_at=now + dt.timedelta(days=90))
              for code, r in regions.items()}
    establishments = []
    for i in range(4000):
        code = BIG_REGION if i % 4 else OTHER_REGION
        sector, category, status = KINDS[i % len(KINDS)]
        city = CITIES[(i * 7) % len(CITIES)]
        establishments.append(Establishment(
            finess=f"{57 * 10**7 + i * 3:09d}", siret=f"{26 * 10**12 + i:014d}",
            name=f"{category} {city} {i}", sector=sector, category=category, legal_status=status,
            department=DEPARTMENTS[code][i % len(DEPARTMENTS[code])], city=city, region=regions[code],
            ght=f"GHT {city}" if sector == "sanitaire" and status == "public" else ""))
    Establishment.objects.bulk_create(establishments, batch_size=2000)
    by_region: dict[int, list] = {}
    for e in Establishment.objects.filter(finess__startswith="57"):
        by_region.setdefault(e.region_id, []).append(e)
    proof_dossiers = {}
    for code, call in proofs.items():
        est = by_region[regions[code].pk][0]
        proof_dossiers[code] = Dossier.objects.create(
            call=call, form_version=FormVersion.objects.create(call=call, number=1, schema=schema),
            establishment=est, created_by=owner, state=State.EN_INSTRUCTION, number=f"JUST-{code}",
            first_filed_at=now, last_filed_at=now)
    sub_themes = [c for c, _ in qvct.choices() if "/" in c]
    states = ([State.EN_CONSTRUCTION] * 30 + [State.EN_INSTRUCTION] * 25 + [State.ACCEPTE] * 20
              + [State.REFUSE] * 12 + [State.SANS_SUITE] * 5 + [State.BROUILLON] * 3)
    big_call = calls[0][0]
    labels = [Label.objects.create(call=big_call, name=name, colour=colour) for name, colour in
              (("Prioritaire", "green-emeraude"), ("À compléter", "orange-terre-battue"))]
    start = now - dt.timedelta(days=330)
    serial = 0
    for call, version, count in calls:
        session = Session.objects.create(call=call, title=f"Commission {call.year}", created_by=instructor,
                                         held_on=start + dt.timedelta(days=200))
        code = next(c for c, r in regions.items() if r.pk == call.region_id)
        ests = by_region[call.region_id]
        for first in range(0, count, 2000):
            dossiers = []
            for _ in range(first, min(count, first + 2000)):
                serial += 1
                state = rng.choice(states)
                est = rng.choice(ests)
                filed = start + dt.timedelta(minutes=rng.randrange(300 * 24 * 60))
                is_filed = state != State.BROUILLON
                d = Dossier(call=call, form_version=version, establishment=est, created_by=owner, state=state,
                            answers=_answers(rng, serial, est, sub_themes),
                            number=f"{call.year}-{code}-{serial:07d}" if is_filed else None,
                            first_filed_at=filed if is_filed else None, last_filed_at=filed if is_filed else None,
                            instruction_started_at=filed + dt.timedelta(days=3)
                            if state not in (State.BROUILLON, State.EN_CONSTRUCTION) else None)
                if state in (State.ACCEPTE, State.REFUSE, State.SANS_SUITE):
                    d.decided_at = filed + dt.timedelta(days=rng.randrange(10, 120))
                dossiers.append(d)
            Dossier.objects.bulk_create(dossiers)
            rows, follows, label_links, items = [], [], [], []
            for d in dossiers:
                d.created_at = d.created_at or now
                d.updated_at = d.updated_at or now
                if d.state == State.BROUILLON:
                    continue
                followed = call is big_call and rng.random() < 0.1
                chosen = [lb.pk for lb in labels if call is big_call and rng.random() < 0.05]
                if followed:
                    follows.append(Dossier.followers.through(dossier_id=d.pk, user_id=instructor.pk))
                label_links += [Label.dossiers.through(dossier_id=d.pk, label_id=lb) for lb in chosen]
                rows.append(index.build(d, followed, chosen))
                if d.state in (State.ACCEPTE, State.REFUSE):
                    items.append(AgendaItem(session=session, dossier=d, order=len(items),
                                            decision=Decision.ACCEPT if d.state == State.ACCEPTE else Decision.REFUSE))
            index.upsert(rows)
            Dossier.followers.through.objects.bulk_create(follows)
            Label.dossiers.through.objects.bulk_create(label_links)
            AgendaItem.objects.bulk_create(items)
            lines, grants = [], []
            for item in items:
                d = item.dossier
                for position, action in enumerate(d.answers["actions"], start=1):
                    asked = Decimal(action["montant_demande"])
                    lines.append(ActionLine(item=item, position=position, title=action["intitule"],
                                            cost=Decimal(action["cout_total"]), eligible_cost=Decimal(
                                                action["cout_total"]), requested=asked,
                                            proposed=(asked * Decimal("0.8")).quantize(Decimal("0.01")),
                                            granted=(asked * Decimal("0.8")).quantize(Decimal("0.01"))
                                            if item.decision == Decision.ACCEPT else None))
                if item.decision == Decision.ACCEPT:
                    total = sum((Decimal(a["montant_demande"]) * Decimal("0.8")).quantize(Decimal("0.01"))
                                for a in d.answers["actions"])
                    grants.append(Grant(region_id=call.region_id, call=call, call_year=call.year, dossier=d,
                                        beneficiary=d.establishment, rate=Decimal(50), total=total,
                                        convention_reference=f"CLACT-{d.number}", status=GrantStatus.ACTIVE,
                                        decided_at=d.decided_at))
            ActionLine.objects.bulk_create(lines)
            Grant.objects.bulk_create(grants)
            grant_actions = []
            for g in grants:
                for position, action in enumerate(g.dossier.answers["actions"], start=1):
                    grant_actions.append(GrantAction(
                        grant=g, position=position, title=action["intitule"][:500],
                        ceiling=(Decimal(action["montant_demande"]) * Decimal("0.8")).quantize(Decimal("0.01"))))
            GrantAction.objects.bulk_create(grant_actions)
            payments = []
            for a in grant_actions:
                roll = rng.random()
                if roll < 0.3:
                    continue
                half = (a.ceiling / 2).quantize(Decimal("0.01"))
                payments.append(Payment(action=a, dossier=proof_dossiers[code], call=proofs[code], window_index=0,
                                        window_label="1er semestre", pay_by=dt.date(2025, 6, 30), amount=half,
                                        status=PaymentStatus.PAID, paid_on=dt.date(2025, 6, 20)))
                if roll > 0.6:
                    payments.append(Payment(action=a, dossier=proof_dossiers[code], call=proofs[code], window_index=1,
                                            window_label="2nd semestre", pay_by=dt.date(2025, 12, 31),
                                            amount=a.ceiling - half,
                                            status=PaymentStatus.ORDERED if roll > 0.8 else PaymentStatus.SCHEDULED))
            Payment.objects.bulk_create(payments)
            done = min(count, first + 2000)
            if done % 20000 == 0 or done == count:
                print(f"  {call.slug}: {done} dossiers ({time.perf_counter() - t0:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"instructor": instructor, "national": national, "call": big_call, "region": regions[BIG_REGION],
            "load_seconds": time.perf_counter() - t0}


# --- the exports, each in its own process ---------------------------------------------------------

def child(what: str, fmt: str, out_path: str) -> int:
    """Run in a subprocess (``--child``): Django set up on the parent's database (its environment), then one
    export of the big call's « Tous » list — or nothing (``idle``) —, its figures as JSON on the last line."""
    django_setup(migrate=False)
    from django.db import connection

    from guichet.accounts.models import User
    from guichet.calls.models import Call
    from guichet.reporting import exports, formats, jobs
    from guichet.reporting.models import ExportJob, ExportKind

    user = User.objects.get(email="instructrice@bench.example")
    call = Call.objects.get(slug__startswith="clact-2025-", region__code=BIG_REGION)
    queries = 0

    def counter(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    result = {"what": what, "format": fmt}
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        if what == "direct":
            from django.http import QueryDict

            from guichet.instruction.views_workspace import list_state

            tab, sort, _form, filters, _labels = list_state(QueryDict("onglet=tous"), call)
            export = exports.build(call, user, tab, filters, sort, private=True)
            rows = 0

            def counted(iterable):
                nonlocal rows
                for row in iterable:
                    rows += 1
                    yield row

            export.main.rows = counted(export.main.rows)
            with open(out_path, "wb") as out:
                if fmt == "csv":
                    for line in formats.csv_lines(export):
                        out.write(line.encode("utf-8"))
                else:
                    source = formats.xlsx_file(export)
                    while chunk := source.read(1024 * 1024):
                        out.write(chunk)
                    source.close()
            result.update(rows=rows, size=os.path.getsize(out_path))
        elif what == "job":
            job = ExportJob.objects.create(author=user, kind=ExportKind.WORKSPACE, call=call, format=fmt,
                                           parameters={"onglet": ["tous"]})
            state = jobs.run(job.pk)
            job.refresh_from_db()
            assert state == "pret", (state, job.error)
            result.update(rows=job.done, size=job.size, state=state)
        result["seconds"] = time.perf_counter() - start
    result["queries"] = queries
    # The peak resident memory of this process since its exec (``ru_maxrss`` would count the parent's memory
    # inherited by the fork before the exec).
    status = open("/proc/self/status").read()
    result["peak_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(f"child {what} {fmt}: VmHWM {result['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
    print(json.dumps(result), flush=True)
    return 0


def run_child(what: str, fmt: str, out_path: str) -> dict:
    """The child in its own process; its figures (its peak resident memory: ``VmHWM``) from its last line."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", what, fmt, out_path], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"export child {what} {fmt} failed ({proc.returncode}):\n{output[-2000:]}")
    found = json.loads(output.strip().splitlines()[-1])
    found.update(process_seconds=time.perf_counter() - started, cpu_seconds=usage.ru_utime + usage.ru_stime,
                 load=" / ".join(open("/proc/loadavg").read().split()[:3]))
    return found


# --- the measures --------------------------------------------------------------------------------

def existing() -> dict:
    """The world ``populate`` made, found again in a database it filled (``--reuse-sqlite``)."""
    from guichet.accounts.models import User
    from guichet.calls.models import Call
    from guichet.establishments.models import Region

    call = Call.objects.get(slug__startswith="clact-2025-", region__code=BIG_REGION)
    return {"instructor": User.objects.get(email="instructrice@bench.example"),
            "national": User.objects.get(email="lecteur@sante.gouv.example"), "call": call,
            "region": Region.objects.get(code=BIG_REGION), "load_seconds": None, "dossiers": call.dossiers.count()}


def bench(args) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from guichet.accounts.mfa import mark_session_verified

    if args.reuse_sqlite:
        world = existing()
        args.dossiers = world["dossiers"]
    else:
        print(f"Creating {args.dossiers} dossiers (+ 2 × {args.dossiers // 10})…", flush=True)
        world = populate(args.dossiers)
        print(f"  created in {world['load_seconds']:.0f} s", flush=True)
    listed = world["call"].dossier_indexes.count()
    from guichet.dossiers.models import Dossier, State

    region_dossiers = Dossier.objects.filter(call__region=world["region"]).exclude(state=State.BROUILLON).count()
    exports_, idle = [], None
    with tempfile.TemporaryDirectory(prefix="bench-reporting-") as folder:
        if args.only in ("all", "exports"):
            idle = run_child("idle", "-", os.path.join(folder, "idle"))
            print(f"Idle process: {idle['peak_mb']:.0f} MB", flush=True)
        for fmt, what in EXPORTS:
            if (what == "job" and args.no_jobs) or args.only == "pages":
                continue
            print(f"Export {fmt} ({what})…", flush=True)
            found = run_child(what, fmt, os.path.join(folder, f"export.{fmt}"))
            print(f"  {found['seconds']:.1f} s (CPU {found['cpu_seconds']:.1f} s), {found['peak_mb']:.0f} MB peak, "
                  f"{found['rows']} rows, "
                  f"{found['queries']} queries, load {found['load']}", flush=True)
            exports_.append(found)
    pages = {}
    targets = (("region", world["instructor"], reverse("reporting:region_statistics_of", args=[world["region"].slug])),
               ("national", world["national"], reverse("reporting:national_statistics")))
    for key, user, url in targets if args.only != "exports" else ():
        client = Client()
        client.force_login(user)
        session = client.session  # ARS staff must have passed MFA: as allauth marks a session after a good code
        mark_session_verified(session, user)
        session.save()

        def get(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (response.status_code, response.get("Location"))
            return response

        print(f"Measuring the {key} statistics page…", flush=True)
        started = time.perf_counter()
        kib = len(get().content) / 1024  # the warm-up request: computes and keeps the figures (no snapshot yet)
        first_ms = (time.perf_counter() - started) * 1000
        print(f"  first request (computes the snapshot): {first_ms:.0f} ms", flush=True)
        found = measure(get, args.repeat, warmup=0)
        found.update(load=" / ".join(open("/proc/loadavg").read().split()[:3]), kib=kib, first_ms=first_ms)
        print(f"  median {found['median_ms']:.0f} ms, p95 {found['p95_ms']:.0f} ms, {found['queries']} queries, "
              f"load {found['load']}", flush=True)
        pages[key] = found
    described = machine(connection)
    return {"database": args.db, "dossiers": args.dossiers, "listed": listed, "region_dossiers": region_dossiers,
            "repeat": args.repeat, "load_seconds": world["load_seconds"], "machine": described,
            "date": described["date"], "idle": idle, "exports": exports_, "pages": pages}


# --- output --------------------------------------------------------------------------------------

def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown_block(result: dict) -> str:
    m = result["machine"]
    created = "beforehand" if result["load_seconds"] is None else f"in {result['load_seconds']:.0f} s"
    lines = [
        f"### {m['engine']}",
        "",
        f"Measured {result['date']}: the measured call holds {_n(result['dossiers'])} dossiers "
        f"({_n(result['listed'])} filed, {ACTIONS} action rows each); its region {_n(result['region_dossiers'])} "
        f"filed dossiers over 2 calls; {_n(2 * (result['dossiers'] // 10) + result['dossiers'])} dossiers in all "
        f"(2 regions); data created {created} (not measured).  ",
        f"Machine: {machine_text(m)}. Load average at the end: {m['load']}.",
        "",
    ]
    rows = []
    for e in result["exports"]:
        cpu = f"{e['cpu_seconds']:.1f} s" if "cpu_seconds" in e else "—"
        label = (f"(a) Export « Tous » → {e['format'].upper()}" if e["what"] == "direct"
                 else f"(a') Background job → {e['format'].upper()} (stored)")
        ok = e["seconds"] < EXPORT_TARGET_S and e["peak_mb"] < MEMORY_TARGET_MB
        rows.append([label, _n(e["rows"]), f"{e['seconds']:.1f} s", cpu, f"{e['peak_mb']:.0f} MB",
                     f"{e['size'] / 1024 / 1024:.0f} MB", _n(e["queries"]), e["load"], _verdict(ok)])
    if rows:
        lines += markdown_table(["Export (own process)", "rows", "wall time", "CPU time", "peak RSS", "file",
                                 "SQL queries", "load average", f"< {EXPORT_TARGET_S} s and < {MEMORY_TARGET_MB} MB"],
                                rows)
    if result["idle"]:
        lines += ["", f"Peak RSS of a process that only sets Django up: {result['idle']['peak_mb']:.0f} MB.", ""]
    rows = []
    for key, label in (("region", "(b) Statistics page of the region (GET)"),
                       ("national", "(c) National statistics page (GET)")):
        r = result["pages"].get(key)
        if r is None:
            continue
        rows.append([label, f"{r['median_ms']:.0f}", f"{r['p95_ms']:.0f}", f"{r['min_ms']:.0f}", str(r["queries"]),
                     f"{r['kib']:.0f} KiB", r["load"], _verdict(r["p95_ms"] < PAGE_TARGET_MS)])
    if rows:
        lines += markdown_table(["Page", f"median (ms, n={result['repeat']})", "p95 (ms)", "min (ms)",
                                 "SQL queries", "response", "load average", f"< {PAGE_TARGET_MS} ms"], rows)
    return db_block(result["database"], "\n".join(lines))


def write_doc(result: dict) -> None:
    legend = ("Figures produced by `benchmarks/reporting.py` (`make bench-reporting`; "
              "`.venv/bin/python benchmarks/reporting.py [--dossiers N] [--database sqlite|postgres|both]`). "
              "Exports: the workspace's « Tous » list of the measured call, with the ARS' columns, each export in "
              "its own Python process (wall time of the export, Django set up excluded; peak RSS of the whole "
              "process: its `VmHWM`; CPU time of the whole process from `wait4`, ≈ 1 s of Django set up "
              "included). Pages: through the real views, Django test client, `force_login` as an "
              "instructor of the region and as the national reader; *SQL queries*: those of one request. "
              f"Targets (issue 13): export under {EXPORT_TARGET_S} s and {MEMORY_TARGET_MB} MB, each page under "
              f"{PAGE_TARGET_MS} ms.")
    write_db_blocks(START, END, legend, {result["database"]: markdown_block(result)},
                    heading="## Exports and statistics (follow-up)")


if __name__ == "__main__":
    sys.exit(main())
