"""Putting returned units back: to sellable stock, or to damaged / unsellable, as inventory movements.

Only goods that come back to the seller's own (or third-party) warehouse: returns of merchant-fulfilled
Amazon orders and of the shops. FBA returns are Amazon's to restock (BY_CHANNEL); their numbers arrive with
the FBA inventory sync.

* Sellable units: one RETURN_TO_STOCK movement, on hand + n (they can be sold again at once).
* Damaged units: they came back (RETURN_TO_STOCK + n) and were put aside (DAMAGED - n, unfulfillable + n):
  on hand does not grow, the ledger shows both steps, and the level counts them as unfulfillable.

By disposition (`return_restock_by_disposition`, e.g. when a return is received): SELLABLE → sellable;
DEFECTIVE, CUSTOMER_DAMAGED, CARRIER_DAMAGED, DAMAGED → damaged; anything else waits for a person (the beat
task refunds.restock_returns applies this every 15 minutes to received returns). By a
person's decision (`return_restock`): a warehouse, sellable units and damaged units. A return restocks once:
the decision is claimed with a conditional UPDATE from PENDING, in the same transaction as the movements.

A console refund request with "put the items back in stock" is a person saying the goods came back without
a return on the channel: after the refund succeeds, its units go back to sellable stock
(`refund_restock_after_success`), once (the movement reference names the refund line). A refund without that
box ticked never adds stock: units come back only through a return.

Where goods come back to: the warehouse that shipped them (inventory's allocation of the order line knows
it: `inventory.allocation.allocation_served_from`), so a parcel the Los Angeles 3PL shipped is restocked in
Los Angeles; a person restocking by hand picks the warehouse the return actually arrived at (the form offers
the shipping warehouse first). Only when nothing of ours is known (an order shipped before ACORN held its
stock) does the first own warehouse take them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.adapters.base import Capability
from channels.adapters.registry import platform_supports
from channels.models import Store
from inventory.allocation import allocation_served_from, line_ref
from inventory.ledger import stock_move
from inventory.models import MovementKind, Product, StockMovement, Warehouse, WarehouseKind
from inventory.selectors import mapping_resolve
from orders.models import OrderLine
from refunds.listeners import refunds_money_changed
from refunds.models import Refund, RefundLine, RestockState, Return, ReturnSource, ReturnStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SELLABLE_DISPOSITIONS = frozenset({"SELLABLE"})
DAMAGED_DISPOSITIONS = frozenset({"DEFECTIVE", "CUSTOMER_DAMAGED", "CARRIER_DAMAGED", "DAMAGED"})


def return_restock_refusal(*, record: Return) -> str:
    """Why this return cannot be restocked here ("" when it can)."""
    if record.restock_state == RestockState.BY_CHANNEL or _by_channel(record):
        return _("Amazon restocks FBA returns itself; their stock comes with the FBA inventory sync.")
    if record.restock_state != RestockState.PENDING:
        return _("This return has already been handled (%(state)s).") % {"state": record.get_restock_state_display()}
    if record.status not in (ReturnStatus.RECEIVED, ReturnStatus.CLOSED):
        return _("The goods have not been received yet: restock them once they are back.")
    return ""


def _by_channel(record: Return) -> bool:
    return record.source == ReturnSource.AMAZON_FBA or record.fulfillment_channel == "fba"


def restock_warehouses(*, tenant_id: int, first: Warehouse | None = None) -> list[Warehouse]:
    """Where returned goods can go: the seller's own and third-party warehouses (never FBA), `first` (the one
    that shipped the goods) ahead of the others."""
    warehouses = list(
        Warehouse.objects.filter(tenant_id=tenant_id, active=True)
        .exclude(kind=WarehouseKind.FBA)
        .order_by("kind", "pk")
    )
    if first is not None:
        warehouses.sort(key=lambda warehouse: warehouse.pk != first.pk)
    return warehouses


def return_shipped_from(*, record: Return) -> Warehouse | None:
    """The warehouse the returned goods left from: that of the order's lines with the return's SKU (None
    when the return names no known order, or nothing of ours shipped it)."""
    if record.order_id is None:
        return None
    lines = OrderLine.objects.filter(tenant_id=record.tenant_id, order_id=record.order_id, sku=record.sku)
    return allocation_served_from(tenant_id=record.tenant_id, line_refs=[line_ref(line) for line in lines])


def _usable(warehouse: Warehouse | None, fallback: list[Warehouse]) -> Warehouse | None:
    """The shipping warehouse when goods can still go there, else the first of the fallbacks."""
    if warehouse is not None and warehouse.active and not warehouse.read_only:
        return warehouse
    return fallback[0] if fallback else None


@dataclass(frozen=True)
class _Units:
    product: Product
    units: int


def _products_for(store_id: int, tenant_id: int, sku: str, product: Product | None, quantity: int) -> list[_Units]:
    """The master products (bundles exploded) and units that `quantity` of a channel SKU stand for."""
    if product is None:
        store = Store.objects.get(pk=store_id, tenant_id=tenant_id)
        resolved = mapping_resolve(store=store, sku=sku)
        if resolved is None:
            return []
        product, quantity = resolved.product, quantity * resolved.multiplier
    if not product.is_bundle:
        return [_Units(product, quantity)]
    return [_Units(part.component, part.quantity * quantity) for part in product.components.select_related("component")]


def _move(
    parts: list[_Units], warehouse: Warehouse, *, damaged: bool, reference: str, reason: str, actor: User | None
) -> None:
    for part in parts:
        if part.units <= 0:
            continue
        stock_move(
            product=part.product,
            warehouse=warehouse,
            kind=MovementKind.RETURN_TO_STOCK,
            on_hand_delta=part.units,
            reference=reference,
            reason=reason,
            actor=actor,
        )
        if damaged:
            stock_move(
                product=part.product,
                warehouse=warehouse,
                kind=MovementKind.DAMAGED,
                on_hand_delta=-part.units,
                unfulfillable_delta=part.units,
                reference=reference,
                reason=reason,
                actor=actor,
            )


@transaction.atomic
def return_restock(
    *, record: Return, warehouse: Warehouse, sellable: int, damaged: int, actor: User | None, note: str = ""
) -> Return:
    """Put a received return's units back: `sellable` to sellable stock, `damaged` to damaged, in the
    warehouse; the rest of the units did not come back (NOT_RETURNED when none did). Once. Audited."""
    errors: dict[str, list[str]] = {}
    if warehouse.tenant_id != record.tenant_id or warehouse.read_only or not warehouse.active:
        errors["warehouse"] = [_("Choose one of your own active warehouses.")]
    if sellable < 0 or damaged < 0:
        errors["sellable"] = [_("Enter zero or more units.")]
    elif sellable + damaged > record.quantity:
        errors["sellable"] = [
            _("Only %(quantity)d units were returned; %(total)d is too many.")
            % {"quantity": record.quantity, "total": sellable + damaged}
        ]
    if errors:
        raise ValidationError(errors)
    refusal = return_restock_refusal(record=record)
    if refusal:
        raise ValidationError(refusal)
    parts = _products_for(record.store_id, record.tenant_id, record.sku, record.product, 1)
    if not parts and (sellable or damaged):
        raise ValidationError(
            _("SKU %(sku)s is not mapped to a product of yours: map it first, then restock.") % {"sku": record.sku}
        )
    if sellable and not damaged:
        state = RestockState.SELLABLE
    elif damaged:
        state = RestockState.DAMAGED
    else:
        state = RestockState.NOT_RETURNED
    claimed = Return.objects.filter(pk=record.pk, restock_state=RestockState.PENDING).update(
        restock_state=state,
        restock_warehouse=warehouse,
        restocked_sellable=sellable,
        restocked_damaged=damaged,
        updated_at=timezone.now(),
    )
    if not claimed:
        raise ValidationError(_("This return has already been handled."))
    reference = f"return:{record.pk}"
    reason = note.strip() or _("Return %(id)s of order %(order)s") % {
        "id": record.external_id,
        "order": record.order_external_id,
    }
    scale = [_Units(part.product, part.units) for part in parts]
    _move([_Units(p.product, p.units * sellable) for p in scale], warehouse, damaged=False, reference=reference,
          reason=reason, actor=actor)  # fmt: skip
    _move([_Units(p.product, p.units * damaged) for p in scale], warehouse, damaged=True, reference=reference,
          reason=reason, actor=actor)  # fmt: skip
    record.refresh_from_db()
    refunds_money_changed(tenant_id=record.tenant_id, refund_ids=[record.refund_id] if record.refund_id else [])
    audit_record(
        tenant=record.tenant,
        actor=actor,
        action="refunds.return_restocked",
        target=record,
        before={"restock_state": RestockState.PENDING},
        after={
            "restock_state": state,
            "warehouse": warehouse.name,
            "sellable": sellable,
            "damaged": damaged,
            "note": note.strip(),
        },
    )
    return record


def return_restock_by_disposition(*, record: Return) -> str:
    """Restock a received return by its disposition, into the warehouse that shipped it (the first own one
    when that is unknown); FBA returns are marked BY_CHANNEL. Returns the restock state (PENDING when a
    person must decide). Safe to run twice."""
    if record.restock_state != RestockState.PENDING:
        return record.restock_state
    if _by_channel(record):
        Return.objects.filter(pk=record.pk, restock_state=RestockState.PENDING).update(
            restock_state=RestockState.BY_CHANNEL, updated_at=timezone.now()
        )
        record.restock_state = RestockState.BY_CHANNEL
        refunds_money_changed(tenant_id=record.tenant_id, refund_ids=[record.refund_id] if record.refund_id else [])
        return record.restock_state
    disposition = record.disposition.strip().upper().replace(" ", "_")
    if record.status not in (ReturnStatus.RECEIVED, ReturnStatus.CLOSED) or not disposition:
        return record.restock_state
    if disposition not in SELLABLE_DISPOSITIONS | DAMAGED_DISPOSITIONS:
        return record.restock_state
    warehouse = _usable(return_shipped_from(record=record), restock_warehouses(tenant_id=record.tenant_id))
    parts = _products_for(record.store_id, record.tenant_id, record.sku, record.product, 1)
    if warehouse is None or not parts:
        return record.restock_state
    sellable = record.quantity if disposition in SELLABLE_DISPOSITIONS else 0
    try:
        updated = return_restock(
            record=record,
            warehouse=warehouse,
            sellable=sellable,
            damaged=record.quantity - sellable,
            actor=None,
            note=_("Disposition %(disposition)s") % {"disposition": record.disposition},
        )
    except ValidationError:
        return record.restock_state
    return updated.restock_state


def refund_restock_after_success(*, refund: Refund) -> int:
    """A console refund marked "put the items back in stock" succeeded: its units go back to sellable stock
    of the warehouse that shipped each line (the first own one when that is unknown), once per refund line.
    Returns the units restocked. Call it in the transaction that records the success."""
    if not refund.restock or not platform_supports(refund.store.platform, Capability.EXECUTE_REFUNDS):
        return 0
    if refund.order is not None and refund.order.fulfillment_channel == "fba":
        return 0
    warehouses = restock_warehouses(tenant_id=refund.tenant_id)
    if not warehouses:
        return 0
    units = 0
    used: dict[str, int] = {}
    for line in RefundLine.objects.filter(refund=refund).select_related("product", "order_line").order_by("pk"):
        reference = f"refund-line:{line.pk}"
        if not line.quantity or StockMovement.objects.filter(tenant_id=refund.tenant_id, reference=reference).exists():
            continue
        shipped_from = (
            allocation_served_from(tenant_id=refund.tenant_id, line_refs=[line_ref(line.order_line)])
            if line.order_line is not None
            else None
        )
        warehouse = _usable(shipped_from, warehouses)
        if warehouse is None:
            continue
        parts = _products_for(refund.store_id, refund.tenant_id, line.sku, line.product, line.quantity)
        _move(
            parts,
            warehouse,
            damaged=False,
            reference=reference,
            reason=_("Refund of order %(order)s: goods back") % {"order": refund.order_external_id},
            actor=None,
        )
        if parts:
            units += line.quantity
            used[warehouse.name] = used.get(warehouse.name, 0) + line.quantity
    if units:
        audit_record(
            tenant=refund.tenant,
            actor=None,
            action="refunds.refund_restocked",
            target=refund,
            after={"warehouse": ", ".join(sorted(used)), "units": units, "by_warehouse": used},
        )
    return units


def returns_restock_by_disposition_unscoped(*, limit: int = 2000) -> int:
    """Across tenants (the beat): FBA returns still PENDING become BY_CHANNEL, and received merchant returns
    with a disposition are restocked by it. Returns how many changed state. Safe to run twice."""
    with dangerously_unscoped():
        rows = list(
            Return.objects.filter(tenant__is_active=True, restock_state=RestockState.PENDING)
            .filter(
                Q(source=ReturnSource.AMAZON_FBA)
                | Q(fulfillment_channel="fba")
                | Q(
                    status__in=(ReturnStatus.RECEIVED, ReturnStatus.CLOSED),
                    disposition__in=sorted(SELLABLE_DISPOSITIONS | DAMAGED_DISPOSITIONS),
                )
            )
            .select_related("tenant")
            .order_by("pk")[:limit]
        )
    changed = 0
    for row in rows:
        with tenant_scope(row.tenant):
            if return_restock_by_disposition(record=row) != RestockState.PENDING:
                changed += 1
    return changed
