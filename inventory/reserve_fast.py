"""One paid order line reserved in one statement (PostgreSQL): the common case of `allocate_line` — a line that
holds nothing yet (waiting for payment or a mapping) of a paid order, one product that is not a bundle, stock
free where it is served — done as a single data-modifying statement instead of the ~20 the general state
machine sends, so a hot product's level is locked for one round trip.

The statement does what `inventory.allocation._advance` does for such a line, with the same rules:

* the product: the one the allocation already has when its channel SKU did not change, else the store's
  mapping by channel product id, then by channel SKU, then an active master product with that SKU
  (`inventory.selectors.mapping_resolve`: the same precedence — `tests` check they agree);
* the warehouse: the one orders decided (active, not Amazon's), else the first active own or third-party
  warehouse, in `candidate_warehouses` order, whose level has the whole line free;
* the level moves by one conditional UPDATE (`on_hand >= reserved + units`, re-checked on the newest row
  version by PostgreSQL when another worker changed it first) — it is the first row the statement locks, so
  levels are locked before the allocation above them, as everywhere else (no deadlock with the ingest);
* then the allocation (only while it still holds nothing), its Reservation and the RESERVATION movement.

Anything else — short stock, a bundle, a line with no allocation row yet, another state, SQLite — answers
None and nothing is kept: the caller takes the general path, which decides backorders, alerts and moves.
The statement runs under a savepoint that is rolled back whenever it does not reserve, so nothing it locked
is held out of key order when the general path locks levels (a level it waited for and then found short), and
the one race it cannot rule out — the level moved but another worker changed the allocation after the
statement read it (any change: its row version is compared) — leaves no trace either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from channels.adapters.base import OrderStatus
from channels.models import Store
from inventory.events import stock_changed
from inventory.models import (
    AllocationState,
    LineAllocation,
    MovementKind,
    Product,
    Reservation,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseKind,
)

# Order statuses that want the line's stock held, and allocation states that hold nothing yet.
WANTS_STOCK = (OrderStatus.PAID_UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)
HOLDS_NOTHING = ("", AllocationState.WAITING_PAYMENT, AllocationState.UNMAPPED)

_COLUMNS = [field.column for field in LineAllocation._meta.concrete_fields]
_ATTNAMES = [field.attname for field in LineAllocation._meta.concrete_fields]


def _sql() -> str:
    table = {
        "allocation": LineAllocation._meta.db_table,
        "mapping": SkuMapping._meta.db_table,
        "product": Product._meta.db_table,
        "level": StockLevel._meta.db_table,
        "warehouse": Warehouse._meta.db_table,
        "reservation": Reservation._meta.db_table,
        "movement": StockMovement._meta.db_table,
    }
    returning = ", ".join(f"a.{column}" for column in _COLUMNS)
    return f"""
