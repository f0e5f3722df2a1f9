from django.db import migrations


def load_regions(apps, schema_editor):
    from guichet.establishments.regions import ensure_regions

    ensure_regions(apps.get_model("establishments", "Region"))


class Migration(migrations.Migration):
    dependencies = [("establishments", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
