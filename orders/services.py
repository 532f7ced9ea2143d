"""Orders ingest: a page of channel orders upserted idempotently by (store, external id).

Money is stored as the channel itemises it: each line's items, discount, tax and shipping (and its total,
what it adds to the order), and the order's adjustments (shipping lines, fees, duties, tips, order-level
discounts, item gift wrap). Whatever the channel's total holds beyond them becomes one "unexplained"
adjustment, flagged on the order, so that for every order the lines plus the adjustments equal the total
to the cent. Every amount is quantised to the currency's minor unit before it is summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from acorn.money import quantize_amount
from channels.adapters.base import AdjustmentKind, ExternalAdjustment, ExternalOrder, ExternalOrderLine
from channels.models import Store
from channels.sync import PersistCounts
from orders.fulfilment.services import fulfilment_queue_orders
from orders.hooks import orders_upserted
from orders.models import Order, OrderAdjustment, OrderLine, OrderStatusChange
from orders.stock import order_lines_remove, order_page_stock_lock, orders_allocate

ORDER_FIELDS = [
    "merchant_order_id",
    "marketplace",
    "purchased_at",
    "channel_updated_at",
    "status",
    "raw_status",
    "fulfillment_channel",
    "currency",
    "item_amount",
    "shipping_amount",
    "tax_amount",
    "discount_amount",
    "other_amount",
    "total_amount",
    "taxes_included",
    "unexplained_amount",
    "buyer_country",
    "presentment_currency",
    "presentment_total_amount",
    "source_name",
    "tags",
]
LINE_FIELDS = [
    "sku",
    "asin",
    "channel_product_id",
    "title",
    "quantity",
    "currency",
    "unit_price_amount",
    "item_amount",
    "tax_amount",
    "shipping_amount",
    "discount_amount",
    "tax_included",
    "total_amount",
]
# Adjustment kinds by the per-kind column of the order they count in (the rest count as "other").
_SHIPPING_KINDS = (AdjustmentKind.SHIPPING, AdjustmentKind.SHIPPING_DISCOUNT)
_TAX_KINDS = (AdjustmentKind.SHIPPING_TAX, AdjustmentKind.TAX, AdjustmentKind.TAX_ROUNDING, AdjustmentKind.FEE_TAX)


def _q(amount: Decimal, currency: str) -> Decimal:
    return quantize_amount(amount, currency)


def _line_money(line: ExternalOrderLine) -> dict[str, Decimal]:
    """The line's amounts quantised, and its total made of exactly those amounts."""
    currency = line.currency
    item, tax = _q(line.item_amount, currency), _q(line.tax_amount, currency)
    shipping, discount = _q(line.shipping_amount, currency), _q(line.discount_amount, currency)
    total = item - discount + shipping + (Decimal(0) if line.tax_included else tax)
    return {"item": item, "tax": tax, "shipping": shipping, "discount": discount, "total": total}


@dataclass(frozen=True)
class _OrderMoney:
    """An order's money quantised once for a page: each line's amounts (in the order of its lines) and the
    adjustments with the unexplained difference. The order's columns, its lines and its adjustments are all
    written from this one computation, which the ingest used to repeat four times an order."""

    lines: list[dict[str, Decimal]]
    adjustments: list[ExternalAdjustment]


def _order_money(incoming: ExternalOrder) -> _OrderMoney:
    lines = [_line_money(line) for line in incoming.lines]
    currency = incoming.currency
    adjustments = [
        ExternalAdjustment(
            kind=adjustment.kind,
            amount=_q(adjustment.amount, currency),
            label=adjustment.label,
            external_id=adjustment.external_id,
            line_external_id=adjustment.line_external_id,
            included_tax=_q(adjustment.included_tax, currency),
        )
        for adjustment in incoming.adjustments
        if adjustment.amount or adjustment.included_tax
    ]
    itemised = sum((line["total"] for line in lines), Decimal(0))
    itemised += sum((adjustment.amount for adjustment in adjustments), Decimal(0))
    difference = _q(incoming.total_amount, currency) - itemised
    if difference:
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.UNEXPLAINED, amount=difference))
    return _OrderMoney(lines=lines, adjustments=adjustments)


def order_adjustments(incoming: ExternalOrder) -> list[ExternalAdjustment]:
    """The channel's adjustments quantised, plus the unexplained difference when its numbers do not add up."""
    return _order_money(incoming).adjustments


def order_breakdown(incoming: ExternalOrder) -> dict[str, Decimal]:
    """The order's per-kind amounts from its lines and adjustments (quantised as stored), with the identity
    items - discount + shipping + other + (tax unless included) == total."""
    return _breakdown(_order_money(incoming))


