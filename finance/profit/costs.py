"""Cost of goods: receipts with their landed cost, the moving weighted average per product and warehouse, and
the batched look-up the P&L values sold units with.

The average. A receipt of `q` units at a landed unit cost `c` (unit cost + (freight + duty + other) / q, to 4
decimals) moves the average of its product and warehouse to

    (units on hand before the receipt x previous average + q x c) / (units on hand before + q)

and a `CostAverage` row keeps it from the receipt's moment until the next receipt. Units on hand before the
receipt are read from the stock ledger: the `on_hand_delta` of the product's StockMovements in that warehouse
(every warehouse for a receipt without one) created before the receipt, FBA warehouses included (they move by
FBA_SNAPSHOT movements), never below 0; the receipt's own movement, when it is linked, is left out. So stock
received into the ledger without a cost is valued at the average in force when it arrived: it adds units that
carry the current average, and the next receipt with a cost averages over them. When the warehouse has no
average yet but units on hand, those units carry what the look-up would have valued them at (the product's
average without a warehouse, another warehouse's, or its standard cost); with nothing known they are left out.

One currency per product: the product's cost currency when it has a standard cost, else the currency of its
first average (the first receipt's). A receipt in another currency is converted at the rate of its UTC day
(`acorn.fx.services.rate_on`); without a rate it is refused, naming the currencies and the day.

A backdated receipt (received before later receipts of the same product and warehouse) or a deleted one
rewrites the chain of averages from its moment on. Every change queues the P&L refresh of the product's sales
since that moment ("finance.refresh_profit").

The look-up (`unit_costs_at`): the average of (product, warehouse) in force at the moment; else the product's
average without a warehouse; else the latest average of the product in any warehouse; else its standard cost
(`Product.unit_cost_amount` when above 0); else, for a bundle, the sum of its components' costs times their
quantities; else None. It reads each product's averages once and bisects in Python, so a million lines cost a
handful of queries.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.fx.services import rate_on
from acorn.money import AMOUNT_DECIMAL_PLACES, to_decimal
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Tenant
from finance.profit.models import CostAverage, CostReceipt, CostSource
from inventory.models import BundleComponent, Product, StockMovement, Warehouse

if TYPE_CHECKING:
    from django.contrib.auth.models import User

UNIT_COST_QUANTUM = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)  # 0.0001: averages and landed costs
_CHUNK = 500  # ids per IN (...) list
DELETABLE_SOURCES = (CostSource.MANUAL, CostSource.IMPORT)


def _unit(amount: Decimal) -> Decimal:
    return amount.quantize(UNIT_COST_QUANTUM, rounding=ROUND_HALF_UP)


def _day(moment: datetime) -> date:
    """The UTC day of a moment (the P&L's days are UTC days)."""
    return moment.astimezone(UTC).date()


def landed_unit_cost(*, quantity: int, unit_cost: Decimal, freight: Decimal, duty: Decimal, other: Decimal) -> Decimal:
    """What one unit cost landed: unit cost + (freight + duty + other) / units, to 4 decimals."""
    return _unit(unit_cost + (freight + duty + other) / Decimal(quantity))


# --- the look-up ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCost:
    amount: Decimal
    currency: str
    source: str  # "average" | "standard"


AVERAGE = "average"
STANDARD = "standard"

Wanted = tuple[int, int | None, datetime]


@dataclass
class _Series:
    """Averages of one product in one warehouse (or all warehouses), oldest first."""

    times: list[datetime]
    costs: list[tuple[Decimal, str]]

    def at(self, moment: datetime) -> tuple[Decimal, str] | None:
        index = bisect_right(self.times, moment)
        return self.costs[index - 1] if index else None


@dataclass
class _ProductCosts:
    standard: tuple[Decimal, str] | None
    is_bundle: bool
    by_warehouse: dict[int | None, _Series]
    any_warehouse: _Series
    components: list[tuple[int, int]]  # (component product id, quantity)


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _load(tenant: Tenant, product_ids: set[int]) -> dict[int, _ProductCosts]:
    """The products, their averages and (for bundles) their components: a few queries per 500 products."""
    loaded: dict[int, _ProductCosts] = {}
    ids = sorted(product_ids)
    for chunk in _chunks(ids):
        for pk, amount, currency, is_bundle in Product.objects.filter(tenant=tenant, pk__in=chunk).values_list(
            "pk", "unit_cost_amount", "unit_cost_currency", "is_bundle"
        ):
            standard = (to_decimal(amount), currency) if amount and amount > 0 else None
            loaded[pk] = _ProductCosts(standard, is_bundle, {}, _Series([], []), [])
        rows = (
            CostAverage.objects.filter(tenant=tenant, product_id__in=chunk)
            .order_by("effective_at", "pk")
            .values_list("product_id", "warehouse_id", "effective_at", "unit_cost_amount", "currency")
        )
        for product_id, warehouse_id, effective_at, amount, currency in rows:
            costs = loaded.get(product_id)
            if costs is None:
                continue
            series = costs.by_warehouse.setdefault(warehouse_id, _Series([], []))
            series.times.append(effective_at)
            series.costs.append((amount, currency))
            costs.any_warehouse.times.append(effective_at)
            costs.any_warehouse.costs.append((amount, currency))
    bundles = [pk for pk, costs in loaded.items() if costs.is_bundle]
    for chunk in _chunks(bundles):
        for bundle_id, component_id, quantity in BundleComponent.objects.filter(
            tenant=tenant, bundle_id__in=chunk
        ).values_list("bundle_id", "component_id", "quantity"):
            loaded[bundle_id].components.append((component_id, quantity))
    return loaded


class _Rates:
    """Rates for converting component costs, each (from, to, day) read once per batch."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str, date], Decimal | None] = {}

    def get(self, base: str, quote: str, on: date) -> Decimal | None:
        key = (base, quote, on)
        if key not in self._known:
            found = rate_on(base, quote, on)
            self._known[key] = found[0] if found else None
        return self._known[key]


def _own_cost(costs: _ProductCosts, warehouse_id: int | None, at: datetime) -> UnitCost | None:
    """The product's own cost at a moment: its averages (this warehouse, none, any), else its standard cost."""
    for series in (costs.by_warehouse.get(warehouse_id), costs.by_warehouse.get(None), costs.any_warehouse):
        if series is None:
            continue
        found = series.at(at)
        if found is not None:
            return UnitCost(amount=found[0], currency=found[1], source=AVERAGE)
    if costs.standard is not None:
        return UnitCost(amount=costs.standard[0], currency=costs.standard[1], source=STANDARD)
    return None


def _bundle_cost(
    costs: _ProductCosts,
    loaded: dict[int, _ProductCosts],
    warehouse_id: int | None,
    at: datetime,
    rates: _Rates,
) -> UnitCost | None:
    """The sum of the components' costs x quantity, in the bundle's cost currency (the first component's
    when the bundle has none); None when a component has no cost or no rate converts it."""
    parts: list[tuple[UnitCost, int]] = []
    for component_id, quantity in costs.components:
        component = loaded.get(component_id)
        part = _own_cost(component, warehouse_id, at) if component is not None else None
        if part is None:
            return None
        parts.append((part, quantity))
    if not parts:
        return None
    currency = costs.standard[1] if costs.standard else parts[0][0].currency
    total = Decimal(0)
    for part, quantity in parts:
        amount = part.amount
        if part.currency != currency:
            rate = rates.get(part.currency, currency, _day(at))
            if rate is None:
                return None
            amount = amount * rate
        total += amount * quantity
    source = AVERAGE if all(part.source == AVERAGE for part, _q in parts) else STANDARD
    return UnitCost(amount=_unit(total), currency=currency, source=source)


def unit_costs_at(*, tenant: Tenant, wanted: Iterable[Wanted]) -> dict[Wanted, UnitCost | None]:
    """The cost of one unit of each (product id, warehouse id or None, moment), by the rule in the module
    docstring; None where nothing is known. Reads only; a bounded number of queries whatever the count of
    tuples (a few per 500 distinct products, plus one per rate a mixed-currency bundle needs)."""
    keys = list(dict.fromkeys(wanted))
    loaded = _load(tenant, {product_id for product_id, _w, _at in keys})
    component_ids = {c for costs in loaded.values() if costs.is_bundle for c, _q in costs.components} - set(loaded)
    if component_ids:
        loaded.update(_load(tenant, component_ids))
    rates = _Rates()
    found: dict[Wanted, UnitCost | None] = {}
    for key in keys:
        product_id, warehouse_id, at = key
        costs = loaded.get(product_id)
        if costs is None:
            found[key] = None
            continue
        cost = _own_cost(costs, warehouse_id, at)
        if cost is None and costs.components:
            cost = _bundle_cost(costs, loaded, warehouse_id, at, rates)
        found[key] = cost
    return found


def unit_cost_at(*, tenant: Tenant, product_id: int, warehouse_id: int | None, at: datetime) -> UnitCost | None:
    """The cost of one unit of a product in a warehouse (None: any) at a moment; see `unit_costs_at`."""
    return unit_costs_at(tenant=tenant, wanted=[(product_id, warehouse_id, at)])[(product_id, warehouse_id, at)]


# --- the chain of averages ------------------------------------------------------------------------------


def _product_currency(*, tenant: Tenant, product: Product, receipt_currency: str) -> str:
    """The one currency the product's averages are kept in: its cost currency when it has a standard cost,
    else that of its first average, else this receipt's."""
    if product.unit_cost_amount and product.unit_cost_amount > 0:
        return product.unit_cost_currency
    first = (
        CostAverage.objects.filter(tenant=tenant, product=product)
        .order_by("effective_at", "pk")
        .values_list("currency", flat=True)
        .first()
    )
    return first or receipt_currency


def _converted(amount: Decimal, *, from_currency: str, to_currency: str, on: date, field: str) -> Decimal:
    """`amount` in `to_currency` at the rate of `on`; a ValidationError on `field` when no rate is known."""
    if from_currency == to_currency:
        return amount
    found = rate_on(from_currency, to_currency, on)
    if found is None:
        raise ValidationError(
            {
                field: _(
                    "No exchange rate from %(from)s to %(to)s is known on or before %(day)s: the product's "
                    "average cost is kept in %(to)s. Load the rates, then record the cost again."
                )
                % {"from": from_currency, "to": to_currency, "day": on.isoformat()}
            }
        )
    return _unit(amount * found[0])


def _on_hand_before(receipt: CostReceipt) -> int:
    """Units of the receipt's product on hand in its warehouse (every warehouse without one) just before it,
    from the stock ledger, never below 0; its own movement left out."""
    movements = StockMovement.objects.filter(
        tenant_id=receipt.tenant_id, product_id=receipt.product_id, created_at__lt=receipt.received_at
    )
    if receipt.warehouse_id is not None:
        movements = movements.filter(warehouse_id=receipt.warehouse_id)
    if receipt.movement_id is not None:
        movements = movements.exclude(pk=receipt.movement_id)
    total = movements.aggregate(total=Sum("on_hand_delta"))["total"] or 0
    return max(int(total), 0)


def cost_averages_rebuild(*, tenant: Tenant, product: Product, warehouse: Warehouse | None, since: datetime) -> int:
    """Rewrite the averages of (product, warehouse) from `since` on, from its receipts and the stock ledger.
    Returns rows written. Call it in a transaction holding `products_lock` (the services do); it queues no
    P&L refresh (`profit_refresh_queue`)."""
    warehouse_id = warehouse.pk if warehouse is not None else None
    chain = CostAverage.objects.filter(tenant=tenant, product=product, warehouse_id=warehouse_id)
    chain.filter(effective_at__gte=since).delete()
    previous_row = chain.order_by("-effective_at", "-pk").first()
    previous: tuple[Decimal, str] | None = (
        (previous_row.unit_cost_amount, previous_row.currency) if previous_row is not None else None
    )
    receipts = list(
        CostReceipt.objects.filter(
            tenant=tenant, product=product, warehouse_id=warehouse_id, received_at__gte=since
        ).order_by("received_at", "pk")
    )
    written = []
    for receipt in receipts:
        currency = _product_currency(tenant=tenant, product=product, receipt_currency=receipt.currency)
        day = _day(receipt.received_at)
        landed = _converted(
            receipt.landed_unit_cost_amount,
            from_currency=receipt.currency,
            to_currency=currency,
            on=day,
            field="currency",
        )
        on_hand = _on_hand_before(receipt)
        carried = previous
        if carried is None and on_hand:
            before = unit_cost_at(
                tenant=tenant, product_id=product.pk, warehouse_id=warehouse_id, at=receipt.received_at
            )
            carried = (before.amount, before.currency) if before is not None else None
        if carried is None or not on_hand:
            average = landed
        else:
            carried_amount = _converted(
                carried[0], from_currency=carried[1], to_currency=currency, on=day, field="currency"
            )
            average = _unit((on_hand * carried_amount + receipt.quantity * landed) / (on_hand + receipt.quantity))
        row = CostAverage(
            tenant=tenant,
            product=product,
            warehouse_id=warehouse_id,
            effective_at=receipt.received_at,
            currency=currency,
            unit_cost_amount=average,
            quantity=on_hand + receipt.quantity,
            receipt=receipt,
        )
        row.save()  # derived from checked values: no full_clean (it would cost ~8 queries a row on an import)
        written.append(row)
        previous = (average, currency)
    return len(written)


def _lock_product(product: Product) -> None:
    """One writer at a time per product's chain (a no-op on SQLite, which writes one at a time anyway)."""
    products_lock(tenant_id=product.tenant_id, product_ids=[product.pk])


def products_lock(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Lock these products' rows in pk order (the order inventory's stock lock takes them too), so writers of
    their costs wait for each other and never deadlock. Call it inside a transaction."""
    list(
        Product.objects.select_for_update(of=("self",))
        .filter(tenant_id=tenant_id, pk__in=sorted(set(product_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _refresh(*, tenant: Tenant, product: Product, since: datetime) -> None:
    profit_refresh_queue(tenant=tenant, product_ids=[product.pk], since=since)


def profit_refresh_queue(*, tenant: Tenant, product_ids: list[int], since: datetime) -> None:
    """Queue, after the commit, the P&L refresh of these products' sales since a moment (their cost changed)."""
    enqueue_on_commit("finance.refresh_profit", tenant_id=tenant.pk, product_ids=product_ids, since=since.isoformat())


# --- services ---------------------------------------------------------------------------------------------


def _amount(value: Decimal | int | str, field: str) -> Decimal:
    amount = to_decimal(value)
    if amount < 0:
        raise ValidationError({field: _("Enter an amount of 0 or more.")})
    if amount != amount.quantize(UNIT_COST_QUANTUM, rounding=ROUND_HALF_UP):
        raise ValidationError({field: _("Enter at most 4 decimals.")})
    return amount


@transaction.atomic
def cost_receipt_record(
    *,
    tenant: Tenant,
    product: Product,
    warehouse: Warehouse | None,
    quantity: int,
    currency: str,
    unit_cost: Decimal | int | str,
    freight: Decimal | int | str = 0,
    duty: Decimal | int | str = 0,
    other: Decimal | int | str = 0,
    received_at: datetime,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
    movement: StockMovement | None = None,
    source: str = CostSource.MANUAL,
) -> CostReceipt:
    """Record units received with their cost and move the product's average in that warehouse; a backdated
    receipt rewrites the later averages. Audited; queues the P&L refresh of the product since `received_at`."""
    receipt = cost_receipt_write(
        tenant=tenant,
        product=product,
        warehouse=warehouse,
        quantity=quantity,
        currency=currency,
        unit_cost=unit_cost,
        freight=freight,
        duty=duty,
        other=other,
        received_at=received_at,
        reference=reference,
        note=note,
        actor=actor,
        movement=movement,
        source=source,
    )
    _refresh(tenant=tenant, product=product, since=received_at)
    return receipt


def cost_receipt_write(
    *,
    tenant: Tenant,
    product: Product,
    warehouse: Warehouse | None,
    quantity: int,
    currency: str,
    unit_cost: Decimal | int | str,
    freight: Decimal | int | str = 0,
    duty: Decimal | int | str = 0,
    other: Decimal | int | str = 0,
    received_at: datetime,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
    movement: StockMovement | None = None,
    source: str = CostSource.MANUAL,
) -> CostReceipt:
    """`cost_receipt_record` without queueing the P&L refresh: for an import that queues one per product.
    Call it inside a transaction."""
    if product.tenant_id != tenant.pk:
        raise ValidationError({"product": _("Choose a product of this company.")})
    if warehouse is not None and warehouse.tenant_id != tenant.pk:
        raise ValidationError({"warehouse": _("Choose a warehouse of this company.")})
    if movement is not None and (
        movement.tenant_id != tenant.pk
        or movement.product_id != product.pk
        or (warehouse is not None and movement.warehouse_id != warehouse.pk)
    ):
        raise ValidationError({"movement": _("Choose a stock receipt of this product and warehouse.")})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError({"quantity": _("Enter a whole number of units above 0.")})
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    amounts = {
        "unit_cost_amount": _amount(unit_cost, "unit_cost_amount"),
        "freight_amount": _amount(freight, "freight_amount"),
        "duty_amount": _amount(duty, "duty_amount"),
        "other_amount": _amount(other, "other_amount"),
    }
    _lock_product(product)
    receipt = CostReceipt(
        tenant=tenant,
        product=product,
        warehouse=warehouse,
        movement=movement,
        source=source,
        received_at=received_at,
        quantity=quantity,
        currency=currency.strip().upper(),
        landed_unit_cost_amount=landed_unit_cost(
            quantity=quantity,
            unit_cost=amounts["unit_cost_amount"],
            freight=amounts["freight_amount"],
            duty=amounts["duty_amount"],
            other=amounts["other_amount"],
        ),
        reference=reference.strip(),
        note=note.strip(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **amounts,
    )
    # The tenant's own product, warehouse and movement, the units and the amounts were checked above (the CHECK
    # constraints hold them too): only the movement's uniqueness is left for full_clean to ask the database.
    receipt.full_clean(
        exclude=["tenant", "product", "warehouse", "created_by", *([] if movement else ["movement"])],
        validate_constraints=False,
    )
    receipt.save()
    cost_averages_rebuild(tenant=tenant, product=product, warehouse=warehouse, since=received_at)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="profit.cost_receipt_recorded",
        target=receipt,
        after={
            "product": product.sku,
            "warehouse": warehouse.name if warehouse is not None else None,
            "received_at": received_at.isoformat(),
            "quantity": quantity,
            "currency": receipt.currency,
            "unit_cost": str(receipt.unit_cost_amount),
            "landed_unit_cost": str(receipt.landed_unit_cost_amount),
            "source": source,
        },
    )
    return receipt


@transaction.atomic
def cost_receipt_delete(*, tenant: Tenant, receipt: CostReceipt, actor: User | None = None) -> None:
    """Delete a receipt entered in the console or imported, and rewrite the averages from its moment on.
    Audited; queues the P&L refresh of the product since the receipt."""
    if receipt.tenant_id != tenant.pk:
        raise ValidationError(_("Choose a cost receipt of this company."))
    if receipt.source not in DELETABLE_SOURCES:
        raise ValidationError(_("This cost came with a stock receipt: correct the stock receipt instead."))
    product = receipt.product
    warehouse = receipt.warehouse
    since = receipt.received_at
    _lock_product(product)
    before = {
        "product": product.sku,
        "warehouse": warehouse.name if warehouse is not None else None,
        "received_at": since.isoformat(),
        "quantity": receipt.quantity,
        "currency": receipt.currency,
        "landed_unit_cost": str(receipt.landed_unit_cost_amount),
    }
    audit_record(tenant=tenant, actor=actor, action="profit.cost_receipt_deleted", target=receipt, before=before)
    receipt.delete()  # its averages go with it (CASCADE)
    cost_averages_rebuild(tenant=tenant, product=product, warehouse=warehouse, since=since)
    _refresh(tenant=tenant, product=product, since=since)
