"""The stock ledger: every change is a StockMovement written with the level in one transaction, and every
change of `reserved` or `on_hand` is one conditional UPDATE that the database refuses when it would oversell
(CHECK constraints) — the same code is correct on PostgreSQL and on SQLite, with or without concurrent
workers, because no decision is taken on a value read earlier.

These are the primitives allocation (`inventory.allocation`) and the stock services (`inventory.services`:
receipts, adjustments) stand on; channel quantities and low-stock alerts follow each change after commit
(`inventory.events`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.events import stock_changed
from inventory.models import MovementKind, Product, StockLevel, StockMovement, Warehouse

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class InsufficientStock(Exception):
    """The level does not hold what the change needs; nothing was written."""


def stock_level_get(product: Product, warehouse: Warehouse) -> StockLevel:
    """The level of a product in a warehouse, created empty the first time."""
    level, _created = StockLevel.objects.get_or_create(
        tenant_id=product.tenant_id, product=product, warehouse=warehouse
    )
    return level


def stock_move(
    *,
    product: Product,
    warehouse: Warehouse,
    kind: str,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    reference: str = "",
    reason: str = "",
    actor: User | None = None,
    unfulfillable_delta: int = 0,
) -> StockMovement:
    """Apply one movement to the level (conditionally: never below zero, never more reserved than on
    hand) and record it. Raises InsufficientStock and writes nothing when the level cannot take it.
    `unfulfillable_delta` counts damaged units kept apart from the sellable stock (returns put to damaged)."""
    level = stock_level_get(product, warehouse)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the CHECK may refuse the update
                updated = StockLevel.objects.filter(
                    pk=level.pk,
                    on_hand__gte=-on_hand_delta if on_hand_delta < 0 else 0,
                    reserved__gte=-reserved_delta if reserved_delta < 0 else 0,
                    unfulfillable__gte=-unfulfillable_delta if unfulfillable_delta < 0 else 0,
                ).update(
                    on_hand=F("on_hand") + on_hand_delta,
                    reserved=F("reserved") + reserved_delta,
                    unfulfillable=F("unfulfillable") + unfulfillable_delta,
                    updated_at=timezone.now(),
                )
        except IntegrityError:  # on_hand would fall below reserved
            raise InsufficientStock(f"{product.sku} in {warehouse.name}") from None
        if not updated:
            raise InsufficientStock(f"{product.sku} in {warehouse.name}")
        movement = StockMovement.objects.create(
            tenant_id=product.tenant_id,
            product=product,
            warehouse=warehouse,
            kind=kind,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            reference=reference[:200],
            reason=reason[:300],
            actor=actor,
        )
        if not warehouse.read_only:  # channel quantities and low-stock alerts follow, after commit; FBA feeds neither
            stock_changed(tenant_id=product.tenant_id, product_ids=[product.pk])
        return movement


def stock_reserve(*, product: Product, warehouse: Warehouse, quantity: int, reference: str) -> bool:
    """Reserve if available (one conditional UPDATE: on_hand - reserved >= quantity), with its RESERVATION
    movement. False when short: nothing is written."""
    level = stock_level_get(product, warehouse)
    with transaction.atomic():
        updated = StockLevel.objects.filter(pk=level.pk, on_hand__gte=F("reserved") + quantity).update(
            reserved=F("reserved") + quantity, updated_at=timezone.now()
        )
        if not updated:
            return False
        StockMovement.objects.create(
            tenant_id=product.tenant_id,
            product=product,
            warehouse=warehouse,
            kind=MovementKind.RESERVATION,
            reserved_delta=quantity,
            reference=reference[:200],
        )
        stock_changed(
            tenant_id=product.tenant_id, product_ids=[product.pk]
        )  # channel quantities and low-stock alerts, after commit
        return True