def _breakdown(money: _OrderMoney) -> dict[str, Decimal]:
    lines, adjustments = money.lines, money.adjustments
    by_kind: dict[str, Decimal] = {}
    for adjustment in adjustments:
        by_kind[adjustment.kind] = by_kind.get(adjustment.kind, Decimal(0)) + adjustment.amount
    included = sum((adjustment.included_tax for adjustment in adjustments), Decimal(0))
    shipping = sum((by_kind.get(kind, Decimal(0)) for kind in _SHIPPING_KINDS), Decimal(0))
    tax = sum((by_kind.get(kind, Decimal(0)) for kind in _TAX_KINDS), Decimal(0))
    discount = -by_kind.get(AdjustmentKind.DISCOUNT, Decimal(0))
    other = sum(
        (
            amount
            for kind, amount in by_kind.items()
            if kind not in (*_SHIPPING_KINDS, *_TAX_KINDS, AdjustmentKind.DISCOUNT)
        ),
        Decimal(0),
    )
    return {
        "item_amount": sum((line["item"] for line in lines), Decimal(0)),
        "discount_amount": sum((line["discount"] for line in lines), Decimal(0)) + discount,
        "shipping_amount": sum((line["shipping"] for line in lines), Decimal(0)) + shipping,
        "tax_amount": sum((line["tax"] for line in lines), Decimal(0)) + tax + included,
        "other_amount": other,
        "unexplained_amount": by_kind.get(AdjustmentKind.UNEXPLAINED, Decimal(0)),
    }


def _order_values(incoming: ExternalOrder, money: _OrderMoney) -> dict[str, object]:
    currency = incoming.currency
    return {
        **_breakdown(money),
        "merchant_order_id": incoming.merchant_order_id,
        "marketplace": incoming.marketplace,
        "purchased_at": incoming.purchased_at,
        "channel_updated_at": incoming.updated_at,
        "status": incoming.status,
        "raw_status": incoming.raw_status[:50],
        "fulfillment_channel": incoming.fulfillment_channel,
        "currency": currency,
        "total_amount": _q(incoming.total_amount, currency),
        "taxes_included": incoming.taxes_included,
        "buyer_country": incoming.buyer_country,
        "presentment_currency": incoming.presentment_currency,
        "presentment_total_amount": (
            _q(incoming.presentment_total, incoming.presentment_currency)
            if incoming.presentment_total is not None and incoming.presentment_currency
            else None
        ),
        "source_name": incoming.source_name[:60],
        "tags": list(incoming.tags),
    }


def _line_values(line: ExternalOrderLine, money: dict[str, Decimal]) -> dict[str, object]:
    currency = line.currency
    return {
        "sku": line.sku,
        "asin": line.asin,
        "channel_product_id": line.channel_product_id[:60],
        "title": line.title,
        "quantity": line.quantity,
        "currency": currency,
        "unit_price_amount": _q(line.unit_price, currency),
        "item_amount": money["item"],
        "tax_amount": money["tax"],
        "shipping_amount": money["shipping"],
        "discount_amount": money["discount"],
        "tax_included": line.tax_included,
        "total_amount": money["total"],
    }


@transaction.atomic
def order_upsert_page(*, store: Store, orders: Sequence[ExternalOrder]) -> PersistCounts:
    """Create new orders, update those the channel changed since, skip the rest. Running it twice changes nothing.

    An older copy of an order (a repeated or reordered page) never overwrites a newer one.
    """
    latest: dict[str, ExternalOrder] = {}
    for incoming in orders:
        known = latest.get(incoming.external_id)
        if known is None or incoming.updated_at > known.updated_at:
            latest[incoming.external_id] = incoming
    locked = order_page_stock_lock(store=store, incoming=latest.values())  # stock levels before orders (lock order)
    existing = {
        order.external_id: order
        for order in Order.objects.filter(store=store, external_id__in=list(latest)).select_for_update()
    }
    now = timezone.now()
    created: list[tuple[Order, ExternalOrder]] = []
    changed: list[tuple[Order, ExternalOrder]] = []
    timeline: list[tuple[Order, ExternalOrder]] = []  # orders whose status moved, for the status history
    money: dict[str, _OrderMoney] = {}  # by external id, for the orders written
    skipped = 0
    for external_id, incoming in latest.items():
        order = existing.get(external_id)
        if order is None:
            money[external_id] = _order_money(incoming)
            order = Order(
                tenant_id=store.tenant_id,
                store=store,
                external_id=external_id,
                first_seen_at=now,
                synced_at=now,
                **_order_values(incoming, money[external_id]),
            )
            created.append((order, incoming))
        elif incoming.updated_at > order.channel_updated_at:
            anonymised = order.anonymised_at is not None
            if (order.status, order.raw_status) != (incoming.status, incoming.raw_status) and not anonymised:
                timeline.append((order, incoming))
            money[external_id] = _order_money(incoming)
            for name, value in _order_values(incoming, money[external_id]).items():
                setattr(order, name, value)
            if anonymised:  # kept for the books without what it said of the buyer (retention): it stays so
                order.tags = []
            order.synced_at = now
            changed.append((order, incoming))
        else:
            skipped += 1
    if created:
        Order.objects.bulk_create([order for order, _ in created], batch_size=500)
    if changed:
        Order.objects.bulk_update([order for order, _ in changed], [*ORDER_FIELDS, "synced_at"], batch_size=500)
    new_orders: set[int | None] = {order.pk for order, _ in created}
    lines = _upsert_lines(store, created + changed, money, new_orders=new_orders)
    _replace_adjustments(store, created + changed, money, lines, new_orders=new_orders)
    OrderStatusChange.objects.bulk_create(
        [
            OrderStatusChange(
                tenant_id=store.tenant_id,
                order=order,
                status=incoming.status,
                raw_status=incoming.raw_status,
                changed_at=incoming.updated_at,
            )
            for order, incoming in created + timeline
        ],
        batch_size=500,
    )
    # Stock for paid merchant-fulfilled lines is reserved in the same transaction that stores them, in the
    # warehouse that will ship them; an edited line moves only the difference (orders.stock).
    orders_allocate(store=store, orders=[order for order, _ in created + changed], lines=lines, locked=locked)
    # Fulfilment push: ready orders are queued to their warehouse once; a cancelled one sends a cancel.
    fulfilment_queue_orders(orders=[order for order, _ in created + changed])
    if created or changed:
        # Refunds and returns that arrived before their order link to it; refund rates recount the purchase
        # days of new and changed orders (refunds.hooks, registered in RefundsConfig.ready()).
        orders_upserted(
            store=store,
            external_ids=[order.external_id for order, _ in created],
            updated_external_ids=[order.external_id for order, _ in changed],
        )
    return PersistCounts(created=len(created), updated=len(changed), skipped=skipped)


