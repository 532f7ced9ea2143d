"""Writes of costs that belong to no order (finance.profit.models.OtherCost): from channel statements, entered
in the console, and the tenant's choices about them; plus the pure helper that spreads one over SKUs.

From statements. A statement line is a cost of no order when it names no order (no order id at all: a line
with an order id counts on that order in the P&L, even before ACORN has the order, since the order sync links
it later, finance.settlements.order_links) and its category is storage, advertising, reimbursements, seller
fees or FBA fees. Sales, shipping, promotions, refunds, tax, reserves and transfers never are; neither is an
`unclassified` line (it is flagged on the finance pages until someone maps it, and mapping it re-categorises
it, which brings it here). The kind comes from the category, and for fees from the vendor's description as
Amazon's settlement V2 file names them (../shared/notes/finance-and-accounting.md §1.1-1.2; the same strings as
finance.settlements.categories): "Subscription Fee" is the subscription, FBARemovalFee / FBADisposalFee /
RemovalComplete / DisposalComplete are removal, "FBA Inbound Placement Service Fee" and the FBAInbound…
transport and prep fees are inbound; any other fee of no order (coupon, deal, Vine, liquidation brokerage, …)
is "other". Amounts keep the statement's sign (a cost negative, a reimbursement positive, a claw-back
negative). `other_costs_from_settlements` is idempotent: it rewrites what changed and deletes the costs of
lines that no longer qualify (re-categorised, or the statement rebuilt).

Refresh. Every write enqueues `finance.refresh_profit` with the ids of the costs it created, changed or
deleted (a deleted id tells the P&L to drop that cost's figures). A change of the settings (spreading costs
over SKUs, fulfilment rates) changes figures everywhere: it enqueues `finance.rebuild_profit` for the last
REBUILD_DAYS days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.money import minor_unit_exponent, quantize_amount
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.profit.models import FulfilmentRate, OtherCost, OtherCostKind, OtherCostSource, ProfitSettings
from finance.profit.selectors_other import products_for_channel_skus
from finance.settlements.categories import vendor_key
from finance.settlements.models import Category, Settlement, SettlementLine
from inventory.models import Product, Warehouse

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# How far back a settings change rebuilds the P&L: the console's longest period (a year) and its previous
# period's start for the comparison, with margin.
REBUILD_DAYS = 400
SETTLEMENT_KEY = "settlement:{pk}"

# Categories whose lines of no order are costs of no order (everything else never is).
COST_CATEGORIES = (
    Category.STORAGE_FEES,
    Category.ADVERTISING,
    Category.REIMBURSEMENTS,
    Category.SELLER_FEES,
    Category.FBA_FEES,
)
_KIND_OF_CATEGORY = {
    Category.STORAGE_FEES: OtherCostKind.STORAGE,
    Category.ADVERTISING: OtherCostKind.ADVERTISING,
    Category.REIMBURSEMENTS: OtherCostKind.REIMBURSEMENT,
}
# Amazon settlement V2 amount-descriptions (lower case; finance notes §1.1-1.2, finance.settlements.categories).
_SUBSCRIPTION = ("subscription fee", "subscription")
_REMOVAL = ("fbaremovalfee", "fbadisposalfee", "disposalcomplete", "removalcomplete")
_INBOUND = (
    "fba inbound placement service fee",
    "fbainboundtransportationfee",
    "fbainboundtransportationprogramfee",
    "fbainboundconveniencefee",
    "fbainbounddefectfee",
    "fbatransportationfee",
    # FBA prep services are charged on the units of an inbound shipment.
    "labelingfee",
    "polybaggingfee",
    "bubblewrapfee",
    "tapingfee",
    "opaquebaggingfee",
)


def other_cost_kind(*, category: str, transaction_type: str, amount_type: str, amount_description: str) -> str | None:
    """The kind of cost a statement line of no order is, or None when such a line is no cost of no order."""
    if category not in COST_CATEGORIES:
        return None
    if category in _KIND_OF_CATEGORY:
        return str(_KIND_OF_CATEGORY[Category(category)])
    _type, amount, description = vendor_key(transaction_type, amount_type, amount_description)
    if amount == "cost of advertising":
        return str(OtherCostKind.ADVERTISING)
    if description in _SUBSCRIPTION:
        return str(OtherCostKind.SUBSCRIPTION)
    if description in _REMOVAL or "removal" in description or "disposal" in description:
        return str(OtherCostKind.REMOVAL)
    if description in _INBOUND or "inbound" in description or "placement" in description:
        return str(OtherCostKind.INBOUND)
    if "storage" in description:
        return str(OtherCostKind.STORAGE)
    return str(OtherCostKind.OTHER)


def other_costs_refresh_due(*, tenant_id: int, other_cost_ids: Iterable[int]) -> None:
    """The P&L of these costs of no order must be recomputed once the transaction commits."""
    ids = sorted(set(other_cost_ids))
    if ids:
        enqueue_on_commit("finance.refresh_profit", robust=True, tenant_id=tenant_id, other_cost_ids=ids)


def profit_rebuild_due(*, tenant_id: int) -> None:
    """Every figure may have changed (a setting): rebuild the P&L of the last REBUILD_DAYS days after the
    commit (finance.rebuild_profit, the task of `manage.py rebuild_profit` and the nightly rebuild)."""
    enqueue_on_commit("finance.rebuild_profit", robust=True, tenant_id=tenant_id, days=REBUILD_DAYS)


# --- from statements --------------------------------------------------------------------------------------


_COMPARED = ("kind", "day", "store_id", "marketplace", "product_id", "sku", "description", "currency", "amount")


def _line_day(line: SettlementLine, settlement: Settlement) -> date:
    moment = line.posted_at or settlement.period_end
    return moment.astimezone(UTC).date()


@transaction.atomic
def other_costs_from_settlements(*, tenant: Tenant, settlement_ids: Iterable[int]) -> list[int]:
    """Make the costs of no order of these statements match their lines: create, rewrite what changed, delete
    the costs of lines that no longer qualify. Idempotent; enqueues the P&L refresh of what changed. Returns
    the ids of the costs created, changed or deleted."""
    ids = sorted(set(settlement_ids))
    if not ids:
        return []
    settlements = {
        settlement.pk: settlement
        for settlement in Settlement.objects.filter(tenant=tenant, pk__in=ids).select_related("store")
    }
    lines = list(
        SettlementLine.objects.filter(
            tenant=tenant,
            settlement_id__in=list(settlements),
            category__in=COST_CATEGORIES,
            order__isnull=True,
            order_external_id="",
        ).order_by("pk")
    )
    products = _line_products(settlements, lines)
    wanted: dict[str, OtherCost] = {}
    for line in lines:
        settlement = settlements[line.settlement_id]
        kind = other_cost_kind(
            category=line.category,
            transaction_type=line.transaction_type,
            amount_type=line.amount_type,
            amount_description=line.amount_description,
        )
        if kind is None:
            continue
        product = products.get((settlement.store_id, line.sku)) if line.sku else None
        key = SETTLEMENT_KEY.format(pk=line.pk)
        wanted[key] = OtherCost(
            tenant=tenant,
            kind=kind,
            source=OtherCostSource.SETTLEMENT,
            source_key=key,
            day=_line_day(line, settlement),
            store_id=settlement.store_id,
            marketplace=line.marketplace,
            product=product,
            sku=line.sku,
            description=line.vendor_type[:300],
            currency=settlement.currency,
            amount=line.amount,
            settlement_line=line,
        )
    existing = {
        cost.source_key: cost
        for cost in OtherCost.objects.select_for_update(of=("self",))
        .filter(tenant=tenant, source=OtherCostSource.SETTLEMENT, settlement_line__settlement_id__in=list(settlements))
        .order_by("pk")
    }
    # A line re-categorised out of a cost is still in `existing` (its statement is) but not in `wanted`.
    gone = [cost for key, cost in existing.items() if key not in wanted]
    changed: list[OtherCost] = []
    new: list[OtherCost] = []
    for key, cost in wanted.items():
        current = existing.get(key)
        if current is None:
            new.append(cost)
            continue
        if any(getattr(current, name) != getattr(cost, name) for name in _COMPARED):
            for name in _COMPARED:
                setattr(current, name, getattr(cost, name))
            changed.append(current)
    gone_ids = [cost.pk for cost in gone]
    if gone_ids:
        OtherCost.objects.filter(pk__in=gone_ids).delete()
    if changed:
        OtherCost.objects.bulk_update(changed, [name.removesuffix("_id") for name in _COMPARED], batch_size=500)
    created = OtherCost.objects.bulk_create(new, batch_size=500)
    touched = [*gone_ids, *(cost.pk for cost in changed), *(cost.pk for cost in created)]
    other_costs_refresh_due(tenant_id=tenant.pk, other_cost_ids=touched)
    return sorted(touched)


def _line_products(
    settlements: Mapping[int, Settlement], lines: Sequence[SettlementLine]
) -> dict[tuple[int, str], Product]:
    """(store, channel SKU) → master product for the lines' SKUs, one look-up per store."""
    skus_by_store: dict[int, set[str]] = {}
    for line in lines:
        if line.sku:
            skus_by_store.setdefault(settlements[line.settlement_id].store_id, set()).add(line.sku)
    found: dict[tuple[int, str], Product] = {}
    stores = {settlement.store_id: settlement.store for settlement in settlements.values()}
    for store_id, skus in skus_by_store.items():
        by_sku, _by_asin = products_for_channel_skus(store=stores[store_id], skus=skus)
        found.update({(store_id, sku): product for sku, product in by_sku.items()})
    return found


