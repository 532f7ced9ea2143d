"""One simulated WooCommerce shop (a WordPress site): settings, API keys, catalogue, orders, webhooks and
the counters WordPress hands ids out from; everything random about it comes from streams derived from
the world's seed and the site's slug (`WooSite.rng`)."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from simulator.woocommerce.catalogue import (
    STATUS_NAMES,
    TAX_RATES,
    TaxRate,
)
from simulator.woocommerce.model import (
    ApiKey,
    Note,
    Order,
    Product,
)

EU = frozenset({"DE", "AT", "FR", "NL", "BE", "IT", "ES"})
INCLUSIVE_PRICE_COUNTRIES = EU | {"GB", "AU", "CH"}


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass
class Webhook:
    """A webhook as WooCommerce → Settings → Advanced → Webhooks stores it."""

    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    user_id: int
    created: datetime
    modified: datetime
    failure_count: int = 0

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1] if "." in self.topic else ""


@dataclass
class WooSite:
    """A WordPress site with (or without) WooCommerce: settings, keys, catalogue, orders and webhooks."""

    seed: int
    slug: str
    name: str
    currency: str
    timezone_name: str
    country: str
    language: str
    manage_stock: bool
    woocommerce: bool
    prices_include_tax: bool
    multi_currency: bool
    created_at: datetime
    orders_per_day: float
    live_orders_per_hour: float
    malformed_rate: float
    keys: dict[str, ApiKey] = field(default_factory=dict)
    nonces: dict[str, dict[str, int]] = field(default_factory=dict)  # consumer key → nonce → timestamp
    products: dict[int, Product] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    order_list: list[Order] = field(default_factory=list)  # by creation time
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    next_arrival: datetime | None = None
    arrival_count: int = 0
    key_count: int = 0
    cursor: datetime | None = None  # events up to here have had their stock effect and webhooks
    next_post_id: int = 10
    next_item_id: int = 1
    next_meta_id: int = 100
    next_comment_id: int = 1
    next_webhook_id: int = 1

    @property
    def consumer_key(self) -> str:
        """The first API key's consumer key (the one the site was created with)."""
        return next(iter(self.keys.values())).consumer_key if self.keys else ""

    @property
    def consumer_secret(self) -> str:
        return next(iter(self.keys.values())).consumer_secret if self.keys else ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    @property
    def tax_rate(self) -> TaxRate:
        return TAX_RATES.get(self.country, TAX_RATES["DE"])

    def rng(self, *parts: object) -> random.Random:
        digest = hashlib.blake2b(repr((self.seed, "woo", self.slug, *parts)).encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(digest, "big"))  # noqa: S311 - a reproducible shop, not security

    def token(self, prefix: str, *parts: object, length: int = 40) -> str:
        """A deterministic hex token such as a consumer key."""
        digest = hashlib.blake2b(repr((self.seed, "woo", self.slug, *parts)).encode(), digest_size=32).hexdigest()
        return prefix + digest[:length]

    # -- identifiers ------------------------------------------------------------------------------------

    def post_id(self, gap: int = 1) -> int:
        value = self.next_post_id
        self.next_post_id += gap
        return value

    def item_id(self) -> int:
        self.next_item_id += 1
        return self.next_item_id - 1

    def meta_id(self) -> int:
        self.next_meta_id += 1
        return self.next_meta_id - 1

    def comment_id(self) -> int:
        self.next_comment_id += 1
        return self.next_comment_id - 1

    def note(self, at: datetime, text: str, *, customer_note: bool = False, author: str = "system") -> Note:
        return Note(self.comment_id(), at, text, customer_note, author)

    def status_note(self, at: datetime, old: str, new: str, prefix: str = "") -> Note:
        text = f"Order status changed from {STATUS_NAMES.get(old, old)} to {STATUS_NAMES.get(new, new)}."
        return self.note(at, f"{prefix} {text}".strip())

    # -- catalogue --------------------------------------------------------------------------------------

    def purchasable(self) -> list[Product]:
        return [product for product in self.products.values() if product.type in ("simple", "variation")]

    def managed_stock(self, product_id: int) -> Product | None:
        """The product or variation whose stock a line of this product moves, if it manages stock."""
        product = self.products.get(product_id)
        if product is None or not self.manage_stock or not product.manage_stock:
            return None
        return product