def _upsert_lines(
    store: Store,
    pairs: list[tuple[Order, ExternalOrder]],
    money: Mapping[str, _OrderMoney],
    new_orders: set[int | None],
) -> dict[int, list[OrderLine]]:
    """The orders' lines as the channel now reports them: new ones created, known ones updated, the ones the
    channel removed deleted. Returns every line of these orders as stored (order pk → lines), so that the
    steps after it (adjustments, allocation, routing) need not read back what the page just wrote."""
    existing: dict[tuple[int, str], OrderLine] = {}
    changed_ids = [order.pk for order, _ in pairs if order.pk not in new_orders]
    if changed_ids:
        for line in OrderLine.objects.filter(order_id__in=changed_ids):
            existing[(line.order_id, line.external_id)] = line
    to_create: list[OrderLine] = []
    to_update: list[OrderLine] = []
    keep: set[int] = set()
    by_order: dict[int, list[OrderLine]] = {}
    for order, incoming in pairs:
        order_lines = by_order.setdefault(order.pk, [])
        for line, line_money in zip(incoming.lines, money[order.external_id].lines, strict=True):
            values = _line_values(line, line_money)
            current = existing.get((order.pk, line.external_id))
            if current is None:
                current = OrderLine(tenant_id=store.tenant_id, order=order, external_id=line.external_id, **values)
                to_create.append(current)
                order_lines.append(current)
            else:
                for name, value in values.items():
                    setattr(current, name, value)
                to_update.append(current)
                if current.pk not in keep:
                    order_lines.append(current)
                keep.add(current.pk)
    stale = [line.pk for line in existing.values() if line.pk not in keep]
    if stale:
        order_lines_remove(tenant_id=store.tenant_id, line_pks=stale)  # what they held goes back to the pool
    if to_create:
        OrderLine.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        OrderLine.objects.bulk_update(to_update, LINE_FIELDS, batch_size=1000)
    return by_order


def _replace_adjustments(
    store: Store,
    pairs: list[tuple[Order, ExternalOrder]],
    money: Mapping[str, _OrderMoney],
    lines: Mapping[int, Sequence[OrderLine]],
    new_orders: set[int | None],
) -> None:
    """The orders' adjustments as the channel now reports them (earlier ones of changed orders replaced):
    `money` holds them by external id, `lines` the orders' lines as `_upsert_lines` stored them."""
    if not pairs:
        return
    order_ids = [order.pk for order, _ in pairs]
    changed_ids = [pk for pk in order_ids if pk not in new_orders]
    if changed_ids:  # an order created by this page has none yet
        OrderAdjustment.objects.filter(order_id__in=changed_ids).delete()
    line_ids = {(order_id, line.external_id): line.pk for order_id in order_ids for line in lines.get(order_id, [])}
    rows: list[OrderAdjustment] = []
    for order, incoming in pairs:
        seen: dict[str, int] = {}
        for position, adjustment in enumerate(money[order.external_id].adjustments):
            base = f"{adjustment.kind}:{adjustment.line_external_id or adjustment.external_id}"[:140]
            seen[base] = seen.get(base, 0) + 1
            rows.append(
                OrderAdjustment(
                    tenant_id=store.tenant_id,
                    order=order,
                    line_id=line_ids.get((order.pk, adjustment.line_external_id)),
                    key=f"{base}:{seen[base]}",
                    kind=adjustment.kind,
                    label=adjustment.label[:200],
                    currency=incoming.currency,
                    amount=adjustment.amount,
                    included_tax_amount=adjustment.included_tax,
                    position=position,
                )
            )
    OrderAdjustment.objects.bulk_create(rows, batch_size=1000)
