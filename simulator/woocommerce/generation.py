"""How a simulated shop's catalogue and orders are made up from seeded random streams.

Every choice comes from the `random.Random` handed in (derived from the seed, the site's slug and the
arrival number), so the same seed always makes the same order whatever else happens. Each order is made
with its whole future timeline: paid (or put on hold, or failed), completed, refunded in part or in
full, cancelled, binned.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.catalogue import PRODUCT_TEMPLATES, USD_RATES, convert_usd, list_price, quantize
from simulator.woocommerce.catalogue import (
    BUYER_COUNTRIES,
    CANCELLED,
    COMPLETED,
    COUNTRY_LANGUAGES,
    COUPONS,
    EMAIL_DOMAINS,
    FAILED,
    FIRST_NAMES,
    FLAT_RATE_USD,
    FREE_SHIPPING_FROM_USD,
    GATEWAYS,
    LAST_NAMES,
    ON_HOLD,
    OTHER_CURRENCIES,
    PENDING,
    PLACES,
    PROCESSING,
    REFUND_REASONS,
    REFUNDED,
    STREETS,
    TAX_RATES,
    VARIABLE_TEMPLATES,
    Gateway,
    TaxRate,
)
from simulator.woocommerce.model import (
    MALFORMED_KINDS,
    Address,
    CouponLine,
    LineItem,
    Order,
    OrderEvent,
    Product,
    Refund,
    RefundLine,
    ShippingLine,
    TaxLine,
)
from simulator.woocommerce.site import EU, WooSite, slugify, whole_seconds

# -- the catalogue ---------------------------------------------------------------------------------------


def make_catalogue(site: WooSite) -> None:
    """Simple products from the shared templates and a few variable products with their variations."""
    rng = site.rng("catalogue")
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    templates = rng.sample(PRODUCT_TEMPLATES, k=min(len(PRODUCT_TEMPLATES), rng.randint(7, 9)))
    variable = rng.sample(VARIABLE_TEMPLATES, k=2)
    site.next_post_id = rng.randint(12, 40)
    created = whole_seconds(site.created_at - timedelta(days=rng.randint(120, 700)))
    for index, template in enumerate(templates):
        name = template.titles.get(site.language, template.titles["en"])
        price = list_price(template.base_price_usd * Decimal(rng.randint(90, 120)) / 100, site.currency)
        on_sale = rng.random() < 0.15
        managed = site.manage_stock and index != len(templates) - 1  # one product without stock management
        moment = created + timedelta(days=index * 3, seconds=rng.randint(0, 86400))
        product = Product(
            id=site.post_id(rng.randint(2, 4)),
            parent_id=0,
            type="simple",
            name=name,
            slug=slugify(name),
            sku=f"{prefix}-{template.code}",
            regular_price=price,
            sale_price=quantize(price * Decimal("0.85"), site.currency) if on_sale else None,
            manage_stock=managed,
            stock_quantity=rng.choice((0, 3, rng.randint(5, 150), rng.randint(20, 300))) if managed else None,
            created=moment,
            modified=moment + timedelta(days=rng.randint(0, 60)),
            backorders="notify" if managed and rng.random() < 0.3 else "no",
            weight=str(Decimal(rng.randint(1, 30)) / 10),
        )
        site.products[product.id] = product
    for offset, kind in enumerate(variable):
        name = kind.names.get(site.language, kind.names["en"])
        price = list_price(kind.base_price_usd, site.currency)
        moment = created + timedelta(days=40 + offset * 5, seconds=rng.randint(0, 86400))
        parent = Product(
            id=site.post_id(rng.randint(2, 3)),
            parent_id=0,
            type="variable",
            name=name,
            slug=slugify(name),
            sku=f"{prefix}-{kind.code}",
            regular_price=None,
            sale_price=None,
            manage_stock=False,
            stock_quantity=None,
            created=moment,
            modified=moment,
            attributes=kind.attributes,
        )
        site.products[parent.id] = parent
        combinations: list[tuple[str, ...]] = [()]
        for _, _, options in kind.attributes:
            combinations = [(*combo, option) for combo in combinations for option in options]
        for combo in combinations:
            chosen = tuple(
                (taxonomy, label, (option,))
                for (taxonomy, label, _), option in zip(kind.attributes, combo, strict=True)
            )
            variation = Product(
                id=site.post_id(),
                parent_id=parent.id,
                type="variation",
                name=f"{name} - {', '.join(combo)}",
                slug=slugify(f"{name} {' '.join(combo)}"),
                sku=f"{prefix}-{kind.code}-" + "-".join(slugify(option).upper() for option in combo),
                regular_price=price,
                sale_price=None,
                manage_stock=site.manage_stock,
                stock_quantity=rng.randint(0, 60) if site.manage_stock else None,
                created=moment,
                modified=moment,
                attributes=chosen,
            )
            parent.variation_ids.append(variation.id)
            site.products[variation.id] = variation
    site.next_post_id += rng.randint(300, 2500)  # pages, media and the shop's earlier orders


# -- orders ----------------------------------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount, currency)


def _convert(amount: Decimal, source: str, target: str) -> Decimal:
    if source == target:
        return amount
    return quantize(amount / USD_RATES[source] * USD_RATES[target], target)


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _buyer(site: WooSite, rng: random.Random) -> tuple[Address, int]:
    countries, weights = zip(*BUYER_COUNTRIES.get(site.country, ((site.country, 1),)), strict=True)
    country = rng.choices(countries, weights=weights)[0]
    language = COUNTRY_LANGUAGES.get(country, "en")
    first = rng.choice(FIRST_NAMES.get(language, FIRST_NAMES["en"]))
    last = rng.choice(LAST_NAMES.get(language, LAST_NAMES["en"]))
    city, state, postcode = rng.choice(PLACES.get(country, PLACES["DE"]))
    street = rng.choice(STREETS.get(language, STREETS["en"]))
    number = rng.randint(1, 120)
    mailbox = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}"
    address = Address(
        first_name=first,
        last_name=last,
        company="",
        address_1=f"{number} {street}" if language == "en" else f"{street} {number}",
        city=city,
        state=state,
        postcode=postcode,
        country=country,
        email=f"{mailbox}@{rng.choice(EMAIL_DOMAINS)}",
    )
    customer_id = (
        0 if rng.random() < 0.45 else 2 + int(hashlib.blake2b(mailbox.encode(), digest_size=2).hexdigest(), 16) % 900
    )
    return address, customer_id


def _tax_rate(site: WooSite, country: str) -> TaxRate | None:
    """Destination-based tax: EU shops charge the buyer's EU rate (OSS); exports carry no tax."""
    if country == site.country or (site.country in EU and country in EU):
        return TAX_RATES.get(country)
    return None


