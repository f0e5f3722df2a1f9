#!/usr/bin/env python
"""The deadline rush over HTTP: applicants autosaving and filing within a minute, then a wave of logins.

    .venv/bin/python benchmarks/rush.py [--database sqlite|postgres] [--users 200] [--window 30] [--no-doc]

In a throwaway instance (a temporary directory; a SQLite file in it, or a PostgreSQL database
``guichet_rush`` on ``BENCH_PG_URL``, created then dropped) with the production settings (DEBUG off,
tasks on the database queue, Argon2 password hashing, e-mails written to files), the script

1. opens the Hauts-de-France 2024 demo call and prepares ``--users`` applicants, each with its own
   establishment and a draft dossier complete but for the five fields of its last part (« Référent du
   projet »), and a session made beforehand (they logged in earlier in the day: sessions last 8 hours);
2. starts gunicorn (2 sync workers, as in the issue) on 127.0.0.1 and one ``db_worker`` beside it (they
   send the acknowledgements during the rush, as in production);
3. runs locust headless (``benchmarks/rush_locust.py``): every applicant starts at a random moment of the
   first ``--window`` seconds, autosaves the five fields one by one (1–4 s of typing between two), then
   files; the run ends when all are done (bounded by a time limit);
4. checks that every filing answered by a success is filed in the database (state, number), and that
   none answered by an error was filed after all;
5. runs the logins separately: every account logs in once (password checked by Argon2) at a random
   moment of a ``--window``-second window;

then prints p50 / p95 / p99 per request kind and the errors, and writes them into docs/performance.md
between ``<!-- bench:rush:start -->`` and ``<!-- bench:rush:end -->`` (unless ``--no-doc``). Locust runs
on the same machine as the server: on 2 cores it takes its share of the CPU. A few minutes in all.
"""

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    DOC,
    PG_SERVER_URL,
    ROOT,
    django_setup,
    machine,
    machine_text,
    markdown_table,
    pg_admin,
    write_between,
)

START, END = "<!-- bench:rush:start -->", "<!-- bench:rush:end -->"
PG_DB = "guichet_rush"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
FIELDS = [("referent_nom", "Martin"), ("referent_prenom", "Claire"),
          ("referent_fonction", "Directrice des ressources humaines"),
          ("referent_email", "claire.martin@ch-rush.example"), ("referent_telephone", "03 20 44 59 62")]
