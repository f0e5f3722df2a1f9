#!/usr/bin/env python
"""Benchmark of the ZIP of many dossiers (``guichet.reporting.archives.build_zip``): throughput and flat memory.

    .venv/bin/python benchmarks/zip_export.py [--database postgres|sqlite] [--dossiers 1000] [--pdf]

In a throwaway database (PostgreSQL ``guichet_bench_zip`` created and dropped with psycopg, or a temporary
SQLite file) and a temporary file directory (the disk storage), the script creates N filed dossiers of one call
(default 1 000), each with three attachments of realistic sizes — a signed quote as PDF (350 KB), a scanned
certificate (1.2 MB), a spreadsheet budget (90 KB) — answered in a file field and a repeatable block, plus one
messagerie file (200 KB). The files of one size share their content through hard links (what is measured is
the archive, not ``/dev/urandom``), so they are read from the page cache: the throughput is the code's, not the
disk's. Then, as an instructor of the call's region, the whole archive is streamed and its bytes counted (as a
WSGI server would send them), while the process' resident memory (``VmRSS``) is sampled at the start, after
each tenth of the dossiers and at the end, with the peak (``VmHWM``).

``--pdf`` adds the dossier PDF of each dossier (WeasyPrint, rendered as the stream reaches it): slower, and
what it shows is that memory stays flat with it too. The figures are printed, not written to
docs/performance.md.
"""

import argparse
import os
import sys
import time

from common import machine, machine_text, throwaway_database

PG_DB = "guichet_bench_zip"
KB = 1024
MB = 1024 * KB
FILES = [  # (field path template, name, size)
    ("devis", "Devis signé.pdf", 350 * KB),
    ("actions.0.justificatif", "Attestation URSSAF (scan).pdf", 1200 * KB),
    ("actions.1.justificatif", "Budget prévisionnel.xlsx", 90 * KB),
]
MESSAGE_FILE = ("Courrier du CSE.pdf", 200 * KB)
SCHEMA = {"sections": [
    {"key": "projet", "title": "1. Le projet", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
        {"key": "devis", "type": "file", "label": "Devis"},
    ]},
    {"key": "actions", "title": "2. Les actions", "fields": [
        {"key": "actions", "type": "repeat", "label": "Actions", "row_label": "Action", "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé"},
            {"key": "justificatif", "type": "file", "label": "Justificatif"},
        ]},
    ]},
]}


def memory() -> dict:
    """The process' resident memory now and at its peak, in MB (Linux ``/proc``)."""
    found = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                found[key] = int(value.split()[0]) / 1024
    return {"rss": found.get("VmRSS", 0.0), "peak": found.get("VmHWM", 0.0)}


