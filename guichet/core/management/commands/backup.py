"""``python manage.py backup DEST``: a consistent backup of the database and of every stored file.

DEST (a new or empty folder) receives:

- ``data.jsonl``: every row of every application table, Django-serialized one object per line, read
  in one transaction (REPEATABLE READ on PostgreSQL, one SQLite transaction), foreign keys to content
  types and permissions written as natural keys so that they load into any instance;
- ``files/<storage>/<name>``: every file a ``StoredFile`` row of that snapshot refers to, copied in
  chunks, its SHA-256 computed on the way and compared with the one recorded at upload;
- ``manifest.json``, written last (a backup without it is incomplete): format version, date,
  database vendor, applied migrations per app, object counts, and for each file its storage, name,
  size and SHA-256, plus the problems found (file missing from storage, checksum that differs).

Files are never modified once stored (a replaced file is a new file), so they are copied after the
database transaction ends: the snapshot stays short, and every file it refers to is copied.
The command exits with an error when a file is missing or differs; the backup is still written.
"""

import datetime as dt
import hashlib
import json
import os
import posixpath
from pathlib import Path

import django
from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.recorder import MigrationRecorder

from guichet.core import storage as stored
from guichet.core.text import count, plural

FORMAT = "guichet-backup"
VERSION = 1
DATA_FILE = "data.jsonl"
MANIFEST = "manifest.json"
# Rebuilt by ``migrate`` on any instance (referenced by natural keys), or of no value once restored.
EXCLUDED_MODELS = {"contenttypes.contenttype", "auth.permission", "sessions.session"}


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, without its rounding of datetimes and times to the millisecond."""

    def default(self, o):
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


def backed_up_models():
    """Every table holding application data, models with natural keys first (as ``dumpdata`` does)."""
    app_list = []
    for app_config in apps.get_app_configs():
        models = [m for m in app_config.get_models() if m._meta.managed and not m._meta.proxy
                  and m._meta.label_lower not in EXCLUDED_MODELS]
        if models:
            app_list.append((app_config, models))
    return serializers.sort_dependencies(app_list, allow_cycles=True)


def safe_relative(name: str) -> bool:
    """A storage name that stays inside its folder once joined to a path."""
    return bool(name) and not name.startswith("/") and posixpath.normpath(name) == name and ".." not in name.split("/")


def sha256_of_path(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(stored.CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


class Command(BaseCommand):
    help = "Sauvegarde cohérente de la base de données et de tous les fichiers déposés, avec empreintes."

    def add_arguments(self, parser):
        parser.add_argument("dest", help="Dossier de destination (nouveau ou vide).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, dest, database, verbosity=1, **options):
        dest = Path(dest)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise CommandError(f"Le dossier de destination {dest} n'est pas vide : choisissez un dossier nouveau "
                               "ou vide.")
        dest.mkdir(parents=True, exist_ok=True)
        connection = connections[database]

        files: dict[tuple[str, str], dict] = {}  # (storage alias, name) -> what the database says
        counts: dict[str, int] = {}
        with open(dest / DATA_FILE, "w", encoding="utf-8") as out:
            connection.ensure_connection()
            outermost = not connection.in_atomic_block
            with transaction.atomic(using=database):
                if outermost and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                migrations = {}
                for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
                    migrations.setdefault(app_label, []).append(name)
                for model in backed_up_models():
                    queryset = model._base_manager.using(database).order_by(model._meta.pk.name)
                    counter = _Counter(queryset.iterator(chunk_size=2000))
                    serializers.serialize("jsonl", counter, stream=out, use_natural_foreign_keys=True,
                                          use_natural_primary_keys=False, cls=ExactJSONEncoder)
                    counts[model._meta.label_lower] = counter.count
                for model in stored.stored_file_models():
                    alias = stored.alias_of(model._meta.get_field("file").storage)
                    rows = model._base_manager.using(database).exclude(file="")
                    for pk, name, size, sha256 in rows.values_list("pk", "file", "size", "sha256").iterator(2000):
                        entry = files.setdefault((alias, name), {"size": size, "sha256": sha256, "references": []})
                        entry["references"].append(f"{model._meta.label_lower}:{pk}")
        if verbosity:
            self.stdout.write(f"Base de données : {sum(counts.values())} objets sauvegardés.")

        copied, problems = [], []
        for index, ((alias, name), expected) in enumerate(sorted(files.items()), start=1):
            problem = self._copy(dest, alias, name, expected, copied)
            if problem:
                problems.append({"storage": alias, "name": name, "references": expected["references"],
                                 "problem": problem})
                self.stderr.write(f"{name} ({', '.join(expected['references'])}) : {problem}")
            if verbosity and (index % 100 == 0 or index == len(files)):
                self.stdout.write(f"Fichiers : {index}/{len(files)} copiés")

        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "django": django.get_version(),
            "database": {"vendor": connection.vendor, "file": DATA_FILE, "sha256": sha256_of_path(dest / DATA_FILE),
                         "objects": counts},
            "migrations": migrations,
            "files": copied,
            "problems": problems,
        }
        with open(dest / (MANIFEST + ".tmp"), "w", encoding="utf-8") as out:
            json.dump(manifest, out, ensure_ascii=False, indent=1)
        os.replace(dest / (MANIFEST + ".tmp"), dest / MANIFEST)
        message = (f"Sauvegarde écrite dans {dest} : {sum(counts.values())} objets, {len(copied)} fichiers "
                   f"({sum(f['size'] for f in copied)} octets).")
        if problems:
            files = f"{count(len(problems), 'fichier absent')} ou {plural(len(problems), 'modifié')}"
            raise CommandError(f"{message} Attention : {files}, listés dans manifest.json (« problems »).")
        if verbosity:
            self.stdout.write(self.style.SUCCESS(message))

    def _copy(self, dest: Path, alias: str, name: str, expected: dict, copied: list) -> str:
        """Copy one stored file into the backup; the problem found, in French, or ''."""
        if not safe_relative(name):
            return "nom de fichier refusé (chemin hors du stockage)"
        target = dest / "files" / alias / name
        target.parent.mkdir(parents=True, exist_ok=True)
        hasher, size = hashlib.sha256(), 0
        try:
            with open(target, "wb") as out:
                for chunk in stored.read_chunks(stored.storages[alias], name):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            target.unlink(missing_ok=True)
            return "absent du stockage"
        sha256 = hasher.hexdigest()
        copied.append({"storage": alias, "name": name, "size": size, "sha256": sha256,
                       "references": expected["references"]})
        if expected["sha256"] and sha256 != expected["sha256"]:
            return f"empreinte SHA-256 différente de celle enregistrée au dépôt ({expected['sha256']})"
        if size != expected["size"]:
            return f"taille différente de celle enregistrée au dépôt ({expected['size']} octets)"
        return ""


class _Counter:
    def __init__(self, iterable):
        self.iterable, self.count = iterable, 0

    def __iter__(self):
        for item in self.iterable:
            self.count += 1
            yield item
