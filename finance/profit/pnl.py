"""The P&L of orders: what each order line earned, and what each refund gave back, component by component.

A sale (one order line, counted on the order's purchase day, UTC) is:
- sales: the item price without tax (gift wrap, buyer-paid fees and an order's unexplained difference too:
  the buyer paid them), promotions: the line's and its share of the order's discounts (negative), shipping:
  the line's shipping and its share of the order's shipping lines, without tax; tax kept apart, never
  counted (duties too: passed through);
- fees: the settlement's fee lines of the order once a statement holds the order ("settled"): matched to the
  line by the channel's order item id, else by SKU, else shared by principal; before that the fees the
  channel reported for the order (OrderFeeEstimate, shared by principal), else none yet ("estimated");
- cost of goods: units (quantity x the mapping's units per channel unit) x the unit cost in force when the
  order was placed (finance.profit.costs: the moving average of the warehouse it ships from, else the
  product's), in the cost's currency; `cost_missing` when the line maps to no product or no cost is known;
- fulfilment: merchant-fulfilled lines shipped from a warehouse with a FulfilmentRate: per unit, plus the
  per-order charge shared by units.
A refund (one refund line, counted on the refund's day) is what was given back (principal, shipping, gift
wrap, promotions reversed, restocking fee: `refunds`), the commission returned and the refund commission
charged (`referral_fees`), other fees, tax apart — from the refund as the channel reported it, replaced by the
statement's refund lines of the order once settled. FBA fees are not returned. A return put back in sellable
stock (or graded sellable by the channel) gives the units' cost back. Refunds of cancelled orders and
orders cancelled count nothing.

Every amount keeps its own currency until it is converted: `Draft.parts` holds Money per component; the
figures in the order's currency and in the reporting currency are each converted part by part at the rate of
the day (acorn.fx: the latest rate on or before it), so a cost in the reporting currency is never rounded
through another currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import F

from acorn.fx.services import rate_on
from acorn.money import Money, allocate, quantize_amount
from finance.profit.costs import UnitCost, unit_costs_at
from finance.profit.models import COMPONENTS, FactKind, FulfilmentRate, OrderFeeEstimate, ProfitFact
from finance.settlements.models import Category, SettlementLine
from inventory.allocation import line_ref
from inventory.models import LineAllocation, Product, SkuMapping
from orders.models import AdjustmentKind, FulfillmentChannel, Order, OrderAdjustment, OrderLine, OrderStatus
from refunds.models import Refund, RefundLine, RefundStatus, RestockState, Return
from refunds.restock import SELLABLE_DISPOSITIONS

FIGURES = (*COMPONENTS, "tax")
# Settlement categories of an order's lines → the P&L component (sales and shipping come from the order).
_SETTLED_FEES: dict[str, str] = {
    Category.SELLER_FEES: "referral_fees",
    Category.FBA_FEES: "fba_fees",
    Category.REIMBURSEMENTS: "reimbursements",
    Category.STORAGE_FEES: "storage",
    Category.ADVERTISING: "advertising",
    Category.UNCLASSIFIED: "other_fees",
}
_SETTLED_REFUND: dict[str, str] = {**_SETTLED_FEES, Category.REFUNDS: "refunds", Category.SALES: "refunds"}
_TAX = {Category.TAX_COLLECTED, Category.TAX_WITHHELD}
_LEFT_OUT = {Category.RESERVE, Category.SHIPPING_INCOME, Category.PROMOTIONS, Category.SALES}
# Order adjustments: where what the buyer paid beside the lines counts.
_ADJUSTMENT_COMPONENT: dict[str, str] = {
    AdjustmentKind.SHIPPING: "shipping",
    AdjustmentKind.SHIPPING_DISCOUNT: "shipping",
    AdjustmentKind.DISCOUNT: "promotions",
    AdjustmentKind.TAX: "tax",
    AdjustmentKind.SHIPPING_TAX: "tax",
    AdjustmentKind.FEE_TAX: "tax",
    AdjustmentKind.TAX_ROUNDING: "tax",
    AdjustmentKind.DUTY: "tax",
    AdjustmentKind.FEE: "sales",
    AdjustmentKind.TIP: "sales",
    AdjustmentKind.GIFT_WRAP: "sales",
    AdjustmentKind.COD_FEE: "sales",
    AdjustmentKind.OTHER: "sales",
    AdjustmentKind.UNEXPLAINED: "sales",
}


def _disposition(record: Return) -> str:
    return record.disposition.strip().upper().replace(" ", "_")


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _currency(row: SettlementLine) -> str:
    """A statement line's currency: its statement's (annotated when loaded)."""
    return str(getattr(row, "statement_currency", "") or row.settlement.currency)


def is_refund_side(line: SettlementLine) -> bool:
    """A statement line that belongs to a refund of its order rather than to the sale."""
    return bool(line.refund_id) or line.category == Category.REFUNDS or "refund" in line.transaction_type.lower()


@dataclass
class Draft:
    """One fact before conversion: amounts per component, each in its own currency."""

    key: str
    kind: str
    day: date
    currency: str  # the transaction's currency
    store_id: int | None = None
    marketplace: str = ""
    country: str = ""
    product_id: int | None = None
    sku: str = ""
    order_id: int | None = None
    order_line_id: int | None = None
    refund_id: int | None = None
    refund_line_id: int | None = None
    other_cost_id: int | None = None
    units: int = 0
    units_refunded: int = 0
    settled: bool = False
    cost_missing: bool = False
    parts: dict[str, list[Money]] = field(default_factory=lambda: defaultdict(list))

    def add(self, component: str, amount: Decimal, currency: str | None = None) -> None:
        if amount:
            self.parts[component].append(Money(amount, currency or self.currency))


@dataclass(frozen=True)
class Figures:
    """A draft converted into one currency: every figure and the net (tax left out)."""

    currency: str
    values: dict[str, Decimal]
    rate: Decimal | None
    rate_date: date | None
    rate_source: str
    complete: bool  # every part had a rate

    @property
    def net(self) -> Decimal:
        return sum((self.values[name] for name in COMPONENTS), Decimal(0))


class RateBook:
    """Exchange rates looked up once per currency pair and day within one build."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, date], tuple[Decimal, date, str] | None] = {}

    def rate(self, base: str, quote: str, on: date) -> tuple[Decimal, date, str] | None:
        key = (base, quote, on)
        if key not in self._found:
            self._found[key] = rate_on(base, quote, on)
        return self._found[key]

    def figures(self, draft: Draft, currency: str) -> Figures:
        """The draft in `currency`, each part converted at the rate of the draft's day and quantised; the rate
        from the transaction's currency is the one recorded with the figures."""
        values = dict.fromkeys(FIGURES, quantize_amount(0, currency))
        complete = True
        for name, parts in draft.parts.items():
            for part in parts:
                found = self.rate(part.currency, currency, draft.day)
                if found is None:
                    complete = False
                    continue
                values[name] += quantize_amount(part.amount * found[0], currency)
        main = self.rate(draft.currency, currency, draft.day)
        return Figures(
            currency=currency,
            values=values,
            rate=main[0] if main else None,
            rate_date=main[1] if main else None,
            rate_source=main[2] if main else "",
            complete=complete and main is not None,
        )