# --- entered in the console ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualCost:
    """A cost of no order as a person enters it: `amount` positive; a reimbursement is money received."""

    kind: str
    day: date
    amount: Decimal
    currency: str
    description: str = ""
    store: Store | None = None
    marketplace: str = ""
    product: Product | None = None


def _belongs(tenant: Tenant, *objects: Any) -> None:
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError(_("That does not belong to this company."))


@transaction.atomic
def other_cost_create(*, tenant: Tenant, entry: ManualCost, actor: User | None) -> OtherCost:
    """Record a cost of no order entered in the console: stored negative (a cost), or positive for a
    reimbursement; audited; enqueues its P&L refresh. Raises ValidationError when it is not valid."""
    _belongs(tenant, entry.store, entry.product)
    if entry.amount <= 0:
        raise ValidationError({"amount": _("Enter the amount as a positive number.")})
    amount = quantize_amount(entry.amount, entry.currency) if entry.currency else entry.amount
    signed = amount if entry.kind == OtherCostKind.REIMBURSEMENT else -amount
    actor = actor if actor is not None and actor.is_authenticated else None
    cost = OtherCost(
        tenant=tenant,
        kind=entry.kind,
        source=OtherCostSource.MANUAL,
        source_key=f"manual:{uuid4().hex}",
        day=entry.day,
        store=entry.store,
        marketplace=entry.marketplace,
        product=entry.product,
        sku=entry.product.sku if entry.product is not None else "",
        description=entry.description[:300],
        currency=entry.currency,
        amount=signed,
        created_by=actor,
    )
    cost.full_clean()
    cost.save()
    audit_record(tenant=tenant, actor=actor, action="profit.other_cost_created", target=cost, after=_snapshot(cost))
    other_costs_refresh_due(tenant_id=tenant.pk, other_cost_ids=[cost.pk])
    return cost


