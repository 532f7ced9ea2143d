"""How the world's sellers, listings and orders are made up from a seeded random stream.

Every choice comes from the `random.Random` handed in, so the same stream always makes the same
order, whatever else happens in the world.
"""

from __future__ import annotations

import random
import string
from collections.abc import Container, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from simulator.aftersales import make_plans
from simulator.catalogue import (
    BUYER_LOCATIONS,
    CARRIERS,
    MFN_SHIPPING_USD,
    PRODUCT_TEMPLATES,
    TAX_RATES,
    Marketplace,
    convert_usd,
    list_price,
    quantize,
)
from simulator.model import (
    AMAZON,
    CANCELLED,
    MALFORMED_KINDS,
    MERCHANT,
    PARTIALLY_SHIPPED,
    PENDING,
    SHIPPED,
    UNSHIPPED,
    Listing,
    Order,
    OrderEvent,
    OrderLine,
    Seller,
    Shipment,
)

UPPER_DIGITS = string.ascii_uppercase + string.digits
_ORDER_ID_PREFIXES = {
    "NA": ("111", "112", "113", "114", "701", "702"),
    "EU": ("202", "203", "204", "205", "206"),
    "FE": ("249", "250", "503"),
}
_BUSINESS_NAMES = ("Northwind Supplies LLC", "Müller Bürobedarf GmbH", "Rossi Forniture S.r.l.", "株式会社サクラ商事")
_BUYER_CANCEL_REASONS = ("Order placed by mistake", "Found a better price", "Delivery time too long")
_MERCHANT_CANCEL_REASONS = ("Out of stock", "Unable to ship to address")
_FBA_SERVICE_LEVELS = ("STANDARD", "EXPEDITED", "SECOND_DAY", "NEXT_DAY")
_MFN_SERVICE_LEVELS = ("STANDARD", "EXPEDITED")


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def make_listings(seller: Seller, rng: random.Random) -> dict[str, tuple[Listing, ...]]:
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    templates = rng.sample(PRODUCT_TEMPLATES, k=min(len(PRODUCT_TEMPLATES), rng.randint(8, 12)))
    chosen = []
    for template in templates:
        asin = "B0" + "".join(rng.choice(UPPER_DIGITS) for _ in range(8))
        fnsku = "X00" + "".join(rng.choice(UPPER_DIGITS) for _ in range(7))
        factor = Decimal(rng.randint(85, 125)) / 100
        chosen.append((template, asin, fnsku, template.base_price_usd * factor, rng.randint(40, 400)))
    # Drawn after the catalogue above, so that these choices left every earlier one as it was: one or two
    # bad SKUs that come back far more often, one SKU sold only through FBA, the starting MFN quantities.
    bad = set(rng.sample(range(len(chosen)), k=rng.choice((1, 1, 2))))
    fba_only = rng.choice([index for index in range(len(chosen)) if index not in bad])
    return_rates = [
        rng.uniform(0.18, 0.26) if index in bad else rng.uniform(0.03, 0.06) for index in range(len(chosen))
    ]
    quantities = [0 if index == fba_only else rng.randint(0, 60) for index in range(len(chosen))]
    listings: dict[str, tuple[Listing, ...]] = {}
    for marketplace in seller.marketplaces:
        listings[marketplace.code] = tuple(
            Listing(
                sku=f"{prefix}-{template.code}",
                asin=asin,
                fnsku=fnsku,
                title=template.titles.get(marketplace.language, template.titles["en"]),
                price=list_price(price_usd, marketplace.currency),
                marketplace=marketplace,
                initial_fba_stock=stock,
                fba_only=index == fba_only,
                return_rate=return_rates[index],
                mfn_quantity=quantities[index],
            )
            for index, (template, asin, fnsku, price_usd, stock) in enumerate(chosen)
        )
    return listings


def _new_order_id(region: str, rng: random.Random, taken: Container[str]) -> str:
    while True:
        order_id = f"{rng.choice(_ORDER_ID_PREFIXES[region])}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        if order_id not in taken:
            return order_id


def make_order(
    seller: Seller, created: datetime, rng: random.Random, *, taken: Container[str], malformed_rate: float
) -> Order:
    """One order of the seller created at `created`, with its whole future timeline and after-sales plans."""
    weights = [4] + [1] * (len(seller.marketplaces) - 1)
    marketplace = rng.choices(seller.marketplaces, weights=weights)[0]
    order_id = _new_order_id(seller.region, rng, taken)
    fulfilled_by = AMAZON if rng.random() < 0.6 else MERCHANT
    lines = _make_lines(seller, marketplace, fulfilled_by, order_id, rng)
    business = rng.random() < 0.05
    programs: list[str] = []
    if fulfilled_by == AMAZON and rng.random() < 0.7:
        programs.append("PRIME")
    if business:
        programs.append("AMAZON_BUSINESS")
    if fulfilled_by == AMAZON:
        service_level = rng.choices(_FBA_SERVICE_LEVELS, cum_weights=(60, 80, 92, 100))[0]
    else:
        service_level = rng.choices(_MFN_SERVICE_LEVELS, cum_weights=(85, 100))[0]
    domain = marketplace.name.lower()
    mailbox = f"{rng.getrandbits(56):014x}"
    events = _make_timeline(order_id, marketplace, fulfilled_by, created, [line.quantity for line in lines], rng)
    if fulfilled_by == MERCHANT and not seller.mfn_auto_ship:
        # The seller confirms shipments through feeds: nothing ships by itself.
        events = tuple(event for event in events if event.shipment is None)
    order = Order(
        order_id=order_id,
        seller_id=seller.selling_partner_id,
        marketplace=marketplace,
        created=created,
        fulfilled_by=fulfilled_by,
        service_level=service_level,
        programs=tuple(programs),
        seller_order_id=(
            f"ACORN-{rng.randrange(10**6):06d}" if fulfilled_by == MERCHANT and rng.random() < 0.3 else order_id
        ),
        lines=lines,
        address=rng.choice(BUYER_LOCATIONS[marketplace.code]),
        buyer_email=f"{mailbox}@marketplace.{domain}",
        buyer_company=rng.choice(_BUSINESS_NAMES) if business else None,
        events=events,
        malformed=rng.choice(MALFORMED_KINDS) if rng.random() < malformed_rate else None,
    )
    order.plans = make_plans(order, rng)  # after everything else: the order itself is as it always was
    return order


