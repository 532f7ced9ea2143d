"""A third-party (overseas) warehouse front: takes ACORN's signed JSON orders and cancels, and calls back
with tracking once it has "shipped" them.

    url = sim.warehouse.add_warehouse("la-3pl", secret)   # {sim.url}/warehouse/la-3pl/orders
    sim.warehouse.delay_seconds = 0                      # ship at once (default: a few seconds of wall time)
    ...                                                  # ACORN posts its orders to `url`
    sim.warehouse.orders("la-3pl")                       # what it received, as plain dicts
    sim.warehouse.set_deliver(lambda url, headers, body: 200)   # callback transport (default: HTTP POST)
    sim.warehouse.deliver_due()                          # POST the signed "shipped" callbacks that are due
    sim.warehouse.fail_next("la-3pl", 503)               # the next call answers 503 (0: drop the connection)

`POST /warehouse/{slug}/orders` (JSON):

* signed like ACORN signs: ``X-Acorn-Timestamp: <unix seconds>``, ``X-Acorn-Signature: sha256=<hex
  HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>``; a wrong signature or a timestamp more than 300 s
  away answers 401 and records nothing;
* ``Idempotency-Key`` is required: the same key gets the same answer again (one order, whatever the retries);
  the same ``request_key`` under a new key gets the existing order back (200);
* ``{"event": "order", "request_key", "callback_url", "order": {..., "lines": [{"line_id", "quantity"}, ...]}}``
  answers 201 ``{"warehouse_reference": "WH-…", "status": "accepted"}``;
* ``{"event": "cancel", "request_key"}`` answers 200 ``{"status": "cancelled"}``, 404 for an unknown order,
  409 once it has shipped.

The fault profile's 429 / 503 / dropped connections / timeouts apply to these calls too. After
`delay_seconds` an accepted order ships: one parcel with every line, and a signed callback
``{"event": "shipped", "request_key", "warehouse_reference", "shipments": [{"carrier": "UPS",
"tracking_number": "1Z…", "ship_method": "Ground", "shipped_at": iso8601, "lines": [{"line_id", "quantity"}]}]}``
is POSTed to the order's callback_url by `deliver_due()` (or the background thread), retried a few times
when it is not answered 2xx; the fault profile may also send it twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.faults import DROP_CONNECTION, FaultInjector
from simulator.http import Request, Response, Route
from simulator.shopify.webhooks import Deliver, http_deliver

logger = logging.getLogger(__name__)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SIGNATURE_MAX_AGE_SECONDS = 300
DEFAULT_DELAY_SECONDS = 5.0
CALLBACK_MAX_ATTEMPTS = 5
CALLBACK_BACKOFF_SECONDS = (1.0, 5.0, 15.0, 60.0)  # wall time before each retry of a callback


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Acorn-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(secret: str, timestamp: str, body: bytes, given: str, now: float) -> bool:
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > SIGNATURE_MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given.strip().lower())


@dataclass
class WarehouseOrder:
    """One order the warehouse accepted."""

    slug: str
    reference: str
    request_key: str
    callback_url: str
    order: dict[str, Any]
    received_at: float
    ship_due_at: float
    cancelled: bool = False
    shipped: bool = False
    tracking_number: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "warehouse_reference": self.reference,
            "request_key": self.request_key,
            "callback_url": self.callback_url,
            "order": json.loads(json.dumps(self.order)),
            "cancelled": self.cancelled,
            "shipped": self.shipped,
            "tracking_number": self.tracking_number,
        }


@dataclass
class Warehouse:
    slug: str
    secret: str
    delay_seconds: float | None = None  # None: the context's delay
    orders: dict[str, WarehouseOrder] = field(default_factory=dict)  # by request_key
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by Idempotency-Key
    scripted: deque[int] = field(default_factory=deque)  # statuses to answer next (0: drop the connection)
    sequence: int = 0


@dataclass
class _Callback:
    slug: str
    request_key: str
    url: str
    body: bytes
    duplicate: bool = False
    attempts: int = 0
    next_attempt_at: float = 0.0


@dataclass(frozen=True)
class CallbackRecord:
    """One callback attempt: the simulator's log of what it sent to ACORN."""

    slug: str
    request_key: str
    url: str
    attempt: int
    status: int | None  # None: not answered
    body: bytes
    headers: dict[str, str]
    error: str | None = None
    duplicate: bool = False
    gave_up: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WarehouseContext:
    """The warehouses of one simulator server. Thread-safe (one lock)."""

    def __init__(
        self,
        faults: FaultInjector,
        *,
        base_url: Callable[[], str],
        clock: Callable[[], float] = time.time,
        deliver: Deliver = http_deliver,
        delay_seconds: float = DEFAULT_DELAY_SECONDS,
    ) -> None:
        self.faults = faults
        self.base_url = base_url
        self.clock = clock
        self.deliver = deliver
        self.delay_seconds = delay_seconds
        self.lock = threading.RLock()
        self._warehouses: dict[str, Warehouse] = {}
        self._callbacks: list[_Callback] = []
        self._flush_lock = threading.Lock()
        self.log: list[CallbackRecord] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- set-up and truth for tests ---------------------------------------------------------------------------

    def url(self, slug: str) -> str:
        return f"{self.base_url()}/warehouse/{slug}/orders"

    def add_warehouse(self, slug: str, secret: str, *, delay_seconds: float | None = None) -> str:
        """A warehouse that verifies orders with `secret`; returns its order endpoint URL."""
        if not SLUG.match(slug):
            raise ValueError(f"{slug!r} is not a warehouse slug (lower-case letters, digits, dashes)")
        with self.lock:
            if slug in self._warehouses:
                raise ValueError(f"Warehouse {slug} already exists")
            self._warehouses[slug] = Warehouse(slug=slug, secret=secret, delay_seconds=delay_seconds)
        return self.url(slug)

    def set_secret(self, slug: str, secret: str) -> None:
        """The seller gave the warehouse a new secret."""
        with self.lock:
            self._warehouses[slug].secret = secret

    def fail_next(self, slug: str, status: int, times: int = 1) -> None:
        """The next `times` calls answer `status` (0: the connection drops) before anything is checked."""
        with self.lock:
            self._warehouses[slug].scripted.extend([status] * times)

    def orders(self, slug: str) -> list[dict[str, Any]]:
        """Every order the warehouse accepted, in arrival order."""
        with self.lock:
            return [order.as_dict() for order in self._warehouses[slug].orders.values()]

    def set_deliver(self, deliver: Deliver) -> None:
        """Send callbacks through `deliver(url, headers, body) -> status` (e.g. Django's test client)."""
        self.deliver = deliver

    @property
    def callback_log(self) -> list[CallbackRecord]:
        with self.lock:
            return list(self.log)

    # -- the API ----------------------------------------------------------------------------------------------

    def handle_orders(self, request: Request, params: dict[str, str]) -> Response:
        slug = params["slug"]
        with self.lock:
            warehouse = self._warehouses.get(slug)
            scripted = warehouse.scripted.popleft() if warehouse is not None and warehouse.scripted else None
        if warehouse is None:
            return Response.json_body({"error": "unknown warehouse"}, status=404)
        if scripted is not None:
            if scripted == DROP_CONNECTION:
                return Response.drop()
            return Response.json_body({"error": f"scripted failure {scripted}"}, status=scripted)
        key = request.header("idempotency-key").strip()
        fingerprint = hashlib.sha256(repr((slug, key, request.body)).encode()).hexdigest()
        fault = self.faults.before_call("warehouse.orders", fingerprint)
        if fault is not None:
            if fault.status == DROP_CONNECTION:
                return Response.drop(fault.hang_seconds)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return Response.json_body({"error": "try again later"}, status=fault.status, headers=headers)
        timestamp = request.header("x-acorn-timestamp").strip()
        given = request.header("x-acorn-signature")
        if not signature_ok(warehouse.secret, timestamp, request.body, given, self.clock()):
            return Response.json_body({"error": "invalid signature"}, status=401)
        try:
            payload = request.json()
        except ValueError:
            return Response.json_body({"error": "body is not JSON"}, status=400)
        if not key:
            return Response.json_body({"error": "Idempotency-Key header is required"}, status=400)
        with self.lock:
            if key in warehouse.answers:
                status, body = warehouse.answers[key]
                return Response.json_body(body, status=status)
            status, body = self._act(warehouse, payload)
            if status < 500:
                warehouse.answers[key] = (status, body)
        return Response.json_body(body, status=status)

    def _act(self, warehouse: Warehouse, payload: Any) -> tuple[int, dict[str, Any]]:
        """Take an order or a cancel (caller holds the lock)."""
        if not isinstance(payload, dict):
            return 400, {"error": "body must be a JSON object"}
        request_key = payload.get("request_key")
        if not isinstance(request_key, str) or not request_key:
            return 422, {"error": "request_key is required", "field": "request_key"}
        event = payload.get("event")
        if event == "cancel":
            existing = warehouse.orders.get(request_key)
            if existing is None:
                return 404, {"error": "unknown order", "request_key": request_key}
            if existing.shipped:
                return 409, {"error": "already shipped", "warehouse_reference": existing.reference}
            existing.cancelled = True
            return 200, {"warehouse_reference": existing.reference, "status": "cancelled"}
        if event != "order":
            return 400, {"error": "event must be order or cancel", "field": "event"}
        existing = warehouse.orders.get(request_key)
        if existing is not None:
            return 200, {"warehouse_reference": existing.reference, "status": "accepted", "duplicate": True}
        problem = _order_problem(payload)
        if problem is not None:
            return 422, {"error": problem[1], "field": problem[0]}
        warehouse.sequence += 1
        now = self.clock()
        delay = self.delay_seconds if warehouse.delay_seconds is None else warehouse.delay_seconds
        order = WarehouseOrder(
            slug=warehouse.slug,
            reference=f"WH-{warehouse.slug.upper()}-{warehouse.sequence:06d}",
            request_key=request_key,
            callback_url=str(payload["callback_url"]),
            order=payload["order"],
            received_at=now,
            ship_due_at=now + max(delay, 0.0),
        )
        warehouse.orders[request_key] = order
        return 201, {"warehouse_reference": order.reference, "status": "accepted"}

    # -- shipping and callbacks -----------------------------------------------------------------------------

    def _ship_due(self, now: float) -> None:
        """Orders whose delay has passed ship; their callbacks are queued (caller holds the lock)."""
        for warehouse in self._warehouses.values():
            for order in warehouse.orders.values():
                if order.cancelled or order.shipped or order.ship_due_at > now:
                    continue
                order.shipped = True
                digest = hashlib.sha256(order.reference.encode()).hexdigest().upper()
                order.tracking_number = f"1Z{digest[:6]}03{int(digest[6:20], 16) % 10**8:08d}"
                body = json.dumps(
                    {
                        "event": "shipped",
                        "request_key": order.request_key,
                        "warehouse_reference": order.reference,
                        "shipments": [
                            {
                                "carrier": "UPS",
                                "tracking_number": order.tracking_number,
                                "ship_method": "Ground",
                                "shipped_at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "lines": [
                                    {"line_id": line.get("line_id"), "quantity": line.get("quantity")}
                                    for line in order.order.get("lines", [])
                                ],
                            }
                        ],
                    },
                    separators=(",", ":"),
                ).encode()
                copies = 2 if self.faults.chance(self.faults.profile.webhook_duplicate_rate) else 1
                for copy in range(copies):
                    self._callbacks.append(
                        _Callback(warehouse.slug, order.request_key, order.callback_url, body, duplicate=copy > 0)
                    )

    def deliver_due(self, *, include_waiting_retries: bool = False) -> list[CallbackRecord]:
        """Ship what is due, then POST every due callback once (signed with the warehouse's current secret);
        a callback not answered 2xx is retried later, up to CALLBACK_MAX_ATTEMPTS. Returns this round's log."""
        with self._flush_lock:
            now = self.clock()
            with self.lock:
                self._ship_due(now)
                due = [c for c in self._callbacks if include_waiting_retries or c.next_attempt_at <= now]
                taken = {id(callback) for callback in due}
                self._callbacks = [c for c in self._callbacks if id(c) not in taken]
                secrets = {slug: warehouse.secret for slug, warehouse in self._warehouses.items()}
            records: list[CallbackRecord] = []
            for callback in due:
                callback.attempts += 1
                timestamp = str(int(self.clock()))
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "AcornSimulator-Warehouse/1.0",
                    "X-Acorn-Timestamp": timestamp,
                    "X-Acorn-Signature": signature(secrets[callback.slug], timestamp, callback.body),
                }
                status: int | None = None
                error = None
                try:
                    status = self.deliver(callback.url, dict(headers), callback.body)
                except Exception as exc:  # no answer: retried like a non-2xx
                    error = f"{type(exc).__name__}: {exc}"
                ok = status is not None and 200 <= status < 300
                gave_up = not ok and callback.attempts >= CALLBACK_MAX_ATTEMPTS
                records.append(
                    CallbackRecord(
                        callback.slug,
                        callback.request_key,
                        callback.url,
                        callback.attempts,
                        status,
                        callback.body,
                        headers,
                        error,
                        callback.duplicate,
                        gave_up,
                    )
                )
                if not ok and not gave_up:
                    callback.next_attempt_at = now + CALLBACK_BACKOFF_SECONDS[callback.attempts - 1]
                    with self.lock:
                        self._callbacks.append(callback)
            with self.lock:
                self.log.extend(records)
            return records

    @property
    def pending_callbacks(self) -> int:
        with self.lock:
            return len(self._callbacks)

    def start_delivery_thread(self, interval: float = 1.0) -> None:
        """Ship and call back in the background every `interval` seconds (until `close()`)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.deliver_due()
                except Exception:  # a delivery bug must not kill the loop
                    logger.exception("warehouse callback delivery failed")

        self._thread = threading.Thread(target=run, name="acorn-simulator-warehouse", daemon=True)
        self._thread.start()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)


def _order_problem(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(field, why) when an order is not one the warehouse can pack."""
    callback = payload.get("callback_url")
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        return "callback_url", "callback_url must be an http(s) URL"
    order = payload.get("order")
    if not isinstance(order, dict):
        return "order", "order must be an object"
    lines = order.get("lines")
    if not isinstance(lines, list) or not lines:
        return "order.lines", "an order needs at least one line"
    for index, line in enumerate(lines):
        if not isinstance(line, dict) or not line.get("line_id"):
            return f"order.lines[{index}].line_id", "every line needs a line_id"
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            return f"order.lines[{index}].quantity", "quantity must be a positive integer"
    return None


def routes(context: WarehouseContext) -> list[Route]:
    """The warehouse front's routes (under /warehouse/)."""
    return [Route("POST", "/warehouse/{slug}/orders", context.handle_orders, "warehouse.orders")]
