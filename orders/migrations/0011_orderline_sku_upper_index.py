"""An index for the search of a whole channel SKU in any case (orders.selectors.order_search_ids, step 2).

Django's `iexact` compares `UPPER(sku::text) = UPPER(…)`, so the index is on that expression, under the tenant,
with the order id last, and the SKU itself included (PostgreSQL reads an expression index alone only when the
columns inside the expression are in it too): the newest orders of one SKU are then read from the index
alone, in order, without visiting the lines (a common SKU has thousands). Like migration 0010's trigram indexes it is kept out of the
models' state and built CONCURRENTLY on PostgreSQL only (sync keeps writing lines meanwhile); SQLite scans the
tenant's lines.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = "orderline_tenant_upper_sku"


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(INDEX)}"
        ' ON "orders_orderline" ("tenant_id", (UPPER("sku"::text)), "order_id") INCLUDE ("sku")'
    )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("orders", "0010_search_trigram_indexes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
