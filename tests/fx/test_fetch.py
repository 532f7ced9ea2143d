"""The daily ECB fetch, over real HTTP from the simulator's ECB front: first run with history, a refetch that
writes nothing, an older file that loses nothing, broken files named, 5xx retried, the command and the task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from acorn.fx.fetch import RatesFetchError, RatesUnavailable, exchange_rates_fetch
from acorn.fx.models import ExchangeRate
from acorn.fx.reference_file import ReferenceFileError
from acorn.fx.services import convert_on, rate_on
from acorn.money import Money
from acorn.tasks import task_named
from simulator.ecb import is_working_day
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World

pytestmark = pytest.mark.django_db


def _after_publication() -> datetime:
    """Today 16:00 UTC: the ECB has published today's rates if today is a working day."""
    return timezone.now().replace(hour=16, minute=0, second=0, microsecond=0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(_after_publication())


@pytest.fixture
def sim(clock: ManualClock, settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=5, world=World(seed=5, clock=clock), tls_port=None) as server:
        settings.ACORN_ECB_RATES_URL = server.ecb.daily_url
        yield server


def _ecb_rows() -> int:
    return ExchangeRate.objects.filter(source="ecb").count()


def _paths(sim: SimulatorServer) -> list[tuple[str, int]]:
    return [(request.path.rsplit("/", 1)[-1], request.status) for request in sim.requests]


def test_first_fetch_stores_the_latest_day_and_90_days_of_history(sim: SimulatorServer) -> None:
    # given: no ECB rate stored yet (only the install's reference rates)
    latest = sim.ecb.latest_day()
    # when
    result = exchange_rates_fetch()
    # then: the latest day's rates are stored exactly as published, EUR-based
    published = sim.ecb.rates_on(latest)
    assert result.latest_day == latest and result.history_read
    for code in ("USD", "JPY", "CNY", "GBP"):
        row = ExchangeRate.objects.get(base="EUR", quote=code, rate_date=latest, source="ecb")
        assert row.rate == published[code]
    # and: the history file filled the last 90 days (working days only), nothing older
    days = set(ExchangeRate.objects.filter(source="ecb", quote="USD").values_list("rate_date", flat=True))
    expected = {latest - timedelta(days=n) for n in range(91) if is_working_day(latest - timedelta(days=n))}
    assert days == expected
    assert result.created == _ecb_rows() == len(expected) * len(published)
    assert _paths(sim) == [("eurofxref.zip", 200), ("eurofxref-hist.zip", 200)]


def test_fetching_the_same_day_again_writes_nothing(sim: SimulatorServer) -> None:
    # given: a first fetch
    exchange_rates_fetch()
    before = list(ExchangeRate.objects.filter(source="ecb").order_by("pk").values_list("pk", "rate", "created_at"))
    sim.clear_requests()
    # when: the beat runs again the same day
    result = exchange_rates_fetch()
    # then: the same rows, untouched, and no history download (no gap)
    assert (result.created, result.updated, result.history_read) == (0, 0, False)
    after = list(ExchangeRate.objects.filter(source="ecb").order_by("pk").values_list("pk", "rate", "created_at"))
    assert after == before
    assert _paths(sim) == [("eurofxref.zip", 200)]


def test_an_older_file_loses_nothing_and_a_corrected_rate_replaces_the_stored_one(
    sim: SimulatorServer, clock: ManualClock
) -> None:
    # given: rates fetched today, one of them since stored wrongly
    exchange_rates_fetch()
    latest = sim.ecb.latest_day()
    count = _ecb_rows()
    ExchangeRate.objects.filter(source="ecb", quote="USD", rate_date=latest).update(rate=Decimal("9.9"))
    # when: a file from a week ago is served (a stale mirror, a cache)
    clock.set(_after_publication() - timedelta(days=7))
    older = exchange_rates_fetch()
    # then: nothing is lost, nothing is added; the newest day is still the latest known
    assert older.latest_day is not None and older.latest_day < latest
    assert (older.created, older.updated) == (0, 0) and _ecb_rows() == count
    assert rate_on("EUR", "USD", latest + timedelta(days=1)) == (Decimal("9.9"), latest, "ecb")
    # when: today's file comes back
    clock.set(_after_publication())
    again = exchange_rates_fetch()
    # then: the ECB's figure replaces the wrong one
    assert (again.created, again.updated) == (0, 1)
    assert ExchangeRate.objects.get(source="ecb", quote="USD", rate_date=latest).rate == sim.ecb.rates_on(latest)["USD"]


def test_a_gap_of_missing_weekdays_is_filled_from_the_history_file_only_after_the_last_stored_day(
    sim: SimulatorServer,
) -> None:
    # given: ECB rates stored up to about two weeks ago, and none since
    latest = sim.ecb.latest_day()
    last_stored = latest - timedelta(days=14)
    ExchangeRate.objects.create(base="EUR", quote="USD", rate_date=last_stored, rate=Decimal("1.2"), source="ecb")
    # when
    result = exchange_rates_fetch()
    # then: the days after it are filled; the window before it is left as it was
    assert result.history_read
    usd_days = set(ExchangeRate.objects.filter(source="ecb", quote="USD").values_list("rate_date", flat=True))
    missing = {last_stored + timedelta(days=n) for n in range(1, 15) if is_working_day(last_stored + timedelta(days=n))}
    assert usd_days == {last_stored} | missing
    assert ExchangeRate.objects.get(source="ecb", quote="USD", rate_date=last_stored).rate == Decimal("1.2")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("rate", r"eurofxref\.zip, line 2, column USD: '1\.17x' is not a rate"),
        ("html", r"eurofxref\.zip, line 1: the first column must be Date"),
        ("zip", r"eurofxref\.zip: not a readable zip archive"),
    ],
)
def test_a_malformed_file_is_named_and_nothing_is_written(sim: SimulatorServer, kind: str, message: str) -> None:
    # given: the ECB serves a broken file
    sim.ecb.malformed = kind
    # when / then: the error says what is wrong and where
    with pytest.raises(ReferenceFileError, match=message):
        exchange_rates_fetch()
    assert _ecb_rows() == 0


