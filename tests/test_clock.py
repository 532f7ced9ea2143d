"""The clock check itself: with ``--clock-ahead=DAYS`` every clock the code reads is that far ahead, ticking."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone


def _machine_now() -> datetime:
    """The machine's clock, whether or not the session travels."""
    hatch = time_machine.escape_hatch
    return hatch.datetime.datetime.now(UTC) if hatch.is_travelling() else datetime.now(UTC)


def test_every_clock_reads_the_moved_time_and_keeps_ticking(pytestconfig: pytest.Config) -> None:
    # given: the session's offset (0 without the option)
    ahead = timedelta(days=pytestconfig.getoption("--clock-ahead"))
    # when
    machine, now, wall = _machine_now(), timezone.now(), datetime.fromtimestamp(time.time(), tz=UTC)
    # then: Django's now, the wall clock and today all read the moved time
    for moment in (now, wall):
        assert abs(moment - machine - ahead) < timedelta(minutes=1)
    assert abs(date.today() - (machine + ahead).date()) <= timedelta(days=1)
    before = timezone.now()
    time.sleep(0.01)
    assert timezone.now() > before  # ticking, not frozen: timeouts and leases still expire
