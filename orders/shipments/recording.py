"""Recording a parcel: checked against what is left to ship, idempotent on (order, tracking number),
audited; the units of merchant lines in the parcel take the stock their lines hold, in the warehouse that
holds it (inventory's allocation, with movements; never more than a line holds), so a line shipped in
several parcels leaves stock parcel by parcel; the confirmation to the channel is queued after the commit.
Also the reads the pages need.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.tenancy.models import Tenant
from inventory.allocation import allocation_ship, line_ref, stock_lock_for
from orders.models import (
    ConfirmationState,
    FulfillmentChannel,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentSource,
)
from orders.shipments.confirmation import confirmations_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A shipment dated this far ahead of now is a mistake (clock skew of warehouses allowed).
FUTURE_SKEW = timedelta(minutes=15)
FIELD_MAX = 100


# --- reads ------------------------------------------------------------------------------------------------


def shipment_list(*, tenant: Tenant, states: Sequence[str] = ()) -> QuerySet[Shipment]:
    """The tenant's shipments (with order and store), newest first; `states` filters the confirmation."""
    shipments = Shipment.objects.filter(tenant=tenant).select_related("order__store")
    if states:
        shipments = shipments.filter(confirmation__in=list(states))
    return shipments.order_by("-created_at", "-pk")


def shipment_list_for_order(*, order: Order) -> QuerySet[Shipment]:
    """The order's shipments, first shipped first."""
    return Shipment.objects.filter(tenant_id=order.tenant_id, order=order).order_by("shipped_at", "pk")


def shipment_get_or_404(*, tenant: Tenant, pk: int) -> Shipment:
    """One of the tenant's shipments; another tenant's (or none) is a 404."""
    shipment = Shipment.objects.filter(tenant=tenant, pk=pk).select_related("order__store").first()
    if shipment is None:
        raise Http404
    return shipment


@dataclass(frozen=True)
class LineToShip:
    line: OrderLine
    shipped: int  # units already in recorded shipments

    @property
    def remaining(self) -> int:
        return max(0, self.line.quantity - self.shipped)


def shipped_quantities(*, order: Order) -> dict[int, int]:
    """Units of each line (by pk) already in a recorded shipment of the order."""
    lines = dict(OrderLine.objects.filter(order=order).values_list("pk", "quantity"))
    shipped: dict[int, int] = defaultdict(int)
    for recorded in Shipment.objects.filter(order=order).values_list("lines", flat=True):
        if not recorded:  # an empty list means every line in full
            for pk, quantity in lines.items():
                shipped[pk] += quantity
            continue
        for entry in recorded:
            shipped[int(entry["line"])] += int(entry["quantity"])
    return dict(shipped)


def lines_to_ship(*, order: Order) -> list[LineToShip]:
    """The order's lines with what is already shipped of each (the record form and the checks read it)."""
    shipped = shipped_quantities(order=order)
    return [LineToShip(line, shipped.get(line.pk, 0)) for line in OrderLine.objects.filter(order=order).order_by("pk")]


def shipment_refusal(*, order: Order) -> str:
    """Why no shipment can be recorded for the order by hand, or "" when one can."""
    if order.fulfillment_channel == FulfillmentChannel.FBA:
        return _("Amazon ships FBA orders itself and confirms them: there is no shipment to record or confirm.")
    if order.status == OrderStatus.CANCELLED:
        return _("The order is cancelled: nothing ships.")
    if order.status == OrderStatus.PENDING_PAYMENT:
        return _("The order is not paid yet: record the shipment once it is paid.")
    return ""


# --- recording ----------------------------------------------------------------------------------------------


def shipment_record(
    *,
    order: Order,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime,
    source: str,
    lines: Mapping[int, int] | None = None,
    ship_method: str = "",
    actor: User | None = None,
) -> tuple[Shipment, bool]:
    """Record a parcel of the order; returns (shipment, created). `lines` maps OrderLine pk → units in the
    parcel (None: everything left to ship). Idempotent: a parcel already recorded with this tracking number
    is returned unchanged. Raises ValidationError (field → message). Audited; the parcel's units take the stock
    their lines hold; the confirmation to the channel is queued after the commit."""
    with transaction.atomic():
        shipment, created = shipment_record_unqueued(
            order=order,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=shipped_at,
            source=source,
            lines=lines,
            ship_method=ship_method,
            actor=actor,
        )
        if created:
            confirmations_queue([shipment])
    return shipment, created


