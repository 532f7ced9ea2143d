"""FBA stock per seller SKU and marketplace, derived from the world's FBA orders.

Amazon tops each SKU up to its target level every Monday (00:00 UTC). Between restocks, shipped FBA
units leave the shelf and units of pending or unshipped FBA orders are reserved. The quantities at a
moment, and the time they last changed, follow from the orders alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from channels.simulator.model import AMAZON, PENDING, UNSHIPPED, Listing, Order

RESTOCK_EPOCH = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday
RESTOCK_PERIOD = timedelta(days=7)


@dataclass(frozen=True)
class StockLevel:
    listing: Listing
    fulfillable: int
    reserved: int
    inbound_shipped: int
    last_updated: datetime

    @property
    def total(self) -> int:
        return self.fulfillable + self.reserved + self.inbound_shipped


def last_restock(moment: datetime) -> datetime:
    return RESTOCK_EPOCH + RESTOCK_PERIOD * int((moment - RESTOCK_EPOCH) / RESTOCK_PERIOD)


def stock_levels(listings: Iterable[Listing], orders: Iterable[Order], moment: datetime) -> list[StockLevel]:
    """Stock of each listing (all of one marketplace) at the moment."""
    listings = list(listings)
    marketplaces = {listing.marketplace.code for listing in listings}
    restocked = last_restock(moment)
    shipped: dict[str, int] = {}
    reserved: dict[str, int] = {}
    changed: dict[str, datetime] = {}
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
    levels = []
    for listing in listings:
        sku = listing.sku
        on_hand = max(0, listing.initial_fba_stock - shipped.get(sku, 0))
        held = min(on_hand, reserved.get(sku, 0))
        levels.append(
            StockLevel(
                listing=listing,
                fulfillable=on_hand - held,
                reserved=held,
                inbound_shipped=listing.initial_fba_stock // 4 if on_hand < listing.initial_fba_stock // 2 else 0,
                last_updated=max(restocked, min(changed.get(sku, restocked), moment)),
            )
        )
    return levels
