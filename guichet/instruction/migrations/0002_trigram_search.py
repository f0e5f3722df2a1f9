"""PostgreSQL only: trigram GIN indexes so that ``LIKE '%word%'`` on the search text and the theme
codes uses an index. Other databases (SQLite) are left alone: a LIKE over one call's rows is enough.
If the ``pg_trgm`` extension cannot be created (no privilege), the search still works, unindexed."""

from django.db import migrations, transaction

INDEXES = [
    ("ws_idx_search_trgm", "search_text"),
    ("ws_idx_themes_trgm", "themes"),
]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001  (no privilege: keep the unindexed LIKE)
        return
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON instruction_dossierindex USING gin ({column} gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("instruction", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
