"""The platform's default convention and avenant bodies omit empty identifiers and name the signatory once:
refresh the stored platform defaults (region-less rows only; a region's own templates are its own)."""

from django.db import migrations


def refresh(apps, schema_editor):
    from guichet.documents.models import default_body

    DocumentTemplate = apps.get_model("documents", "DocumentTemplate")
    for kind in ("convention", "avenant"):
        DocumentTemplate.objects.filter(region=None, kind=kind).update(body=default_body(kind))


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_default_templates")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
