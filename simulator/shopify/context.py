"""The Shopify front's state inside one simulator server: shops, their orders over time, stock, the
app's credentials and webhook subscriptions, the GraphQL cost buckets, and truth accessors for tests.

    shop = sim.shopify.add_shop("acme-demo.myshopify.com", currency="USD", presentment_currencies=["CAD", "EUR"])
    token = sim.shopify.issue_access_token(shop.domain)   # or the OAuth install flow
    sim.world.advance(timedelta(hours=6))                # orders arrive, ship, get refunded
    sim.shopify.visible_orders(shop.domain)              # what a full sync should hold now
    sim.shopify.deliver_pending()                        # send the webhooks that are due

A shop's orders arrive lazily from a seeded stream (history of `history_days` when the shop is added,
then live orders as the world's clock moves), each with its generated future. Generated events are
applied to stock and turned into webhooks in time order whenever the shop is looked at.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.faults import FaultInjector
from simulator.shopify import rest
from simulator.shopify.auth import ALL_SCOPES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ShopifyAuth
from simulator.shopify.catalogue import SHOP_PROFILES, USD_RATES, quantize
from simulator.shopify.generation import (
    SUBSCRIPTION_BASE,
    initial_stock,
    make_locations,
    make_order,
    make_products,
    whole_seconds,
)
from simulator.shopify.model import (
    CANCEL,
    CREATED,
    FULFILLMENT,
    PAYMENT,
    QUANTITY_COMPONENTS,
    REFUND,
    RETURN,
    OrderEvent,
    OrderState,
    Shop,
    ShopOrder,
    WebhookSubscription,
)
from simulator.shopify.payments import payout_truth
from simulator.shopify.payments import payouts as payments_payouts
from simulator.shopify.webhooks import (
    COMPLIANCE_TOPICS,
    TOPICS,
    Deliver,
    DeliveryRecord,
    WebhookDispatcher,
    http_deliver,
)
from simulator.world import World

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
WEBHOOK_API_VERSION = "2026-10"
# The Standard plan's GraphQL Admin limits: 100 points restored per second into a bucket of 2,000.
RESTORE_RATE = 100.0
BUCKET_SIZE = 2000.0
SINGLE_QUERY_MAX_COST = 1000


class UnknownShop(KeyError):
    """No shop with that domain."""


def iso_utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopifyContext:
    """Shared state of the Shopify front inside one server. Thread-safe (one lock for everything)."""

    def __init__(
        self,
        world: World,
        faults: FaultInjector,
        *,
        base_url: Callable[[], str],
        rate_scale: float = 1000.0,
        monotonic: Callable[[], float] = time.monotonic,
        auth_clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        deliver: Deliver = http_deliver,
        webhook_api_version: str = WEBHOOK_API_VERSION,
    ) -> None:
        self.world = world
        self.faults = faults
        self.base_url = base_url
        self.rate_scale = rate_scale
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.seed = world.seed
        self.auth = ShopifyAuth(seed=world.seed, client_id=client_id, client_secret=client_secret, clock=auth_clock)
        self.webhooks = WebhookDispatcher(
            seed=world.seed,
            faults=faults,
            secret=lambda: self.auth.client_secret,
            now=world.now,
            api_version=webhook_api_version,
            deliver=deliver,
        )
        self.compliance_url: str | None = None
        self.lock = threading.RLock()
        self._shops: dict[str, Shop] = {}
        self._buckets: dict[str, list[float]] = {}

    # -- app settings ----------------------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self.auth.client_id

    @property
    def client_secret(self) -> str:
        return self.auth.client_secret

    def set_deliver(self, deliver: Deliver) -> None:
        """Send webhooks through `deliver(url, headers, body) -> status` (e.g. Django's test client)."""
        self.webhooks.deliver = deliver

    def now(self) -> datetime:
        return self.world.now()

    # -- shops -----------------------------------------------------------------------------------------

    def add_shop(
        self,
        domain: str,
        currency: str = "USD",
        presentment_currencies: Sequence[str] | None = None,
        locations: Sequence[str] | None = None,
        *,
        name: str | None = None,
        orders_per_day: float | None = None,
        live_orders_per_hour: float | None = None,
        history_days: int | None = None,
        malformed_rate: float | None = None,
    ) -> Shop:
        """Create a shop with its catalogue, locations, stock and order history (the app is installed)."""
        domain = domain.strip().lower()
        if not SHOP_DOMAIN.match(domain):
            raise ValueError(f"{domain!r} is not a *.myshopify.com domain")
        currency = currency.upper()
        if currency not in SHOP_PROFILES:
            raise ValueError(f"Unsupported shop currency {currency}; expected one of {', '.join(SHOP_PROFILES)}")
        extra = [code.upper() for code in presentment_currencies or () if code.upper() != currency]
        unknown = [code for code in extra if code not in USD_RATES]
        if unknown:
            raise ValueError(f"Unsupported presentment currencies {unknown}")
        world = self.world
        with self.lock:
            if domain in self._shops:
                raise ValueError(f"Shop {domain} already exists")
            now = world.now()
            rng_seed = int.from_bytes(
                hashlib.blake2b(repr((self.seed, "shop", domain)).encode(), digest_size=8).digest()
            )
            handle = domain.split(".")[0]
            shop = Shop(
                domain=domain,
                name=name or handle.replace("-", " ").title(),
                legacy_id=60_000_000_000 + rng_seed % 10**10,
                currency=currency,
                presentment_currencies=(currency, *dict.fromkeys(extra)),
                profile=SHOP_PROFILES[currency],
                created_at=now,
                orders_per_day=world.orders_per_day if orders_per_day is None else orders_per_day,
                live_orders_per_hour=(
                    world.live_orders_per_hour if live_orders_per_hour is None else live_orders_per_hour
                ),
                malformed_rate=world.malformed_rate if malformed_rate is None else malformed_rate,
                scopes=ALL_SCOPES,
            )
            rng = shop.rng(self.seed, "catalogue")
            shop.locations = make_locations(shop, list(locations) if locations else None, rng)
            shop.products = make_products(shop, rng)
            shop.inventory = initial_stock(shop, rng)
            days = world.history_days if history_days is None else history_days
            shop.applied_until = now - timedelta(days=days)
            shop.next_arrival = self._next_arrival_after(shop, now - timedelta(days=days))
            self._shops[domain] = shop
            self._sync(shop)
            return shop

    def shop(self, domain: str) -> Shop:
        with self.lock:
            try:
                return self._shops[domain.lower()]
            except KeyError:
                raise UnknownShop(domain) from None

    def has_shop(self, domain: str) -> bool:
        with self.lock:
            return domain.lower() in self._shops

    def shops(self) -> list[Shop]:
        with self.lock:
            return list(self._shops.values())

    # -- orders over time ------------------------------------------------------------------------------

    def _rate_per_second(self, shop: Shop, moment: datetime) -> float:
        if moment < shop.created_at:
            return shop.orders_per_day / 86400
        return shop.live_orders_per_hour / 3600

    def _next_arrival_after(self, shop: Shop, moment: datetime) -> datetime | None:
        rate = self._rate_per_second(shop, moment)
        if rate <= 0:
            if moment < shop.created_at and shop.live_orders_per_hour > 0:
                return self._next_arrival_after(shop, shop.created_at)
            return None
        gap = shop.rng(self.seed, "gap", shop.arrival_count).expovariate(rate)
        return whole_seconds(moment + timedelta(seconds=max(gap, 1.0)))

    def _add_order(self, shop: Shop, order: ShopOrder) -> None:
        shop.orders.append(order)
        shop.orders_by_id[order.legacy_id] = order
        for position in range(len(order.events)):
            shop.push_pending(order, position)

    def _sync(self, shop: Shop) -> Shop:
        """Generate arrivals up to now, then apply every event up to now in time order (caller locks)."""
        now = self.world.now()
        while shop.next_arrival is not None and shop.next_arrival <= now:
            created = shop.next_arrival
            index = len(shop.orders)
            self._add_order(shop, make_order(shop, index, created, shop.rng(self.seed, "order", shop.arrival_count)))
            shop.arrival_count += 1
            shop.next_arrival = self._next_arrival_after(shop, created)
        while shop.pending and shop.pending[0][0] <= now:
            at, _, order_id, position = heapq.heappop(shop.pending)
            order = shop.orders_by_id[order_id]
            if position < len(order.events) and order.events[position].at == at:
                self._apply(shop, order, order.events[position])
        shop.applied_until = now
        return shop

    def sync(self, domain: str) -> Shop:
        with self.lock:
            return self._sync(self.shop(domain))

    def generate_orders(
        self, domain: str, count: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[int]:
        """Insert `count` extra orders created between start and end (default: the last 30 days up to now)."""
        with self.lock:
            shop = self._sync(self.shop(domain))
            now = self.world.now()
            end = min(end or now, now)
            start = start or end - timedelta(days=30)
            span = max(int((end - start).total_seconds()), 0)
            batch = shop.batch_count
            shop.batch_count += 1
            times = sorted(
                whole_seconds(start + timedelta(seconds=shop.rng(self.seed, "batch-time", batch, i).randint(0, span)))
                for i in range(count)
            )
            ids = []
            for number, created in enumerate(times):
                order = make_order(shop, len(shop.orders), created, shop.rng(self.seed, "batch", batch, number))
                self._add_order(shop, order)
                ids.append(order.legacy_id)
            shop.orders.sort(key=lambda order: (order.created, order.legacy_id))
            self._sync(shop)
            return ids

    def orders(self, domain: str) -> list[ShopOrder]:
        """The shop's orders created up to now, oldest first."""
        with self.lock:
            shop = self._sync(self.shop(domain))
            now = self.world.now()
            end = bisect.bisect_right(shop.orders, now, key=lambda order: order.created)
            return shop.orders[:end]

    def find_order(self, domain: str, legacy_id: int) -> ShopOrder | None:
        with self.lock:
            shop = self._sync(self.shop(domain))
            order = shop.orders_by_id.get(legacy_id)
            return order if order is not None and order.created <= self.world.now() else None

    # -- stock -----------------------------------------------------------------------------------------

    def quantities(self, shop: Shop, item_id: int, location_id: int) -> dict[str, int] | None:
        level = shop.inventory.get((item_id, location_id))
        if level is None:
            return None
        return {**level, "on_hand": sum(level[name] for name in QUANTITY_COMPONENTS)}

    def adjust_stock(self, shop: Shop, item_id: int, location_id: int, deltas: dict[str, int], at: datetime) -> None:
        level = shop.inventory.get((item_id, location_id))
        if level is None:
            return
        for name, delta in deltas.items():
            level[name] += delta
        if deltas.get("available"):
            self.emit(shop, "INVENTORY_LEVELS_UPDATE", self._level_payload(shop, item_id, location_id, at), at)

    def _level_payload(self, shop: Shop, item_id: int, location_id: int, at: datetime) -> dict[str, Any]:
        level = shop.inventory[(item_id, location_id)]
        return {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": level["available"],
            "updated_at": rest.local_time(at, shop),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{item_id}?inventory_item_id={item_id}",
        }

    def _apply(self, shop: Shop, order: ShopOrder, event: OrderEvent) -> None:
        """A generated event happens: stock moves and webhooks are queued."""
        location = order.location_id
        at = event.at
        if event.kind == CREATED:
            for line in order.lines:
                deltas = {"available": -line.quantity, "committed": line.quantity}
                self.adjust_stock(shop, line.variant.inventory_item_id, location, deltas, at)
        elif event.kind == FULFILLMENT and event.fulfillment is not None:
            for index, quantity, _ in event.fulfillment.lines:
                self.adjust_stock(
                    shop, order.lines[index].variant.inventory_item_id, location, {"committed": -quantity}, at
                )
        elif event.kind == CANCEL:
            for line in order.lines:
                deltas = {"available": line.quantity, "committed": -line.quantity}
                self.adjust_stock(shop, line.variant.inventory_item_id, location, deltas, at)
        elif event.kind == REFUND and event.refund is not None:
            for refund_line in event.refund.lines:
                if refund_line.restock_type == "RETURN":
                    item = order.lines[refund_line.line_index].variant.inventory_item_id
                    self.adjust_stock(shop, item, location, {"available": refund_line.quantity}, at)
        self.order_webhooks(shop, order, event)

    # -- webhooks --------------------------------------------------------------------------------------

    def subscriptions(self, shop: Shop, topic: str) -> list[WebhookSubscription]:
        return [subscription for subscription in shop.subscriptions.values() if subscription.topic == topic]

    def emit(self, shop: Shop, topic: str, payload: dict[str, Any], at: datetime, *, faults: bool = True) -> None:
        """Queue the event for every subscription to the topic (one event id for all of them)."""
        subscribed = self.subscriptions(shop, topic)
        if not subscribed:
            return
        event_id = self.webhooks.new_id()
        for subscription in subscribed:
            self.webhooks.enqueue(
                shop=shop.domain,
                topic=TOPICS[topic],
                url=subscription.uri,
                payload=payload,
                triggered_at=at,
                event_id=event_id,
                include_fields=subscription.include_fields,
                faults=faults,
            )

    def order_webhooks(self, shop: Shop, order: ShopOrder, event: OrderEvent) -> None:
        if not shop.subscriptions:
            return
        state = order.state_at(event.at)
        order_json: dict[str, Any] | None = None

        def order_payload() -> dict[str, Any]:
            nonlocal order_json
            if order_json is None:
                order_json = rest.order(shop, order, state)
            return order_json

        topics: list[str] = []
        if event.kind == CREATED:
            topics = ["ORDERS_CREATE", *(["ORDERS_PAID"] if state.financial_status == "PAID" else [])]
        elif event.kind == PAYMENT and state.financial_status == "PAID":
            topics = ["ORDERS_PAID"]
        elif event.kind == FULFILLMENT and event.fulfillment is not None:
            self.emit(shop, "FULFILLMENTS_CREATE", rest.fulfillment(shop, order, state, event.fulfillment), event.at)
            topics = ["ORDERS_FULFILLED" if state.fulfillment_status == "FULFILLED" else "ORDERS_PARTIALLY_FULFILLED"]
        elif event.kind == CANCEL:
            topics = ["ORDERS_CANCELLED"]
        elif event.kind == RETURN and event.return_record is not None:
            self.emit(shop, "RETURNS_REQUEST", self._return_payload(order, event), event.at)
        if event.refund is not None:
            self.emit(shop, "REFUNDS_CREATE", rest.refund(shop, order, state, event.refund), event.at)
        for topic in (*topics, "ORDERS_UPDATED"):
            if self.subscriptions(shop, topic):
                self.emit(shop, topic, order_payload(), event.at)

    def _return_payload(self, order: ShopOrder, event: OrderEvent) -> dict[str, Any]:
        record = event.return_record
        assert record is not None
        return {
            "id": record.legacy_id,
            "admin_graphql_api_id": f"gid://shopify/Return/{record.legacy_id}",
            "order_id": order.legacy_id,
            "name": record.name,
            "status": "requested",
            "return_line_items": [
                {
                    "id": line.legacy_id,
                    "admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{line.legacy_id}",
                    "quantity": line.quantity,
                    "return_reason": line.reason.lower(),
                    "customer_note": line.customer_note,
                    "line_item_id": order.lines[line.line_index].legacy_id,
                }
                for line in record.lines
            ],
        }

    def add_subscription(
        self,
        domain: str,
        topic: str,
        uri: str,
        *,
        include_fields: Iterable[str] = (),
        filter: str | None = None,
        name: str | None = None,
    ) -> WebhookSubscription:
        """Subscribe the app to a topic (GraphQL enum value such as ORDERS_UPDATED, or orders/updated)."""
        topic = topic if topic in TOPICS else {value: key for key, value in TOPICS.items()}.get(topic, topic)
        if topic not in TOPICS:
            raise ValueError(f"Unsupported webhook topic {topic}")
        with self.lock:
            shop = self._sync(self.shop(domain))
            now = self.world.now()
            subscription = WebhookSubscription(
                legacy_id=shop.next_api_id(SUBSCRIPTION_BASE),
                topic=topic,
                uri=uri,
                format="JSON",
                include_fields=tuple(include_fields),
                filter=filter,
                name=name,
                created_at=now,
                updated_at=now,
            )
            shop.subscriptions[subscription.legacy_id] = subscription
            return subscription

    def deliver_pending(self, *, include_waiting_retries: bool = False) -> list[DeliveryRecord]:
        """Bring every shop up to now, then send the webhooks that are due; returns what was sent."""
        with self.lock:
            for shop in self._shops.values():
                self._sync(shop)
        return self.webhooks.flush(include_waiting_retries=include_waiting_retries)

    def start_delivery_thread(self, interval: float = 0.5) -> None:
        """Deliver webhooks in the background every `interval` seconds (until `close()`)."""
        self.webhooks.start(self.deliver_pending, interval)

    def stop_delivery_thread(self) -> None:
        self.webhooks.stop()

    def close(self) -> None:
        self.stop_delivery_thread()

    @property
    def webhook_log(self) -> list[DeliveryRecord]:
        return list(self.webhooks.log)

    def send_compliance(self, domain: str, topic: str, url: str | None = None) -> None:
        """Queue a mandatory compliance webhook (customers/data_request, customers/redact, shop/redact)."""
        if topic not in COMPLIANCE_TOPICS:
            raise ValueError(f"{topic} is not a compliance topic; expected one of {', '.join(COMPLIANCE_TOPICS)}")
        target = url or self.compliance_url
        if not target:
            raise ValueError("No compliance URL: pass url= or set sim.shopify.compliance_url")
        with self.lock:
            shop = self._sync(self.shop(domain))
            orders = [order.legacy_id for order in shop.orders[-3:]]
            customer_id = 7_000_000_000_000 + (shop.legacy_id % 10**6)
            payload: dict[str, Any] = {"shop_id": shop.legacy_id, "shop_domain": shop.domain}
            if topic == "customers/data_request":
                payload |= {
                    "orders_requested": orders,
                    "customer": {"id": customer_id, "email": f"customer{customer_id}@example.com", "phone": None},
                    "data_request": {"id": 9_000_000 + len(self.webhooks.log)},
                }
            elif topic == "customers/redact":
                payload |= {
                    "customer": {"id": customer_id, "email": f"customer{customer_id}@example.com", "phone": None},
                    "orders_to_redact": orders,
                }
            self.webhooks.enqueue(
                shop=shop.domain,
                topic=topic,
                url=target,
                payload=payload,
                triggered_at=self.world.now(),
                event_id=self.webhooks.new_id(),
                faults=False,
            )

    # -- credentials -----------------------------------------------------------------------------------

    def issue_access_token(self, domain: str, token: str | None = None) -> str:
        """A non-expiring Admin API access token (a custom app's token, pasted into ACORN)."""
        shop = self.shop(domain)
        with self.lock:
            shop.installed = True
        return self.auth.issue_access_token(shop.domain, token)

    def register_refresh_token(self, domain: str, token: str) -> str:
        shop = self.shop(domain)
        with self.lock:
            shop.installed = True
        return self.auth.register_refresh_token(shop.domain, token)

    def issue_authorization_code(self, domain: str, scope: str, redirect_uri: str) -> str:
        shop = self.shop(domain)
        with self.lock:
            shop.installed = True
        return self.auth.issue_code(shop.domain, scope, redirect_uri)

    def revoke(self, domain: str) -> None:
        """The merchant uninstalled the app: tokens stop working, app/uninstalled is sent, then the
        app's webhook subscriptions are deleted."""
        with self.lock:
            shop = self._sync(self.shop(domain))
            self.auth.revoke(shop.domain)
            shop.installed = False
            self.emit(shop, "APP_UNINSTALLED", rest.shop_json(shop), self.world.now(), faults=False)
            shop.subscriptions.clear()

    # -- GraphQL cost buckets --------------------------------------------------------------------------

    def throttle_status(self, domain: str) -> dict[str, float]:
        with self.lock:
            available = self._refill(domain)
            scale = self.rate_scale if self.rate_scale > 0 else 1.0
            return {
                "maximumAvailable": BUCKET_SIZE * scale,
                "currentlyAvailable": int(available),
                "restoreRate": RESTORE_RATE * scale,
            }

    def _refill(self, domain: str) -> float:
        scale = self.rate_scale if self.rate_scale > 0 else 1.0
        now = self.monotonic()
        bucket = self._buckets.setdefault(domain, [BUCKET_SIZE * scale, now])
        bucket[0] = min(BUCKET_SIZE * scale, bucket[0] + (now - bucket[1]) * RESTORE_RATE * scale)
        bucket[1] = now
        return bucket[0]

    def take_points(self, domain: str, requested: int) -> bool:
        """Pay the requested cost from the shop's bucket, or False when it cannot (THROTTLED)."""
        with self.lock:
            available = self._refill(domain)
            if self.rate_scale <= 0:
                return True
            if available < requested:
                return False
            self._buckets[domain][0] = available - requested
            return True

    def return_points(self, domain: str, points: int) -> None:
        """Refund the difference between the requested and the actual cost."""
        if points <= 0 or self.rate_scale <= 0:
            return
        with self.lock:
            available = self._refill(domain)
            self._buckets[domain][0] = min(BUCKET_SIZE * self.rate_scale, available + points)

    # -- truth for tests -------------------------------------------------------------------------------

    def states(self, domain: str) -> list[tuple[ShopOrder, OrderState]]:
        with self.lock:
            now = self.world.now()
            return [(order, order.state_at(now)) for order in self.orders(domain)]

    def visible_orders(self, domain: str) -> list[dict[str, Any]]:
        """Every order as a full sync should hold it now (well-formed even where hostile breaks it)."""
        return [_order_truth(order, state) for order, state in self.states(domain)]

    def malformed_order_ids(self, domain: str) -> set[str]:
        """GraphQL ids of the orders the hostile fault profile always sends broken."""
        return {f"gid://shopify/Order/{order.legacy_id}" for order in self.orders(domain) if order.malformed}

    def refunds(self, domain: str) -> list[dict[str, Any]]:
        rows = []
        for order, state in self.states(domain):
            for refund in state.refunds:
                rows.append(
                    {
                        "id": f"gid://shopify/Refund/{refund.legacy_id}",
                        "order_id": f"gid://shopify/Order/{order.legacy_id}",
                        "order_name": order.name,
                        "created_at": iso_utc(refund.at),
                        "note": refund.note,
                        "currency": order.currency,
                        "total": _amount(refund.total.shop, order.currency),
                        "presentment_currency": order.presentment_currency,
                        "total_presentment": _amount(refund.total.presentment, order.presentment_currency),
                        "shipping": _amount(refund.shipping.shop, order.currency),
                        "return_id": f"gid://shopify/Return/{refund.return_id}" if refund.return_id else None,
                        "lines": [
                            {
                                "line_item_id": f"gid://shopify/LineItem/{order.lines[line.line_index].legacy_id}",
                                "sku": order.lines[line.line_index].variant.sku,
                                "quantity": line.quantity,
                                "restock_type": line.restock_type,
                                "subtotal": _amount(line.subtotal.shop, order.currency),
                                "tax": _amount(line.tax.shop, order.currency),
                            }
                            for line in refund.lines
                        ],
                    }
                )
        return rows

    def returns(self, domain: str) -> list[dict[str, Any]]:
        rows = []
        for order, state in self.states(domain):
            for record, status in state.returns:
                rows.append(
                    {
                        "id": f"gid://shopify/Return/{record.legacy_id}",
                        "order_id": f"gid://shopify/Order/{order.legacy_id}",
                        "name": record.name,
                        "status": status,
                        "lines": [
                            {
                                "sku": order.lines[line.line_index].variant.sku,
                                "quantity": line.quantity,
                                "reason": line.reason,
                                "customer_note": line.customer_note,
                            }
                            for line in record.lines
                        ],
                    }
                )
        return rows

    def fulfillments(self, domain: str) -> list[dict[str, Any]]:
        rows = []
        for order, state in self.states(domain):
            for fulfillment in state.fulfillments:
                rows.append(
                    {
                        "id": f"gid://shopify/Fulfillment/{fulfillment.legacy_id}",
                        "order_id": f"gid://shopify/Order/{order.legacy_id}",
                        "order_name": order.name,
                        "name": fulfillment.name,
                        "created_at": iso_utc(fulfillment.at),
                        "status": "SUCCESS",
                        "tracking": {
                            "company": fulfillment.company,
                            "number": fulfillment.number,
                            "url": fulfillment.url,
                        },
                        "lines": [
                            {"sku": order.lines[index].variant.sku, "quantity": quantity}
                            for index, quantity, _ in fulfillment.lines
                        ],
                    }
                )
        return rows

    def payouts(self, domain: str) -> list[dict[str, Any]]:
        """Every Shopify Payments payout issued up to now, oldest first, with its net, status, the orders it
        pays for and its money per category as the world generated it (simulator.shopify.payments)."""
        with self.lock:
            shop = self._sync(self.shop(domain))
            earlier: dict[int, Decimal] = {}  # what each order's charges paid so far, payouts oldest first
            return [
                payout_truth(payout, earlier)
                for payout in payments_payouts(shop, self.states(domain), self.world.now())
            ]

    def inventory(self, domain: str) -> list[dict[str, Any]]:
        """Stock per variant and location now: available, on_hand, committed and the other quantities."""
        with self.lock:
            shop = self._sync(self.shop(domain))
            rows = []
            for variant in shop.variants:
                for location in shop.locations:
                    quantities = self.quantities(shop, variant.inventory_item_id, location.legacy_id) or {}
                    rows.append(
                        {
                            "sku": variant.sku,
                            "inventory_item_id": f"gid://shopify/InventoryItem/{variant.inventory_item_id}",
                            "location_id": f"gid://shopify/Location/{location.legacy_id}",
                            "location": location.name,
                            **quantities,
                        }
                    )
            return rows

    def inventory_changes(self, domain: str) -> list[dict[str, Any]]:
        """Every change the app made through inventorySetQuantities, in order."""
        with self.lock:
            return list(self.shop(domain).inventory_changes)


def _amount(value: Any, currency: str) -> str:
    return str(quantize(value, currency))


def _order_truth(order: ShopOrder, state: OrderState) -> dict[str, Any]:
    currency, presentment = order.currency, order.presentment_currency
    return {
        "id": f"gid://shopify/Order/{order.legacy_id}",
        "legacy_id": order.legacy_id,
        "name": order.name,
        "created_at": iso_utc(order.created),
        "updated_at": iso_utc(state.updated_at),
        "cancelled_at": iso_utc(state.cancelled_at),
        "cancel_reason": state.cancel_reason,
        "financial_status": state.financial_status,
        "fulfillment_status": state.fulfillment_status,
        "currency": currency,
        "presentment_currency": presentment,
        "test": order.test,
        "tags": list(order.tags),
        "source_name": order.source_name,
        "total_price": _amount(order.total_price.shop, currency),
        "total_price_presentment": _amount(order.total_price.presentment, presentment),
        "subtotal_price": _amount(order.subtotal.shop, currency),
        "total_tax": _amount(order.total_tax.shop, currency),
        "total_discounts": _amount(order.total_discounts.shop, currency),
        "total_shipping": _amount(order.shipping.shop, currency),
        "total_refunded": _amount(state.refunded_amount.shop, currency),
        "shipping_country": order.address.country,
        "malformed": order.malformed is not None,
        "lines": [
            {
                "id": f"gid://shopify/LineItem/{line.legacy_id}",
                "sku": line.variant.sku,
                "quantity": line.quantity,
                "current_quantity": line.quantity - state.refunded[index],
                "unit_price": _amount(line.unit_price.shop, currency),
            }
            for index, line in enumerate(order.lines)
        ],
    }
