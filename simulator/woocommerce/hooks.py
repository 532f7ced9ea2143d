"""Webhook deliveries as WooCommerce's `WC_Webhook::deliver()` makes them.

A delivery is a POST of the resource's current REST JSON (built when it is sent, as Action Scheduler
does), signed with `X-WC-Webhook-Signature` = base64(HMAC-SHA256(raw body, secret)), with the
`X-WC-Webhook-{Source,Topic,Resource,Event,ID,Delivery-ID}` headers and the Hookshot user agent. Any 2xx,
301 or 302 counts as success; after more than five failures in a row the webhook is set to `disabled`.
A new webhook is pinged once, synchronously, with the form body `webhook_id=<id>` and no signature; the
REST call that creates it succeeds whatever the ping gets (WooCommerce ignores the result there).

Deliveries go through `deliver(url, headers, body) -> status`, by default a urllib POST; tests route
them elsewhere. `deliver_pending()` sends what is due; `start()` runs it in a background thread. The fault
profile sends some deliveries twice (same delivery id), some late, and drops a few.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from simulator.woocommerce.catalogue import USER_AGENT
from simulator.woocommerce.rest import wp_json_bytes
from simulator.woocommerce.site import Webhook, WooSite

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

logger = logging.getLogger(__name__)

Deliver = Callable[[str, dict[str, str], bytes], int]
MAX_FAILURES = 5
DELIVERY_TIMEOUT_SECONDS = 10.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """WordPress delivers with `redirection => 0`: a 301 or 302 is the answer (and counts as success)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_with_urllib(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST the body and return the HTTP status (raises OSError when nothing answered)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - any http(s) URL
    try:
        with _OPENER.open(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def signature(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature: the secret goes through wp_specialchars_decode() first, as in WooCommerce."""
    key = html.unescape(secret) if "&" in secret else secret
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST the simulator made (or decided not to make) to a delivery URL."""

    slug: str
    webhook_id: int
    delivery_id: str
    topic: str
    resource_id: int | None
    url: str
    status: int  # HTTP status, 0 when nothing answered or nothing was sent
    at: datetime
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    ping: bool = False
    duplicate: bool = False
    late: bool = False
    dropped: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 303


@dataclass
class _Pending:
    seq: int
    slug: str
    webhook_id: int
    topic: str
    resource_id: int
    due: datetime
    late: bool
    dropped: bool


class WebhookDispatcher:
    """Queues deliveries for a context's sites and sends them."""

    def __init__(self, context: WooContext, deliver: Deliver | None = None) -> None:
        self.context = context
        self.deliver: Deliver = deliver or post_with_urllib
        self.log: list[WebhookDelivery] = []
        self._queue: list[_Pending] = []
        self._seq = 0
        self._send_lock = threading.Lock()  # one delivery round at a time
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- queueing (caller holds the context lock) ---------------------------------------------------------

    def enqueue(self, site: WooSite, topic: str, resource_id: int, at: datetime) -> None:
        """Queue a delivery for every active webhook of the site on this topic that existed at `at`."""
        profile = self.context.faults.profile
        for webhook in site.webhooks.values():
            if webhook.topic != topic or webhook.status != "active" or webhook.created > at:
                continue
            self._seq += 1
            dropped = self.context.faults.chance(profile.webhook_drop_rate)
            late = not dropped and self.context.faults.chance(profile.webhook_late_rate)
            due = at + timedelta(seconds=self.context.faults.randint(120, 900)) if late else at
            self._queue.append(_Pending(self._seq, site.slug, webhook.id, topic, resource_id, due, late, dropped))

    def pending(self) -> int:
        with self.context.lock:
            return len(self._queue)

    def _delivery_id(self, site: WooSite, webhook_id: int, seq: int) -> str:
        return site.token("", "delivery", webhook_id, seq, length=32)

    # -- sending ------------------------------------------------------------------------------------------

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        try:
            return int(self.deliver(url, headers, body)), ""
        except Exception as error:  # a delivery URL that does not answer is the receiver's problem, not ours
            logger.debug("webhook delivery to %s failed", url, exc_info=True)
            return 0, f"{type(error).__name__}: {error}"

    def deliver_pending(self) -> list[WebhookDelivery]:
        """Bring every site up to now, then send each delivery that is due; returns what was sent."""
        with self._send_lock:
            context = self.context
            with context.lock:
                for site in context.sites.values():
                    context.advance(site)
                now = context.now()
                due = sorted((item for item in self._queue if item.due <= now), key=lambda item: (item.due, item.seq))
                self._queue = [item for item in self._queue if item.due > now]
            sent: list[WebhookDelivery] = []
            for item in due:
                sent.extend(self._deliver_one(item))
            return sent

    def _deliver_one(self, item: _Pending) -> list[WebhookDelivery]:
        context = self.context
        profile = context.faults.profile
        with context.lock:
            site = context.sites.get(item.slug)
            webhook = site.webhooks.get(item.webhook_id) if site is not None else None
            if site is None or webhook is None:  # a queued delivery still goes out if paused since, as in WooCommerce
                return []
            body = wp_json_bytes(context.webhook_payload(site, webhook.resource, webhook.event, item.resource_id))
            delivery_id = self._delivery_id(site, webhook.id, item.seq)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-WC-Webhook-Source": f"{context.site_url(site.slug)}/",
                "X-WC-Webhook-Topic": webhook.topic,
                "X-WC-Webhook-Resource": webhook.resource,
                "X-WC-Webhook-Event": webhook.event,
                "X-WC-Webhook-Signature": signature(body, webhook.secret),
                "X-WC-Webhook-ID": str(webhook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            url = webhook.delivery_url
            now = context.now()
        base = WebhookDelivery(
            slug=item.slug,
            webhook_id=item.webhook_id,
            delivery_id=delivery_id,
            topic=item.topic,
            resource_id=item.resource_id,
            url=url,
            status=0,
            at=now,
            headers=headers,
            body=body,
            late=item.late,
        )
        if item.dropped:
            record = replace(base, dropped=True)
            with context.lock:
                self.log.append(record)
            return [record]
        status, error = self._send(url, headers, body)
        results = [replace(base, status=status, error=error)]
        if context.faults.chance(profile.webhook_duplicate_rate):
            status, error = self._send(url, headers, body)
            results.append(replace(base, status=status, error=error, duplicate=True))
        with context.lock:
            for record in results:
                self.log.append(record)
                self._track(webhook, record.ok)
        return results

    @staticmethod
    def _track(webhook: Webhook, ok: bool) -> None:
        """`WC_Webhook::log_delivery()` / `failed_delivery()`: reset on success, disable past five failures."""
        if ok:
            webhook.failure_count = 0
        elif webhook.failure_count > MAX_FAILURES:
            webhook.status = "disabled"
        else:
            webhook.failure_count += 1

    def ping(self, site: WooSite, webhook: Webhook) -> WebhookDelivery:
        """`WC_Webhook::deliver_ping()`: form body `webhook_id=<id>`, no signature, success only on 200."""
        body = f"webhook_id={webhook.id}".encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        status, error = self._send(webhook.delivery_url, headers, body)
        record = WebhookDelivery(
            slug=site.slug,
            webhook_id=webhook.id,
            delivery_id="",
            topic=webhook.topic,
            resource_id=None,
            url=webhook.delivery_url,
            status=status,
            at=self.context.now(),
            headers=headers,
            body=body,
            ping=True,
            error=error or ("" if status == 200 else f"Error: Delivery URL returned response code: {status}"),
        )
        with self.context.lock:
            self.log.append(record)
        return record

    # -- background thread --------------------------------------------------------------------------------

    def start(self, interval: float = 1.0) -> None:
        """Deliver in a background thread every `interval` seconds (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.deliver_pending()
                except Exception:  # keep delivering after a simulator bug; it is logged
                    logger.exception("webhook delivery round failed")

        self._thread = threading.Thread(target=run, name="acorn-simulator-woo-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