@transaction.atomic
def other_cost_delete(*, tenant: Tenant, cost: OtherCost, actor: User | None) -> None:
    """Delete a cost entered in the console (statement and report costs come back with their source, so they
    are never deleted here); audited; enqueues the P&L refresh that drops it."""
    if cost.tenant_id != tenant.pk or cost.source != OtherCostSource.MANUAL:
        raise ValidationError(_("Only costs entered in the console can be deleted."))
    pk = cost.pk
    before = _snapshot(cost)
    actor = actor if actor is not None and actor.is_authenticated else None
    audit_record(tenant=tenant, actor=actor, action="profit.other_cost_deleted", target=cost, before=before)
    cost.delete()
    other_costs_refresh_due(tenant_id=tenant.pk, other_cost_ids=[pk])


def _snapshot(cost: OtherCost) -> dict[str, Any]:
    return {
        "kind": cost.kind,
        "day": cost.day.isoformat(),
        "store": cost.store_id,
        "marketplace": cost.marketplace,
        "product": cost.product_id,
        "description": cost.description,
        "amount": str(cost.amount),
        "currency": cost.currency,
    }


# --- the tenant's choices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateEntry:
    """A warehouse's fulfilment rate as entered; None amounts (both) remove the rate."""

    warehouse: Warehouse
    currency: str
    per_order: Decimal | None
    per_unit: Decimal | None