def populate(n: int, files_dir: str) -> tuple:
    import hashlib

    from django.conf import settings
    from django.utils import timezone

    from guichet.accounts.models import Role, User
    from guichet.calls.models import Call, FormVersion
    from guichet.dossiers.models import Attachment, Dossier, State
    from guichet.establishments.models import Establishment, Region
    from guichet.messaging.models import Message, MessageAttachment

    region = Region.objects.get(code="44")
    now = timezone.now()
    owner = User.objects.create(email="deposant@bench.example", role=Role.APPLICANT)
    instructor = User.objects.create(email="instructeur@bench.example", role=Role.INSTRUCTOR, region=region)
    call = Call.objects.create(region=region, year=2025, title="CLACT-QVCT 2025 — Grand Est", slug="clact-2025-ge",
                               opens_at=now, closes_at=now)
    version = FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    root = settings.STORAGES["default"].get("OPTIONS", {}).get("location") or files_dir
    os.makedirs(os.path.join(root, "bench"), exist_ok=True)
    sources = {}
    for _path, name, size in [*FILES, ("message", *MESSAGE_FILE)]:
        source = os.path.join(root, "bench", f"source-{size}")
        content = os.urandom(size)
        with open(source, "wb") as fh:
            fh.write(content)
        sources[name] = (source, size, hashlib.sha256(content).hexdigest())
    establishments = Establishment.objects.bulk_create([
        Establishment(finess=f"{570000000 + i:09d}", name=f"EHPAD Les Tilleuls {i}", region=region,
                      department="57", sector="medico_social", category="EHPAD", legal_status="public")
        for i in range(n)])
    t0 = time.perf_counter()
    dossiers = Dossier.objects.bulk_create([
        Dossier(call=call, form_version=version, establishment=establishments[i], created_by=owner,
                number=f"2025-44-{i + 1:06d}", state=State.EN_INSTRUCTION, first_filed_at=now, last_filed_at=now,
                answers={"nom_projet": f"Projet QVCT {i + 1}"}) for i in range(n)])
    attachments = []
    for d in dossiers:
        for path, name, size in FILES:
            source, size, digest = sources[name]
            stored = f"bench/{d.pk}/{path}-{size}"
            os.makedirs(os.path.join(root, "bench", str(d.pk)), exist_ok=True)
            os.link(source, os.path.join(root, stored))
            attachments.append(Attachment(dossier=d, field_path=path, file=stored, original_name=name, size=size,
                                          sha256=digest, scan_status="safe", content_type="application/pdf"))
    Attachment.objects.bulk_create(attachments, batch_size=2000)
    by_dossier = {}
    for a in Attachment.objects.filter(dossier__call=call).order_by("pk"):
        by_dossier.setdefault(a.dossier_id, {})[a.field_path] = {"attachment": a.pk, "name": a.original_name}
    for d in dossiers:
        files = by_dossier[d.pk]
        d.answers = {"nom_projet": d.answers["nom_projet"], "devis": files["devis"], "actions": [
            {"intitule": "Diagnostic ergonomique", "justificatif": files["actions.0.justificatif"]},
            {"intitule": "Formation", "justificatif": files["actions.1.justificatif"]}]}
    Dossier.objects.bulk_update(dossiers, ["answers"], batch_size=1000)
    messages = Message.objects.bulk_create([Message(dossier=d, author=owner, body="Voici le courrier du CSE.")
                                            for d in dossiers])
    name, size = MESSAGE_FILE
    source, size, digest = sources[name]
    message_files = []
    for m in messages:
        stored = f"bench/{m.dossier_id}/message-{m.pk}"
        os.link(source, os.path.join(root, stored))
        message_files.append(MessageAttachment(message=m, file=stored, original_name=name, size=size, sha256=digest,
                                               scan_status="safe", content_type="application/pdf"))
    MessageAttachment.objects.bulk_create(message_files, batch_size=2000)
    print(f"{n} dossiers, {n * (len(FILES) + 1)} files created in {time.perf_counter() - t0:.1f} s", flush=True)
    return call, instructor, [d.pk for d in dossiers]


def bench(args) -> dict:
    from guichet.reporting import archives

    files_dir = os.environ["GUICHET_FILES_DIR"]
    call, instructor, ids = populate(args.dossiers, files_dir)
    include = archives.ALL_CODES if args.pdf else tuple(c for c in archives.ALL_CODES if c != "pdf")
    per_dossier = sum(size for _p, _n, size in FILES) + MESSAGE_FILE[1]
    samples = [("start", 0, memory())]
    tenth = max(1, len(ids) // 10)
    total, started = 0, time.perf_counter()
    # The stream is cut at each tenth of the dossiers to sample memory: the same archive, in slices.
    stream = archives.build_zip(ids, instructor, include=include)
    next_mark = per_dossier * tenth
    for chunk in stream:
        total += len(chunk)
        if total >= next_mark and len(samples) <= 10:
            samples.append((f"{len(samples) * 10} %", total, memory()))
            next_mark += per_dossier * tenth
    elapsed = time.perf_counter() - started
    samples.append(("end", total, memory()))
    return {"dossiers": len(ids), "bytes": total, "seconds": elapsed, "samples": samples, "include": include,
            "machine": machine()}


def report(result: dict) -> str:
    mb = result["bytes"] / MB
    lines = [
        f"ZIP of {result['dossiers']} dossiers ({', '.join(result['include'])}): {mb:,.0f} MB in "
        f"{result['seconds']:.1f} s — {mb / result['seconds']:,.0f} MB/s, "
        f"{result['dossiers'] / result['seconds']:,.1f} dossiers/s",
        "",
        "| point | streamed (MB) | RSS (MB) | peak RSS so far (MB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, done, mem in result["samples"]:
        lines.append(f"| {label} | {done / MB:,.0f} | {mem['rss']:.0f} | {mem['peak']:.0f} |")
    first, last = result["samples"][0][2], result["samples"][-1][2]
    lines += ["", f"RSS growth from start to end: {last['rss'] - first['rss']:+.0f} MB "
                  f"for {mb:,.0f} MB streamed.", "", machine_text(result["machine"])]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--pdf", action="store_true", help="include each dossier's PDF (WeasyPrint)")
    args = parser.parse_args()
    with throwaway_database(args.database, PG_DB):
        result = bench(args)
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
