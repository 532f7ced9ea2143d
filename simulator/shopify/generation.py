"""How a shop's catalogue, locations and orders are made up from seeded random streams.

Ids are derived from the position of the object in the shop's history (the n-th order, its k-th refund),
so the same seed gives the same ids whatever else the app does; objects the app creates through the API
take ids from ranges of their own (`Shop.next_api_id`).
"""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta
from decimal import Decimal

from simulator.shopify.catalogue import (
    BUYER_MIX,
    BUYER_PLACES,
    CANCEL_REASONS,
    CARRIERS,
    CUSTOMER_NOTES,
    DISCOUNT_CODES,
    GATEWAYS,
    ORDER_TAGS,
    PRODUCTS,
    REFUND_NOTES,
    RETURN_REASONS,
    SHIPPING_USD,
    SOURCE_NAMES,
    US_STATE_TAX,
    USD_RATES,
    VAT_RATES,
    quantize,
    rate_between,
    shelf_price,
)
from simulator.shopify.model import (
    CANCEL,
    CREATED,
    FULFILLMENT,
    MALFORMED_KINDS,
    PAYMENT,
    REFUND,
    RETURN,
    ZERO,
    Address,
    Fulfillment,
    LineItem,
    Location,
    Money,
    OrderEvent,
    Product,
    Refund,
    RefundLine,
    ReturnLine,
    ReturnRecord,
    Shop,
    ShopOrder,
    TaxLine,
    Transaction,
    Variant,
    total,
)

# Id ranges per kind (Shopify's ids are large integers that grow over time).
ORDER_BASE = 5_600_000_000_000
LINE_BASE = 13_800_000_000_000
TRANSACTION_BASE = 7_100_000_000_000
REFUND_BASE = 950_000_000_000
FULFILLMENT_BASE = 5_200_000_000_000
FULFILLMENT_LINE_BASE = 11_300_000_000_000
FULFILLMENT_ORDER_BASE = 6_400_000_000_000
FULFILLMENT_ORDER_LINE_BASE = 13_900_000_000_000
RETURN_BASE = 17_000_000_000
REFUND_LINE_BASE = 580_000_000_000
RETURN_LINE_BASE = 26_000_000_000
PRODUCT_BASE = 8_900_000_000_000
VARIANT_BASE = 45_600_000_000_000
INVENTORY_ITEM_BASE = 47_700_000_000_000
LOCATION_BASE = 71_000_000_000
SUBSCRIPTION_BASE = 1_500_000_000_000


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def make_locations(shop: Shop, names: list[str] | None, rng: random.Random) -> tuple[Location, ...]:
    profile = shop.profile
    wanted = names or ["Main warehouse", "Retail store"]
    streets = ("12 Market Street", "Unit 4, Harbour Industrial Estate", "88 Commerce Way", "Lagerstraße 7")
    return tuple(
        Location(
            legacy_id=LOCATION_BASE + rng.randrange(10**8) * 10 + index,
            name=name,
            country=profile.country,
            province_code=profile.province_code,
            city=profile.city,
            zip=profile.zip,
            address1=rng.choice(streets),
            ships=index == 0 or "warehouse" in name.lower(),
        )
        for index, name in enumerate(wanted)
    )


def make_products(shop: Shop, rng: random.Random) -> tuple[Product, ...]:
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    vendor = shop.name.split(" (")[0]
    products = []
    variant_number = 0
    chosen = rng.sample(PRODUCTS, k=min(len(PRODUCTS), rng.randint(8, 11)))
    for product_number, spec in enumerate(chosen):
        product_id = PRODUCT_BASE + product_number * 1_000 + rng.randrange(1_000)
        price = shelf_price(spec.base_price_usd * Decimal(rng.randint(90, 115)) / 100, shop.currency)
        created = shop.created_at - timedelta(days=rng.randint(120, 900))
        variants = []
        for position, option in enumerate(spec.options, start=1):
            variant_number += 1
            sku = f"{prefix}-{spec.code}" if option == "Default Title" else f"{prefix}-{spec.code}-{option.upper()[:4]}"
            variants.append(
                Variant(
                    legacy_id=VARIANT_BASE + variant_number * 1_000 + rng.randrange(1_000),
                    product_id=product_id,
                    product_title=spec.title,
                    title=option,
                    sku=sku,
                    price=price,
                    inventory_item_id=INVENTORY_ITEM_BASE + variant_number * 1_000 + rng.randrange(1_000),
                    barcode=f"{rng.randrange(10**12, 10**13)}",
                    position=position,
                    created_at=created,
                )
            )
        handle = spec.title.lower().replace(",", "").replace(" ", "-")
        products.append(Product(product_id, spec.title, handle, spec.product_type, vendor, tuple(variants), created))
    return tuple(products)


