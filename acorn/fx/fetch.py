"""The daily fetch of the ECB's euro reference rates (beat: `fx.fetch_exchange_rates`; `manage.py
fetch_exchange_rates`).

It downloads the daily file (`ACORN_ECB_RATES_URL`, the ECB's eurofxref.zip; the simulator's in development and
tests), parses it with the loader's parser (acorn.fx.reference_file) and upserts it: a day fetched again writes
nothing, a corrected rate replaces the stored one, and nothing is ever deleted, so a file older than what is
stored loses nothing. Conversions on a day without a rate take the last known one (acorn.fx.services.rate_on).

History: when the stored ECB rates stop short of the day before the daily file's day by more than a weekend
(no ECB rate yet: the first run; or fetches that failed for days), the history file next to the daily one
(eurofxref-hist.zip, the same CSV format since 1999) fills the gap: only the days after the last stored one,
and at most `ACORN_FX_HISTORY_DAYS` (90) back. `history=True` always reads it for that window (a repair);
`history=False` never does. The ECB's only 90-day file is XML (eurofxref-hist-90d.xml); reading the CSV keeps
one parser. TARGET holidays also leave a weekday without a rate: after them the history file is read once for
nothing, which costs one download and writes nothing.

Network errors, timeouts, 429 and 5xx are retried here `ACORN_ECB_ATTEMPTS` times with exponential backoff
(`acorn.retry`, honouring Retry-After), then `RatesUnavailable` is raised (the task retries later; the beat's
later run catches up). Another answer (404, 403) raises `RatesFetchError`; a file that is not the ECB's
format raises `ReferenceFileError` naming the file, line and column. Either way nothing is written: the daily
and history rows are stored in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urljoin

import requests
from django.conf import settings

from acorn.fx.models import ExchangeRate
from acorn.fx.reference_file import REFERENCE_BASE, latest_day, reference_file_parse
from acorn.fx.services import reference_rates_upsert
from acorn.retry import backoff_seconds, retry_after_seconds

logger = logging.getLogger(__name__)

ECB_SOURCE = "ecb"
HISTORY_FILE = "eurofxref-hist.zip"
MAX_BACKOFF_SECONDS = 120.0


class RatesFetchError(Exception):
    """The rate file could not be downloaded; the message says from where and why."""


class RatesUnavailable(RatesFetchError):
    """The ECB (or the network) failed every attempt: try again later."""


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did."""

    url: str
    latest_day: date | None  # the newest day of the daily file
    rates: int  # rates read (daily and history)
    created: int
    updated: int
    history_read: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "latest_day": self.latest_day.isoformat() if self.latest_day else None,
            "rates": self.rates,
            "created": self.created,
            "updated": self.updated,
            "history_read": self.history_read,
        }


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def download(url: str, *, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """The body of `url`, retried on network errors, timeouts, 429 and 5xx with backoff."""
    attempts = max(settings.ACORN_ECB_ATTEMPTS, 1)
    problem = ""
    for attempt in range(1, attempts + 1):
        retry_after: int | None = None
        try:
            response = requests.get(url, timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS)
        except (requests.ConnectionError, requests.Timeout) as error:
            problem = f"{type(error).__name__}"
        else:
            if response.status_code == 200:
                return response.content
            if not _retryable_status(response.status_code):
                raise RatesFetchError(f"{url} answered {response.status_code}")
            problem = f"HTTP {response.status_code}"
            retry_after = retry_after_seconds(response.headers)
        logger.warning("ecb_fetch_failed", extra={"url": url, "attempt": attempt, "problem": problem})
        if attempt < attempts:
            sleep(
                backoff_seconds(
                    attempt,
                    first=settings.ACORN_ECB_BACKOFF_SECONDS,
                    cap=MAX_BACKOFF_SECONDS,
                    at_least=min(retry_after, MAX_BACKOFF_SECONDS) if retry_after else None,
                )
            )
    raise RatesUnavailable(f"{url}: {problem} after {attempts} attempts")


def _stored_latest(source: str) -> date | None:
    return (
        ExchangeRate.objects.filter(base=REFERENCE_BASE, source=source)
        .order_by("-rate_date")
        .values_list("rate_date", flat=True)
        .first()
    )


def _has_gap(stored: date | None, fetched: date) -> bool:
    """Whether a weekday between the last stored day and the fetched one has no rate."""
    if stored is None:
        return True
    day = stored + timedelta(days=1)
    while day < fetched:
        if day.weekday() < 5:
            return True
        day += timedelta(days=1)
    return False


def exchange_rates_fetch(
    *,
    url: str | None = None,
    history: bool | None = None,
    source: str = ECB_SOURCE,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Download the ECB's daily rates (and the history file when there is a gap, or `history=True`) and upsert
    them under `source`. Raises RatesUnavailable, RatesFetchError or ReferenceFileError, writing nothing."""
    daily_url = url or settings.ACORN_ECB_RATES_URL
    rates = reference_file_parse(download(daily_url, sleep=sleep), name=daily_url)
    newest = latest_day(rates)
    stored = _stored_latest(source)
    history_read = False
    if newest is not None and (history or (history is None and _has_gap(stored, newest))):
        history_url = urljoin(daily_url, HISTORY_FILE)
        window_start = newest - timedelta(days=settings.ACORN_FX_HISTORY_DAYS)
        if stored is not None and not history:
            window_start = max(window_start, stored + timedelta(days=1))
        older = reference_file_parse(download(history_url, sleep=sleep), name=history_url)
        rates = [*rates, *(rate for rate in older if window_start <= rate.day < newest)]
        history_read = True
    result = reference_rates_upsert(rates=rates, source=source)
    logger.info(
        "ecb_rates_fetched",
        extra={
            "url": daily_url,
            "latest_day": str(newest),
            "rows_created": result.created,
            "rows_updated": result.updated,
        },
    )
    return FetchResult(
        url=daily_url,
        latest_day=newest,
        rates=len(rates),
        created=result.created,
        updated=result.updated,
        history_read=history_read,
    )