def fact_from(draft: Draft, *, tenant_id: int, reporting: str, rates: RateBook) -> ProfitFact:
    """The fact to store for a draft: figures in the reporting currency, net in its own currency."""
    shown = rates.figures(draft, reporting)
    own = rates.figures(draft, draft.currency)
    return ProfitFact(
        tenant_id=tenant_id,
        key=draft.key,
        kind=draft.kind,
        day=draft.day,
        store_id=draft.store_id,
        marketplace=draft.marketplace,
        country=draft.country,
        product_id=draft.product_id,
        sku=draft.sku[:200],
        order_id=draft.order_id,
        order_line_id=draft.order_line_id,
        refund_id=draft.refund_id,
        refund_line_id=draft.refund_line_id,
        other_cost_id=draft.other_cost_id,
        units=draft.units,
        units_refunded=draft.units_refunded,
        settled=draft.settled,
        cost_missing=draft.cost_missing or not own.complete,
        currency=draft.currency,
        net_amount=own.net,
        reporting_currency=reporting,
        rate=shown.rate,
        rate_date=shown.rate_date,
        rate_source=shown.rate_source,
        net=shown.net if shown.rate is not None else Decimal(0),
        **{name: shown.values[name] if shown.rate is not None else Decimal(0) for name in FIGURES},
    )


