#!/usr/bin/env python
"""Benchmark of dossier filling: autosave, filing and page display through the real views.

    .venv/bin/python benchmarks/run.py [--database sqlite|postgres|both] [--repeat N] [--profile]
    make bench

For each database, in a throwaway database (a temporary SQLite file, or a PostgreSQL database
``guichet_bench`` created and dropped with psycopg) and a temporary file directory, the script
loads the seed templates, opens a demo call from the Hauts-de-France 2024 template, starts a
dossier for an applicant and fills it completely with 50 action rows (files included), then
measures with the Django test client, through the views:

  (a) autosave (htmx POST) of one field of section 1;
  (b) autosave of one field of the actions section, the whole section (50 rows) being posted;
  (c) filing the complete dossier (POST to dossiers:file), reset to « brouillon » between runs (tasks
      go to the database queue, as in production: the acknowledgement is enqueued, not sent);
  (d) GET of the actions section page with 50 rows.

It prints the figures and writes them into docs/performance.md, between the markers
``<!-- bench:dossiers:start -->`` and ``<!-- bench:dossiers:end -->`` (the results of a database
that was not run this time are kept). Query counts are also taken on a dossier with 1 action
row, to show whether they grow with the number of rows. Each database runs in its own Python
process (Django is set up once per process).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    DOC,
    ROOT,
    capture_queries,
    db_block,
    machine,
    machine_text,
    markdown_table,
    summarize,
    throwaway_database,
    write_db_blocks,
)

START, END = "<!-- bench:dossiers:start -->", "<!-- bench:dossiers:end -->"
PG_DB = "guichet_bench"
TEMPLATE_SLUG = "modele-hdf-2024-candidature"
ROWS = 50

SCENARIOS = [
    ("autosave_s1", "(a) Autosave of 1 field, section 1 (htmx POST)"),
    ("autosave_actions", "(b) Autosave of 1 field, actions section, {rows} rows posted (htmx POST)"),
    ("file", "(c) Filing the complete dossier, {rows} rows (POST dossiers:file)"),
    ("get_actions", "(d) Actions section page, {rows} rows (GET)"),
]


# --- parent process: run each database in a child, write the document ----------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=30, help="timed repetitions per measure (default 30)")
    parser.add_argument("--rows", type=int, default=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one request of each measure")
    parser.add_argument("--sql", action="store_true", help="also print the SQL queries of one request of each measure")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_child(args)
        Path(args.child).write_text(json.dumps(result, indent=2), encoding="utf-8")
        return 0
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results, failed = [], []
    for database in databases:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            out = fh.name
        command = [sys.executable, str(Path(__file__).resolve()), "--database", database,
                   "--repeat", str(args.repeat), "--rows", str(args.rows), "--child", out]
        command += [flag for flag, on in (("--profile", args.profile), ("--sql", args.sql)) if on]
        print(f"\n=== {database} ===", flush=True)
        code = subprocess.call(command, cwd=ROOT)
        if code == 0:
            results.append(json.loads(Path(out).read_text(encoding="utf-8")))
        else:
            failed.append(database)
        os.unlink(out)
    if results:
        print()
        for result in results:
            print(text_table(result))
        if not args.no_doc:
            write_doc(results)
            print(f"Written to {DOC.relative_to(ROOT)}")
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# --- child process: one database ------------------------------------------------------------------

# Tasks go to the database queue, as in production (settings.TASKS_BACKEND's default): a filing enqueues its
# acknowledgement (one INSERT) and the worker sends it after the answer; the immediate backend of the test
# settings would send it inside the measured request.
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}


def run_child(args) -> dict:
    with throwaway_database(args.database, PG_DB):
        from django.test import override_settings

        with override_settings(TASKS=DATABASE_TASKS):
            return _bench(args)


def _bench(args) -> dict:
    from django.db import connection

    world = _world()
    print(f"Filling a complete dossier with {args.rows} action rows…", flush=True)
    big = _complete_dossier(world, args.rows)
    small = _complete_dossier(world, 1)
    measures = {}
    for key, _label in SCENARIOS:
        print(f"Measuring {key}…", flush=True)
        measures[key] = _measure(key, world, big, args.repeat)
        measures[key]["queries_1_row"] = _queries(key, world, small)["count"]
        if args.profile:
            _profile(key, world, big)
    _report_queries(measures, args.sql)
    for m in measures.values():
        del m["sql"]
    described = machine(connection)
    return {"database": args.database, "rows": args.rows, "repeat": args.repeat,
            "machine": described, "date": described["date"], "measures": measures}


# --- the data ------------------------------------------------------------------------------------

def _world() -> dict:
    from django.test import Client
    from django.utils import timezone

    from guichet.accounts.models import Role, User
    from guichet.calls.models import Call
    from guichet.calls.templates_loader import load_seed_templates, shift_template_for_demo
    from guichet.establishments.models import Establishment, EstablishmentAccess, LegalEntity, Region

    load_seed_templates()
    call = shift_template_for_demo(Call.objects.get(slug=TEMPLATE_SLUG), timezone.now())
    assert call.is_open(), "the demo call should be open"
    entity = LegalEntity.objects.create(finess="590000014", siren="261400915", name="CH de démonstration",
                                        legal_status="public")
    establishment = Establishment.objects.create(
        finess="590000006", legal_entity=entity, siret="26140091500011", name="Centre hospitalier de démonstration",
        city="Lille", sector="sanitaire", legal_status="public", department="59", region=Region.objects.get(code="32"))
    user = User.objects.create_user("deposant@bench.example", "bench-motdepasse-2024", role=Role.APPLICANT)
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    client = Client()
    client.force_login(user)
    return {"call": call, "establishment": establishment, "user": user, "client": client}


def _pdf(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def _section_inputs(rows: int) -> dict:
    """Valid typed values (as the browser posts them) and files for every section."""
    actions = {"actions__rows": [str(rows)]}
    action_files = {}
    for i in range(rows):
        actions.update({
            f"actions__{i}__intitule": [f"Action {i + 1} : prévention des troubles musculo-squelettiques"],
            f"actions__{i}__description": [f"Description détaillée de l'action n° {i + 1}, public visé, "
                                           "modalités, indicateurs de suivi. " * 3],
            f"actions__{i}__theme_qvct": ["sante_travail/qualite_prevention"],
            f"actions__{i}__calendrier": ["septembre 2024 – juin 2025"],
            f"actions__{i}__cout_total": ["12 500,00"],
            f"actions__{i}__financement_autre": ["0"],
            f"actions__{i}__autre_organisme": ["non concerné"],
            f"actions__{i}__montant_demande": ["6 250"],
        })
        action_files[f"actions__{i}__devis"] = [_pdf(f"devis-action-{i + 1}.pdf")]
    return {
        "identification": ({
            "raison_sociale": ["Centre hospitalier de démonstration"], "finess_juridique": ["590000014"],
            "finess_geographique": ["590000006"], "siret": ["261 400 915 00011"], "statut_juridique": ["Public"],
            "adresse": ["1 rue de l'Hôpital"], "code_postal": ["59000"], "commune": ["Lille"],
            "membre_ght": ["oui"], "ght_nom": ["GHT Lille Métropole Flandre intérieure"],
        }, {}),
        "caracteristiques": ({
            "effectif_total": ["1 250"], "etp_total": ["1 100,50"], "etp_personnel_medical": ["150,25"],
            "etp_personnel_non_medical": ["950,25"], "nombre_lits_places": ["600"], "taux_absenteisme": ["8,5"],
            "taux_turnover": ["12"], "nombre_at_mp": ["42"],
        }, {"bilan_social": [_pdf("bilan-social.pdf")], "duerp_plan_prevention": [_pdf("duerp.pdf")]}),
        "projet": ({
            "titre_projet": ["Prévenir l'usure professionnelle"], "diagnostic": ["Diagnostic partagé. " * 20],
            "objectifs": ["Réduire l'absentéisme. " * 10], "resultats_attendus": ["Baisse des AT-MP. " * 10],
            "themes_qvct": ["sante_travail", "sante_travail/qualite_prevention"],
            "partenaires_projet": ["non concerné"], "precedent_clact": ["oui"],
        }, {"presentation_projet": [_pdf("presentation.pdf")], "avis_cse": [_pdf("avis-cse.pdf")],
            "clact": [_pdf("clact.pdf")], "bordereau_precedent_clact": [_pdf("bordereau.pdf")]}),
        "actions_projet": (actions, action_files),
        "referent": ({
            "referent_nom": ["Martin"], "referent_prenom": ["Claire"], "referent_fonction": ["DRH"],
            "referent_email": ["claire.martin@ch-demo.example"], "referent_telephone": ["03 20 44 59 62"],
        }, {}),
    }


def _complete_dossier(world, rows: int):
    from django.utils.datastructures import MultiValueDict

    from guichet.dossiers import services

    dossier = services.start_dossier(world["call"], world["establishment"], world["user"])
    for section, (data, files) in _section_inputs(rows).items():
        result = services.save_section(dossier, section, MultiValueDict(data), MultiValueDict(files), world["user"])
        if result.form.errors:
            raise SystemExit(f"section {section}: {result.form.errors.as_text()}")
    dossier.refresh_from_db()
    missing = services.missing_items(dossier)
    if missing or dossier.pending:
        raise SystemExit("incomplete dossier: " + "; ".join(f"{m.path} ({m.message})" for m in missing))
    assert len(dossier.answers["actions"]) == rows
    assert dossier.answers["nombre_actions"] == str(rows)
    return dossier


def _posted_data(dossier, section_key: str) -> dict:
    """What the browser posts for a section: every input with its stored value (no files)."""
    from guichet.dossiers import services
    from guichet.formschema.forms import answers_as_data, row_counts_for

    dossier.refresh_from_db()
    schema = services.working_version(dossier).parsed()
    section = schema.section(section_key)
    data = answers_as_data(section, dossier.answers, dossier.pending, row_counts_for(section, dossier.answers))
    return {key: data.getlist(key) for key in data}


# --- the measures --------------------------------------------------------------------------------

def _request(key: str, world, dossier, i: int):
    """A callable doing one request of the measure ``key`` (the i-th one), and the check of its answer."""
    from django.urls import reverse

    from guichet.dossiers.models import Dossier, State

    client = world["client"]
    if key in ("autosave_s1", "autosave_actions"):
        section, field = ("identification", "adresse") if key == "autosave_s1" else (
            "actions_projet", f"actions__{min(17, len(dossier.answers['actions']) - 1)}__calendrier")
        data = dict(world.setdefault(("data", dossier.pk, section), _posted_data(dossier, section)))
        data[field] = [f"{data[field][0].split(' #')[0]} #{i}"]  # a real change at each save
        url = reverse("dossiers:section", args=[dossier.pk, section])

        def run():
            return client.post(url, data, HTTP_HX_REQUEST="true")

        def check(response):
            assert response.status_code == 200 and b"Enregistr" in response.content, response.content[:500]
            assert b"fr-message--error" not in response.content, "the save reports an error"
        return None, run, check
    if key == "file":
        url = reverse("dossiers:file", args=[dossier.pk])

        def reset():
            Dossier.objects.filter(pk=dossier.pk).update(state=State.BROUILLON, number=None)

        def run():
            return client.post(url)

        def check(response):
            assert response.status_code == 302 and "/partie/" not in response["Location"], response.content[:2000]
            assert Dossier.objects.filter(pk=dossier.pk, state=State.EN_CONSTRUCTION).exists()
        return reset, run, check
    if key == "get_actions":
        url = reverse("dossiers:section", args=[dossier.pk, "actions_projet"])

        def run():
            return client.get(url)

        def check(response):
            assert response.status_code == 200 and b"actions__49__intitule" in response.content or (
                len(dossier.answers["actions"]) < 50), response.status_code
        return None, run, check
    raise ValueError(key)


def _measure(key: str, world, dossier, repeat: int) -> dict:
    timings, size = [], 0
    for i in range(repeat + 2):  # two warm-up requests
        reset, run, check = _request(key, world, dossier, i)
        if reset:
            reset()
        start = time.perf_counter()
        response = run()
        elapsed = time.perf_counter() - start
        check(response)
        if reset:
            reset()  # the dossier is left as a draft for the next measures
        size = len(response.content)
        if i >= 2:
            timings.append(elapsed * 1000)
    captured = _queries(key, world, dossier)
    return {**summarize(timings), "queries": captured["count"], "repeated": captured["repeated"],
            "response_bytes": size, "sql": captured["sql"]}


def _queries(key: str, world, dossier) -> dict:
    reset, run, check = _request(key, world, dossier, 999)
    if reset:
        reset()
    response, captured = capture_queries(run)
    check(response)
    if reset:
        reset()
    return captured


def _report_queries(measures: dict, verbose: bool) -> None:
    for key, m in measures.items():
        print(f"\n[{key}] {m['queries']} SQL queries ({m['queries_1_row']} with 1 action row)")
        for line in m["sql"] if verbose else ():
            print("   ", line)
        for pattern, n in m["repeated"].items():
            print(f"    repeated {n}×: {pattern}")


def _profile(key: str, world, dossier) -> None:
    import cProfile
    import io
    import pstats

    reset, run, check = _request(key, world, dossier, 998)
    if reset:
        reset()
    profiler = cProfile.Profile()
    profiler.enable()
    response = run()
    profiler.disable()
    check(response)
    for title, order, restrictions in (
            ("cumulative, project functions and Django entry points", "cumulative",
             (r"guichet/|django/(forms/(forms|boundfield)|http/(request|multipartparser)|template/loader\.py"
              r"|db/models/base)", 35)),
            ("own time, all functions", "tottime", (20,))):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restrictions)
        lines = [line.replace(str(ROOT) + "/", "") for line in out.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        print(f"\n--- cProfile [{key}] ({title}) ---")
        print("\n".join(lines[:1] + lines[start:]))


# --- output --------------------------------------------------------------------------------------

def _rows(result: dict) -> list[list[str]]:
    rows = []
    for key, label in SCENARIOS:
        m = result["measures"][key]
        rows.append([label.format(rows=result["rows"]), f"{m['median_ms']:.1f}", f"{m['p95_ms']:.1f}",
                     f"{m['min_ms']:.1f}", str(m["queries"]), str(m["queries_1_row"]),
                     f"{m['response_bytes'] / 1024:.0f} KiB"])
    return rows


HEADERS = ["Measure", "median (ms)", "p95 (ms)", "min (ms)", "SQL queries", "queries (1 row)", "response"]


def text_table(result: dict) -> str:
    rows = [HEADERS] + _rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [f"{_title(result)} — {result['repeat']} repetitions"]
    for n, r in enumerate(rows):
        cells = zip(r, widths, strict=True)
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _title(result: dict) -> str:
    return result["machine"]["engine"]


def markdown_block(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"### {_title(result)}",
        "",
        f"Measured {result['date']}: {result['repeat']} timed repetitions per measure (after 2 warm-up "
        f"requests), complete dossier with {result['rows']} action rows.  ",
        f"Machine: {machine_text(m)}; {m['engine']}. Load average (1, 5, 15 min) at the end "
        f"of the run: {m['load']}.",
        "",
        *markdown_table(HEADERS, _rows(result)),
    ]
    return db_block(result["database"], "\n".join(lines))


def write_doc(results: list[dict]) -> None:
    legend = ("Measured through the real views with the Django test client (`force_login`), the database "
              "connection kept open between requests, tasks (e-mails) to the database queue as in production, "
              "not run. *SQL queries*: queries of "
              "one HTTP request on the dossier with 50 action rows; *queries (1 row)*: the same on a complete "
              "dossier with 1 action row — if they differ, the query count grows with the number of rows.")
    write_db_blocks(START, END, legend, {result["database"]: markdown_block(result) for result in results},
                    order=("sqlite", "postgres"))


if __name__ == "__main__":
    sys.exit(main())