def _gateway(site: WooSite, buyer_country: str, rng: random.Random) -> Gateway:
    names = ["stripe", "ppcp-gateway", "bacs", "cod"]
    weights = [55, 25, 12, 8 if buyer_country == site.country else 0]
    return GATEWAYS[rng.choices(names, weights=weights)[0]]


def make_order(site: WooSite, created: datetime, rng: random.Random) -> Order:
    """One order of the shop created at `created`, with its whole future timeline."""
    order_id = site.post_id()
    billing, customer_id = _buyer(site, rng)
    shipping = Address(
        billing.first_name,
        billing.last_name,
        billing.company,
        billing.address_1,
        billing.city,
        billing.state,
        billing.postcode,
        billing.country,
    )
    currency = site.currency
    if site.multi_currency and currency in OTHER_CURRENCIES and rng.random() < 0.04:
        currency = rng.choice(OTHER_CURRENCIES[currency])
    rate = _tax_rate(site, billing.country)
    inclusive = site.prices_include_tax
    count = rng.choices((1, 2, 3), cum_weights=(62, 90, 100))[0]
    products = rng.sample(site.purchasable(), k=min(count, len(site.purchasable())))
    coupon = rng.choice(COUPONS) if rng.random() < 0.12 else None
    lines: list[LineItem] = []
    gross_subtotal = Decimal(0)
    for product in products:
        quantity = rng.choices((1, 2, 3), cum_weights=(76, 95, 100))[0]
        unit = _convert(product.price or Decimal(0), site.currency, currency)
        amount = unit * quantity
        if inclusive:
            divisor = 1 + (rate.rate if rate is not None else site.tax_rate.rate)
            subtotal = _money(amount / divisor, currency)
            subtotal_tax = amount - subtotal if rate is not None else Decimal(0)
        else:
            subtotal = amount
            subtotal_tax = _money(amount * rate.rate, currency) if rate is not None else Decimal(0)
        gross_subtotal += subtotal + subtotal_tax
        total = subtotal - (_money(subtotal * coupon[1] / 100, currency) if coupon else Decimal(0))
        total_tax = _money(total * rate.rate, currency) if rate is not None else Decimal(0)
        if total == subtotal:
            total_tax = subtotal_tax
        parent = site.products.get(product.parent_id)
        meta = tuple((site.meta_id(), taxonomy, slugify(options[0])) for taxonomy, _, options in product.attributes)
        lines.append(
            LineItem(
                item_id=site.item_id(),
                product_id=parent.id if parent is not None else product.id,
                variation_id=product.id if parent is not None else 0,
                name=product.name,
                sku=product.sku,
                quantity=quantity,
                subtotal=subtotal,
                subtotal_tax=subtotal_tax,
                total=total,
                total_tax=total_tax,
                meta=meta,
            )
        )
    roll = rng.random()
    if roll < 0.05:
        method = ("local_pickup", "Local pickup", Decimal(0))
    elif gross_subtotal >= convert_usd(FREE_SHIPPING_FROM_USD, currency):
        method = ("free_shipping", "Free shipping", Decimal(0))
    else:
        method = ("flat_rate", "Flat rate", convert_usd(FLAT_RATE_USD, currency))
    shipping_tax = _money(method[2] * rate.rate, currency) if rate is not None else Decimal(0)
    shipping_lines = (
        ShippingLine(site.item_id(), method[0], method[1], str(rng.randint(1, 4)), method[2], shipping_tax),
    )
    cart_tax = sum((line.total_tax for line in lines), Decimal(0))
    tax_lines = (TaxLine(site.item_id(), rate, cart_tax, shipping_tax),) if rate is not None else ()
    coupon_lines: tuple[CouponLine, ...] = ()
    if coupon is not None:
        coupon_lines = (
            CouponLine(
                site.item_id(),
                coupon[0].lower(),
                coupon[1],
                sum((line.subtotal - line.total for line in lines), Decimal(0)),
                sum((line.subtotal_tax - line.total_tax for line in lines), Decimal(0)),
            ),
        )
    gateway = _gateway(site, billing.country, rng)
    order = Order(
        id=order_id,
        order_key="wc_order_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(13)),
        created=created,
        currency=currency,
        prices_include_tax=inclusive,
        customer_id=customer_id,
        billing=billing,
        shipping=shipping,
        gateway=gateway,
        created_via=rng.choices(("checkout", "admin", "store-api"), cum_weights=(80, 85, 100))[0],
        lines=tuple(lines),
        shipping_lines=shipping_lines,
        tax_lines=tax_lines,
        coupon_lines=coupon_lines,
        events=[],
    )
    malformed_roll, malformed_kind = rng.random(), rng.choice(MALFORMED_KINDS)
    order.malformed = malformed_kind if malformed_roll < site.malformed_rate else None
    order.events = _timeline(site, order, rng)
    return order


