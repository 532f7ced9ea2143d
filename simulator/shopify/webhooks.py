"""Webhook deliveries: signed POSTs of REST JSON to the app's subscriptions, with Shopify's headers,
retries of failed deliveries, and the fault profile's duplicates, late deliveries and drops.

Deliveries are queued when something happens in a shop and sent by `deliver_pending()` (or the optional
background thread). A delivery answered with a non-2xx status or not answered at all is retried with
backoff in world time, up to `MAX_ATTEMPTS` attempts (Shopify: 8 retries over 4 hours). The transport is
pluggable: `deliver(url, headers, body) -> status`, so tests can hand deliveries to Django's test client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from simulator.faults import FaultInjector

logger = logging.getLogger(__name__)

Deliver = Callable[[str, dict[str, str], bytes], int]

# GraphQL WebhookSubscriptionTopic values the simulator emits, and their REST topic names.
TOPICS: dict[str, str] = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "REFUNDS_CREATE": "refunds/create",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "RETURNS_REQUEST": "returns/request",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "APP_UNINSTALLED": "app/uninstalled",
}
TOPIC_ENUMS = {name: enum for enum, name in TOPICS.items()}
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
MAX_ATTEMPTS = 9  # the first try and 8 retries
RETRY_BACKOFF = (10, 30, 60, 300, 900, 1800, 3600, 7200)  # seconds of world time before each retry
CONNECT_TIMEOUT_SECONDS = 1.0
TOTAL_TIMEOUT_SECONDS = 5.0


def signature(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body with the app's client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def http_deliver(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST with Shopify's limits: 1 s to connect, 5 s in all. Raises OSError when there is no answer."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT_SECONDS)
    deadline = time.monotonic() + TOTAL_TIMEOUT_SECONDS
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(max(0.1, deadline - time.monotonic()))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@dataclass
class Delivery:
    """One webhook to send (and resend until it is answered 2xx or given up)."""

    sequence: int
    shop: str
    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    webhook_id: str
    event_id: str
    triggered_at: datetime
    late: bool = False
    duplicate: bool = False
    attempts: int = 0
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryRecord:
    """What happened to one delivery attempt (or a dropped delivery): the simulator's webhook log."""

    shop: str
    topic: str
    url: str
    webhook_id: str
    event_id: str
    attempt: int
    status: int | None  # None: not answered (or dropped before sending)
    at: datetime
    late: bool
    duplicate: bool
    dropped: bool = False
    gave_up: bool = False
    error: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDispatcher:
    """Queues, signs and sends webhooks. Thread-safe."""

    def __init__(
        self,
        *,
        seed: int,
        faults: FaultInjector,
        secret: Callable[[], str],
        now: Callable[[], datetime],
        api_version: str,
        deliver: Deliver = http_deliver,
    ) -> None:
        self.faults = faults
        self.secret = secret
        self.now = now
        self.api_version = api_version
        self.deliver = deliver
        self.log: list[DeliveryRecord] = []
        self._rng = random.Random(seed * 2654435761 + 7)  # noqa: S311 - reproducible ids
        self._queue: list[Delivery] = []
        self._sequence = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def new_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def enqueue(
        self,
        *,
        shop: str,
        topic: str,
        url: str,
        payload: dict[str, Any],
        triggered_at: datetime,
        event_id: str,
        include_fields: tuple[str, ...] = (),
        faults: bool = True,
    ) -> None:
        """Queue one delivery; the fault profile may drop it, hold it back, or send it twice."""
        if include_fields:
            payload = {key: value for key, value in payload.items() if key in include_fields}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        profile = self.faults.profile
        if faults and self.faults.chance(profile.webhook_drop_rate):
            with self._lock:
                self.log.append(
                    DeliveryRecord(
                        shop, topic, url, self.new_id_unlocked(), event_id, 0, None, self.now(), False, False, True
                    )
                )
            return
        late = faults and self.faults.chance(profile.webhook_late_rate)
        copies = 2 if faults and self.faults.chance(profile.webhook_duplicate_rate) else 1
        with self._lock:
            for copy in range(copies):
                webhook_id = self.new_id_unlocked()
                self._sequence += 1
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "Shopify-Captain-Hook",
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Hmac-Sha256": signature(self.secret(), body),
                    "X-Shopify-Shop-Domain": shop,
                    "X-Shopify-API-Version": self.api_version,
                    "X-Shopify-Webhook-Id": webhook_id,
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
                self._queue.append(
                    Delivery(
                        self._sequence,
                        shop,
                        topic,
                        url,
                        body,
                        headers,
                        webhook_id,
                        event_id,
                        triggered_at,
                        late=late and copy == 0,
                        duplicate=copy > 0,
                    )
                )

    def new_id_unlocked(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self, *, include_waiting_retries: bool = False) -> list[DeliveryRecord]:
        """Send every due delivery once (late ones after the others); returns this round's records."""
        with self._flush_lock:
            now = self.now()
            with self._lock:
                due = [
                    delivery
                    for delivery in self._queue
                    if include_waiting_retries or delivery.next_attempt_at is None or delivery.next_attempt_at <= now
                ]
                due.sort(key=lambda delivery: (delivery.late, delivery.sequence))
                taken = {id(delivery) for delivery in due}
                self._queue = [delivery for delivery in self._queue if id(delivery) not in taken]
            records = []
            for delivery in due:
                delivery.attempts += 1
                status: int | None = None
                error = None
                try:
                    status = self.deliver(delivery.url, dict(delivery.headers), delivery.body)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                ok = status is not None and 200 <= status < 300
                gave_up = not ok and delivery.attempts >= MAX_ATTEMPTS
                record = DeliveryRecord(
                    delivery.shop,
                    delivery.topic,
                    delivery.url,
                    delivery.webhook_id,
                    delivery.event_id,
                    delivery.attempts,
                    status,
                    now,
                    delivery.late,
                    delivery.duplicate,
                    gave_up=gave_up,
                    error=error,
                    body=delivery.body,
                    headers=dict(delivery.headers),
                )
                records.append(record)
                if not ok and not gave_up:
                    delivery.next_attempt_at = now + timedelta(seconds=RETRY_BACKOFF[delivery.attempts - 1])
                    delivery.late = False
            with self._lock:
                self.log.extend(records)
                self._queue.extend(
                    delivery
                    for delivery, record in zip(due, records, strict=True)
                    if not record.ok and not record.gave_up
                )
            return records

    def start(self, flush: Callable[[], object], interval: float = 0.5) -> None:
        """Call `flush` every `interval` seconds in a daemon thread until `stop()`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    flush()
                except Exception:  # a delivery bug must not kill the loop
                    logger.exception("shopify webhook delivery failed")

        self._thread = threading.Thread(target=run, name="acorn-simulator-shopify-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)
