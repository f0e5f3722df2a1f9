#!/usr/bin/env python3
"""Mutation testing (cosmic-ray) of the modules that compute money, dates and permissions: `make mutation`.

Each module is mutated one small change at a time (an operator, a comparison, a boolean, a `not`) and only its
own test files are run against each mutant (TARGETS below), on SQLite; a mutant the tests do not notice
« survives ». See docs/testing.md for how to read the result.

cosmic-ray writes each mutation into the file and runs a command, so the run happens in a scratch copy of the
working tree under var/mutation/<module>/ (git-ignored): the repository's own files are never touched, even
when a run is interrupted. Each mutant gets a fresh SQLite test database.

    scripts/mutation.py                        every module of TARGETS that exists
    scripts/mutation.py guichet/dossiers/workflow.py --timeout 120
    scripts/mutation.py --sample 5 guichet/funding/payments.py     5 mutants only: does the configuration work?
    scripts/mutation.py --survivors            only the last run's survivors again (after adding tests)
    scripts/mutation.py --report               the scores of the last runs, without running anything
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"

# Module → the test files that exercise it (only these run against its mutants: minutes, not hours).
# A module or test file that does not exist (yet) is left out with a note, never an error.
TARGETS: dict[str, list[str]] = {
    "guichet/funding/payments.py": [
        "tests/test_payments.py",
        "tests/test_payment_receipts.py",
        "tests/test_payment_properties.py",
        "tests/test_payment_pages.py",
        "tests/test_api_funding.py",
    ],
    "guichet/dossiers/workflow.py": [
        "tests/test_workflow.py",
        "tests/test_instruction_dossier.py",
        "tests/test_eligibility.py",  # reopening a dossier: still the establishment's only one on the call
        "tests/test_bordereau.py",  # corrections of a proofs dossier: each invoice with its file
    ],
    "guichet/accounts/permissions.py": [
        "tests/test_accounts.py",
        "tests/test_workflow.py",
    ],
    "guichet/calls/deadlines.py": [  # the deadline rule: filing, the proofs' windows, reminders, how it reads
        "tests/test_deadlines.py",
        "tests/test_calendar.py",
    ],
}

# Mutation operators left out: those that mostly produce noise (a `+` turned into `<<` or `%` on strings, `==`
# turned into `is`) rather than the mistakes a person makes. Kept: + ↔ -, * ↔ /, // and % → /, ** → *, & ↔ |,
# every comparison boundary and flip (< ↔ <=, > ↔ >=, < ↔ >, == ↔ !=, is ↔ is not), and ↔ or, True ↔ False,
# an added or removed `not`, a negation dropped, a number changed, a loop that runs zero times, a decorator
# removed, break ↔ continue.
EXCLUDED_OPERATORS = [
    "core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|Mul_Div$|Div_Mul$|FloorDiv_Div$|Mod_Div$|Pow_Mul$"
    "|BitOr_BitAnd$|BitAnd_BitOr$)",
    "core/ReplaceComparisonOperator_(?!Eq_NotEq$|NotEq_Eq$|Lt_LtE$|LtE_Lt$|Gt_GtE$|GtE_Gt$|Lt_Gt$|Gt_Lt$"
    "|LtE_GtE$|GtE_LtE$|Is_IsNot$|IsNot_Is$)",
    "core/ReplaceUnaryOperator_(?!USub_UAdd$|Delete_Not$)",
    "core/VariableReplacer",
    "core/VariableInserter",
]

SETTINGS = '''"""Scratch settings for mutation testing: this module's own test database."""
from guichet.test_settings import *  # noqa: F403

