"""The one backoff and the one Retry-After reader (acorn.retry)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import format_datetime

import pytest
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from acorn.retry import RETRY_AFTER_MAX_SECONDS, Jitter, backoff_seconds, parse_retry_after, retry_after_seconds


def test_the_wait_doubles_from_the_first_and_stops_at_the_cap() -> None:
    # when: six failures in a row, first wait 60 s, at most an hour
    waits = [backoff_seconds(failures, first=60, cap=3600) for failures in range(1, 9)]
    # then
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_no_failure_yet_waits_the_first_step_and_a_huge_count_does_not_overflow() -> None:
    assert backoff_seconds(0, first=60, cap=3600) == 60
    assert backoff_seconds(10_000, first=60, cap=3600) == 3600


def test_the_vendors_retry_after_wins_when_it_is_longer() -> None:
    assert backoff_seconds(1, first=60, cap=3600, at_least=300) == 300
    assert backoff_seconds(3, first=60, cap=3600, at_least=30) == 240
    assert backoff_seconds(9, first=60, cap=3600, at_least=7200) == 7200


def test_full_jitter_draws_between_zero_and_the_capped_wait() -> None:
    rng = random.Random(7)
    draws = [backoff_seconds(3, first=4, cap=120, jitter=Jitter.FULL, rng=rng) for _ in range(500)]
    assert all(0 <= wait <= 16 for wait in draws)
    assert min(draws) < 2 and max(draws) > 14  # spread over the whole range, not a constant
    capped = [backoff_seconds(20, first=4, cap=120, jitter=Jitter.FULL, rng=rng) for _ in range(500)]
    assert all(0 <= wait <= 120 for wait in capped) and max(capped) > 110


def test_proportional_jitter_stays_within_its_spread_around_the_wait() -> None:
    rng = random.Random(11)
    draws = [
        backoff_seconds(2, first=1800, cap=21600, jitter=Jitter.PROPORTIONAL, spread=0.2, rng=rng) for _ in range(500)
    ]
    assert all(3600 * 0.8 <= wait <= 3600 * 1.2 for wait in draws)
    assert min(draws) < 3600 * 0.85 and max(draws) > 3600 * 1.15


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3),
        (" 120 ", 120),
        ("0.2", 1),  # rounded up: waiting less than asked gets another 429
        ("2.0", 2),
        ("-5", 0),
        ("0", 0),
        (None, None),
        ("", None),
        ("soon", None),
        ("NaN", None),
        ("Infinity", None),
        ("99999999999", RETRY_AFTER_MAX_SECONDS),
    ],
)
def test_retry_after_delta_seconds(value: str | None, seconds: int | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    # given: a clock at half a second and an HTTP-date (whole seconds) 90.5 s after it
    now = timezone.now().astimezone(UTC).replace(microsecond=500_000)
    later = format_datetime(now + timedelta(seconds=90.5), usegmt=True)
    earlier = format_datetime(now - timedelta(minutes=5), usegmt=True)
    # then: rounded up, so the caller never comes back early; a date in the past means now
    assert parse_retry_after(later, now=now) == 91
    assert parse_retry_after(earlier, now=now) == 0
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=datetime(1994, 11, 6, 8, 49, tzinfo=UTC)) == 37


def test_retry_after_is_found_in_any_header_mapping_in_any_case() -> None:
    message = Message()
    message["Retry-After"] = "7"
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after": "4"}) == 4  # a plain dict, as sp_api hands over its headers
    assert retry_after_seconds(CaseInsensitiveDict({"RETRY-AFTER": "5"})) == 5  # requests
    assert retry_after_seconds(message) == 7  # urllib's HTTPError.headers
    assert retry_after_seconds({"Content-Type": "application/json"}) is None
    assert retry_after_seconds(None) is None