def test_5xx_and_dropped_connections_are_retried_then_the_file_is_read(sim: SimulatorServer) -> None:
    # given: the ECB answers 503, then drops the connection, then answers
    sim.ecb.fail_next(503)
    sim.ecb.fail_next(0)
    # when
    result = exchange_rates_fetch(history=False)
    # then: two failed attempts, the third stored the day
    assert result.created == len(sim.ecb.rates_on(sim.ecb.latest_day()))
    assert _paths(sim) == [("eurofxref.zip", 503), ("eurofxref.zip", 0), ("eurofxref.zip", 200)]  # 0: no answer


def test_an_ecb_that_keeps_failing_raises_unavailable_after_the_attempts_and_writes_nothing(
    sim: SimulatorServer, settings: Any
) -> None:
    # given: three attempts, all answered 503
    settings.ACORN_ECB_ATTEMPTS = 3
    sim.ecb.fail_next(503, times=5)
    waits: list[float] = []
    # when / then
    with pytest.raises(RatesUnavailable, match=r"HTTP 503 after 3 attempts"):
        exchange_rates_fetch(sleep=waits.append)
    assert len(sim.requests) == 3 and len(waits) == 2 and waits[1] == 2 * waits[0]
    assert _ecb_rows() == 0


def test_a_429_waits_at_least_its_retry_after(sim: SimulatorServer) -> None:
    # given: the profile's throttling answer, scripted once
    sim.faults.inject("ecb.daily", 429, retry_after=7)
    waits: list[float] = []
    # when
    exchange_rates_fetch(history=False, sleep=waits.append)
    # then
    assert waits == [7]


def test_a_wrong_url_is_not_retried(sim: SimulatorServer) -> None:
    with pytest.raises(RatesFetchError, match=r"answered 404"):
        exchange_rates_fetch(url=f"{sim.url}/ecb/stats/eurofxref/nothing.zip")
    assert len(sim.requests) == 1


def test_a_day_without_a_rate_converts_at_the_last_known_one_and_says_its_date(sim: SimulatorServer) -> None:
    # given: the ECB's rates fetched
    exchange_rates_fetch()
    latest = sim.ecb.latest_day()
    # when: an amount of a later day (no rate published for it yet: a weekend, a holiday, a failed fetch)
    later = latest + timedelta(days=2)
    converted = convert_on(Money(Decimal("100.00"), "USD"), to_currency="EUR", on=later)
    # then: the last known rate is used, and its date travels with the amount
    assert converted is not None
    assert converted.rate_date == latest and converted.source == "ecb"
    usd = sim.ecb.rates_on(latest)["USD"]
    assert converted.result == Money((Decimal("100.00") / usd).quantize(Decimal("0.01")), "EUR")


