"""Fault profiles: how unreliable the simulated vendor APIs are.

* ``none``: every call answers correctly.
* ``flaky``: about 10 % of API calls answer 429 (``Retry-After: 1`` and the SP-API QuotaExceeded body),
  about 5 % answer 503, about 10 % are slowed down by ``slow_seconds``, about 2 % drop the connection
  without an answer (a reset) and about 1 % hang for ``timeout_seconds`` before dropping it (a client
  read timeout shorter than that sees a timeout).
* ``hostile``: flaky, plus a fixed seeded subset of orders that is always malformed
  (``World.malformed_order_ids``), pages that sometimes repeat records already sent, records shuffled
  within a page, and pagination tokens that expire after ``token_ttl_seconds`` (30 s) of world time or,
  once in a while, at random; Finances v0 pages that are empty but carry a NextToken.

Faults never make the truth unreachable: the same request never fails more than
``max_consecutive_faults`` times in a row, a page always makes progress, and a random token expiry hits
a given search window at most once. A client that retries 429/5xx, restarts an expired pagination from
its window start and upserts idempotently ends with every well-formed order.

Decisions come from a seeded random stream, so a single-threaded client sees the same faults on every
run with the same seed. Faults apply to API calls only, never to the LWA token endpoint or the consent
page. A test can also script one fault exactly: ``sim.faults.inject("searchOrders", 429, retry_after=300,
after_calls=1)`` makes the second searchOrders call from now answer 429 with that Retry-After.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

# Amazon's documented pagination token lifetime for searchOrders.
DEFAULT_TOKEN_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class FaultProfile:
    """Knobs of one fault profile; `FaultProfile.named("flaky", slow_seconds=0.01)` tweaks a preset."""

    name: str = "none"
    throttle_rate: float = 0.0
    unavailable_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.3
    retry_after_seconds: int = 1
    max_consecutive_faults: int = 2
    malformed_records: bool = False
    duplicate_page_rate: float = 0.0
    shuffle_pages: bool = False
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS
    random_token_expiry_rate: float = 0.0
    # Finances v0 pages that come back empty with a NextToken (Amazon documents that this happens).
    empty_page_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 2.0
    # Webhook deliveries (Shopify and WooCommerce fronts): sent twice, sent late, or never sent.
    webhook_duplicate_rate: float = 0.0
    webhook_late_rate: float = 0.0
    webhook_drop_rate: float = 0.0

    @classmethod
    def named(cls, name: str, **overrides: Any) -> FaultProfile:
        """A preset (none, flaky, hostile) with some fields replaced."""
        try:
            profile = PROFILES[name]
        except KeyError:
            raise ValueError(f"Unknown fault profile {name!r}; expected one of {', '.join(PROFILES)}") from None
        return replace(profile, **overrides)


_FLAKY = FaultProfile(
    name="flaky",
    throttle_rate=0.10,
    unavailable_rate=0.05,
    slow_rate=0.10,
    reset_rate=0.02,
    timeout_rate=0.01,
    webhook_duplicate_rate=0.10,
    webhook_late_rate=0.10,
)
PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": _FLAKY,
    "hostile": replace(
        _FLAKY,
        name="hostile",
        malformed_records=True,
        duplicate_page_rate=0.25,
        shuffle_pages=True,
        token_ttl_seconds=30.0,
        random_token_expiry_rate=0.05,
        empty_page_rate=0.10,
        webhook_duplicate_rate=0.30,
        webhook_late_rate=0.20,
        webhook_drop_rate=0.05,
    ),
}


DROP_CONNECTION = 0


@dataclass(frozen=True)
class InjectedFault:
    """A failure to answer instead of the real response."""

    status: int  # 429, 503, or DROP_CONNECTION: close the socket without an answer
    retry_after: int | None = None
    hang_seconds: float = 0.0  # with DROP_CONNECTION: how long to wait before closing (a timeout)


class FaultInjector:
    """Seeded fault decisions for one server. Thread-safe."""

    def __init__(self, profile: FaultProfile, seed: int, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.profile = profile
        self._rng = random.Random(seed * 104729 + 3)  # noqa: S311 - reproducible faults, not security
        self._lock = threading.Lock()
        self._consecutive: dict[Hashable, int] = {}
        self._expired_windows: set[Hashable] = set()
        self._sleep = sleep
        self.injected: list[tuple[str, int]] = []  # (operation, status) of every injected failure
        # operation → [calls still to let through, the fault], in the order they were scripted
        self._scripted: dict[str, list[tuple[int, InjectedFault]]] = {}

    def inject(self, operation: str, status: int, *, retry_after: int | None = None, after_calls: int = 0) -> None:
        """Script one fault: the operation's call after `after_calls` more calls answers `status` (429 with
        `retry_after`, 503, or DROP_CONNECTION), whatever the profile says."""
        with self._lock:
            self._scripted.setdefault(operation, []).append((after_calls, InjectedFault(status, retry_after)))

    def _scripted_fault(self, operation: str) -> InjectedFault | None:
        queue = self._scripted.get(operation)
        if not queue:
            return None
        remaining, fault = queue[0]
        if remaining > 0:
            queue[0] = (remaining - 1, fault)
            return None
        queue.pop(0)
        return fault

    def chance(self, probability: float) -> bool:
        """True with the probability, from the seeded stream."""
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def shuffle(self, items: list[Any]) -> None:
        with self._lock:
            self._rng.shuffle(items)

    def randint(self, low: int, high: int) -> int:
        with self._lock:
            return self._rng.randint(low, high)

    def before_call(self, operation: str, fingerprint: Hashable) -> InjectedFault | None:
        """Decide whether this API call fails (429 / 503 / dropped connection) or is slowed down. `fingerprint`
        identifies the request, so that its retries cannot fail more than `max_consecutive_faults` times in a row."""
        profile = self.profile
        with self._lock:
            scripted = self._scripted_fault(operation)
            if scripted is not None:
                self.injected.append((operation, scripted.status))
                return scripted
            roll = self._rng.random()
            slow = self._rng.random() < profile.slow_rate
            failures = self._consecutive.get(fingerprint, 0)
            fault: InjectedFault | None = None
            if failures < profile.max_consecutive_faults:
                if roll < profile.throttle_rate:
                    fault = InjectedFault(429, profile.retry_after_seconds)
                elif roll < (edge := profile.throttle_rate + profile.unavailable_rate):
                    fault = InjectedFault(503)
                elif roll < (edge := edge + profile.reset_rate):
                    fault = InjectedFault(DROP_CONNECTION)
                elif roll < edge + profile.timeout_rate:
                    fault = InjectedFault(DROP_CONNECTION, hang_seconds=profile.timeout_seconds)
            if fault is None:
                self._consecutive.pop(fingerprint, None)
            else:
                self._consecutive[fingerprint] = failures + 1
                self.injected.append((operation, fault.status))
        if slow and profile.slow_seconds > 0:
            self._sleep(profile.slow_seconds)
        return fault

    def expire_token_at_random(self, window: Hashable) -> bool:
        """Whether to refuse a still-valid pagination token; at most once per search window."""
        if self.profile.random_token_expiry_rate <= 0:
            return False
        with self._lock:
            if window in self._expired_windows:
                return False
            if self._rng.random() < self.profile.random_token_expiry_rate:
                self._expired_windows.add(window)
                return True
            return False
