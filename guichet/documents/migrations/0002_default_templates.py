from django.db import migrations


def load_defaults(apps, schema_editor):
    from guichet.documents.models import ensure_defaults

    ensure_defaults(apps.get_model("documents", "DocumentTemplate"))


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]
    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