def initial_stock(shop: Shop, rng: random.Random) -> dict[tuple[int, int], dict[str, int]]:
    stock = {}
    for variant in shop.variants:
        for index, location in enumerate(shop.locations):
            available = rng.randint(250, 700) if location.ships else rng.randint(0, 40)
            stock[(variant.inventory_item_id, location.legacy_id)] = {
                "available": available,
                "committed": 0,
                "reserved": 0,
                "damaged": rng.choice((0, 0, 0, 1, 2)) if index == 0 else 0,
                "safety_stock": 0,
                "quality_control": 0,
                "incoming": rng.choice((0, 0, 24, 48)),
            }
    return stock


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


class _OrderBuilder:
    """Builds one order and its timeline from one random stream."""

    def __init__(self, shop: Shop, index: int, created: datetime, rng: random.Random) -> None:
        self.shop = shop
        self.index = index
        self.created = created
        self.rng = rng
        self.counters: dict[str, int] = {}

    def new_id(self, base: int, kind: str, per_order: int = 50) -> int:
        count = self.counters.get(kind, 0)
        self.counters[kind] = count + 1
        return base + self.index * per_order + count

    def later(self, moment: datetime, low_hours: float, high_hours: float) -> datetime:
        return whole_seconds(moment + timedelta(hours=self.rng.uniform(low_hours, high_hours)))

    def build(self, malformed_rate: float) -> ShopOrder:
        shop, rng = self.shop, self.rng
        country = _weighted(rng, BUYER_MIX.get(shop.profile.country, ((shop.profile.country, 1),)))
        local_currency, language, places = BUYER_PLACES[country]
        city, province, zip_code = rng.choice(places)
        presentment = local_currency if local_currency in shop.presentment_currencies else shop.currency
        rate = Decimal(1)
        if presentment != shop.currency:
            jitter = Decimal(rng.randint(-60, 60)) / 10_000
            rate = (rate_between(shop.currency, presentment) * (1 + jitter)).quantize(Decimal("0.000001"))
        self.presentment, self.rate = presentment, rate
        discount = rng.choice(DISCOUNT_CODES) if rng.random() < 0.15 else None
        lines = self._lines(country, province, discount, shop.profile.taxes_included)
        domestic = country == shop.profile.country
        threshold = shelf_price(SHIPPING_USD["free_over"], shop.currency)
        shipping = ZERO
        shipping_title = "Free Shipping"
        if total(line.discounted_total for line in lines).shop < threshold or not domestic:
            fee = shelf_price(SHIPPING_USD["domestic" if domestic else "international"], shop.currency)
            shipping = self.money(fee)
            shipping_title = "Standard" if domestic else "International Shipping"
        shipping_taxes: tuple[TaxLine, ...] = ()
        tax_title, tax_rate = _tax_for(country, province)
        if shop.profile.taxes_included and tax_rate > 0 and not shipping.is_zero:
            # VAT / GST / consumption tax is charged on shipping too, inside its price.
            shipping_taxes = (
                TaxLine(
                    tax_title,
                    tax_rate,
                    Money(
                        quantize(shipping.shop * tax_rate / (1 + tax_rate), shop.currency),
                        quantize(shipping.presentment * tax_rate / (1 + tax_rate), self.presentment),
                    ),
                ),
            )
        order = ShopOrder(
            legacy_id=ORDER_BASE + self.index * 1_000 + rng.randrange(1_000),
            index=self.index,
            number=1001 + self.index,
            created=self.created,
            currency=shop.currency,
            presentment_currency=presentment,
            rate=rate,
            taxes_included=shop.profile.taxes_included,
            lines=lines,
            shipping=shipping,
            shipping_title=shipping_title,
            discount_code=discount,
            tags=tuple(sorted(rng.sample(ORDER_TAGS, k=rng.choices((0, 1, 2), weights=(60, 30, 10))[0]))),
            source_name=_weighted(rng, SOURCE_NAMES),
            test=rng.random() < 0.01,
            address=Address(country, province, city, zip_code),
            location_id=next(location.legacy_id for location in shop.locations if location.ships),
            fulfillment_order_id=FULFILLMENT_ORDER_BASE + self.index * 10 + rng.randrange(10),
            gateway="",
            language=language,
            events=[],
            malformed=rng.choice(MALFORMED_KINDS) if rng.random() < malformed_rate else None,
            shipping_tax_lines=shipping_taxes,
        )
        order.events = self._timeline(order)
        order.reindex()
        return order

    def money(self, shop_amount: Decimal) -> Money:
        """An amount the shop priced, as the buyer saw it (converted and rounded), and back."""
        if self.presentment == self.shop.currency:
            return Money(shop_amount, shop_amount)
        presentment = quantize(shop_amount * self.rate, self.presentment)
        return Money(quantize(presentment / self.rate, self.shop.currency), presentment)

    def share(self, amount: Money, part: Decimal, whole: Decimal) -> Money:
        if whole == 0:
            return ZERO
        return Money(
            quantize(amount.shop * part / whole, self.shop.currency),
            quantize(amount.presentment * part / whole, self.presentment),
        )

    def _lines(
        self, country: str, province: str | None, discount: tuple[str, str, Decimal] | None, included: bool
    ) -> tuple[LineItem, ...]:
        rng = self.rng
        variants = self.shop.variants
        count = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]
        picked = rng.sample(variants, k=min(count, len(variants)))
        tax_title, tax_rate = _tax_for(country, province)
        lines = []
        for position, variant in enumerate(picked):
            quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            unit = self.money(variant.price)
            original = unit.times(quantity)
            line_discount = ZERO
            if discount is not None:
                line_discount = Money(
                    quantize(original.shop * discount[2], self.shop.currency),
                    quantize(original.presentment * discount[2], self.presentment),
                )
            taxable = original - line_discount
            taxes: tuple[TaxLine, ...] = ()
            if tax_rate > 0:
                if included:
                    amount = Money(
                        quantize(taxable.shop * tax_rate / (1 + tax_rate), self.shop.currency),
                        quantize(taxable.presentment * tax_rate / (1 + tax_rate), self.presentment),
                    )
                else:
                    amount = Money(
                        quantize(taxable.shop * tax_rate, self.shop.currency),
                        quantize(taxable.presentment * tax_rate, self.presentment),
                    )
                taxes = (TaxLine(tax_title, tax_rate, amount),)
            lines.append(
                LineItem(
                    legacy_id=self.new_id(LINE_BASE, "line", 10),
                    variant=variant,
                    quantity=quantity,
                    unit_price=unit,
                    discount=line_discount,
                    tax_lines=taxes,
                    fulfillment_order_line_id=FULFILLMENT_ORDER_LINE_BASE + self.index * 10 + position,
                )
            )
        return tuple(lines)

    def transaction(self, kind: str, amount: Money, at: datetime, parent: int | None = None) -> Transaction:
        return Transaction(self.new_id(TRANSACTION_BASE, "tx", 20), kind, self.gateway, amount, at, parent)

    def _timeline(self, order: ShopOrder) -> list[OrderEvent]:
        rng = self.rng
        created = self.created
        grand = order.total_price
        mode = rng.choices(("paid", "authorized", "pending", "deposit"), weights=(80, 9, 8, 3))[0]
        self.gateway = order.gateway = GATEWAYS.get(mode, "shopify_payments")
        events: list[OrderEvent] = []
        paid_at = created
        if mode == "paid":
            events.append(OrderEvent(created, CREATED, (self.transaction("SALE", grand, created),)))
        elif mode == "authorized":
            authorization = self.transaction("AUTHORIZATION", grand, created)
            events.append(OrderEvent(created, CREATED, (authorization,)))
            paid_at = self.later(created, 1, 48)
            if rng.random() < 0.85:
                capture = self.transaction("CAPTURE", grand, paid_at, authorization.legacy_id)
                events.append(OrderEvent(paid_at, PAYMENT, (capture,)))
            else:
                cancel_at = self.later(created, 24, 96)
                void = self.transaction("VOID", ZERO, cancel_at, authorization.legacy_id)
                events.append(OrderEvent(cancel_at, CANCEL, (void,), cancel_reason="DECLINED"))
                return events
        elif mode == "deposit":
            deposit = self.share(grand, Decimal(3), Decimal(10))
            events.append(OrderEvent(created, CREATED, (self.transaction("SALE", deposit, created),)))
            paid_at = self.later(created, 48, 240)
            events.append(OrderEvent(paid_at, PAYMENT, (self.transaction("SALE", grand - deposit, paid_at),)))
        else:
            events.append(OrderEvent(created, CREATED))
            if rng.random() < 0.8:
                paid_at = self.later(created, 24, 120)
                events.append(OrderEvent(paid_at, PAYMENT, (self.transaction("SALE", grand, paid_at),)))
            else:
                cancel_at = self.later(created, 168, 240)
                void = self.transaction("VOID", ZERO, cancel_at)
                events.append(OrderEvent(cancel_at, CANCEL, (void,), cancel_reason="OTHER"))
                return events
        if rng.random() < 0.04:
            return self._cancelled(order, [event for event in events if event.at <= created], created)
        ship_from = max(paid_at, created)
        count = len(order.lines)
        if count >= 2 and rng.random() < 0.3:
            split = rng.randint(1, count - 1)
            first_at = self.later(ship_from, 6, 72)
            second_at = self.later(first_at, 24, 120)
            events.append(
                OrderEvent(first_at, FULFILLMENT, fulfillment=self.fulfillment(order, range(split), first_at))
            )
            last = self.fulfillment(order, range(split, count), second_at)
            events.append(OrderEvent(second_at, FULFILLMENT, fulfillment=last))
            shipped_at = second_at
        else:
            shipped_at = self.later(ship_from, 4, 96)
            events.append(
                OrderEvent(shipped_at, FULFILLMENT, fulfillment=self.fulfillment(order, range(count), shipped_at))
            )
        roll = rng.random()
        received = total(tx.amount for event in events for tx in event.transactions if tx.kind in ("SALE", "CAPTURE"))
        if roll < 0.09:
            events.extend(self._return_and_refund(order, shipped_at))
        elif roll < 0.12:
            at = self.later(shipped_at, 48, 240)
            amount = self.share(received, Decimal(rng.choice((10, 15, 20))), Decimal(100))
            note = rng.choice(REFUND_NOTES["goodwill"])
            refund = Refund(
                self.new_id(REFUND_BASE, "refund", 10), at, note, (), ZERO, (self.transaction("REFUND", amount, at),)
            )
            events.append(OrderEvent(at, REFUND, refund=refund))
        elif roll < 0.14:
            at = self.later(shipped_at, 120, 400)
            lines = tuple(
                self.refund_line(order, index, line.quantity, "NO_RESTOCK") for index, line in enumerate(order.lines)
            )
            refund = Refund(
                self.new_id(REFUND_BASE, "refund", 10),
                at,
                rng.choice(REFUND_NOTES["lost"]),
                lines,
                order.shipping,
                (self.transaction("REFUND", received, at),),
            )
            events.append(OrderEvent(at, REFUND, refund=refund))
        return events

    def _cancelled(self, order: ShopOrder, events: list[OrderEvent], created: datetime) -> list[OrderEvent]:
        """Cancelled before anything shipped: the money paid so far goes back, the stock is restocked."""
        rng = self.rng
        cancel_at = self.later(created, 0.5, 20)
        reason = _weighted(rng, CANCEL_REASONS)
        paid = [tx for event in events for tx in event.transactions]
        received = total(tx.amount for tx in paid if tx.kind in ("SALE", "CAPTURE"))
        if received.is_zero:
            parent = next((tx.legacy_id for tx in paid if tx.kind == "AUTHORIZATION"), None)
            void = self.transaction("VOID", ZERO, cancel_at, parent)
            return [*events, OrderEvent(cancel_at, CANCEL, (void,), cancel_reason=reason)]
        lines = tuple(self.refund_line(order, index, line.quantity, "CANCEL") for index, line in enumerate(order.lines))
        refund = Refund(
            self.new_id(REFUND_BASE, "refund", 10),
            cancel_at,
            rng.choice(REFUND_NOTES["cancel"]),
            lines,
            order.shipping,
            (self.transaction("REFUND", received, cancel_at),),
        )
        return [*events, OrderEvent(cancel_at, CANCEL, refund=refund, cancel_reason=reason)]

    def fulfillment(self, order: ShopOrder, indexes: range, at: datetime) -> Fulfillment:
        rng = self.rng
        number = self.counters.get("fulfillment", 0) + 1
        company, url = rng.choice(CARRIERS)
        tracking = "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
        return Fulfillment(
            legacy_id=self.new_id(FULFILLMENT_BASE, "fulfillment", 10),
            name=f"{order.name}.{number}",
            at=at,
            location_id=order.location_id,
            company=company,
            number=tracking,
            url=url + tracking,
            lines=tuple(
                (index, order.lines[index].quantity, self.new_id(FULFILLMENT_LINE_BASE, "fulfillment_line", 20))
                for index in indexes
            ),
        )

    def refund_line(self, order: ShopOrder, index: int, quantity: int, restock: str) -> RefundLine:
        line = order.lines[index]
        return RefundLine(
            legacy_id=self.new_id(REFUND_LINE_BASE, "refund_line", 20),
            line_index=index,
            quantity=quantity,
            restock_type=restock,
            subtotal=self.share(line.discounted_total, Decimal(quantity), Decimal(line.quantity)),
            tax=self.share(line.tax, Decimal(quantity), Decimal(line.quantity)),
            location_id=order.location_id if restock in ("RETURN", "CANCEL") else None,
        )

    def _return_and_refund(self, order: ShopOrder, shipped_at: datetime) -> list[OrderEvent]:
        rng = self.rng
        opened = self.later(shipped_at, 72, 336)
        indexes = rng.sample(range(len(order.lines)), k=rng.randint(1, len(order.lines)))
        return_lines = []
        for index in sorted(indexes):
            line = order.lines[index]
            reason = rng.choice(RETURN_REASONS)
            notes = CUSTOMER_NOTES[reason]
            language = order.language if order.language in notes and rng.random() < 0.7 else rng.choice(list(notes))
            note = notes[language] if rng.random() < 0.8 else None
            quantity = rng.randint(1, line.quantity)
            return_lines.append(
                ReturnLine(self.new_id(RETURN_LINE_BASE, "return_line", 10), index, quantity, reason, note)
            )
        record = ReturnRecord(
            legacy_id=self.new_id(RETURN_BASE, "return", 10),
            name=f"{order.name}-R1",
            opened_at=opened,
            lines=tuple(return_lines),
        )
        events = [OrderEvent(opened, RETURN, return_record=record)]
        if rng.random() < 0.15:
            return events  # still open: the parcel has not come back yet
        refunded_at = self.later(opened, 48, 240)
        lines = tuple(self.refund_line(order, item.line_index, item.quantity, "RETURN") for item in return_lines)
        amount = (
            total(line.subtotal + line.tax for line in lines)
            if not order.taxes_included
            else total(line.subtotal for line in lines)
        )
        refund = Refund(
            self.new_id(REFUND_BASE, "refund", 10),
            refunded_at,
            rng.choice(REFUND_NOTES["return"]),
            lines,
            ZERO,
            (self.transaction("REFUND", amount, refunded_at),),
            return_id=record.legacy_id,
        )
        events.append(OrderEvent(refunded_at, REFUND, refund=refund))
        return events


def _tax_for(country: str, province: str | None) -> tuple[str, Decimal]:
    if country == "US":
        return US_STATE_TAX.get(province or "", ("", Decimal(0)))
    return VAT_RATES.get(country, ("", Decimal(0)))


def make_order(shop: Shop, index: int, created: datetime, rng: random.Random) -> ShopOrder:
    """The shop's `index`-th order, created at `created`, with its whole future."""
    return _OrderBuilder(shop, index, created, rng).build(shop.malformed_rate)


__all__ = ["USD_RATES", "initial_stock", "make_locations", "make_order", "make_products", "whole_seconds"]
