"""What the benchmarks share: a throwaway database with Django set up on it, the machine's
description, timing and SQL-count helpers, and the results written between markers in
docs/performance.md.

    from common import ROOT, throwaway_database, measure, machine, write_db_blocks

The scripts run as ``.venv/bin/python benchmarks/<name>.py``: their own folder is on ``sys.path``,
so ``import common`` finds this module. Django is set up at most once per process.
"""

import argparse
import math
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432/")
DOC_HEADER = ("# Performance\n\nFigures produced by `make bench` (`benchmarks/run.py`). The part between the "
              "markers is rewritten at each run: do not edit it by hand.\n\n")


# --- a benchmark on one database ------------------------------------------------------------------

def database_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a benchmark run on one throwaway database: ``--database`` and ``--no-doc``;
    the script adds its own sizes."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    return parser


def run_on_throwaway_database(args, pg_db: str, bench, markdown_block, write_doc) -> int:
    """``bench(args)`` on a throwaway database, its Markdown printed, and written to docs/performance.md
    unless ``--no-doc``."""
    with throwaway_database(args.database, pg_db):
        result = bench(args)
    print(markdown_block(result))
    if not args.no_doc:
        write_doc(result)
        print(f"Written to {DOC.relative_to(ROOT)}")
    return 0


# --- the throwaway database and Django ------------------------------------------------------------

def pg_admin(sql: str) -> None:
    """Run one statement (CREATE / DROP DATABASE) on the PostgreSQL server's ``postgres`` database."""
    import psycopg

    with psycopg.connect(PG_SERVER_URL.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def django_setup(env: dict | None = None, *, migrate: bool = True, announce: bool = False) -> None:
    """Set ``env`` into the environment, then set Django up and (by default) migrate, quietly."""
    os.environ.update(env or {})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        if announce:
            print("Migrating…", flush=True)
        call_command("migrate", verbosity=0, interactive=False)


@contextmanager
def throwaway_database(database: str, name: str):
    """Django on the test settings against a database made for this run and removed after it: a
    temporary SQLite file (``database="sqlite"``) or a PostgreSQL database ``name`` on
    ``BENCH_PG_URL`` (created, then dropped with psycopg), and a temporary file directory. Migrated
    on entry (``Migrating…`` is printed)."""
    files_dir = tempfile.mkdtemp(prefix=f"{name.replace('_', '-')}-files-")
    env = {"DJANGO_SETTINGS_MODULE": "guichet.test_settings", "GUICHET_FILES_DIR": files_dir,
           "DJANGO_ALLOW_ASYNC_UNSAFE": os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE", "true")}
    sqlite_file = None
    if database == "sqlite":
        fd, sqlite_file = tempfile.mkstemp(prefix=f"{name.replace('_', '-')}-", suffix=".sqlite3")
        os.close(fd)
        env["DATABASE_URL"] = f"sqlite:///{sqlite_file}"
    elif database == "postgres":
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg_admin(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = PG_SERVER_URL.rstrip("/") + "/" + name
    else:
        raise ValueError(f"unknown database {database!r}")
    try:
        django_setup(env, announce=True)
        yield
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if sqlite_file:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(sqlite_file + suffix):
                    os.unlink(sqlite_file + suffix)
        else:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(files_dir, ignore_errors=True)


# --- the machine ---------------------------------------------------------------------------------

def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def engine(connection) -> str:
    """« SQLite 3.40.1 (file, WAL) » or « PostgreSQL 15.x (127.0.0.1, psycopg 3.x) »."""
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (file, WAL)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]} (127.0.0.1, psycopg {_version('psycopg')})"


def machine(connection=None) -> dict:
    """CPU, cores (and how many this process may use), RAM, OS, Python, Django, the database engine
    (when a connection is given), the load average (1, 5, 15 min, as « a / b / c ») and the date."""
    import datetime as dt

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    ram, ram_gib = "?", 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
                ram = f"{ram_gib:.1f} GiB"
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    try:
        import django

        django_version = django.get_version()
    except ImportError:
        django_version = "?"
    found = {"load": load, "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "ram": ram,
             "ram_gib": ram_gib, "python": platform.python_version(), "django": django_version,
             "os": f"{platform.system()} {platform.release()}",
             "date": dt.datetime.now().astimezone().isoformat(timespec="minutes")}
    if connection is not None:
        found["engine"] = engine(connection)
    return found


def machine_text(m: dict) -> str:
    """« AMD EPYC, 2 cores (2 usable), 23.5 GiB RAM, Linux 6.x; Python 3.11.7, Django 5.2.19 »."""
    return (f"{m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram']} RAM, {m['os']}; "
            f"Python {m['python']}, Django {m['django']}")


# --- timing and SQL counts -----------------------------------------------------------------------

def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1))]


