"""``python manage.py verify_storage``: is every stored file still there, and still the same?

For each row of every ``StoredFile`` model, reads the file from storage as a stream and compares its
size and SHA-256 with those recorded at upload (``--quick``: existence and size only, no reading).
Prints progress, then every file missing or different; exits with an error if there is any.
"""

from django.core.management.base import BaseCommand, CommandError

from guichet.core import storage as stored
from guichet.core.text import count


class Command(BaseCommand):
    help = "Signale les fichiers absents du stockage ou dont l'empreinte SHA-256 a changé."

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true",
                            help="Vérifier seulement la présence et la taille (sans relire les fichiers).")

    def handle(self, *args, quick=False, verbosity=1, **options):
        models = stored.stored_file_models()
        total = sum(m._base_manager.exclude(file="").count() for m in models)
        checked, missing, differing = 0, [], []
        for model in models:
            storage = model._meta.get_field("file").storage
            rows = model._base_manager.exclude(file="").order_by("pk").values_list("pk", "file", "size", "sha256")
            for pk, name, size, sha256 in rows.iterator(chunk_size=1000):
                label = f"{model._meta.label_lower} n° {pk} : {name}"
                try:
                    if quick:
                        found_size, found_sha = storage.size(name), sha256
                    else:
                        found = stored.digest(storage, name)
                        found_size, found_sha = found.size, found.sha256
                except FileNotFoundError:
                    missing.append(label)
                    self.stderr.write(f"ABSENT — {label}")
                else:
                    if found_size != size or (sha256 and found_sha != sha256):
                        differing.append(label)
                        self.stderr.write(f"MODIFIÉ — {label} (empreinte ou taille différente de celle du dépôt)")
                checked += 1
                if verbosity and (checked % 100 == 0 or checked == total):
                    self.stdout.write(f"Vérification : {checked}/{total} fichiers")
        summary = (f"{count(checked, 'fichier vérifié')} : {count(len(missing), 'absent')}, "
                   f"{count(len(differing), 'modifié')}.")
        if missing or differing:
            raise CommandError(summary)
        if verbosity:
            self.stdout.write(self.style.SUCCESS(summary))
