"""The seeded world behind every simulated vendor front.

`World(seed)` holds sellers, their catalogue, buyers' orders over time and the LWA credentials. It never
touches the database. Orders arrive lazily: each seller has a deterministic stream of arrival times
(history of the last 60 days when the seller is created, then live orders as the clock moves), and
each order carries its future timeline (PENDING → UNSHIPPED → SHIPPED / PARTIALLY_SHIPPED, or
CANCELLED). Querying the world at a later time shows the later state, and the same seed with the same
calls always gives the same world.

Time is `clock() + offset`: pass a `ManualClock` to control it completely, or call `world.advance()`.

Shipped lines may come back: returns and refunds are planned with each order (see `aftersales`) and show
up as time passes (`returns_for`, `refunds_for`). Sellers act on the world through the fronts: a feed
Amazon processes later is `schedule`d and applied, in order, before anyone next looks at that seller
(`confirm_shipment`, `refund_order`), and listing quantities are set with `set_listing_quantity`.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator import merchant, truth
from simulator.aftersales import CustomerReturn, order_after_sales
from simulator.amazon.order_shape import ALL_DATASETS, iso, render_order
from simulator.auth import AuthRegistry
from simulator.catalogue import MARKETPLACES, MARKETPLACES_BY_ID, REGIONS
from simulator.generation import UPPER_DIGITS, make_listings, make_order, whole_seconds
from simulator.merchant import AdjustedItem, OrderActionError
from simulator.model import Listing, Order, Refund, Seller

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.acorn-sim"
DEFAULT_CLIENT_SECRET = "acorn-sim-secret"
DEFAULT_APPLICATION_ID = "amzn1.sp.solution.acorn-sim"
# Amazon only shows orders last updated at least this long ago.
VISIBILITY_DELAY = timedelta(minutes=2)


class ManualClock:
    """A clock that only moves when told to (aware UTC datetimes, whole seconds)."""

    def __init__(self, start: datetime | None = None) -> None:
        moment = start or datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


def _real_clock() -> datetime:
    return datetime.now(UTC)


class UnknownSeller(KeyError):
    """No seller with that selling partner id."""


class World:
    """Sellers, catalogue, orders over time and credentials, all derived from one seed. Thread-safe."""

    def __init__(
        self,
        seed: int,
        clock: Callable[[], datetime] | None = None,
        *,
        auth_clock: Callable[[], float] = time.monotonic,
        orders_per_day: float = 20.0,
        live_orders_per_hour: float = 2.0,
        history_days: int = 60,
        malformed_rate: float = 0.02,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        application_id: str = DEFAULT_APPLICATION_ID,
    ) -> None:
        self.seed = seed
        self.clock = clock or _real_clock
        self.offset = timedelta(0)
        self.orders_per_day = orders_per_day
        self.live_orders_per_hour = live_orders_per_hour
        self.history_days = history_days
        self.malformed_rate = malformed_rate
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_id = application_id
        self.auth = AuthRegistry(seed=seed, clients={client_id: client_secret}, clock=auth_clock)
        self._lock = threading.RLock()
        self._sellers: dict[str, Seller] = {}
        self._orders: dict[str, Order] = {}
        self._orders_by_seller: dict[str, list[Order]] = {}
        self._sorted: set[str] = set()  # sellers whose order list is sorted by (created, order id)
        self._versions: dict[str, int] = {}  # bumped whenever a seller gets an order
        self._searches: dict[tuple[Any, ...], list[tuple[tuple[datetime, str], Order]]] = {}
        # Seller actions that take effect later (feeds being processed): a heap of (due, sequence, action).
        self._pending: dict[str, list[tuple[datetime, int, Callable[[datetime], None]]]] = {}
        self._pending_count = 0
        self._acting: set[str] = set()
        self._confirmations: dict[str, list[dict[str, Any]]] = {}
        self._adjustments: dict[str, list[dict[str, Any]]] = {}
        self._merchant_adjustment_ids: dict[str, dict[str, str]] = {}  # seller → MerchantAdjustmentItemID → refund
        self._listing_quantities: dict[tuple[str, str, str], tuple[int, datetime]] = {}

    # -- time ------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The world's current time (aware UTC, whole seconds)."""
        return whole_seconds(self.clock().astimezone(UTC) + self.offset)

    def advance(self, delta: timedelta) -> datetime:
        """Move the world forward (on top of whatever the clock does); returns the new time."""
        with self._lock:
            self.offset += delta
            return self.now()

    def _derive(self, *parts: object) -> int:
        digest = hashlib.blake2b(repr((self.seed, *parts)).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def _digits(self, *parts: object) -> str:
        """A 14-digit id derived from the seed and the parts (Amazon's adjustment ids look like this)."""
        return str(10**13 + self._derive(*parts) % (9 * 10**13))

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(self._derive(*parts))  # noqa: S311 - a reproducible world, not security

    # -- sellers ---------------------------------------------------------------------------------------

    def add_seller(
        self,
        region: str = "NA",
        marketplaces: Sequence[str] | None = None,
        *,
        name: str | None = None,
        selling_partner_id: str | None = None,
        orders_per_day: float | None = None,
        live_orders_per_hour: float | None = None,
        history_days: int | None = None,
        mfn_auto_ship: bool = True,
    ) -> Seller:
        """Create a seller in a region with its catalogue and order history; `seller.refresh_token` is ready.

        With `mfn_auto_ship=False` the seller's merchant-fulfilled orders only ship when a shipment
        confirmation feed says so."""
        region = region.upper()
        if region not in REGIONS:
            raise ValueError(f"Unknown region {region!r}; expected one of {', '.join(REGIONS)}")
        codes = [code.strip().upper() for code in (marketplaces or REGIONS[region][:1]) if code.strip()]
        wrong = [code for code in codes if code not in REGIONS[region]]
        if not codes or wrong:
            raise ValueError(f"Marketplaces {wrong or codes} are not in region {region} ({', '.join(REGIONS[region])})")
        with self._lock:
            spid = selling_partner_id or self._new_seller_id()
            if spid in self._sellers:
                raise ValueError(f"Seller {spid} already exists")
            rng = self._rng("seller", spid)
            now = self.now()
            seller = Seller(
                selling_partner_id=spid,
                name=name or f"Simulated seller {len(self._sellers) + 1} ({region})",
                region=region,
                marketplaces=tuple(MARKETPLACES[code] for code in dict.fromkeys(codes)),
                created_at=now,
                orders_per_day=self.orders_per_day if orders_per_day is None else orders_per_day,
                live_orders_per_hour=(
                    self.live_orders_per_hour if live_orders_per_hour is None else live_orders_per_hour
                ),
                mfn_auto_ship=mfn_auto_ship,
            )
            seller.listings = make_listings(seller, rng)
            days = self.history_days if history_days is None else history_days
            self._sellers[spid] = seller
            self._orders_by_seller[spid] = []
            seller.next_arrival = now - timedelta(days=days)
            seller.next_arrival = self._next_arrival_after(seller, seller.next_arrival)
            self._materialize(seller, now)
            seller.refresh_token = self.auth.issue_refresh_token(spid)
            return seller

    def _new_seller_id(self) -> str:
        index = len(self._sellers)
        while True:
            rng = self._rng("seller-id", index)
            spid = "A" + "".join(rng.choice(UPPER_DIGITS) for _ in range(13))
            if spid not in self._sellers:
                return spid
            index += 1

    def seller(self, seller_id: str) -> Seller:
        """The seller with that selling partner id (raises UnknownSeller)."""
        with self._lock:
            try:
                return self._sellers[seller_id]
            except KeyError:
                raise UnknownSeller(seller_id) from None

    def sellers(self) -> list[Seller]:
        with self._lock:
            return list(self._sellers.values())

    def issue_refresh_token(self, seller_id: str) -> str:
        """A fresh LWA refresh token for the seller, without going through the consent page."""
        self.seller(seller_id)
        token = self.auth.issue_refresh_token(seller_id)
        with self._lock:
            self._sellers[seller_id].revoked = False
        return token

    def issue_authorization_code(self, seller_id: str, redirect_uri: str) -> str:
        """The seller approved the app on the consent page: a single-use `spapi_oauth_code`."""
        seller = self.seller(seller_id)
        code = self.auth.issue_code(seller_id, redirect_uri)
        with self._lock:
            seller.revoked = False
        return code

    def revoke(self, seller_id: str) -> None:
        """The seller de-authorised the app: refresh and access tokens stop working until re-consent."""
        seller = self.seller(seller_id)
        self.auth.revoke(seller_id)
        with self._lock:
            seller.revoked = True

    def set_suspended(self, seller_id: str, code: str, suspended: bool = True) -> None:
        """The seller's listings in one of its marketplaces become Inactive (or active again)."""
        seller = self.seller(seller_id)
        with self._lock:
            (seller.suspended.add if suspended else seller.suspended.discard)(code)

    # -- orders ----------------------------------------------------------------------------------------

    def _rate_per_second(self, seller: Seller, moment: datetime) -> float:
        if moment < seller.created_at:
            return seller.orders_per_day / 86400
        return seller.live_orders_per_hour / 3600

    def _next_arrival_after(self, seller: Seller, moment: datetime) -> datetime | None:
        rate = self._rate_per_second(seller, moment)
        if rate <= 0:
            if moment < seller.created_at and seller.live_orders_per_hour > 0:
                return self._next_arrival_after(seller, seller.created_at)
            return None
        gap = self._rng("arrival-gap", seller.selling_partner_id, seller.arrival_count).expovariate(rate)
        return whole_seconds(moment + timedelta(seconds=max(gap, 1.0)))

    def _materialize(self, seller: Seller, until: datetime) -> None:
        """Generate the seller's arrivals up to `until` (caller holds the lock)."""
        while seller.next_arrival is not None and seller.next_arrival <= until:
            created = seller.next_arrival
            rng = self._rng("arrival", seller.selling_partner_id, seller.arrival_count)
            self._add_order(make_order(seller, created, rng, taken=self._orders, malformed_rate=self.malformed_rate))
            seller.arrival_count += 1
            seller.next_arrival = self._next_arrival_after(seller, created)

    def _sync(self, seller_id: str) -> Seller:
        seller = self.seller(seller_id)
        now = self.now()
        self._materialize(seller, now)
        self._run_due(seller_id, now)
        return seller

    # -- seller actions that take effect later -----------------------------------------------------------

    def schedule(self, seller_id: str, due: datetime, action: Callable[[datetime], None]) -> None:
        """Run `action(due)` once the world's time reaches `due`, before anything next reads the seller's
        orders. Actions run in due order (then in the order they were scheduled), under the world's lock."""
        with self._lock:
            self.seller(seller_id)
            self._pending_count += 1
            heapq.heappush(self._pending.setdefault(seller_id, []), (due, self._pending_count, action))

    def _run_due(self, seller_id: str, now: datetime) -> None:
        queue = self._pending.get(seller_id)
        if not queue or seller_id in self._acting:
            return
        self._acting.add(seller_id)
        try:
            while queue and queue[0][0] <= now:
                due, _, action = heapq.heappop(queue)
                action(due)
        finally:
            self._acting.discard(seller_id)

    def settle(self, seller_id: str) -> None:
        """Apply the seller's actions that are due by now (reads do this by themselves)."""
        with self._lock:
            self._sync(seller_id)

    def _order_at(self, seller_id: str, order_id: str, at: datetime) -> Order:
        order = self._orders.get(order_id)
        if order is None or order.seller_id != seller_id or order.created > at:
            raise OrderActionError(merchant.ORDER_NOT_FOUND, f"Order {order_id} was not found for this seller.")
        return order

    def _changed(self, seller_id: str) -> None:
        self._versions[seller_id] = self._versions.get(seller_id, 0) + 1

    def confirm_shipment(
        self,
        seller_id: str,
        order_id: str,
        *,
        fulfillment_date: datetime,
        carrier: str,
        service: str = "",
        tracking_number: str = "",
        items: Sequence[tuple[str, int | None]] | None = None,
        at: datetime | None = None,
        feed_id: str = "",
        message_id: int = 0,
    ) -> dict[str, Any]:
        """Ship units of a merchant-fulfilled order at `at` (default now); `items` are (order item id,
        quantity), none meaning everything left. Raises OrderActionError; returns the recorded confirmation."""
        with self._lock:
            self._sync(seller_id)
            moment = at or self.now()
            order = self._order_at(seller_id, order_id, moment)
            confirmed = sum(1 for event in order.events if event.shipment and "-C" in event.shipment.reference)
            shipment = merchant.confirm_shipment(
                order,
                at=moment,
                reference=f"PKG-{order_id[-7:]}-C{confirmed + 1}",
                fulfillment_date=fulfillment_date,
                carrier=carrier,
                service=service,
                tracking_number=tracking_number,
                items=items,
            )
            self._changed(seller_id)
            record = {
                "feed_id": feed_id or None,
                "message_id": message_id or None,
                "order_id": order_id,
                "package_reference": shipment.reference,
                "confirmed_at": iso(moment),
                "fulfillment_date": iso(fulfillment_date),
                "carrier": carrier,
                "shipping_method": service,
                "tracking_number": tracking_number,
                "items": [
                    {"order_item_id": order.lines[index].order_item_id, "quantity": quantity}
                    for index, quantity in shipment.quantities
                ],
            }
            self._confirmations.setdefault(seller_id, []).append(record)
            return record

    def refund_order(
        self,
        seller_id: str,
        order_id: str,
        *,
        reason: str,
        currency: str,
        items: Sequence[AdjustedItem],
        at: datetime | None = None,
        feed_id: str = "",
        message_id: int = 0,
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """Refund shipped lines of a merchant-fulfilled order at `at` (default now), as an order adjustment.

        Idempotent per MerchantAdjustmentItemID: items already applied are skipped. Returns the recorded
        adjustment (None when every item was a repeat) and the skipped MerchantAdjustmentItemIDs. Raises
        OrderActionError (nothing is applied then)."""
        with self._lock:
            self._sync(seller_id)
            moment = at or self.now()
            order = self._order_at(seller_id, order_id, moment)
            seen = self._merchant_adjustment_ids.setdefault(seller_id, {})
            fresh: list[AdjustedItem] = []
            skipped: list[str] = []
            for item in items:
                key = item.merchant_adjustment_item_id
                if key and (key in seen or any(key == other.merchant_adjustment_item_id for other in fresh)):
                    skipped.append(key)
                else:
                    fresh.append(item)
            if not fresh:
                return None, skipped
            keys = [item.merchant_adjustment_item_id for item in fresh]
            refund = merchant.refund_order(
                order,
                at=moment,
                refund_id=self._digits("adjustment", seller_id, order_id, feed_id, message_id, *keys),
                reason=reason,
                currency=currency,
                items=fresh,
                adjustment_item_ids=[
                    self._digits("adjustment-item", seller_id, order_id, feed_id, message_id, index)
                    for index in range(len(fresh))
                ],
                feed_id=feed_id,
                message_id=message_id,
            )
            for key in keys:
                if key:
                    seen[key] = refund.refund_id
            self._changed(seller_id)
            record = truth.refund_record(order, refund)
            record["message_id"] = message_id or None
            self._adjustments.setdefault(seller_id, []).append(record)
            return record, skipped

    def shipment_confirmations(self, seller_id: str) -> list[dict[str, Any]]:
        """Every shipment the seller confirmed (through feeds or `confirm_shipment`), in the order applied."""
        with self._lock:
            self._sync(seller_id)
            return [dict(record) for record in self._confirmations.get(seller_id, [])]

    def adjustments(self, seller_id: str) -> list[dict[str, Any]]:
        """Every refund the seller sent (order adjustments), as `refunds_for` shows refunds, in the order applied."""
        with self._lock:
            self._sync(seller_id)
            return [dict(record) for record in self._adjustments.get(seller_id, [])]

    # -- listings --------------------------------------------------------------------------------------

    def listing(self, seller_id: str, marketplace_id: str, sku: str) -> Listing | None:
        """The seller's listing of the SKU in the marketplace, if there is one."""
        marketplace = MARKETPLACES_BY_ID.get(marketplace_id)
        seller = self.seller(seller_id)
        if marketplace is None:
            return None
        return next((item for item in seller.listings.get(marketplace.code, ()) if item.sku == sku), None)

    def listing_quantity(self, seller_id: str, marketplace_id: str, sku: str) -> int | None:
        """The merchant-fulfilled quantity of the listing now (None: no such listing, or FBA only)."""
        found = self.listing(seller_id, marketplace_id, sku)
        if found is None or found.fba_only:
            return None
        with self._lock:
            quantity, _ = self._listing_quantities.get((seller_id, marketplace_id, sku), (found.mfn_quantity, None))
            return quantity

    def listing_updated_at(self, seller_id: str, marketplace_id: str, sku: str) -> datetime | None:
        """When the listing's quantity was last set (None: never since the seller was created)."""
        with self._lock:
            entry = self._listing_quantities.get((seller_id, marketplace_id, sku))
            return entry[1] if entry else None

    def set_listing_quantity(self, seller_id: str, marketplace_id: str, sku: str, quantity: int) -> None:
        """Set the merchant-fulfilled quantity of an existing, not FBA-only listing."""
        found = self.listing(seller_id, marketplace_id, sku)
        if found is None or found.fba_only or quantity < 0:
            raise ValueError(f"No merchant-fulfilled listing {sku} in {marketplace_id}, or a negative quantity")
        with self._lock:
            self._listing_quantities[(seller_id, marketplace_id, sku)] = (quantity, self.now())

    def _add_order(self, order: Order) -> None:
        self._orders[order.order_id] = order
        self._orders_by_seller[order.seller_id].append(order)
        self._sorted.discard(order.seller_id)
        self._versions[order.seller_id] = self._versions.get(order.seller_id, 0) + 1

    def generate_orders(
        self, seller_id: str, count: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[str]:
        """Create `count` extra orders created between start and end (default: the last 30 days, up to 5
        minutes ago). Returns their ids. Fast: a few thousand take well under a second."""
        with self._lock:
            seller = self._sync(seller_id)
            now = self.now()
            end = end or now - timedelta(minutes=5)
            start = start or end - timedelta(days=30)
            if end < start:
                raise ValueError("end is before start")
            span = int((end - start).total_seconds())
            batch = seller.batch_count
            seller.batch_count += 1
            times = sorted(
                start + timedelta(seconds=self._rng("batch-time", seller_id, batch, i).randint(0, span))
                for i in range(count)
            )
            ids = []
            for index, created in enumerate(times):
                order = make_order(
                    seller,
                    whole_seconds(created),
                    self._rng("batch", seller_id, batch, index),
                    taken=self._orders,
                    malformed_rate=self.malformed_rate,
                )
                self._add_order(order)
                ids.append(order.order_id)
            return ids

    # -- reading the world -----------------------------------------------------------------------------

    def seller_orders(self, seller_id: str) -> list[Order]:
        """The seller's orders (model objects) created up to now, oldest first."""
        with self._lock:
            self._sync(seller_id)
            orders = self._orders_by_seller[seller_id]
            if seller_id not in self._sorted:
                orders.sort(key=lambda order: (order.created, order.order_id))
                self._sorted.add(seller_id)
            end = bisect.bisect_right(orders, self.now(), key=lambda order: order.created)
            return orders[:end]

    def order(self, order_id: str) -> Order | None:
        """One order (model object) by id, if it exists by now."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            self._sync(order.seller_id)
            return order if order.created <= self.now() else None

    def orders_for(self, seller_id: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        """The truth: every order of the seller as Orders API 2026-01-01 JSON with all datasets, in its
        state at `at` (default now), well-formed even where the hostile profile would break it."""
        moment = at or self.now()
        return [
            render_order(order, order.state_at(moment), ALL_DATASETS)
            for order in self.seller_orders(seller_id)
            if order.created <= moment
        ]

    def visible_orders_for(self, seller_id: str) -> list[dict[str, Any]]:
        """What a client that has synced right up to now can know: orders as of two minutes ago."""
        return self.orders_for(seller_id, at=self.now() - VISIBILITY_DELAY)

    def after_sales(self, seller_id: str) -> list[tuple[Order, list[CustomerReturn], list[Refund]]]:
        """(order, returns, refunds) of the seller's orders that have any, over their whole known future."""
        found = []
        for order in self.seller_orders(seller_id):
            if order.plans or order.adjustments:
                returns, refunds = order_after_sales(order)
                if returns or refunds:
                    found.append((order, returns, refunds))
        return found

    def returns_for(self, seller_id: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        """The truth: the seller's customer returns a client can know at `at` (default two minutes ago): FBA
        returns processed by the fulfilment centre, merchant-fulfilled return requests; by request time."""
        moment = at or self.now() - VISIBILITY_DELAY
        records = [
            truth.return_record(customer_return, moment)
            for order, returns, _ in self.after_sales(seller_id)
            for customer_return in returns
            if order.created <= moment and truth.return_visible(customer_return, moment)
        ]
        records.sort(key=lambda record: (record["requested_at"], record["return_id"]))
        return records

    def refunds_for(self, seller_id: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        """The truth: the seller's refunds posted by `at` (default two minutes ago), by posting time."""
        moment = at or self.now() - VISIBILITY_DELAY
        records = [
            truth.refund_record(order, refund)
            for order, _, refunds in self.after_sales(seller_id)
            for refund in refunds
            if refund.posted <= moment
        ]
        records.sort(key=lambda record: (record["posted_at"], record["refund_id"]))
        return records

    def malformed_order_ids(self, seller_id: str) -> set[str]:
        """Ids of the seller's orders that the hostile fault profile always sends broken."""
        return {order.order_id for order in self.seller_orders(seller_id) if order.malformed}

    def search_orders(
        self,
        seller_id: str,
        *,
        by_created: bool,
        after: datetime,
        before: datetime,
        at: datetime,
        marketplace_ids: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        fulfilled_by: Iterable[str] | None = None,
    ) -> list[tuple[tuple[datetime, str], Order]]:
        """Orders as they are at `at` whose creation (or last update) time lies in [after, before],
        sorted by that time then order id: the keys searchOrders pages through. `before` <= `at`."""
        orders = self.seller_orders(seller_id)
        wanted_marketplaces = frozenset(marketplace_ids or ())
        wanted_statuses = frozenset(statuses or ())
        wanted_fulfilled_by = frozenset(fulfilled_by or ())
        with self._lock:
            version = self._versions.get(seller_id, 0)
            key: tuple[Any, ...] = (seller_id, version, by_created, after, before, at)
            key += (wanted_marketplaces, wanted_statuses, wanted_fulfilled_by)
            cached = self._searches.get(key)
        if cached is not None:  # the next page of the same window, with the clock standing still
            return cached
        found = []
        for order in orders:
            if order.created > before or order.created > at:
                break  # oldest first: nothing later can match
            if wanted_marketplaces and order.marketplace.marketplace_id not in wanted_marketplaces:
                continue
            if wanted_fulfilled_by and order.fulfilled_by not in wanted_fulfilled_by:
                continue
            moment = order.created if by_created else order.last_updated_at(at)
            if not after <= moment <= before:
                continue
            if wanted_statuses and order.status_at(at) not in wanted_statuses:
                continue
            found.append(((moment, order.order_id), order))
        found.sort(key=lambda entry: entry[0])
        with self._lock:
            if len(self._searches) >= 32:
                self._searches.pop(next(iter(self._searches)))
            self._searches[key] = found
        return found
