"""Trigram indexes for the order search box (PostgreSQL only; SQLite searches without them).

Django's case-insensitive lookups (`icontains`, `istartswith`) compare `UPPER(column::text) LIKE UPPER(…)`,
so the indexes are GIN trigram indexes on that expression: a substring of a title ("蓝牙耳机"), of a SKU in
any case, or the start of an order number is found through them instead of reading every row. They are kept
out of the models' state (a GIN index cannot be built on SQLite), so the operation is plain SQL that runs on
PostgreSQL and does nothing elsewhere; `pg_trgm` comes from Django's TrigramExtension, itself a no-op off
PostgreSQL.

The indexes are built CONCURRENTLY (so the migration is not atomic): sync keeps writing orders while a GIN
index over a million titles builds, and a plain CREATE INDEX would block those writes meanwhile.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# (index name, table, column)
TRIGRAM_INDEXES = [
    ("orderline_sku_trgm", "orders_orderline", "sku"),
    ("orderline_title_trgm", "orders_orderline", "title"),
    ("order_external_id_trgm", "orders_order", "external_id"),
    ("order_merchant_id_trgm", "orders_order", "merchant_order_id"),
]


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON {quote(table)}"
            f" USING gin ((UPPER({quote(column)}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("orders", "0009_order_list_filter_indexes")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
