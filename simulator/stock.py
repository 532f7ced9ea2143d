"""FBA stock per seller SKU and FBA pool, derived from the world's FBA orders.

Amazon keeps FBA stock per pool, not per marketplace: the EU marketplaces under Pan-European FBA sell
from one stock and North America (Remote Fulfilment) from another, while the UK (out of the
Pan-European programme since 2021) and every other marketplace keep their own. getInventorySummaries answers every
marketplace of a pool with the same, pooled figures (selling-partner-api-models issue #452: "returns the
same values for each EU marketplace - a sum of inventory quantities from all the EU marketplaces
(except the UK …)"), so a client that adds the marketplaces of one pool together counts the stock twice.

Amazon tops each SKU up to its target level every Monday (00:00 UTC). Between restocks, shipped FBA
units leave the shelf and units of pending or unshipped FBA orders are reserved; customer returns the
fulfilment centre processed come back, sellable ones to the shelf and the others as unfulfillable stock
(customer damaged, defective, carrier damaged, warehouse damaged). The quantities at a moment, and the
time they last changed, follow from the orders alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from simulator.aftersales import order_after_sales
from simulator.catalogue import FBA_POOL_MARKETPLACES
from simulator.model import AMAZON, PENDING, UNSHIPPED, Listing, Order, Seller
from simulator.returns_data import SELLABLE, UNFULFILLABLE_BUCKETS

RESTOCK_EPOCH = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday
RESTOCK_PERIOD = timedelta(days=7)

# Marketplaces that sell from one FBA stock (a marketplace in none of these is a pool of its own), from the
# world's marketplace facts (simulator/catalogue.py): North America Remote Fulfilment (US, CA, MX) and
# Pan-European FBA (DE, FR, IT, ES, NL, SE, PL, BE, IE).
FBA_POOLS: tuple[frozenset[str], ...] = tuple(frozenset(codes) for codes in FBA_POOL_MARKETPLACES.values())


def fba_pool(marketplace_code: str) -> frozenset[str]:
    """The marketplaces whose orders draw on the same FBA stock as this one (itself included)."""
    return next((pool for pool in FBA_POOLS if marketplace_code in pool), frozenset({marketplace_code}))


@dataclass(frozen=True)
class StockLevel:
    listing: Listing
    fulfillable: int
    reserved: int
    inbound_shipped: int
    last_updated: datetime
    unfulfillable: dict[str, int] = field(default_factory=dict)  # fbaInventory breakdown name → units

    @property
    def unfulfillable_total(self) -> int:
        return sum(self.unfulfillable.values())

    @property
    def total(self) -> int:
        return self.fulfillable + self.reserved + self.inbound_shipped + self.unfulfillable_total


def last_restock(moment: datetime) -> datetime:
    return RESTOCK_EPOCH + RESTOCK_PERIOD * int((moment - RESTOCK_EPOCH) / RESTOCK_PERIOD)


def stock_levels(
    listings: Iterable[Listing], orders: Iterable[Order], moment: datetime, *, pool: Iterable[str] | None = None
) -> list[StockLevel]:
    """Stock of each listing (all of one marketplace) at the moment. Orders of every marketplace in `pool`
    (default: the listings' own) take from the same stock; a SKU is one stock across the pool."""
    listings = list(listings)
    marketplaces = set(pool) if pool is not None else {listing.marketplace.code for listing in listings}
    restocked = last_restock(moment)
    shipped: dict[str, int] = {}
    reserved: dict[str, int] = {}
    changed: dict[str, datetime] = {}
    returned: dict[str, int] = {}
    damaged: dict[str, dict[str, int]] = {}
    for order in orders:
        if order.fulfilled_by != AMAZON or order.created > moment or order.marketplace.code not in marketplaces:
            continue
        state = order.state_at(moment)
        for index, line in enumerate(order.lines):
            sku = line.listing.sku
            if state.status in (PENDING, UNSHIPPED):
                reserved[sku] = reserved.get(sku, 0) + line.quantity - state.shipped_quantities[index]
            for shipment in state.shipments:
                if shipment.shipped_at > restocked:
                    units = sum(quantity for i, quantity in shipment.quantities if i == index)
                    shipped[sku] = shipped.get(sku, 0) + units
            changed[sku] = max(changed.get(sku, restocked), state.last_updated)
        if order.plans:
            for customer_return in order_after_sales(order)[0]:
                received = customer_return.received_at
                if received is None or not restocked < received <= moment:
                    continue
                sku = customer_return.line.listing.sku
                disposition = customer_return.plan.disposition
                if disposition == SELLABLE:
                    returned[sku] = returned.get(sku, 0) + customer_return.quantity
                else:
                    bucket = damaged.setdefault(sku, {})
                    name = UNFULFILLABLE_BUCKETS[disposition]
                    bucket[name] = bucket.get(name, 0) + customer_return.quantity
                changed[sku] = max(changed.get(sku, restocked), received)
    levels = []
    for listing in listings:
        sku = listing.sku
        on_hand = max(0, listing.initial_fba_stock - shipped.get(sku, 0)) + returned.get(sku, 0)
        held = min(on_hand, reserved.get(sku, 0))
        levels.append(
            StockLevel(
                listing=listing,
                fulfillable=on_hand - held,
                reserved=held,
                inbound_shipped=listing.initial_fba_stock // 4 if on_hand < listing.initial_fba_stock // 2 else 0,
                last_updated=max(restocked, min(changed.get(sku, restocked), moment)),
                unfulfillable=damaged.get(sku, {}),
            )
        )
    return levels


def seller_stock_levels(
    seller: Seller, orders: Iterable[Order], marketplace_code: str, moment: datetime
) -> list[StockLevel]:
    """What getInventorySummaries answers for one of the seller's marketplaces: its listings, with the stock
    of the FBA pool the marketplace belongs to (the same figures in every marketplace of that pool)."""
    pool = fba_pool(marketplace_code) & {marketplace.code for marketplace in seller.marketplaces}
    return stock_levels(seller.listings[marketplace_code], orders, moment, pool=pool)