def test_the_command_prints_json_and_exits_1_naming_the_problem(sim: SimulatorServer) -> None:
    # when
    out = StringIO()
    call_command("fetch_exchange_rates", "--url", sim.ecb.daily_url, "--json", stdout=out)
    # then
    summary = json.loads(out.getvalue())
    assert summary["latest_day"] == sim.ecb.latest_day().isoformat() and summary["history_read"] is True
    assert summary["created"] == _ecb_rows()
    # and: --history reads the history file even without a gap; nothing new
    out = StringIO()
    call_command("fetch_exchange_rates", "--history", "--json", stdout=out)
    assert json.loads(out.getvalue())["history_read"] is True and json.loads(out.getvalue())["created"] == 0
    # and: a broken file is a CommandError with its line and column
    sim.ecb.malformed = "rate"
    with pytest.raises(CommandError, match=r"line 2, column USD"):
        call_command("fetch_exchange_rates")


def test_the_task_runs_by_its_registered_name(sim: SimulatorServer) -> None:
    # when: the beat's task runs (no tenant: rates are global)
    summary = task_named("fx.fetch_exchange_rates")()
    # then
    assert summary["latest_day"] == sim.ecb.latest_day().isoformat()
    assert ExchangeRate.objects.filter(source="ecb", rate_date=sim.ecb.latest_day()).exists()


def test_the_loader_reads_the_ecb_files_as_published(sim: SimulatorServer, tmp_path: Any) -> None:
    # given: the daily and history files as downloaded (zip), and the daily CSV unzipped
    import zipfile

    import requests

    daily = tmp_path / "eurofxref.zip"
    daily.write_bytes(requests.get(sim.ecb.daily_url, timeout=5).content)
    history = tmp_path / "eurofxref-hist.zip"
    history.write_bytes(requests.get(sim.ecb.history_url, timeout=5).content)
    csv_file = tmp_path / "eurofxref.csv"
    csv_file.write_bytes(zipfile.ZipFile(daily).read("eurofxref.csv"))
    # when / then: the loader takes each (the same parser as the fetch); the daily day is written out in English
    for path in (csv_file, daily, history):
        out = StringIO()
        call_command("load_exchange_rates", str(path), "--json", stdout=out)
        assert json.loads(out.getvalue())["rates"] > 0
    latest = sim.ecb.latest_day()
    assert rate_on("EUR", "CNY", latest) == (sim.ecb.rates_on(latest)["CNY"], latest, "ecb")
    # and: the history file's N/A columns (currencies the euro replaced) are no rate, not an error
    assert not ExchangeRate.objects.filter(quote__in=["CYP", "EEK", "HRK"]).exists()
    assert ExchangeRate.objects.filter(quote="BGN").exists() == (latest - timedelta(days=399) <= date(2025, 12, 31))


def test_the_beat_fetches_after_the_ecb_publishes_and_again_later(settings: Any) -> None:
    # The ECB publishes around 16:00 CET (14:00 or 15:00 UTC): 15:30 UTC, and 21:30 UTC to catch up.
    entry = settings.CELERY_BEAT_SCHEDULE["fetch-exchange-rates"]
    assert entry["task"] == "fx.fetch_exchange_rates" and task_named(entry["task"]).name == entry["task"]
    assert entry["schedule"].hour == {15, 21} and entry["schedule"].minute == {30}


def test_the_demo_stores_the_rates_the_simulator_serves_and_the_first_fetch_finds_them_equal(
    settings: Any,
) -> None:
    from acorn.console.demo import _demo_exchange_rates
    from acorn.fx.selectors import rates_status

    # given: `manage.py demo` ran before the simulator started (seed 1, as `make run` starts it); at noon UTC,
    # hours away from the ECB's publication, so both read the same latest day
    with time_machine.travel(timezone.now().replace(hour=12, minute=0), tick=True):
        assert _demo_exchange_rates() > 0
        assert _demo_exchange_rates() == 0  # the demo runs again: nothing new
        # when: the beat's fetch reads the running simulator
        with SimulatorServer(seed=1, tls_port=None) as server:
            result = exchange_rates_fetch(url=server.ecb.daily_url)
            latest = server.ecb.latest_day()
    # then: the same rates, nothing new, and the console has the latest day
    assert (result.created, result.updated, result.history_read) == (0, 0, False)
    assert rates_status().latest_date == latest