WITH alloc AS (
    SELECT a.id, a.xmin AS version, a.product_id, a.multiplier, a.shipped_quantity, a.warehouse_id,
           (a.channel_sku = %(sku)s AND a.channel_product_id = %(channel_product_id)s) AS same_sku
    FROM {table["allocation"]} a
    WHERE a.tenant_id = %(tenant)s AND a.line_ref = %(line_ref)s AND a.state = ANY(%(holds_nothing)s)
      AND a.shipped_quantity < %(quantity)s
), resolved AS (
    SELECT r.product_id, r.multiplier FROM (
        SELECT m.product_id, m.quantity_multiplier AS multiplier, 1 AS rank FROM {table["mapping"]} m
        WHERE m.store_id = %(store)s AND %(channel_product_id)s <> ''
          AND m.channel_product_id = %(channel_product_id)s
        UNION ALL
        SELECT m.product_id, m.quantity_multiplier, 2 FROM {table["mapping"]} m
        WHERE m.store_id = %(store)s AND %(sku)s <> '' AND m.channel_sku = %(sku)s
        UNION ALL
        SELECT p.id, 1, 3 FROM {table["product"]} p
        WHERE p.tenant_id = %(tenant)s AND %(sku)s <> '' AND p.sku = %(sku)s AND p.active
    ) r ORDER BY r.rank LIMIT 1
), want AS (
    SELECT alloc.id AS allocation_id, alloc.version, p.id AS product_id, chosen.multiplier,
           (%(quantity)s - alloc.shipped_quantity) * chosen.multiplier AS units,
           CASE WHEN %(keep_warehouse)s THEN alloc.warehouse_id ELSE %(warehouse)s END AS decided_id
    FROM alloc
    LEFT JOIN resolved ON true
    CROSS JOIN LATERAL (
        SELECT CASE WHEN alloc.same_sku AND alloc.product_id IS NOT NULL THEN alloc.product_id
                    ELSE resolved.product_id END AS product_id,
               CASE WHEN alloc.same_sku AND alloc.product_id IS NOT NULL THEN alloc.multiplier
                    ELSE resolved.multiplier END AS multiplier
    ) chosen
    JOIN {table["product"]} p ON p.id = chosen.product_id AND NOT p.is_bundle
), pick AS (
    SELECT want.*, candidate.id AS level_id
    FROM want CROSS JOIN LATERAL (
        SELECT l.id FROM {table["level"]} l JOIN {table["warehouse"]} w ON w.id = l.warehouse_id
        WHERE l.tenant_id = %(tenant)s AND l.product_id = want.product_id AND w.active AND w.kind <> %(fba)s
          AND (want.decided_id IS NULL OR w.id = want.decided_id)
          AND l.on_hand - l.reserved >= want.units
        ORDER BY w.kind, w.id LIMIT 1
    ) candidate
), level AS (
    UPDATE {table["level"]} s SET reserved = s.reserved + pick.units, updated_at = %(now)s
    FROM pick
    WHERE s.id = pick.level_id AND s.on_hand >= s.reserved + pick.units
    RETURNING s.id, s.product_id, s.warehouse_id, pick.units, pick.multiplier, pick.decided_id,
              pick.allocation_id, pick.version
), moved AS (
    UPDATE {table["allocation"]} a SET
        store_id = %(store)s, reference = %(reference)s, channel_sku = %(sku)s,
        channel_product_id = %(channel_product_id)s, quantity = %(quantity)s, waiting_since = %(waiting_since)s,
        state = %(reserved)s, product_id = level.product_id, multiplier = level.multiplier,
        units = %(quantity)s * level.multiplier, warehouse_id = level.decided_id, updated_at = %(now)s
    FROM level
    WHERE a.id = level.allocation_id AND a.xmin = level.version  -- the row as it was read, not changed since
    RETURNING {returning}
), held AS (
    INSERT INTO {table["reservation"]} (tenant_id, allocation_id, product_id, warehouse_id, quantity)
    SELECT %(tenant)s, moved.id, level.product_id, level.warehouse_id, level.units FROM moved, level
), logged AS (
    INSERT INTO {table["movement"]}
        (tenant_id, product_id, warehouse_id, kind, on_hand_delta, reserved_delta, reference, reason, actor_id,
         created_at)
    SELECT %(tenant)s, level.product_id, level.warehouse_id, %(kind)s, 0, level.units, %(reference)s, '', NULL,
           %(now)s
    FROM moved, level
)
SELECT level.id, level.product_id, level.units, moved.* FROM level LEFT JOIN moved ON true
"""  # noqa: S608 - model table names, fixed SQL


_SQL = _sql()
_SAVEPOINT = "SAVEPOINT acorn_reserve_paid_line"
_UNDO = "ROLLBACK TO SAVEPOINT acorn_reserve_paid_line"


def reserve_paid_line(
    *,
    store: Store,
    order_status: str,
    purchased_at: datetime,
    reference: str,
    ref: str,
    sku: str,
    channel_product_id: str,
    quantity: int,
    warehouse: Warehouse | None,
    keep_warehouse: bool,
) -> LineAllocation | None:
    """Reserve a paid line that holds nothing yet in one statement (see the module docstring). Call it inside the
    caller's transaction. Returns the allocation, now RESERVED, or None when this is not the common case (nothing
    written: take the general path)."""
    if connection.vendor != "postgresql" or order_status not in WANTS_STOCK or quantity <= 0:
        return None
    params: dict[str, Any] = {
        "tenant": store.tenant_id,
        "store": store.pk,
        "line_ref": ref,
        "sku": sku,
        "channel_product_id": channel_product_id,
        "quantity": quantity,
        "holds_nothing": list(HOLDS_NOTHING),
        "keep_warehouse": keep_warehouse,
        "warehouse": None if keep_warehouse or warehouse is None else warehouse.pk,
        "fba": WarehouseKind.FBA,
        "now": timezone.now(),
        "reference": reference[:200],
        "waiting_since": purchased_at,
        "reserved": AllocationState.RESERVED,
        "kind": MovementKind.RESERVATION,
    }
    with connection.cursor() as cursor:
        # A savepoint, so that whatever the statement locked or moved is let go when it does not reserve: the
        # general path then locks levels in key order, as everywhere else (it never holds a level it waited
        # for out of that order). Released with the transaction.
        cursor.execute(_SAVEPOINT)
        cursor.execute(_SQL, params)
        row = cursor.fetchone()
        if row is None or row[3] is None:
            # Short, a bundle, unmapped, no allocation yet or not waiting; or the allocation was changed by
            # another worker after the statement read it: nothing of this is kept, the general path decides.
            cursor.execute(_UNDO)
            return None
        _level_id, product_id, _units, *allocation = row
    stock_changed(tenant_id=store.tenant_id, product_ids=[product_id])
    return LineAllocation.from_db(connection.alias, _ATTNAMES, allocation)