LAST_SECTION = "referent"
PASSWORD = "Rush-motdepasse-2026!"
KINDS = [("autosave", "Autosave of 1 field (htmx POST, whole part posted)"),
         ("filing", "Filing (POST dossiers:file)"), ("login", "Login (POST, Argon2id)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the instance ----------------------------------------------------------------------------------

def environment(work: Path, database: str) -> dict:
    if database == "postgres":
        pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        pg_admin(f'CREATE DATABASE "{PG_DB}"')
        url = PG_SERVER_URL.rstrip("/") + "/" + PG_DB
    else:
        url = f"sqlite:///{work / 'db.sqlite3'}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "guichet.settings", "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "rush-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "AUDIT_HMAC_KEY": "rush-only-audit-key-0123456789-abcdefghijklmnop",
            "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0", "DJANGO_HSTS_SECONDS": "0",
            "DATABASE_URL": url, "DATABASE_CONN_MAX_AGE": "60", "GUICHET_VAR_DIR": str(work / "var"),
            "GUICHET_FILES_DIR": str(work / "files"), "GUICHET_STORAGE": "local", "CLAMAV_SOCKET": "",
            "CLAMAV_HOST": "", "LOG_LEVEL": "WARNING", "TASKS_BACKEND": "database",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(work / "mails"), "GUICHET_TRUSTED_PROXY_COUNT": "1",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true"}


def prepare(users: int) -> list[dict]:
    """The call, ``users`` applicants with their establishment, dossier (all but the last part filled) and session."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from django.utils.datastructures import MultiValueDict
    from run import TEMPLATE_SLUG, _posted_data, _section_inputs

    from guichet.accounts.models import Role, User
    from guichet.calls.models import Call
    from guichet.calls.templates_loader import load_seed_templates, shift_template_for_demo
    from guichet.dossiers import services
    from guichet.establishments.models import Establishment, EstablishmentAccess, LegalEntity, Region

    load_seed_templates()
    call = shift_template_for_demo(Call.objects.get(slug=TEMPLATE_SLUG), timezone.now())
    region = Region.objects.get(code="32")
    entity = LegalEntity.objects.create(finess="590000014", siren="261400915", name="CH du rush",
                                        legal_status="public")
    accounts = []
    for i in range(users):
        establishment = Establishment.objects.create(
            finess=f"59{i:07d}", legal_entity=entity, siret=f"261400915{i:05d}", name=f"Centre hospitalier n° {i}",
            city="Lille", sector="sanitaire", legal_status="public", department="59", region=region)
        email = f"deposant{i}@rush.example"
        user = User.objects.create_user(email, PASSWORD, role=Role.APPLICANT)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        EstablishmentAccess.objects.create(user=user, establishment=establishment)
        dossier = services.start_dossier(call, establishment, user)
        for section, (data, files) in _section_inputs(1).items():
            if section != LAST_SECTION:
                result = services.save_section(dossier, section, MultiValueDict(data), MultiValueDict(files), user)
                if result.form.errors:
                    raise SystemExit(f"section {section}: {result.form.errors.as_text()}")
        if i == 0:
            missing = {m.path for m in services.missing_items(dossier.__class__.objects.get(pk=dossier.pk))}
            assert missing <= {name for name, _ in FIELDS}, f"more than the last part is missing: {missing}"
            posted = _posted_data(dossier, LAST_SECTION)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        accounts.append({
            "email": email, "password": PASSWORD, "session": session.session_key, "csrf": get_random_string(32),
            "ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 + 1}", "dossier": dossier.pk,
            "section": reverse("dossiers:section", args=[dossier.pk, LAST_SECTION]),
            "file": reverse("dossiers:file", args=[dossier.pk]),
            "summary": reverse("dossiers:summary", args=[dossier.pk]),
        })
        if (i + 1) % 50 == 0:
            print(f"  {i + 1} applicants ready", flush=True)
    for account in accounts:
        account["posted"] = {k: v for k, v in posted.items() if k not in {name for name, _ in FIELDS}}
        account["fields"] = [[name, value] for name, value in FIELDS]
    return accounts


class Server:
    """gunicorn (2 sync workers) on a free loopback port, and one task worker beside it."""

    def __init__(self, env: dict, workers: int):
        self.port = free_port()
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "guichet.wsgi", "--workers", str(workers), "--timeout", "120",
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"], cwd=ROOT, env=env)
        self.worker = subprocess.Popen([PYTHON, "manage.py", "db_worker", "--queue-name", "*"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL)
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")

    def warm_up(self, account: dict) -> None:
        """A few pages through both workers (imports, templates, form schema parsed) before measuring."""
        import urllib.request

        request = urllib.request.Request(self.url + account["section"],
                                         headers={"Cookie": f"sessionid={account['session']}"})
        for _ in range(10):
            with urllib.request.urlopen(request, timeout=120) as response:
                assert response.status == 200, response.status

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the gunicorn workers: the cost of the requests whatever else
        runs on the machine."""
        pid = self.gunicorn.pid
        total = 0.0
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        for process in (self.gunicorn, self.worker):
            process.terminate()
        for process in (self.gunicorn, self.worker):
            process.wait(timeout=60)


def run_locust(user_class: str, accounts: list[dict], work: Path, url: str, window: float, limit: int) -> dict:
    """Locust headless with one user of ``user_class`` per account, all spawned in ~5 s: p50 / p95 / p99 / max
    and errors per request name, from every response time the users recorded."""
    name = user_class.lower()
    accounts_file, results_file = work / f"{name}-accounts.json", work / f"{name}-results.json"
    accounts_file.write_text(json.dumps(accounts), encoding="utf-8")
    env = {**os.environ, "RUSH_ACCOUNTS": str(accounts_file), "RUSH_RESULTS": str(results_file),
           "RUSH_WINDOW": str(window)}
    users = len(accounts)
    command = [str(BIN / "locust"), "-f", str(Path(__file__).with_name("rush_locust.py")), "--headless",
               "--host", url, "-u", str(users), "-r", str(max(1, users // 5)), "--run-time", f"{limit}s",
               "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING", user_class]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=False)
    elapsed = time.perf_counter() - started
    found = json.loads(results_file.read_text(encoding="utf-8"))
    stats = {}
    for request, times in found["times"].items():
        ordered = sorted(times)
        stats[request] = {"count": len(ordered), "failures": found["errors"].get(request, 0),
                          "p50": percentile(ordered, 50), "p95": percentile(ordered, 95),
                          "p99": percentile(ordered, 99), "max": ordered[-1]}
    return {"stats": stats, "filings": found["filings"], "seconds": elapsed}


def percentile(ordered: list[float], q: int) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def check_filings(accounts: list[dict], filings: dict) -> dict:
    """Every filing answered by a success is filed (state and number); none answered by an error was filed."""
    from guichet.dossiers.models import Dossier, State

    filed = {str(pk): number for pk, number in Dossier.objects.filter(
        pk__in=[a["dossier"] for a in accounts], state=State.EN_CONSTRUCTION).values_list("pk", "number")}
    succeeded = {pk for pk, outcome in filings.items() if outcome["ok"]}
    lost = sorted(pk for pk in succeeded if not filed.get(pk))
    unreported = sorted(pk for pk in filed if pk not in succeeded)
    return {"answered_success": len(succeeded), "filed": len(filed), "lost": lost, "filed_but_error": unreported,
            "not_attempted": len(accounts) - len(filings)}


# --- output -------------------------------------------------------------------------------------

def table(result: dict) -> list[list[str]]:
    rows = []
    for key, label in KINDS:
        s = result["stats"].get(key)
        if s:
            rows.append([label, str(s["count"]), f"{s['p50']:.0f}", f"{s['p95']:.0f}", f"{s['p99']:.0f}",
                         f"{s['max']:.0f}", str(s["failures"])])
    return rows


HEADERS = ["Request", "requests", "p50 (ms)", "p95 (ms)", "p99 (ms)", "max (ms)", "errors"]


def requests(result: dict, *kinds: str) -> int:
    return sum(result["stats"].get(kind, {}).get("count", 0) for kind in kinds)


def markdown(result: dict) -> str:
    m, c = result["machine"], result["check"]
    lost = ", ".join(c["lost"]) or "none"
    return "\n".join([
        "",
        "## Deadline rush (HTTP, locust)",
        "",
        f"Figures produced by `benchmarks/rush.py` (`.venv/bin/python benchmarks/rush.py [--database "
        f"sqlite|postgres] [--users N]`; locust is in requirements-dev.txt). Measured {m['date']} on "
        f"{result['database']}: {result['users']} applicants, already logged in (sessions made beforehand), each "
        f"starting at a random moment of the first {result['window']:.0f} s, autosaving the 5 fields of the last "
        f"part one by one (1–4 s apart) then filing; then, separately, each account logging in once within "
        f"{result['window']:.0f} s. gunicorn with {result['workers']} sync workers and one `db_worker` (the "
        f"acknowledgements) on 127.0.0.1, production settings (DEBUG off, tasks on the database queue, Argon2id "
        f"m = 19 MiB, t = 2, p = 1, `DATABASE_CONN_MAX_AGE=60`); locust on the same machine.  ",
        f"Machine: {machine_text(m)}. Load average at the start: {result['load_before']}; at the end: "
        f"{m['load']}.",
        "",
        *markdown_table(HEADERS, table(result)),
        "",
        f"CPU used by the 2 gunicorn workers (whatever else ran on the machine): "
        f"{result['rush_cpu']:.1f} s for the {requests(result, 'autosave', 'filing')} requests of the rush "
        f"({1000 * result['rush_cpu'] / max(1, requests(result, 'autosave', 'filing')):.0f} ms each), "
        f"{result['login_cpu']:.1f} s for the {requests(result, 'login')} logins "
        f"({1000 * result['login_cpu'] / max(1, requests(result, 'login')):.0f} ms each). Rush over in "
        f"{result['rush_seconds']:.0f} s. Check against the database: {c['answered_success']} filings answered "
        f"by a success, {c['filed']} dossiers filed, "
        f"success answered but not filed: {lost}; filed although an error was answered: "
        f"{len(c['filed_but_error'])}; applicants who did not get to file: {c['not_attempted']}.",
        "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--window", type=float, default=30, help="seconds over which the users start (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guichet-rush-"))
    env = environment(work, args.database)
    server = None
    try:
        django_setup(env, announce=True)
        subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        print(f"Preparing {args.users} applicants…", flush=True)
        started = time.perf_counter()
        accounts = prepare(args.users)
        print(f"  prepared in {time.perf_counter() - started:.0f} s", flush=True)
        from django.db import connections

        connections.close_all()
        server = Server(env, args.workers)
        server.warm_up(accounts[-1])
        load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"Rush: {args.users} applicants autosave 5 fields and file…", flush=True)
        limit = int(args.window + 5 * 4 + 120)
        cpu = server.cpu_seconds()
        rush = run_locust("Applicant", accounts, work, server.url, args.window, limit)
        rush["cpu"] = server.cpu_seconds() - cpu
        check = check_filings(accounts, rush["filings"])
        print(f"Logins: {args.users} accounts log in…", flush=True)
        cpu = server.cpu_seconds()
        login = run_locust("Login", accounts, work, server.url, args.window, int(args.window + 60))
        login["cpu"] = server.cpu_seconds() - cpu
        server.stop()
        server = None
        connections.close_all()
        result = {"database": "PostgreSQL" if args.database == "postgres" else "SQLite (WAL)",
                  "users": args.users, "window": args.window, "workers": args.workers,
                  "stats": {**rush["stats"], **login["stats"]}, "check": check, "rush_seconds": rush["seconds"],
                  "rush_cpu": rush["cpu"], "login_cpu": login["cpu"], "load_before": load_before,
                  "machine": machine()}
        print(markdown(result))
        if not args.no_doc:
            write_between(START, END, markdown(result))
            print(f"Written to {DOC.relative_to(ROOT)}")
        return 1 if check["lost"] or check["filed_but_error"] else 0
    finally:
        if server is not None:
            server.stop()
        if args.database == "postgres":
            from django.db import connections

            connections.close_all()
            pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
