"""Stock services the console and the other apps call: a new mapping, goods received, a counted
correction, and the ledger check. Each stands on the ledger (`inventory.ledger`: one conditional UPDATE per
change, refused by the database when it would oversell) and on allocation (`inventory.allocation`: the lines
waiting for a mapping or for stock are served at once).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from channels.models import Store
from inventory.allocation import mapping_reresolve, stock_lock, stock_reresolve
from inventory.ledger import InsufficientStock, stock_level_get, stock_move
from inventory.mapping_checks import mapping_check
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
    mapping_reresolve(store=store)
    return mapping


def levels_match_ledger(*, tenant_id: int) -> list[str]:
    """The invariant: every level equals the sum of its movements. Returns the mismatches (empty = sound)."""
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
        level = stock_level_get(product, warehouse)
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
