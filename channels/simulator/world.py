"""The seeded world behind every simulated vendor front.

`World(seed)` holds sellers, their catalogue, buyers' orders over time and the LWA credentials. It never
touches the database. Orders arrive lazily: each seller has a deterministic stream of arrival times
(history of the last 60 days when the seller is created, then live orders as the clock moves), and
each order carries its future timeline (PENDING → UNSHIPPED → SHIPPED / PARTIALLY_SHIPPED, or
CANCELLED). Querying the world at a later time shows the later state, and the same seed with the same
calls always gives the same world.

Time is `clock() + offset`: pass a `ManualClock` to control it completely, or call `world.advance()`.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.simulator.amazon.order_shape import ALL_DATASETS, render_order
from channels.simulator.auth import AuthRegistry
from channels.simulator.catalogue import MARKETPLACES, REGIONS
from channels.simulator.generation import UPPER_DIGITS, make_listings, make_order, whole_seconds
from channels.simulator.model import Order, Seller

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
    ) -> Seller:
        """Create a seller in a region with its catalogue and order history; `seller.refresh_token` is ready."""
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
        self._materialize(seller, self.now())
        return seller

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
