from django.db import migrations


def load_regions(apps, schema_editor):
    from guichet.establishments.regions import REGIONS

    Region = apps.get_model("establishments", "Region")
    for code, name, slug in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name, "slug": slug})


class Migration(migrations.Migration):
    dependencies = [("establishments", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
