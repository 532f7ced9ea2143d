"""Stock changes. Every change is a StockMovement written with the level in one transaction, and every
change of `reserved` or `on_hand` is one conditional UPDATE that the database refuses when it would
oversell (CHECK constraints) — the same code is correct on PostgreSQL and on SQLite, with or without
concurrent workers, because no decision is taken on a value read earlier.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from channels.models import Store
from inventory.events import stock_changed
from inventory.models import (
    MovementKind,
    Product,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


logger = logging.getLogger(__name__)


class InsufficientStock(Exception):
    """The level does not hold what the change needs; nothing was written."""


def _level(product: Product, warehouse: Warehouse) -> StockLevel:
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
    level = _level(product, warehouse)
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
    level = _level(product, warehouse)
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


# --- mapping -------------------------------------------------------------------------------------------

_NORMALISE = re.compile(r"[^A-Z0-9]")


def normalise_sku(sku: str) -> str:
    """'abc-12 /blue' → 'ABC12BLUE': for suggesting mappings, never for applying them silently."""
    return _NORMALISE.sub("", sku.upper())


@dataclass(frozen=True)
class Resolved:
    product: Product
    multiplier: int


def mapping_resolve(*, store: Store, sku: str, channel_product_id: str = "") -> Resolved | None:
    """The master product of a channel line: by the channel's product id first, then by its SKU; a channel
    SKU equal to a master SKU maps itself."""
    mappings = SkuMapping.objects.filter(store=store).select_related("product")
    found = None
    if channel_product_id:
        found = mappings.filter(channel_product_id=channel_product_id).first()
    if found is None and sku:
        found = mappings.filter(channel_sku=sku).first()
    if found is not None:
        return Resolved(found.product, found.quantity_multiplier)
    product = Product.objects.filter(tenant_id=store.tenant_id, sku=sku, active=True).first() if sku else None
    return Resolved(product, 1) if product is not None else None


@transaction.atomic
def mapping_create(
    *,
    store: Store,
    product: Product,
    channel_sku: str = "",
    channel_product_id: str = "",
    asin: str = "",
    quantity_multiplier: int = 1,
    actor: User | None = None,
) -> SkuMapping:
    """Map a channel SKU (or product id) to a master product of the store's company, after the checks of
    `inventory.mapping.mapping_check`; audited. Lines waiting for it are resolved (and reserve) at once."""
    from inventory.mapping import mapping_check  # the checks the console's edits and CSV import share

    if product.tenant_id != store.tenant_id:
        raise ValidationError({"product": _("Choose a product of this company.")})
    mapping = SkuMapping(
        tenant_id=store.tenant_id,
        store=store,
        product=product,
        channel_sku=channel_sku,
        channel_product_id=channel_product_id,
        asin=asin,
        quantity_multiplier=quantity_multiplier,
    )
    mapping_check(mapping)
    try:
        with transaction.atomic():  # a savepoint: a concurrent mapping of the same SKU loses cleanly
            mapping.save()
    except IntegrityError:
        raise ValidationError({"channel_sku": _("This store already maps that channel SKU or product id.")}) from None
    audit_record(
        tenant=store.tenant,
        actor=actor,
        action="inventory.mapping_created",
        target=mapping,
        after={
            "store": store.pk,
            "channel_sku": mapping.channel_sku,
            "channel_product_id": mapping.channel_product_id,
            "asin": mapping.asin,
            "product": product.sku,
            "quantity_multiplier": mapping.quantity_multiplier,
        },
    )
    from inventory.allocation import mapping_reresolve  # allocation sits on these primitives

    mapping_reresolve(store=store)
    return mapping


def levels_match_ledger(*, tenant_id: int) -> list[str]:
    """The invariant: every level equals the sum of its movements. Returns the mismatches (empty = sound)."""
    from django.db.models import Sum

    sums = {
        (row["product_id"], row["warehouse_id"]): (row["on_hand"] or 0, row["reserved"] or 0)
        for row in StockMovement.objects.filter(tenant_id=tenant_id)
        .values("product_id", "warehouse_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    }
    problems = []
    for level in StockLevel.objects.filter(tenant_id=tenant_id):
        expected = sums.get((level.product_id, level.warehouse_id), (0, 0))
        if (level.on_hand, level.reserved) != expected:
            problems.append(
                f"{level.product_id}/{level.warehouse_id}: level {level.on_hand}/{level.reserved} != {expected}"
            )
    return problems


def stock_receive(
    *, product: Product, warehouse: Warehouse, quantity: int, reference: str = "", actor: User | None = None
) -> StockMovement:
    """Goods arrived: on hand goes up, and lines backordered for want of stock are tried again."""
    if warehouse.read_only:
        raise ValidationError(_("FBA stock is Amazon's: it is read from Amazon, never changed here."))
    if quantity <= 0:
        raise ValidationError({"quantity": _("Receive a positive quantity.")})
    with transaction.atomic():
        from inventory.allocation import stock_lock, stock_reresolve  # allocation sits on these primitives

        stock_lock(tenant_id=product.tenant_id, product_ids=[product.pk])  # before any level changes (pk order)
        movement = stock_move(
            product=product,
            warehouse=warehouse,
            kind=MovementKind.RECEIPT,
            on_hand_delta=quantity,
            reference=reference,
            actor=actor,
        )
        audit_record(
            tenant=product.tenant,
            actor=actor,
            action="inventory.stock_received",
            target=product,
            after={"warehouse": warehouse.name, "quantity": quantity, "reference": reference},
        )
        stock_reresolve(product=product)
    return movement


@transaction.atomic
def stock_adjust(
    *, product: Product, warehouse: Warehouse, delta: int, kind: str, reason: str, actor: User | None = None
) -> StockMovement:
    """A counted correction or damaged goods: on hand changes by `delta`, never below what is reserved.
    Audited, with the reason."""
    if warehouse.read_only:
        raise ValidationError(_("FBA stock is Amazon's: it is read from Amazon, never changed here."))
    if kind not in (MovementKind.ADJUSTMENT, MovementKind.DAMAGED, MovementKind.RETURN_TO_STOCK):
        raise ValidationError({"kind": _("Choose adjustment, damaged or return to stock.")})
    if not delta:
        raise ValidationError({"delta": _("Enter a change other than zero.")})
    if kind == MovementKind.DAMAGED and delta > 0:
        raise ValidationError({"delta": _("Damaged goods leave the stock: enter a negative change.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the stock changes.")})
    from inventory.allocation import stock_lock, stock_reresolve  # allocation sits on these primitives

    stock_lock(tenant_id=product.tenant_id, product_ids=[product.pk])  # before any level changes (pk order)
    try:
        movement = stock_move(
            product=product,
            warehouse=warehouse,
            kind=kind,
            on_hand_delta=delta,
            reason=reason.strip(),
            actor=actor,
            reference="manual",
        )
    except InsufficientStock:
        level = _level(product, warehouse)
        raise ValidationError(
            {
                "delta": _("Only %(free)d units are free in %(warehouse)s (%(reserved)d are reserved for orders).")
                % {"free": level.available, "warehouse": warehouse.name, "reserved": level.reserved}
            }
        ) from None
    audit_record(
        tenant=product.tenant,
        actor=actor,
        action="inventory.stock_adjusted",
        target=product,
        after={"warehouse": warehouse.name, "kind": kind, "delta": delta, "reason": reason.strip()},
    )
    if delta > 0:
        stock_reresolve(product=product)
    return movement