def _seconds(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high)))


def _refund(
    site: WooSite,
    order: Order,
    at: datetime,
    rng: random.Random,
    quantities: dict[int, int],
    *,
    amount: Decimal | None = None,
    reason: str | None = None,
    restock: bool,
) -> Refund:
    """A refund of the given units of each line (item id → units); the amount defaults to their value."""
    lines = []
    for item_id, units in quantities.items():
        line = order.line(item_id)
        if line is None or units <= 0:
            continue
        total = _money(line.total * units / line.quantity, order.currency)
        tax = _money(line.total_tax * units / line.quantity, order.currency)
        lines.append(RefundLine(site.item_id(), item_id, units, total, tax))
    value = amount if amount is not None else sum((line.total + line.total_tax for line in lines), Decimal(0))
    reasons = REFUND_REASONS.get(site.language, REFUND_REASONS["en"])
    return Refund(
        id=site.post_id(),
        order_id=order.id,
        created=at,
        amount=value,
        reason=reason if reason is not None else (rng.choice(reasons) if rng.random() < 0.85 else ""),
        refunded_by=rng.choice((1, 1, 1, 2)),
        refunded_payment=order.gateway.supports_refunds,
        lines=tuple(lines),
        restock=restock,
    )


def _timeline(site: WooSite, order: Order, rng: random.Random) -> list[OrderEvent]:
    created = order.created
    meta = ((site.meta_id(), "is_vat_exempt", "no"),)
    events: list[OrderEvent] = []

    def status(at: datetime, old: str, new: str, *, prefix: str = "", **extra: Any) -> OrderEvent:
        return OrderEvent(at=at, status=new, notes=(site.status_note(at, old, new, prefix),), **extra)

    def completion(at: datetime, old: str) -> OrderEvent:
        tracking = f"{rng.choice(('DHL', 'DPD', 'UPS', 'Royal Mail'))}:{rng.randrange(10**11, 10**12)}"
        return status(at, old, COMPLETED, meta=((site.meta_id(), "_tracking_number", tracking),))

    def after_completion(done: datetime) -> None:
        roll = rng.random()
        if roll < 0.07:
            line = rng.choice(order.lines)
            at = done + _seconds(rng, 3 * 86400, 20 * 86400)
            refund = _refund(
                site, order, at, rng, {line.item_id: rng.randint(1, line.quantity)}, restock=rng.random() < 0.5
            )
            events.append(OrderEvent(at=at, refund=refund))
        elif roll < 0.10:
            at = done + _seconds(rng, 5 * 86400, 25 * 86400)
            refund = _refund(
                site,
                order,
                at,
                rng,
                {line.item_id: line.quantity for line in order.lines},
                amount=order.total,
                restock=rng.random() < 0.5,
            )
            events.append(
                OrderEvent(at=at, refund=refund, status=REFUNDED, notes=(site.status_note(at, COMPLETED, REFUNDED),))
            )

    if order.gateway.method in ("stripe", "ppcp-gateway"):
        events.append(OrderEvent(at=created, status=PENDING, meta=meta))
        roll = rng.random()
        if roll < 0.06:
            failed = created + _seconds(rng, 30, 300)
            events.append(status(failed, PENDING, FAILED))
            if rng.random() < 0.2:
                events.append(OrderEvent(at=failed + _seconds(rng, 5 * 86400, 20 * 86400), trash=True))
        elif roll < 0.11:
            cancelled = created + timedelta(minutes=60)
            events.append(status(cancelled, PENDING, CANCELLED, prefix="Unpaid order cancelled - time limit reached."))
            if rng.random() < 0.15:
                events.append(OrderEvent(at=cancelled + _seconds(rng, 2 * 86400, 30 * 86400), trash=True))
        else:
            paid = created + _seconds(rng, 10, 120)
            prefix = "ch" if order.gateway.method == "stripe" else "PAYID"
            transaction = f"{prefix}_{rng.getrandbits(96):024x}"
            events.append(status(paid, PENDING, PROCESSING, transaction_id=transaction))
            if rng.random() < 0.04:
                at = paid + _seconds(rng, 2 * 3600, 24 * 3600)
                refund = _refund(
                    site,
                    order,
                    at,
                    rng,
                    {line.item_id: line.quantity for line in order.lines},
                    amount=order.total,
                    restock=True,
                )
                events.append(
                    OrderEvent(
                        at=at, refund=refund, status=REFUNDED, notes=(site.status_note(at, PROCESSING, REFUNDED),)
                    )
                )
            else:
                done = paid + _seconds(rng, 20 * 3600, 4 * 86400)
                events.append(completion(done, PROCESSING))
                after_completion(done)
    elif order.gateway.method == "bacs":
        events.append(
            OrderEvent(
                at=created,
                status=ON_HOLD,
                meta=meta,
                notes=(site.status_note(created, PENDING, ON_HOLD, "Awaiting BACS payment"),),
            )
        )
        if rng.random() < 0.75:
            paid = created + _seconds(rng, 86400, 3 * 86400)
            events.append(status(paid, ON_HOLD, PROCESSING))
            done = paid + _seconds(rng, 86400, 3 * 86400)
            events.append(completion(done, PROCESSING))
            after_completion(done)
        else:
            at = created + timedelta(days=7)
            events.append(status(at, ON_HOLD, CANCELLED, prefix="Unpaid order cancelled - time limit reached."))
    else:  # cash on delivery
        events.append(
            OrderEvent(
                at=created,
                status=PROCESSING,
                meta=meta,
                notes=(site.status_note(created, PENDING, PROCESSING, "Payment to be made upon delivery."),),
            )
        )
        if rng.random() < 0.03:
            events.append(status(created + _seconds(rng, 86400, 2 * 86400), PROCESSING, CANCELLED))
        else:
            done = created + _seconds(rng, 86400, 4 * 86400)
            events.append(completion(done, PROCESSING))
            after_completion(done)
    events.sort(key=lambda event: event.at)
    return events
