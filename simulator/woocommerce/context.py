"""The WooCommerce front's state inside one simulator server: sites, keys, orders over time, stock and
webhooks, plus the truth accessors tests compare a client's sync with.

    site = sim.woo.add_site("demo-shop", currency="EUR", timezone="Europe/Berlin")
    site_url = sim.woo.site_url("demo-shop")            # https://127.0.0.1:<tls port>/woo/demo-shop
    key = sim.woo.site("demo-shop").keys[...]            # or sim.woo.issue_keys("demo-shop")
    sim.world.advance(timedelta(hours=6))                # orders arrive, get paid, shipped, refunded
    sim.woo.deliver_pending()                            # send the webhooks that are due
    sim.woo.visible_orders("demo-shop")                  # what a full sync should hold now

Time is the world's (`world.now()`). Every call first brings the site up to now: new orders are
generated, and each event that happened since the last call takes its stock effect and queues its
webhooks. Calls through the REST API add events at the moment they are made.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.faults import FaultInjector
from simulator.woocommerce import truth
from simulator.woocommerce.catalogue import (
    COUNTRY_LANGUAGES,
    FAILED,
    FULL_REFUND_REASON,
    ON_HOLD,
    PENDING,
    PROCESSING,
    REFUNDED,
    TIMEZONE_COUNTRIES,
)
from simulator.woocommerce.generation import make_catalogue, make_order
from simulator.woocommerce.hooks import Deliver, WebhookDelivery, WebhookDispatcher
from simulator.woocommerce.model import (
    API,
    DRIFT,
    GENERATED,
    ApiKey,
    Note,
    Order,
    OrderEvent,
    OrderState,
    Product,
    Refund,
    RefundLine,
)
from simulator.woocommerce.render import order_json, product_json
from simulator.woocommerce.rest import WooError
from simulator.woocommerce.site import INCLUSIVE_PRICE_COUNTRIES, Webhook, WooSite, whole_seconds
from simulator.world import World

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
USER_NAMES = {1: "admin", 2: "shopmanager"}


class UnknownSite(KeyError):
    """No site with that slug."""


def _decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric string as Decimal; None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


class WooContext:
    """Every WooCommerce site of one server. Thread-safe (one re-entrant lock)."""

    def __init__(
        self,
        world: World,
        faults: FaultInjector,
        *,
        site_url_base: Callable[[], str],
        deliver: Deliver | None = None,
        auth_clock: Callable[[], float] = time.time,
    ) -> None:
        self.world = world
        self.faults = faults
        self._site_url_base = site_url_base
        self.auth_clock = auth_clock  # wall clock for OAuth timestamps (the client library uses time())
        self.lock = threading.RLock()
        self.sites: dict[str, WooSite] = {}
        self.hooks = WebhookDispatcher(self, deliver)

    def now(self) -> datetime:
        return self.world.now()

    def site_url(self, slug: str) -> str:
        """The site's home URL on the TLS listener, e.g. https://127.0.0.1:8766/woo/demo-shop."""
        return f"{self._site_url_base()}/woo/{slug}"

    @property
    def deliver(self) -> Deliver:
        return self.hooks.deliver

    @deliver.setter
    def deliver(self, value: Deliver) -> None:
        self.hooks.deliver = value

    # -- sites and keys ---------------------------------------------------------------------------------

    def add_site(
        self,
        slug: str,
        *,
        name: str | None = None,
        currency: str = "EUR",
        timezone: str = "Europe/Berlin",
        country: str | None = None,
        language: str | None = None,
        manage_stock: bool = True,
        woocommerce: bool = True,
        prices_include_tax: bool | None = None,
        multi_currency: bool = True,
        orders_per_day: float = 12.0,
        live_orders_per_hour: float = 2.0,
        history_days: int = 60,
        malformed_rate: float = 0.02,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
    ) -> WooSite:
        """A shop with its catalogue, `history_days` of orders and one read/write API key (`site.keys`)."""
        if not SLUG.match(slug):
            raise ValueError(f"Site slug {slug!r} must be lower-case letters, digits and dashes")
        country = (country or TIMEZONE_COUNTRIES.get(timezone, "DE")).upper()
        with self.lock:
            if slug in self.sites:
                raise ValueError(f"Site {slug!r} already exists")
            now = self.now()
            site = WooSite(
                seed=self.world.seed,
                slug=slug,
                name=name or f"{slug.replace('-', ' ').title()}",
                currency=currency.upper(),
                timezone_name=timezone,
                country=country,
                language=language or COUNTRY_LANGUAGES.get(country, "en"),
                manage_stock=manage_stock,
                woocommerce=woocommerce,
                prices_include_tax=(
                    country in INCLUSIVE_PRICE_COUNTRIES if prices_include_tax is None else prices_include_tax
                ),
                multi_currency=multi_currency,
                created_at=now,
                orders_per_day=orders_per_day,
                live_orders_per_hour=live_orders_per_hour,
                malformed_rate=malformed_rate,
            )
            site.zone  # noqa: B018 - fail early on an unknown time zone
            if woocommerce:
                make_catalogue(site)
                site.next_arrival = self._next_arrival_after(site, now - timedelta(days=history_days))
            self.sites[slug] = site
            if consumer_key or consumer_secret:
                self.register_keys(slug, consumer_key or "", consumer_secret or "")
            else:
                self.issue_keys(slug)
            site.cursor = now
            self._materialize(site, now)
            return site

    def site(self, slug: str) -> WooSite:
        with self.lock:
            try:
                return self.sites[slug]
            except KeyError:
                raise UnknownSite(slug) from None

    def issue_keys(self, slug: str, permissions: str = "read_write", *, user_id: int = 1) -> ApiKey:
        """A new API key for the site (deterministic from the seed): `key.consumer_key`, `.consumer_secret`."""
        if permissions not in ("read", "write", "read_write"):
            raise ValueError(f"Unknown permissions {permissions!r}")
        with self.lock:
            site = self.site(slug)
            site.key_count += 1
            consumer_key = site.token("ck_", "consumer-key", site.key_count)
            consumer_secret = site.token("cs_", "consumer-secret", site.key_count)
            return self._add_key(site, consumer_key, consumer_secret, permissions, user_id)

    def register_keys(
        self, slug: str, consumer_key: str, consumer_secret: str, permissions: str = "read_write", *, user_id: int = 1
    ) -> ApiKey:
        """Accept a fixed key pair (the demo's site keeps its keys across simulator restarts)."""
        if not consumer_key.startswith("ck_") or not consumer_secret.startswith("cs_"):
            raise ValueError("A consumer key starts with ck_ and a consumer secret with cs_")
        with self.lock:
            site = self.site(slug)
            site.key_count += 1
            return self._add_key(site, consumer_key, consumer_secret, permissions, user_id)

    @staticmethod
    def _add_key(site: WooSite, consumer_key: str, consumer_secret: str, permissions: str, user_id: int) -> ApiKey:
        key = ApiKey(site.key_count, user_id, consumer_key, consumer_secret, permissions, f"Key {site.key_count}")
        site.keys[consumer_key] = key
        return key

    def revoke(self, slug: str, consumer_key: str | None = None) -> None:
        """The shop owner deleted the API key (every key of the site when none is named)."""
        with self.lock:
            site = self.site(slug)
            for key in [consumer_key] if consumer_key else list(site.keys):
                site.keys.pop(key, None)
                site.nonces.pop(key, None)

    def set_manage_stock(self, slug: str, enabled: bool) -> None:
        """WooCommerce → Settings → Products → Inventory → Manage stock."""
        with self.lock:
            self.site(slug).manage_stock = enabled

    # -- time -------------------------------------------------------------------------------------------

    def _next_arrival_after(self, site: WooSite, moment: datetime) -> datetime | None:
        rate = site.orders_per_day / 86400 if moment < site.created_at else site.live_orders_per_hour / 3600
        if rate <= 0:
            if moment < site.created_at and site.live_orders_per_hour > 0:
                return self._next_arrival_after(site, site.created_at)
            return None
        gap = site.rng("arrival-gap", site.arrival_count).expovariate(rate)
        return whole_seconds(moment + timedelta(seconds=max(gap, 1.0)))

    def _materialize(self, site: WooSite, until: datetime) -> None:
        while site.next_arrival is not None and site.next_arrival <= until:
            created = site.next_arrival
            order = make_order(site, created, site.rng("arrival", site.arrival_count))
            site.orders[order.id] = order
            site.order_list.append(order)
            site.arrival_count += 1
            site.next_arrival = self._next_arrival_after(site, created)

    def advance(self, site: WooSite) -> None:
        """Bring the site up to now: new orders, and the stock effects and webhooks of what happened since."""
        with self.lock:
            now = self.now()
            self._materialize(site, now)
            start = site.cursor
            if start is None or now <= start:
                return
            happened = []
            for order in site.order_list:
                if order.events[-1].at <= start:
                    continue
                for index, (event, _, deltas) in enumerate(order.replay()):
                    if event.source == GENERATED and start < event.at <= now:
                        happened.append((event.at, order.id, index, order, event, deltas))
            happened.sort(key=lambda entry: entry[:3])
            for at, _, index, order, event, deltas in happened:
                self._apply_stock(site, order, deltas)
                self.hooks.enqueue(site, "order.created" if index == 0 else f"order.{event.topic_event}", order.id, at)
            site.cursor = now

    def _apply_stock(self, site: WooSite, order: Order, deltas: dict[int, int]) -> list[tuple[Product, int, int]]:
        changed = []
        for index, delta in deltas.items():
            line = order.lines[index]
            product = site.managed_stock(line.variation_id or line.product_id)
            if product is None or product.stock_quantity is None or delta == 0:
                continue
            old = product.stock_quantity
            product.stock_quantity = old + delta
            changed.append((product, old, product.stock_quantity))
        return changed

    def _add_api_event(
        self, site: WooSite, order: Order, event: OrderEvent, *, truncate: bool
    ) -> list[tuple[Product, int, int]]:
        if truncate:
            order.drop_generated_after(event.at)
        order.add_event(event)
        changed: list[tuple[Product, int, int]] = []
        for step_event, _, deltas in order.replay():
            if step_event is event:
                changed = self._apply_stock(site, order, deltas)
                break
        self.hooks.enqueue(site, f"order.{event.topic_event}", order.id, event.at)
        return changed

    # -- reading ----------------------------------------------------------------------------------------

    def open_site(self, slug: str) -> WooSite:
        """The site brought up to now (caller holds `lock`)."""
        site = self.site(slug)
        self.advance(site)
        return site

    def states(self, site: WooSite) -> list[tuple[Order, OrderState]]:
        now = self.now()
        return [(order, order.state_at(now)) for order in site.order_list if order.created <= now]

    def order(self, site: WooSite, order_id: int) -> Order | None:
        order = site.orders.get(order_id)
        return order if order is not None and order.created <= self.now() else None

    # -- changes through the API ------------------------------------------------------------------------

    def update_order(
        self,
        site: WooSite,
        order: Order,
        *,
        key: ApiKey,
        status: str | None = None,
        meta: list[dict[str, Any]] | None = None,
        customer_note: str | None = None,
        transaction_id: str | None = None,
        set_paid: bool = False,
    ) -> None:
        """PUT /orders/{id}: a status change (with WooCommerce's side effects), meta data, notes."""
        now = self.now()
        state = order.state_at(now)
        target = status or state.status
        if set_paid and target in (PENDING, FAILED, ON_HOLD):
            target = PROCESSING
        notes: list[Note] = []
        refund: Refund | None = None
        new_status = target if target != state.status else None
        if new_status is not None:
            notes.append(site.status_note(now, state.status, new_status))
            remaining = order.total - state.refunded
            if new_status == REFUNDED and remaining > 0:  # wc_order_fully_refunded(): a refund for the rest
                refund = Refund(site.post_id(), order.id, now, remaining, FULL_REFUND_REASON, key.user_id, False)
                notes.append(
                    site.note(
                        now,
                        "Order status set to refunded. To return funds to the customer you will need to issue a "
                        "refund through your payment gateway.",
                    )
                )
        meta_entries = []
        existing = {entry_key: meta_id for meta_id, entry_key, _ in state.meta}
        by_id = {meta_id for meta_id, _, _ in state.meta}
        for entry in meta or []:
            entry_key = str(entry.get("key", ""))
            if not entry_key:
                continue
            meta_id = entry.get("id")
            if not (isinstance(meta_id, int) and meta_id in by_id):
                meta_id = existing.get(entry_key) or site.meta_id()
            meta_entries.append((meta_id, entry_key, entry.get("value")))
        changed_note = customer_note is not None and customer_note != state.customer_note
        changed_transaction = transaction_id is not None and transaction_id != state.transaction_id
        if new_status is None and not meta_entries and not changed_note and not changed_transaction:
            return
        event = OrderEvent(
            at=now,
            source=API,
            status=new_status,
            refund=refund,
            meta=tuple(meta_entries),
            notes=tuple(notes),
            transaction_id=transaction_id if changed_transaction else None,
            customer_note=customer_note if changed_note else None,
        )
        self._add_api_event(site, order, event, truncate=new_status is not None)

    def create_refund(self, site: WooSite, order: Order, body: dict[str, Any], key: ApiKey) -> Refund:
        """POST /orders/{id}/refunds as `wc_create_refund()` does it (raises WooError like WooCommerce)."""
        now = self.now()
        state = order.state_at(now)
        api_refund = body["api_refund"] if isinstance(body.get("api_refund"), bool) else True
        api_restock = body["api_restock"] if isinstance(body.get("api_restock"), bool) else True
        wanted = self._refund_lines(body.get("line_items"))
        raw_amount = body.get("amount")
        if raw_amount is None:  # RestApiUtil: the amount is the sum of the lines when every line says it
            parts = [part for _, _, total, taxes in wanted for part in (total, *taxes)]
            known = [part for part in parts if part is not None]
            raw_amount = sum(known, Decimal(0)) if wanted and len(known) == len(parts) else Decimal(0)
        amount = _decimal(raw_amount)
        if amount is not None and amount < 0:
            raise WooError(400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.")
        remaining = order.total - state.refunded
        if amount is None or amount > remaining:
            raise WooError(500, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        if api_refund:
            if not order.gateway.supports_refunds:
                raise WooError(
                    500,
                    "woocommerce_rest_cannot_create_order_refund",
                    "The payment gateway for this order does not support automatic refunds.",
                )
            if not state.transaction_id:
                raise WooError(
                    500,
                    "woocommerce_rest_cannot_create_order_refund",
                    "An error occurred while attempting to create the refund using the payment gateway API.",
                )
        lines: dict[int, RefundLine] = {}
        for item_id, quantity, total, taxes in wanted:
            line = order.line(item_id)
            tax = sum((value for value in taxes if value is not None), Decimal(0))
            if line is None or (not quantity and not total and not tax):
                continue
            previous = lines.get(item_id)
            lines[item_id] = RefundLine(
                previous.item_id if previous else site.item_id(),
                item_id,
                quantity + (previous.quantity if previous else 0),
                (total or Decimal(0)) + (previous.total if previous else Decimal(0)),
                tax + (previous.total_tax if previous else Decimal(0)),
            )
        reason = body.get("reason")
        refund = Refund(
            id=site.post_id(),
            order_id=order.id,
            created=now,
            amount=amount,
            reason=str(reason) if reason else "",
            refunded_by=key.user_id,
            refunded_payment=api_refund,
            lines=tuple(lines.values()),
            restock=api_restock,
        )
        fully = remaining - amount <= 0
        new_status = REFUNDED if fully and state.status != REFUNDED else None
        notes = (site.status_note(now, state.status, REFUNDED),) if new_status else ()
        event = OrderEvent(at=now, source=API, refund=refund, status=new_status, notes=notes)
        for product, old, new in self._add_api_event(site, order, event, truncate=True):
            order.extra_notes.append(site.note(now, f"Item #{product.id} stock increased from {old} to {new}."))
        return refund

    @staticmethod
    def _refund_lines(raw: Any) -> list[tuple[int, int, Decimal | None, list[Decimal | None]]]:
        """`line_items` of a refund request, public format ([{id, quantity, refund_total, refund_tax}]) or
        WooCommerce's internal one ({id: {qty, refund_total, refund_tax: {rate id: amount}}})."""
        entries: list[tuple[Any, dict[str, Any]]] = []
        if isinstance(raw, dict):
            entries = [(item_id, value) for item_id, value in raw.items() if isinstance(value, dict)]
        elif isinstance(raw, list):
            entries = [(value.get("id"), value) for value in raw if isinstance(value, dict)]
        result = []
        for item_id, value in entries:
            try:
                number = int(item_id)
                quantity = int(value.get("quantity", value.get("qty", 0)) or 0)
            except (TypeError, ValueError):
                continue
            taxes_raw = value.get("refund_tax") or []
            if isinstance(taxes_raw, dict):
                taxes = [_decimal(amount) for amount in taxes_raw.values()]
            else:
                taxes = [_decimal(tax.get("refund_total")) for tax in taxes_raw if isinstance(tax, dict)]
            result.append((number, quantity, _decimal(value.get("refund_total", 0)), taxes))
        return result

    def add_note(
        self, site: WooSite, order: Order, text: str, *, customer_note: bool, added_by_user: bool, key: ApiKey
    ) -> Note:
        """POST /orders/{id}/notes (a note does not change the order's date_modified)."""
        author = USER_NAMES.get(key.user_id, f"user{key.user_id}") if added_by_user else "system"
        note = site.note(self.now(), text, customer_note=customer_note, author=author)
        order.extra_notes.append(note)
        return note

    def touch_order(self, site: WooSite, order: Order) -> None:
        """A plugin updates the order's meta data (page drift under the hostile profile)."""
        event = OrderEvent(at=self.now(), source=DRIFT, meta=((site.meta_id(), "_fraud_check_status", "passed"),))
        self._add_api_event(site, order, event, truncate=False)

    def product_updated(self, site: WooSite, product: Product) -> None:
        product.modified = self.now()
        self.hooks.enqueue(site, "product.updated", product.id, product.modified)

    # -- webhooks ---------------------------------------------------------------------------------------

    def create_webhook(
        self, site: WooSite, *, name: str, topic: str, delivery_url: str, secret: str | None, status: str, key: ApiKey
    ) -> Webhook:
        now = self.now()
        if not secret:
            alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
            rng = site.rng("webhook-secret", site.next_webhook_id)
            secret = "".join(rng.choice(alphabet) for _ in range(50))
        webhook = Webhook(site.next_webhook_id, name, topic, delivery_url, secret, status, key.user_id, now, now)
        site.next_webhook_id += 1
        site.webhooks[webhook.id] = webhook
        return webhook

    def webhook_payload(self, site: WooSite, resource: str, event: str, resource_id: int) -> Any:
        """The body WooCommerce would build now: the resource's REST JSON, or just its id once deleted."""
        if event == "deleted":
            return {"id": resource_id}
        if resource == "order":
            order = site.orders.get(resource_id)
            if order is not None:
                return order_json(site, self.site_url(site.slug), order, order.state_at(self.now()))
        if resource == "product":
            product = site.products.get(resource_id)
            if product is not None:
                return product_json(site, self.site_url(site.slug), product)
        return {}

    def deliver_pending(self) -> list[WebhookDelivery]:
        """Send every webhook delivery that is due now; returns what was sent (also in `webhook_log`)."""
        return self.hooks.deliver_pending()

    def start_delivery_thread(self, interval: float = 1.0) -> None:
        """Deliver webhooks in the background (for `simulate_channels`)."""
        self.hooks.start(interval)

    def close(self) -> None:
        self.hooks.stop()

    @property
    def webhook_log(self) -> list[WebhookDelivery]:
        with self.lock:
            return list(self.hooks.log)

    # -- the truth (see truth.py) ----------------------------------------------------------------------

    def visible_orders(self, slug: str) -> list[dict[str, Any]]:
        """What a full sync should hold now: every order not in the trash, well-formed, amounts as strings."""
        with self.lock:
            return truth.visible_orders(self, self.open_site(slug))

    def refunds(self, slug: str) -> list[dict[str, Any]]:
        """Every refund made by now, oldest first."""
        with self.lock:
            return truth.refunds(self, self.open_site(slug))

    def stock(self, slug: str) -> dict[str, int]:
        """SKU → quantity of every product and variation that manages stock (empty when the shop does not)."""
        with self.lock:
            return truth.stock(self.open_site(slug))

    def notes(self, slug: str, order_id: int) -> list[dict[str, Any]]:
        """The order's notes visible now, oldest first."""
        with self.lock:
            site = self.open_site(slug)
            order = self.order(site, order_id)
            return truth.notes(order, self.now()) if order is not None else []

    def malformed_order_ids(self, slug: str) -> set[int]:
        """Ids of the orders the hostile fault profile always sends broken."""
        with self.lock:
            site = self.open_site(slug)
            return {order.id for order, _ in self.states(site) if order.malformed}