def _make_lines(
    seller: Seller, marketplace: Marketplace, fulfilled_by: str, order_id: str, rng: random.Random
) -> tuple[OrderLine, ...]:
    count = rng.choices((1, 2, 3), cum_weights=(70, 92, 100))[0]
    offered = [
        listing for listing in seller.listings[marketplace.code] if fulfilled_by == AMAZON or not listing.fba_only
    ]
    listings = rng.sample(offered, k=count)
    currency = marketplace.currency
    free_shipping = rng.random() < 0.4
    lines = []
    for index, listing in enumerate(listings):
        quantity = rng.choices((1, 2, 3), cum_weights=(80, 95, 100))[0]
        item_amount = listing.price * quantity
        shipping = Decimal(0)
        if fulfilled_by == MERCHANT and index == 0 and not free_shipping:
            shipping = convert_usd(MFN_SHIPPING_USD, currency)
        discount = Decimal(0)
        promotion_id = None
        if rng.random() < 0.08:
            discount = quantize(item_amount * Decimal("0.10"), currency)
            promotion_id = f"PROMO-{marketplace.code}-{rng.randrange(1000, 9999)}"
        tax = Decimal(0)
        if marketplace.code in TAX_RATES:
            tax = quantize((item_amount - discount) * TAX_RATES[marketplace.code], currency)
        points = 0
        if marketplace.code == "JP":
            points = int((item_amount / 100).to_integral_value(rounding=ROUND_FLOOR))
        lines.append(
            OrderLine(
                order_item_id=f"{rng.randrange(10**13, 10**14)}",
                listing=listing,
                quantity=quantity,
                unit_price=listing.price,
                shipping=shipping,
                tax=tax,
                discount=discount,
                promotion_id=promotion_id,
                points=points,
            )
        )
    return tuple(lines)


def _make_timeline(
    order_id: str,
    marketplace: Marketplace,
    fulfilled_by: str,
    created: datetime,
    quantities: Sequence[int],
    rng: random.Random,
) -> tuple[OrderEvent, ...]:
    line_count = len(quantities)

    def later(moment: datetime, low_minutes: float, high_minutes: float) -> datetime:
        return whole_seconds(moment + timedelta(minutes=rng.uniform(low_minutes, high_minutes)))

    events = [OrderEvent(created, PENDING)]
    if rng.random() < 0.03:
        reason = rng.choice(_BUYER_CANCEL_REASONS)
        at = later(created, 10, 180)
        events.append(OrderEvent(at, CANCELLED, cancelled_by="BUYER", cancel_reason=reason, cancel_requested=True))
        return tuple(events)
    paid = later(created, 2, 40)
    events.append(OrderEvent(paid, UNSHIPPED))
    if rng.random() < 0.025:
        requested = rng.random() < 0.5
        reason = rng.choice(_BUYER_CANCEL_REASONS if requested else _MERCHANT_CANCEL_REASONS)
        at = later(paid, 60, 30 * 60)
        events.append(
            OrderEvent(at, CANCELLED, cancelled_by="MERCHANT", cancel_reason=reason, cancel_requested=requested)
        )
        return tuple(events)

    def shipment(number: int, at: datetime, line_indexes: Iterable[int]) -> Shipment:
        if fulfilled_by == AMAZON:
            carrier, service = "Amazon Logistics", "Amazon Shipping"
        else:
            carrier, service = rng.choice(CARRIERS[marketplace.code])
        return Shipment(
            reference=f"PKG-{order_id[-7:]}-{number}",
            shipped_at=at,
            carrier=carrier,
            service=service,
            tracking_number=f"{rng.getrandbits(64):016X}",
            quantities=tuple((index, quantities[index]) for index in line_indexes),
        )

    if fulfilled_by == MERCHANT and line_count >= 2 and rng.random() < 0.35:
        first_count = rng.randint(1, line_count - 1)
        first_at = later(paid, 8 * 60, 40 * 60)
        second_at = later(first_at, 12 * 60, 72 * 60)
        events.append(OrderEvent(first_at, PARTIALLY_SHIPPED, shipment(1, first_at, range(first_count))))
        events.append(OrderEvent(second_at, SHIPPED, shipment(2, second_at, range(first_count, line_count))))
    else:
        low, high = (3 * 60, 30 * 60) if fulfilled_by == AMAZON else (6 * 60, 60 * 60)
        at = later(paid, low, high)
        events.append(OrderEvent(at, SHIPPED, shipment(1, at, range(line_count))))
    return tuple(events)