DATABASES["default"]["TEST"] = {{"NAME": {name!r}}}  # noqa: F405
'''


def slug(module: str) -> str:
    return module.removeprefix("guichet/").removesuffix(".py").replace("/", ".")


def bin_path(name: str) -> str:
    """A console script of the running interpreter's environment (cosmic-ray, cr-filter-operators)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def copy_working_tree(dest: Path) -> None:
    """The files git knows or would add (tracked and untracked-not-ignored), as they are on disk now."""
    if dest.exists():
        shutil.rmtree(dest)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def keep_a_sample(session: Path, size: int) -> None:
    """Leave only ``size`` pending mutants, evenly spread over the module (a quick check of the configuration)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=lambda w: tuple(w.mutations[0].start_pos))
        kept = {pending[i * len(pending) // size].job_id for i in range(min(size, len(pending)))}
        left_out = [w.job_id for w in pending if w.job_id not in kept]
        if left_out:
            db.set_multiple_results(left_out, WorkResult(output="Sampled out", worker_outcome=WorkerOutcome.SKIPPED))


def run_module(module: str, tests: list[str], timeout: float | None, sample: int | None = None,
               survivors_only: bool = False) -> list[dict] | None:
    """Mutate ``module`` against ``tests`` in a scratch copy; returns the outcome per mutant."""
    work = WORK / slug(module)
    src = work / "src"
    session = work / "session.sqlite"
    saved = work / "result.json"
    work.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256((ROOT / module).read_bytes()).hexdigest()
    if survivors_only and not (saved.exists() and session.exists() and json.loads(saved.read_text()).get(
            "source") == digest):
        print(f"({module} changed since its last run, or never ran: every mutant is run again)")
        survivors_only = False
    print(f"\n=== {module}  ({', '.join(tests)})", flush=True)
    copy_working_tree(src)
    (src / "mutation_settings.py").write_text(SETTINGS.format(name=str(work / "test.sqlite3")))
    # Compiled once for speed; the mutated module's own bytecode is dropped, so it is always read from source.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "guichet", "tests"], cwd=src, check=True)
    for stale in (src / module).parent.glob(f"__pycache__/{Path(module).stem}.*.pyc"):
        stale.unlink()

    # A fresh test database for every mutant (pytest-django's default): a reused one does not survive a
    # transactional test (test_eligibility's), whose flush empties the regions for every later mutant.
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--ds=mutation_settings",
              "--hypothesis-seed=0", *tests]
    started = time.monotonic()
    baseline = subprocess.run(pytest, cwd=src, capture_output=True, text=True)
    took = time.monotonic() - started
    if baseline.returncode != 0:
        print(baseline.stdout[-3000:], baseline.stderr[-3000:])
        print(f"!!! {module}: the tests fail without any mutation: fix them first.")
        return None
    timeout = timeout or round(max(60.0, 3 * took + 30))
    print(f"baseline: green in {took:.0f} s; timeout per mutant {timeout:.0f} s", flush=True)

    config = work / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = [{json.dumps(module)}]\n"
        f"timeout = {float(timeout)}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(shlex.join(pytest))}\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n"
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(EXCLUDED_OPERATORS)}\n")
    if survivors_only:
        # Only the survivors are run again: the tests were only added to, so the killed stay killed.
        with sqlite3.connect(session) as db:
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    else:
        session.unlink(missing_ok=True)
        subprocess.run([bin_path("cosmic-ray"), "init", str(config), str(session)], cwd=src, check=True)
        subprocess.run([bin_path("cr-filter-operators"), str(session), str(config)], cwd=src, check=True)
        skip_non_behaviour(session, src / module)
        if sample:
            keep_a_sample(session, sample)
    pending = sum(1 for item in dump(session, src) if item["outcome"] == "pending")
    print(f"{pending} mutants to run…", flush=True)
    subprocess.run([bin_path("cosmic-ray"), "exec", str(config), str(session)], cwd=src, check=True)
    items = dump(session, src)
    saved.write_text(json.dumps({"module": module, "source": digest, "tests": tests, "sample": sample,
                                 "mutants": items}, ensure_ascii=False, indent=1))
    return items


def skip_non_behaviour(session: Path, path: Path) -> None:
    """Leave out the mutants that change no behaviour by construction: inside a type annotation (`str | None` →
    `str & None`), and « operators » that are not operations (cosmic-ray takes the bare `*` of keyword-only
    parameters, `def f(a, *, b)`, for a multiplication and turns it into `/`, positional-only)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    def span(node):
        return (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)

    annotations, operations = [], []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign | ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            operations.append(node)
    annotations = [span(a) for a in annotations if a is not None]
    operations = [span(o) for o in operations]

    def left_out(mutation) -> str | None:
        where = tuple(mutation.start_pos)
        if any(start <= where < end for start, end in annotations):
            return "Type annotation"
        if "BinaryOperator" in mutation.operator_name and not any(start <= where < end for start, end in operations):
            return "Not an operation"
        return None

    with use_db(str(session), WorkDB.Mode.open) as db:
        for work_item in db.pending_work_items:
            reason = left_out(work_item.mutations[0])
            if reason:
                db.set_result(work_item.job_id, WorkResult(output=reason, worker_outcome=WorkerOutcome.SKIPPED))


def dump(session: Path, src: Path) -> list[dict]:
    """Each mutant of a cosmic-ray session: where, which operator, and its outcome."""
    out = subprocess.run([bin_path("cosmic-ray"), "dump", str(session)], cwd=src, check=True, capture_output=True,
                         text=True).stdout
    items = []
    for line in filter(None, out.splitlines()):
        item, result = json.loads(line)
        mutation = item["mutations"][0]
        if result is None:
            outcome = "pending"
        elif result["worker_outcome"] == "skipped":
            outcome = "excluded"
        elif result["test_outcome"] == "killed":
            outcome = "timeout" if result.get("output") == "timeout" else "killed"
        elif result["test_outcome"] == "survived":
            outcome = "survived"
        else:
            outcome = "error"  # the mutant could not even run (cosmic-ray's « incompetent »): counted apart
        items.append({"line": mutation["start_pos"][0], "column": mutation["start_pos"][1],
                      "operator": mutation["operator_name"].removeprefix("core/"),
                      "occurrence": mutation["occurrence"], "outcome": outcome,
                      "diff": (result or {}).get("diff") or ""})
    return items


def summarize(results: dict[str, list[dict]], sampled: set[str] = frozenset()) -> int:
    """Print the score per module and in all, and every survivor; returns the number of survivors."""
    print("\nmodule                              killed  survived  timeout  error  total  score")
    totals = dict.fromkeys(("killed", "survived", "timeout", "error"), 0)
    for module, items in results.items():
        counts = {key: sum(1 for i in items if i["outcome"] == key) for key in totals}
        for key in totals:
            totals[key] += counts[key]
        print(line(module, counts) + ("  (a sample only: not a score)" if module in sampled else ""))
    print(line("all modules", totals))
    survivors = 0
    for module, items in results.items():
        source = (ROOT / module).read_text().splitlines() if (ROOT / module).exists() else []
        for item in sorted((i for i in items if i["outcome"] == "survived"), key=lambda i: (i["line"], i["column"])):
            survivors += 1
            text = source[item["line"] - 1].strip() if item["line"] <= len(source) else ""
            print(f"SURVIVED {module}:{item['line']}:{item['column']} {item['operator']}  | {text}")
    return survivors


def line(name: str, counts: dict) -> str:
    total = sum(counts.values())
    detected = counts["killed"] + counts["timeout"]
    score = f"{100 * detected / (total - counts['error']):.1f} %" if total - counts["error"] else "-"
    return (f"{name:<35} {counts['killed']:>6} {counts['survived']:>9} {counts['timeout']:>8} {counts['error']:>6}"
            f" {total:>6}  {score}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules of TARGETS to run (default: all that exist)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 3 × the baseline + 30 s)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run only N mutants per module, evenly spread (a quick check, not a score)")
    parser.add_argument("--survivors", action="store_true",
                        help="run again only the last run's survivors (after adding tests; the module unchanged)")
    parser.add_argument("--report", action="store_true", help="print the last runs' scores, run nothing")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"not in TARGETS: {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    os.environ.pop("DATABASE_URL", None)  # SQLite: fast, and no shared server to lock
    results: dict[str, list[dict]] = {}
    sampled: set[str] = set()
    for module in args.modules or list(TARGETS):
        if args.report:
            saved = WORK / slug(module) / "result.json"
            if saved.exists():
                result = json.loads(saved.read_text())
                results[module] = result["mutants"]
                if result.get("sample"):
                    sampled.add(module)
            continue
        if not (ROOT / module).exists():
            print(f"\n=== {module}: absent, skipped")
            continue
        tests = [t for t in TARGETS[module] if (ROOT / t).exists()]
        missing = sorted(set(TARGETS[module]) - set(tests))
        if missing:
            print(f"(test files absent, left out for {module}: {', '.join(missing)})")
        if not tests:
            print(f"\n=== {module}: none of its test files exists, skipped")
            continue
        items = run_module(module, tests, args.timeout, args.sample, args.survivors)
        if items is None:
            return 1
        results[module] = items
        if args.sample:
            sampled.add(module)
    if not results:
        print("nothing to report")
        return 0
    summarize(results, sampled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