# --- loading what the P&L of a batch of orders needs -------------------------------------------------------


@dataclass
class _Batch:
    lines: dict[int, list[OrderLine]]
    adjustments: dict[int, list[OrderAdjustment]]
    settled: dict[int, list[SettlementLine]]
    estimates: dict[tuple[int, str], list[OrderFeeEstimate]]
    refunds: dict[int, list[Refund]]
    refund_lines: dict[int, list[RefundLine]]
    returns: dict[int, list[Return]]
    allocations: dict[str, LineAllocation]
    mappings: dict[int, list[SkuMapping]]
    rates_by_warehouse: dict[int, FulfilmentRate]
    products_by_sku: dict[str, int]
    costs: dict[tuple[int, int | None, datetime], UnitCost | None] = field(default_factory=dict)


def _grouped(rows: Iterable[Any], key: str) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _load(orders: Sequence[Order]) -> _Batch:
    ids = [order.pk for order in orders]
    lines = list(OrderLine.objects.filter(order_id__in=ids).order_by("pk"))
    refunds = list(Refund.objects.filter(order_id__in=ids, status=RefundStatus.SUCCEEDED).order_by("refunded_at", "pk"))
    refund_ids = [refund.pk for refund in refunds]
    allocations = {
        allocation.line_ref: allocation
        for allocation in LineAllocation.objects.filter(line_ref__in=[line_ref(line) for line in lines])
    }
    store_ids = {order.store_id for order in orders}
    warehouses = {w for a in allocations.values() for w in (a.shipped_from_id, a.warehouse_id) if w}
    skus = {line.sku for line in lines if line.sku}
    return _Batch(
        lines=_grouped(lines, "order_id"),
        adjustments=_grouped(OrderAdjustment.objects.filter(order_id__in=ids).order_by("position", "pk"), "order_id"),
        settled=_grouped(
            SettlementLine.objects.filter(order_id__in=ids)
            .annotate(statement_currency=F("settlement__currency"))
            .order_by("pk"),
            "order_id",
        ),
        estimates=_grouped_estimates(orders),
        refunds=_grouped(refunds, "order_id"),
        refund_lines=_grouped(RefundLine.objects.filter(refund_id__in=refund_ids).order_by("pk"), "refund_id"),
        returns=_grouped(Return.objects.filter(refund_id__in=refund_ids).order_by("pk"), "refund_id"),
        allocations=allocations,
        mappings=_grouped(SkuMapping.objects.filter(store_id__in=store_ids), "store_id"),
        rates_by_warehouse={
            rate.warehouse_id: rate for rate in FulfilmentRate.objects.filter(warehouse_id__in=warehouses)
        },
        products_by_sku=dict(
            Product.objects.filter(tenant_id=orders[0].tenant_id, sku__in=skus, active=True).values_list("sku", "pk")
        )
        if orders
        else {},
    )


def _grouped_estimates(orders: Sequence[Order]) -> dict[tuple[int, str], list[OrderFeeEstimate]]:
    by_store: dict[int, list[str]] = defaultdict(list)
    for order in orders:
        by_store[order.store_id].append(order.external_id)
    grouped: dict[tuple[int, str], list[OrderFeeEstimate]] = defaultdict(list)
    for store_id, external_ids in by_store.items():
        for estimate in OrderFeeEstimate.objects.filter(store_id=store_id, order_external_id__in=external_ids):
            grouped[(store_id, estimate.order_external_id)].append(estimate)
    return grouped


