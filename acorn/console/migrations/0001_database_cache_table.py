"""The embedded default's database cache table (``acorn_cache``), so that ``manage.py migrate`` alone leaves a
working install. Django's own ``createcachetable`` does the work: it creates the table of every database
cache in ``settings.CACHES`` that does not exist yet, and nothing with Redis or local-memory caches. A cache
holds nothing worth keeping, so the reverse drops the table."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.management import call_command
from django.db import migrations


def _database_cache_tables() -> list[str]:
    return [caches[alias]._table for alias in settings.CACHES if isinstance(caches[alias], BaseDatabaseCache)]


def create_cache_tables(apps, schema_editor) -> None:
    if _database_cache_tables():
        call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor) -> None:
    existing = set(schema_editor.connection.introspection.table_names())
    for table in _database_cache_tables():
        if table in existing:
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables, elidable=False)]
