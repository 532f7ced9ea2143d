"""Waiting before trying again: exponential backoff (with or without jitter) and the Retry-After header.

`backoff_seconds` is the one exponential backoff in ACORN: the first retry waits `first` seconds, every
further one twice as long, never longer than `cap`, and never shorter than what the other side asked for
(`at_least`, usually its Retry-After). Jitter spreads retries that failed together so they do not all come
back at the same moment: FULL draws the wait from [0, wait] (the sync engine's calls, AWS's "full
jitter"), PROPORTIONAL from wait ± a fraction (a resource that keeps failing). Work that a person watches
(a refund, a shipment confirmation, a stock push, a fulfilment request) waits without jitter, so the
console can say when it is tried again.

`retry_after_seconds` reads a Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date,
whole seconds rounded up, never negative, at most `RETRY_AFTER_MAX_SECONDS`; None when absent or
unreadable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

# A Retry-After longer than a day is taken as a day: nothing ACORN does should sleep or wait longer on one.
RETRY_AFTER_MAX_SECONDS = 86_400
# 2**62 x any sensible `first` is far past any cap; a larger exponent would only overflow the float.
_MAX_EXPONENT = 62


class Jitter(StrEnum):
    """How a backoff is randomised."""

    NONE = "none"  # exactly the exponential wait
    FULL = "full"  # anywhere between 0 and the wait
    PROPORTIONAL = "proportional"  # the wait ± `spread` of it


def backoff_seconds(
    failures: int,
    *,
    first: float,
    cap: float,
    jitter: Jitter = Jitter.NONE,
    spread: float = 0.2,
    at_least: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait after `failures` failed attempts (1 = the first failed): `first` x 2^(failures - 1), at most
    `cap`, randomised by `jitter`, and never less than `at_least` (the vendor's Retry-After)."""
    exponent = min(max(failures - 1, 0), _MAX_EXPONENT)
    wait = min(first * 2**exponent, cap)
    draw = rng or random
    if jitter == Jitter.FULL:
        wait = draw.uniform(0, wait)
    elif jitter == Jitter.PROPORTIONAL:
        wait *= draw.uniform(1 - spread, 1 + spread)
    return max(wait, at_least or 0)


class _Headers(Protocol):
    def get(self, name: str, default: Any = None, /) -> Any: ...


def retry_after_seconds(headers: Mapping[str, Any] | _Headers | None, *, now: datetime | None = None) -> int | None:
    """Whole seconds from the Retry-After header of `headers` (any mapping; the name in any case), or None."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value is None and isinstance(headers, Mapping):
        value = next((item for name, item in headers.items() if str(name).lower() == "retry-after"), None)
    return parse_retry_after(value, now=now)


def parse_retry_after(value: Any, *, now: datetime | None = None) -> int | None:
    """A Retry-After value (delta-seconds, possibly fractional, or an HTTP-date) → whole seconds, or None."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    seconds: Decimal | None
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        seconds = _seconds_until(text, now)
    if seconds is None or not seconds.is_finite():
        return None
    whole = int(seconds.to_integral_value(rounding=ROUND_CEILING))
    return min(max(0, whole), RETRY_AFTER_MAX_SECONDS)


def _seconds_until(text: str, now: datetime | None) -> Decimal | None:
    """Seconds from now until an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"), or None if it is not one."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110: HTTP-dates are GMT
        moment = moment.replace(tzinfo=UTC)
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return Decimal(math.ceil(delta))