def summarize(times_ms: list[float]) -> dict:
    """median, p95, min, max (milliseconds) and the number of timings."""
    ordered = sorted(times_ms)
    return {"median_ms": statistics.median(ordered), "p95_ms": p95(ordered), "min_ms": ordered[0],
            "max_ms": ordered[-1], "n": len(ordered)}


def stopwatch(fn, *args, **kwargs):
    """Call ``fn``; return its result and the elapsed milliseconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def normalize(sql: str) -> str:
    """A query with its literals replaced by ``?``, to count the same query run many times."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    return re.sub(r"\s+", " ", sql)[:160]


def capture_queries(fn, *args, **kwargs):
    """Call ``fn`` capturing its SQL; return its result and {count, repeated (pattern -> times, for
    the patterns run more than once), sql (each query's first 150 characters)}. Django keeps the last 9 000
    queries only: count a longer step with ``counted``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = fn(*args, **kwargs)
    patterns = {}
    for q in ctx.captured_queries:
        pattern = normalize(q["sql"])
        patterns[pattern] = patterns.get(pattern, 0) + 1
    repeated = {p: n for p, n in sorted(patterns.items(), key=lambda kv: -kv[1]) if n > 1}
    return result, {"count": len(ctx.captured_queries), "repeated": repeated,
                    "sql": [q["sql"][:150] for q in ctx.captured_queries]}


def counted(fn, *args, **kwargs):
    """Call ``fn`` once, timed, counting its SQL queries (a light counter, not the SQL text): return its
    result, the elapsed milliseconds and the number of queries. For one-off steps too long to repeat."""
    from django.db import connection

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        result, elapsed = stopwatch(fn, *args, **kwargs)
    return result, elapsed, count


def measure(fn, repeat: int, warmup: int = 2) -> dict:
    """``warmup`` untimed calls, ``repeat`` timed ones (summarized), then one more with its SQL
    captured: ``queries`` (count) and ``repeated`` (query patterns run more than once)."""
    for _ in range(warmup):
        fn()
    times = [stopwatch(fn)[1] for _ in range(repeat)]
    _, captured = capture_queries(fn)
    return {**summarize(times), "queries": captured["count"], "repeated": captured["repeated"]}


# --- docs/performance.md -------------------------------------------------------------------------

def _read_doc() -> str:
    return DOC.read_text(encoding="utf-8") if DOC.exists() else DOC_HEADER


def read_between(start: str, end: str) -> str:
    """What docs/performance.md holds between two markers ("" when they are not there)."""
    text = _read_doc()
    if start not in text or end not in text:
        return ""
    return text.split(start, 1)[1].split(end, 1)[0]


def write_between(start: str, end: str, inner: str, heading: str = "") -> None:
    """Replace what is between the markers by ``inner``; markers not there yet are appended at the end
    of the document, after ``heading`` (e.g. « ## Commission ») when given."""
    text = _read_doc()
    if start not in text or end not in text:
        text = text.rstrip("\n") + "\n\n" + (f"{heading}\n\n" if heading else "") + f"{start}\n{end}\n"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(before + start + inner + end + after, encoding="utf-8")


DB_BLOCK = re.compile(r"<!-- db:(\w+):start -->.*?<!-- db:\1:end -->", re.S)


def db_block(database: str, body: str) -> str:
    """One database's results, between its own markers (so that another database's are kept)."""
    return f"<!-- db:{database}:start -->\n{body}\n\n<!-- db:{database}:end -->"


def write_db_blocks(start: str, end: str, legend: str, blocks: dict[str, str], order=("sqlite", "postgres"),
                    heading: str = "") -> None:
    """Write a legend then one block per database between the markers: the new ``blocks`` (database ->
    text from ``db_block``) replace those of the same database, the others already there are kept;
    databases in ``order`` first, then any other alphabetically."""
    found = {m.group(1): m.group(0) for m in DB_BLOCK.finditer(read_between(start, end))}
    found.update(blocks)
    ordered = [d for d in order if d in found] + sorted(set(found) - set(order))
    write_between(start, end, "\n" + legend + "\n\n" + "\n\n".join(found[d] for d in ordered) + "\n", heading)


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, the first column left-aligned and the others right-aligned."""
    return (["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
            + ["| " + " | ".join(r) + " |" for r in rows])
