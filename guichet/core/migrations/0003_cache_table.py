"""The database cache's table (settings.CACHE_TABLE), so that ``migrate`` alone prepares a fresh instance.

The table is created whatever CACHE_URL says today, so switching from Redis back to the database cache
needs nothing more. It is what ``manage.py createcachetable`` creates (same command code).
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "guichet_cache"  # settings.CACHE_TABLE; written out here because a migration must not change later


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_hmac_key")]

    operations = [migrations.RunPython(create_table, drop_table, elidable=False)]