def shipment_record_unqueued(
    *,
    order: Order,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime | None,
    source: str,
    lines: Mapping[int, int] | None,
    ship_method: str,
    actor: User | None,
) -> tuple[Shipment, bool]:
    """`shipment_record` inside the caller's transaction, without queueing the confirmation: the CSV import
    and the warehouse callback record several parcels, then queue once (`confirmations_queue`)."""
    # Stock levels are locked before orders (the house's lock order): those the order's lines hold.
    stock_lock_for(
        store=order.store, line_refs=[line_ref(line) for line in OrderLine.objects.filter(order_id=order.pk)]
    )
    # The order's row lock serialises shipments of one order: what is left to ship is read under it.
    order = Order.objects.select_for_update(of=("self",)).select_related("store", "tenant").get(pk=order.pk)
    tracking, carrier, ship_method = tracking_number.strip(), carrier.strip(), ship_method.strip()
    if tracking:
        existing = Shipment.objects.filter(order=order, tracking_number=tracking).first()
        if existing is not None:
            return existing, False
    errors: dict[str, list[str]] = defaultdict(list)
    if source not in ShipmentSource.values:
        errors["source"].append(_("Unknown shipment source."))
    if not tracking:
        errors["tracking_number"].append(_("Enter the tracking number."))
    elif len(tracking) > FIELD_MAX:
        errors["tracking_number"].append(_("At most %(max)d characters.") % {"max": FIELD_MAX})
    if not carrier:
        errors["carrier"].append(_("Enter the carrier."))
    elif len(carrier) > FIELD_MAX:
        errors["carrier"].append(_("At most %(max)d characters.") % {"max": FIELD_MAX})
    if len(ship_method) > FIELD_MAX:
        errors["ship_method"].append(_("At most %(max)d characters.") % {"max": FIELD_MAX})
    errors["shipped_at"].extend(shipped_at_problems(order, shipped_at))
    fba = order.fulfillment_channel == FulfillmentChannel.FBA
    refusal = shipment_refusal(order=order)
    if refusal and not (fba and source == ShipmentSource.CHANNEL):
        errors["__all__"].append(refusal)
    parcel: list[dict[str, int]] = []
    to_ship = {entry.line.pk: entry for entry in lines_to_ship(order=order)}
    if not fba:
        parcel = _parcel_lines(to_ship, lines, errors)
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors or shipped_at is None:
        raise ValidationError(errors)
    channel_knows = fba or source == ShipmentSource.CHANNEL or order.status == OrderStatus.SHIPPED
    shipment = Shipment(
        tenant_id=order.tenant_id,
        order=order,
        carrier=carrier,
        tracking_number=tracking,
        ship_method=ship_method,
        shipped_at=shipped_at,
        source=source,
        lines=parcel,
        confirmation=ConfirmationState.NOT_NEEDED if channel_knows else ConfirmationState.PENDING,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    shipment.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: a parcel recorded by a concurrent request wins cleanly
            shipment.save()
    except IntegrityError:
        return Shipment.objects.get(order=order, tracking_number=tracking), False
    audit_record(
        tenant=order.tenant,
        actor=actor,
        action="orders.shipment_recorded",
        target=shipment,
        after={
            "order": order.external_id,
            "store": order.store_id,
            "carrier": carrier,
            "tracking_number": tracking,
            "ship_method": ship_method,
            "shipped_at": shipped_at,
            "source": source,
            "lines": parcel,
            "confirmation": shipment.confirmation,
        },
    )
    _ship_stock(order, parcel)
    return shipment, True


def shipped_at_problems(order: Order, shipped_at: datetime | None) -> list[str]:
    """What is wrong with a ship time for the order (aware, not ahead of now, not before the purchase)."""
    if shipped_at is None:
        return [_("Enter when the parcel shipped.")]
    if timezone.is_naive(shipped_at):
        return [_("Give the time with its time zone.")]
    if shipped_at > timezone.now() + FUTURE_SKEW:
        return [_("The ship date is in the future.")]
    if shipped_at < order.purchased_at - FUTURE_SKEW:
        return [_("The ship date is before the order was placed.")]
    return []


def _parcel_lines(
    to_ship: dict[int, LineToShip], lines: Mapping[int, int] | None, errors: dict[str, list[str]]
) -> list[dict[str, int]]:
    """The parcel's lines, checked against what is left to ship ([{"line": pk, "quantity": n}])."""
    if not lines:
        parcel = [{"line": pk, "quantity": entry.remaining} for pk, entry in to_ship.items() if entry.remaining]
        if not parcel:
            errors["lines"].append(_("Every item of this order has already shipped."))
        return parcel
    parcel = []
    for pk, quantity in sorted(lines.items()):
        entry = to_ship.get(pk)
        if entry is None:
            errors["lines"].append(_("Line %(line)s is not part of this order.") % {"line": pk})
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            errors["lines"].append(_("%(sku)s: enter a whole number of units.") % {"sku": entry.line.sku})
        elif quantity > entry.remaining:
            errors["lines"].append(
                _("%(sku)s: only %(left)d of %(ordered)d left to ship.")
                % {"sku": entry.line.sku, "left": entry.remaining, "ordered": entry.line.quantity}
            )
        elif quantity:
            parcel.append({"line": pk, "quantity": quantity})
    if not parcel and not errors.get("lines"):
        errors["lines"].append(_("Put at least one unit in the parcel."))
    return parcel


def _ship_stock(order: Order, parcel: list[dict[str, int]]) -> None:
    """The parcel's units of merchant lines leave the warehouse that holds them (inventory's ledger)."""
    if order.fulfillment_channel != FulfillmentChannel.MERCHANT:
        return
    lines = OrderLine.objects.in_bulk([entry["line"] for entry in parcel])
    for entry in parcel:
        line = lines.get(entry["line"])
        if line is not None:
            allocation_ship(tenant_id=order.tenant_id, line_ref=line_ref(line), quantity=entry["quantity"])