@transaction.atomic
def profit_settings_update(
    *, tenant: Tenant, spread_unassigned_costs: bool, rates: Sequence[RateEntry], actor: User | None
) -> bool:
    """Save the tenant's profit settings and fulfilment rates; when anything changed, audit it and enqueue a
    rebuild of the P&L since REBUILD_DAYS ago. Returns whether anything changed."""
    actor = actor if actor is not None and actor.is_authenticated else None
    _belongs(tenant, *(entry.warehouse for entry in rates))
    settings_row, _created = ProfitSettings.objects.select_for_update().get_or_create(tenant=tenant)
    before: dict[str, Any] = {"spread_unassigned_costs": settings_row.spread_unassigned_costs, "rates": {}}
    after: dict[str, Any] = {"spread_unassigned_costs": spread_unassigned_costs, "rates": {}}
    changed = settings_row.spread_unassigned_costs != spread_unassigned_costs
    if changed:
        settings_row.spread_unassigned_costs = spread_unassigned_costs
        settings_row.updated_at = timezone.now()
        settings_row.save(update_fields=["spread_unassigned_costs", "updated_at"])
    current = {
        rate.warehouse_id: rate
        for rate in FulfilmentRate.objects.select_for_update().filter(tenant=tenant).order_by("pk")
    }
    for entry in rates:
        rate = current.get(entry.warehouse.pk)
        label = str(entry.warehouse.pk)
        if rate is not None:
            before["rates"][label] = [rate.currency, str(rate.per_order_amount), str(rate.per_unit_amount)]
        if entry.per_order is None and entry.per_unit is None:
            if rate is not None:
                rate.delete()
                changed = True
            continue
        per_order = quantize_amount(entry.per_order or 0, entry.currency)
        per_unit = quantize_amount(entry.per_unit or 0, entry.currency)
        after["rates"][label] = [entry.currency, str(per_order), str(per_unit)]
        if rate is not None and (rate.currency, rate.per_order_amount, rate.per_unit_amount) == (
            entry.currency,
            per_order,
            per_unit,
        ):
            continue
        if rate is None:
            rate = FulfilmentRate(tenant=tenant, warehouse=entry.warehouse)
        rate.currency, rate.per_order_amount, rate.per_unit_amount = entry.currency, per_order, per_unit
        rate.updated_at = timezone.now()
        rate.full_clean()
        rate.save()
        changed = True
    if changed:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="profit.settings_changed",
            target=settings_row,
            before=before,
            after=after,
        )
        profit_rebuild_due(tenant_id=tenant.pk)
    return changed


# --- spreading a cost over SKUs -----------------------------------------------------------------------------


def other_costs_spread(
    *,
    tenant: Tenant | None,
    day: date,
    store_id: int | None,
    amount: Decimal,
    currency: str,
    units_by_product: Mapping[int, int],
) -> dict[int, Decimal]:
    """Split one cost of a day and store over the products sold then, by units sold (largest remainder): each
    share is in the currency's minor unit and the shares add up exactly to the amount (quantised). Products
    with no units sold (or more returned than sold) take no share; with no units at all the result is empty
    and the cost stays its own "not assigned to a SKU" line. Pure: reads and writes nothing (`tenant`, `day`
    and `store_id` say which cost it is, for the caller's logs)."""
    total = quantize_amount(amount, currency)
    units = {product: count for product, count in units_by_product.items() if count > 0}
    all_units = sum(units.values())
    if not units or not all_units:
        return {}
    quantum = minor_unit_exponent(currency)
    sign = -1 if total < 0 else 1
    whole = abs(total)
    shares: dict[int, Decimal] = {}
    remainders: list[tuple[Decimal, int]] = []
    for product, count in units.items():
        exact = whole * count / all_units
        floor = exact.quantize(quantum, rounding=ROUND_DOWN)
        shares[product] = floor
        remainders.append((exact - floor, product))
    left = int((whole - sum(shares.values(), Decimal(0))) / quantum)
    # The largest remainders take one minor unit each; ties go to the larger count, then the lower id.
    remainders.sort(key=lambda item: (-item[0], -units[item[1]], item[1]))
    for _remainder, product in remainders[:left]:
        shares[product] += quantum
    return {product: sign * share for product, share in sorted(shares.items())}
