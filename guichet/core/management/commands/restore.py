"""``python manage.py restore SRC``: restore a backup made by ``backup`` into an empty instance.

The instance must be migrated (``migrate``) and hold no data besides what migrations create (the
18 regions): otherwise the command refuses, unless ``--force`` is given, which first empties the
database (``flush``) and replaces files of the same name. Files are copied into the storage this
instance is configured with (a private directory or S3, whichever the backup came from), then the
data is loaded in one transaction, then every file is read back from storage and its SHA-256
compared with the backup's manifest and with the database.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.files import File
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.recorder import MigrationRecorder

from guichet.core import storage as stored
from guichet.core.text import count

from .backup import FORMAT, MANIFEST, VERSION, backed_up_models, safe_relative, sha256_of_path

# Tables that data migrations fill on every new instance: replaced by the backup's rows.
MIGRATION_DATA = {"establishments.region"}


class Command(BaseCommand):
    help = "Restaure une sauvegarde (base de données et fichiers) dans une instance vide, puis vérifie les empreintes."

    def add_arguments(self, parser):
        parser.add_argument("src", help="Dossier d'une sauvegarde faite par « backup ».")
        parser.add_argument("--force", action="store_true",
                            help="Vider d'abord la base de données et remplacer les fichiers existants.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, src, force, database, verbosity=1, **options):
        src = Path(src)
        manifest = self._manifest(src)
        connection = connections[database]
        self._check_migrations(manifest, connection)
        models = backed_up_models()
        not_empty = [m._meta.verbose_name_plural for m in models
                     if m._meta.label_lower not in MIGRATION_DATA and m._base_manager.using(database).exists()]
        files = manifest["files"]
        for entry in files:
            if entry["storage"] not in settings.STORAGES or not safe_relative(entry["name"]):
                raise CommandError(f"Sauvegarde invalide : fichier {entry['name']!r} (stockage {entry['storage']!r}).")
        present = [e["name"] for e in files if stored.storages[e["storage"]].exists(e["name"])]
        if (not_empty or present) and not force:
            details = []
            if not_empty:
                details.append("données présentes : " + ", ".join(str(n) for n in not_empty[:5]))
            if present:
                present_text = count(len(present), "fichier déjà présent", "fichiers déjà présents")
                details.append(f"{present_text} dans le stockage")
            raise CommandError("Cette instance n'est pas vide (" + " ; ".join(details) + ") : une sauvegarde se "
                               "restaure dans une instance neuve, migrée et sans données. Ajoutez --force pour "
                               "tout remplacer.")
        if force and not_empty:
            call_command("flush", interactive=False, database=database, verbosity=0)

        # 1. Files, into the configured storage.
        copied = 0
        for index, entry in enumerate(files, start=1):
            storage = stored.storages[entry["storage"]]
            if storage.exists(entry["name"]):
                storage.delete(entry["name"])
            with open(src / "files" / entry["storage"] / entry["name"], "rb") as handle:
                saved = storage.save(entry["name"], File(handle, name=entry["name"]))
            if saved != entry["name"]:
                raise CommandError(f"Le stockage a enregistré {entry['name']} sous le nom {saved} : restauration "
                                   "interrompue.")
            copied += 1
            if verbosity and (index % 100 == 0 or index == len(files)):
                self.stdout.write(f"Fichiers : {index}/{len(files)} copiés")

        # 2. Data, in one transaction.
        counts: dict[str, int] = {}
        with transaction.atomic(using=database):
            for model in models:
                if model._meta.label_lower in MIGRATION_DATA:
                    model._base_manager.using(database).all().delete()
            loaded_models = set()
            with connection.constraint_checks_disabled():
                with open(src / manifest["database"]["file"], encoding="utf-8") as handle:
                    deferred = []
                    for obj in serializers.deserialize("jsonl", handle, using=database,
                                                       handle_forward_references=True):
                        obj.save(using=database)
                        if obj.deferred_fields:
                            deferred.append(obj)
                        label = obj.object._meta.label_lower
                        counts[label] = counts.get(label, 0) + 1
                        loaded_models.add(type(obj.object))
                    for obj in deferred:
                        obj.save_deferred_fields(using=database)
            table_names = [m._meta.db_table for m in loaded_models]
            connection.check_constraints(table_names=table_names)
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), list(loaded_models)):
                    cursor.execute(sql)
        expected = manifest["database"]["objects"]
        differing = {label: (n, counts.get(label, 0)) for label, n in expected.items() if counts.get(label, 0) != n}
        if differing:
            raise CommandError(f"Nombre d'objets restaurés différent de la sauvegarde : {differing}")
        if verbosity:
            self.stdout.write(f"Base de données : {sum(counts.values())} objets restaurés.")

        # 3. Every checksum, read back from storage.
        problems = self._verify(files, database)
        message = (f"Restauration terminée : {sum(counts.values())} objets, {copied} fichiers copiés, "
                   f"{len(files) - len(problems)} empreintes vérifiées.")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{message} {count(len(problems), 'anomalie')} : voir ci-dessus.")
        if verbosity:
            self.stdout.write(self.style.SUCCESS(message))

    def _manifest(self, src: Path) -> dict:
        try:
            with open(src / MANIFEST, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{src / MANIFEST} est absent ou illisible : la sauvegarde est incomplète "
                               f"({exc}).") from exc
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise CommandError(f"{src} n'est pas une sauvegarde de ce format (attendu : {FORMAT} version {VERSION}).")
        data = src / manifest["database"]["file"]
        if not data.is_file() or sha256_of_path(data) != manifest["database"]["sha256"]:
            raise CommandError(f"{data} est absent ou a été modifié depuis la sauvegarde (empreinte différente).")
        return manifest

    def _check_migrations(self, manifest: dict, connection) -> None:
        applied = MigrationRecorder(connection).applied_migrations()
        missing = [f"{app}.{name}" for app, names in manifest["migrations"].items() for name in names
                   if (app, name) not in applied]
        if missing:
            raise CommandError("Cette instance n'a pas appliqué toutes les migrations de la sauvegarde "
                               f"({', '.join(missing[:5])}…) : lancez « python manage.py migrate » avec la même "
                               "version du code, puis recommencez.")

    def _verify(self, files: list, database: str) -> list[str]:
        problems = []
        by_name = {}
        for entry in files:
            by_name[(entry["storage"], entry["name"])] = entry
            try:
                found = stored.digest(stored.storages[entry["storage"]], entry["name"])
            except FileNotFoundError:
                problems.append(f"{entry['name']} : absent du stockage après la copie")
                continue
            if (found.sha256, found.size) != (entry["sha256"], entry["size"]):
                problems.append(f"{entry['name']} : empreinte différente de la sauvegarde")
        for model in stored.stored_file_models():
            alias = stored.alias_of(model._meta.get_field("file").storage)
            rows = model._base_manager.using(database).exclude(file="").values_list("pk", "file", "sha256")
            for pk, name, sha256 in rows.iterator():
                entry = by_name.get((alias, name))
                if entry is None:
                    problems.append(f"{model._meta.label_lower} n° {pk} : {name} absent de la sauvegarde")
                elif sha256 and sha256 != entry["sha256"]:
                    problems.append(f"{model._meta.label_lower} n° {pk} : empreinte enregistrée différente du "
                                    "fichier sauvegardé")
        return problems