def _resolve(batch: _Batch, order: Order, line: OrderLine) -> tuple[int | None, int, int | None]:
    """(product id, units per channel unit, warehouse id) of a line: its allocation when it has one, else the
    store's mapping (channel product id, then SKU), else a master SKU equal to the channel SKU."""
    allocation = batch.allocations.get(line_ref(line))
    if allocation is not None and allocation.product_id:
        return allocation.product_id, allocation.multiplier, allocation.shipped_from_id or allocation.warehouse_id
    mappings = batch.mappings.get(order.store_id, [])
    found = None
    if line.channel_product_id:
        found = next((m for m in mappings if m.channel_product_id == line.channel_product_id), None)
    if found is None and line.sku:
        found = next((m for m in mappings if m.channel_sku == line.sku), None)
    if found is not None:
        return found.product_id, found.quantity_multiplier, None
    product_id = batch.products_by_sku.get(line.sku)
    return product_id, 1, None


# --- building the drafts ----------------------------------------------------------------------------------


def _share(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    return allocate(total, [max(weight, Decimal(0)) for weight in weights], currency)


def _sale_drafts(order: Order, batch: _Batch) -> list[Draft]:
    lines = batch.lines.get(order.pk, [])
    if not lines:
        return []
    day = utc_day(order.purchased_at)
    currency = order.currency
    drafts = []
    principals = [line.principal_amount for line in lines]
    for line in lines:
        product_id, multiplier, warehouse_id = _resolve(batch, order, line)
        draft = Draft(
            key=f"sale:{line.pk}",
            kind=FactKind.SALE,
            day=day,
            currency=currency,
            store_id=order.store_id,
            marketplace=order.marketplace,
            country=order.buyer_country,
            product_id=product_id,
            sku=line.sku,
            order_id=order.pk,
            order_line_id=line.pk,
            units=line.quantity * multiplier,
        )
        included_tax = line.tax_amount if line.tax_included else Decimal(0)
        draft.add("sales", line.item_amount - included_tax)
        draft.add("promotions", -line.discount_amount)
        draft.add("shipping", line.shipping_amount)
        draft.add("tax", line.tax_amount)
        drafts.append((line, draft, warehouse_id))

    # What the order's adjustments add, shared over its lines by principal (a line's own gift wrap to it).
    for adjustment in batch.adjustments.get(order.pk, []):
        component = _ADJUSTMENT_COMPONENT.get(adjustment.kind, "sales")
        amount = adjustment.amount
        if component != "tax" and adjustment.included_tax_amount:
            amount -= adjustment.included_tax_amount
            _spread(drafts, principals, "tax", adjustment.included_tax_amount, currency, adjustment.line_id)
        _spread(drafts, principals, component, amount, currency, adjustment.line_id)

    _sale_fees(order, batch, drafts, principals)
    _sale_costs(order, batch, drafts)
    return [draft for _line, draft, _warehouse in drafts]


def _spread(
    drafts: list[tuple[OrderLine, Draft, int | None]],
    weights: Sequence[Decimal],
    component: str,
    amount: Decimal,
    currency: str,
    line_id: int | None = None,
) -> None:
    if not amount:
        return
    if line_id is not None:
        for line, draft, _warehouse in drafts:
            if line.pk == line_id:
                draft.add(component, amount)
                return
    for (_line, draft, _warehouse), share in zip(drafts, _share(amount, weights, currency), strict=True):
        draft.add(component, share, currency)


def _sale_fees(
    order: Order, batch: _Batch, drafts: list[tuple[OrderLine, Draft, int | None]], principals: list[Decimal]
) -> None:
    settled = [line for line in batch.settled.get(order.pk, []) if not is_refund_side(line)]
    if settled:
        by_item = {line.external_id: index for index, (line, _d, _w) in enumerate(drafts)}
        by_sku = {line.sku: index for index, (line, _d, _w) in enumerate(drafts) if line.sku}
        for _line, draft, _warehouse in drafts:
            draft.settled = True
        for row in settled:
            if row.category in _LEFT_OUT:
                continue
            component = "tax" if row.category in _TAX else _SETTLED_FEES.get(row.category, "other_fees")
            index = by_item.get(row.order_item_code, by_sku.get(row.sku))
            if index is not None:
                drafts[index][1].add(component, row.amount, _currency(row))
            else:
                _spread(drafts, principals, component, row.amount, _currency(row))
        return
    for estimate in batch.estimates.get((order.store_id, order.external_id), []):
        _spread(drafts, principals, estimate.profit_component, estimate.amount, estimate.currency)


def _unit_cost(batch: _Batch, product_id: int, warehouse_id: int | None, at: datetime) -> UnitCost | None:
    return batch.costs.get((product_id, warehouse_id, at))


def _sale_costs(order: Order, batch: _Batch, drafts: list[tuple[OrderLine, Draft, int | None]]) -> None:
    merchant = order.fulfillment_channel != FulfillmentChannel.FBA
    per_order: dict[int, list[int]] = defaultdict(list)
    for index, (_line, draft, warehouse_id) in enumerate(drafts):
        if draft.product_id is None:
            draft.cost_missing = True
            continue
        cost = _unit_cost(batch, draft.product_id, warehouse_id, order.purchased_at)
        if cost is None:
            draft.cost_missing = True
        else:
            draft.add("cogs", -cost.amount * draft.units, cost.currency)
        rate = batch.rates_by_warehouse.get(warehouse_id) if merchant and warehouse_id else None
        if rate is not None:
            draft.add("fulfilment", -rate.per_unit_amount * draft.units, rate.currency)
            per_order[rate.warehouse_id].append(index)
    for warehouse_id, indexes in per_order.items():
        rate = batch.rates_by_warehouse[warehouse_id]
        shares = allocate(rate.per_order_amount, [Decimal(drafts[i][1].units) for i in indexes], rate.currency)
        for index, share in zip(indexes, shares, strict=True):
            drafts[index][1].add("fulfilment", -share, rate.currency)


def _refund_drafts(order: Order, batch: _Batch) -> list[Draft]:
    refunds = batch.refunds.get(order.pk, [])
    settled_rows = [line for line in batch.settled.get(order.pk, []) if is_refund_side(line)]
    # The statement's refund lines, per refund they belong to (by refund, by adjustment id, or the order's
    # only refund); the rest stand on their own.
    by_refund: dict[int | None, list[SettlementLine]] = defaultdict(list)
    by_external = {refund.external_id: refund.pk for refund in refunds}
    for row in settled_rows:
        if row.refund_id and any(refund.pk == row.refund_id for refund in refunds):
            by_refund[row.refund_id].append(row)
        elif row.adjustment_id and row.adjustment_id in by_external:
            by_refund[by_external[row.adjustment_id]].append(row)
        elif len(refunds) == 1:
            by_refund[refunds[0].pk].append(row)
        else:
            by_refund[None].append(row)
    lines_by_id = {line.pk: line for line in batch.lines.get(order.pk, [])}
    drafts: list[Draft] = []
    for refund in refunds:
        drafts.extend(_one_refund(order, refund, batch, by_refund.get(refund.pk, []), lines_by_id))
    unmatched: dict[tuple[str, str], list[SettlementLine]] = defaultdict(list)
    for row in by_refund.get(None, []):
        unmatched[(row.adjustment_id, row.sku)].append(row)
    for (_adjustment, sku), rows in unmatched.items():
        draft = _base_refund_draft(order, f"srefund:{rows[0].pk}", rows[0].posted_at or order.purchased_at)
        draft.sku, draft.settled = sku, True
        draft.units_refunded = max((row.quantity or 0 for row in rows), default=0)
        _apply_settled(draft, rows)
        drafts.append(draft)
    return _to_lines(order, batch, drafts)


def _to_lines(order: Order, batch: _Batch, drafts: list[Draft]) -> list[Draft]:
    """A refund of the order as a whole (no item named: goodwill, shipping, a partial amount) is shared over the
    order's lines by principal, so each SKU carries its part rather than an unassigned line."""
    lines = batch.lines.get(order.pk, [])
    weights = [max(line.principal_amount, Decimal(0)) for line in lines]
    kept: list[Draft] = []
    for draft in drafts:
        if draft.product_id is not None or draft.sku or not lines:
            kept.append(draft)
            continue
        shares = [
            replace(draft, key=f"{draft.key}:{line.pk}", parts=defaultdict(list), units_refunded=0)
            for line in lines
        ]
        for share, line in zip(shares, lines, strict=True):
            share.product_id, _multiplier, _warehouse = _resolve(batch, order, line)
            share.sku = line.sku
        shares[0].units_refunded = draft.units_refunded
        for name, parts in draft.parts.items():
            for part in parts:
                for share, amount in zip(shares, allocate(part.amount, weights, part.currency), strict=True):
                    share.add(name, amount, part.currency)
        kept.extend(shares)
    return kept


def _base_refund_draft(order: Order, key: str, moment: datetime) -> Draft:
    return Draft(
        key=key,
        kind=FactKind.REFUND,
        day=utc_day(moment),
        currency=order.currency,
        store_id=order.store_id,
        marketplace=order.marketplace,
        country=order.buyer_country,
        order_id=order.pk,
    )


def _apply_settled(draft: Draft, rows: Iterable[SettlementLine]) -> None:
    for row in rows:
        if row.category == Category.RESERVE:
            continue
        component = "tax" if row.category in _TAX else _SETTLED_REFUND.get(row.category, "other_fees")
        draft.add(component, row.amount, _currency(row))


def _one_refund(
    order: Order, refund: Refund, batch: _Batch, settled: list[SettlementLine], lines_by_id: dict[int, OrderLine]
) -> list[Draft]:
    refund_lines = batch.refund_lines.get(refund.pk, [])
    drafts = []
    parts: list[tuple[RefundLine | None, Any]] = list((line, line) for line in refund_lines) or [(None, refund)]
    for refund_line, components in parts:
        key = f"refund:{refund.pk}:{refund_line.pk if refund_line else 0}"
        draft = _base_refund_draft(order, key, refund.refunded_at)
        draft.currency = refund.currency
        draft.refund_id = refund.pk
        if refund_line is not None:
            draft.refund_line_id = refund_line.pk
            draft.sku = refund_line.sku
            draft.units_refunded = refund_line.quantity
            draft.product_id = refund_line.product_id
            if draft.product_id is None and refund_line.order_line_id in lines_by_id:
                draft.product_id = _resolve(batch, order, lines_by_id[refund_line.order_line_id])[0]
        if not settled:
            for name, amount in (
                ("refunds", components.principal_amount),
                ("refunds", components.shipping_amount),
                ("refunds", components.gift_wrap_amount),
                ("refunds", components.promotion_amount),
                ("refunds", components.other_amount),
                ("referral_fees", components.commission_amount),
                ("referral_fees", components.refund_admin_fee_amount),
                ("other_fees", components.other_fee_amount),
                ("tax", components.tax_amount),
                ("tax", components.tax_withheld_amount),
            ):
                draft.add(name, amount)
        drafts.append(draft)
    if settled:
        # The statement's lines of this refund, to its lines by SKU (else the first).
        by_sku = {draft.sku: draft for draft in drafts if draft.sku}
        for row in settled:
            target = by_sku.get(row.sku, drafts[0])
            target.settled = True
            _apply_settled(target, [row])
        for draft in drafts:
            draft.settled = True
    _returned_costs(order, refund, batch, drafts, lines_by_id)
    return drafts


def _returned_costs(
    order: Order, refund: Refund, batch: _Batch, drafts: list[Draft], lines_by_id: dict[int, OrderLine]
) -> None:
    """Units back in sellable stock give their cost back, at what they cost when sold."""
    for record in batch.returns.get(refund.pk, []):
        if record.restock_state == RestockState.SELLABLE:
            units = record.restocked_sellable or record.quantity
        elif record.restock_state == RestockState.BY_CHANNEL and _disposition(record) in SELLABLE_DISPOSITIONS:
            units = record.quantity
        else:
            continue
        if record.product_id is None:
            continue
        target = next(
            (d for d in drafts if d.product_id == record.product_id),
            next((d for d in drafts if d.sku == record.sku), drafts[0]),
        )
        cost = _unit_cost(batch, record.product_id, record.restock_warehouse_id, order.purchased_at) or _unit_cost(
            batch, record.product_id, None, order.purchased_at
        )
        if cost is None:
            target.cost_missing = True
            continue
        target.add("cogs", cost.amount * units, cost.currency)


def _wanted_costs(orders: Sequence[Order], batch: _Batch) -> set[tuple[int, int | None, datetime]]:
    wanted: set[tuple[int, int | None, datetime]] = set()
    for order in orders:
        for line in batch.lines.get(order.pk, []):
            product_id, _multiplier, warehouse_id = _resolve(batch, order, line)
            if product_id is not None:
                wanted.add((product_id, warehouse_id, order.purchased_at))
        for refund in batch.refunds.get(order.pk, []):
            for record in batch.returns.get(refund.pk, []):
                if record.product_id is not None:
                    wanted.add((record.product_id, record.restock_warehouse_id, order.purchased_at))
                    wanted.add((record.product_id, None, order.purchased_at))
    return wanted


def order_drafts(orders: Sequence[Order], *, tenant: Any) -> list[Draft]:
    """The sale and refund drafts of these orders (one tenant, inside its scope); cancelled orders none."""
    counted = [order for order in orders if order.status != OrderStatus.CANCELLED]
    if not counted:
        return []
    batch = _load(counted)
    batch.costs = unit_costs_at(tenant=tenant, wanted=_wanted_costs(counted, batch))
    drafts: list[Draft] = []
    for order in counted:
        drafts.extend(_sale_drafts(order, batch))
        drafts.extend(_refund_drafts(order, batch))
    return drafts


@dataclass(frozen=True)
class PnLRow:
    """A sale or refund of an order, in the order's currency and in the reporting currency."""

    draft: Draft
    own: Figures
    reporting: Figures


@dataclass(frozen=True)
class OrderPnL:
    rows: list[PnLRow]
    own_total: dict[str, Decimal]
    reporting_total: dict[str, Decimal]
    currency: str
    reporting_currency: str
    settled: bool
    cost_missing: bool
    rate_missing: bool

    @property
    def own_net(self) -> Decimal:
        return self.own_total["net"]

    @property
    def reporting_net(self) -> Decimal:
        return self.reporting_total["net"]


def order_pnl(*, order: Order, reporting_currency: str) -> OrderPnL:
    """The P&L of one order as the console shows it: per sale and refund, both currencies, and the totals."""
    rates = RateBook()
    rows = []
    for draft in order_drafts([order], tenant=order.tenant):
        rows.append(PnLRow(draft, rates.figures(draft, order.currency), rates.figures(draft, reporting_currency)))

    def total(attr: str, currency: str) -> dict[str, Decimal]:
        sums = {name: quantize_amount(0, currency) for name in (*FIGURES, "net")}
        for row in rows:
            figures: Figures = getattr(row, attr)
            for name in FIGURES:
                sums[name] += figures.values[name]
            sums["net"] += figures.net
        return sums

    return OrderPnL(
        rows=rows,
        own_total=total("own", order.currency),
        reporting_total=total("reporting", reporting_currency),
        currency=order.currency,
        reporting_currency=reporting_currency,
        settled=bool(rows) and all(row.draft.settled for row in rows),
        cost_missing=any(row.draft.cost_missing or not row.own.complete for row in rows),
        rate_missing=any(not row.reporting.complete for row in rows),
    )
