"""The simulator's ECB front: the files as the ECB lays them out, TARGET working days, publication at 16:00
CET/CEST, deterministic rates, faults."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from defusedxml import ElementTree

from simulator.ecb import HISTORY_COLUMNS, LEVELS, is_working_day, publication_moment
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World

# Wednesday 4 November 2026, after publication (16:00 CET = 15:00 UTC in winter).
MOMENT = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MOMENT)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=3, world=World(seed=3, clock=clock), tls_port=None) as server:
        yield server


def _member(url: str, name: str) -> str:
    response = requests.get(url, timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content)).read(name).decode("utf-8")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),  # New Year's Day
        (date(2026, 4, 3), False),  # Good Friday (Easter Sunday 5 April 2026)
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 4, 7), True),
        (date(2026, 5, 1), False),
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),
        (date(2026, 11, 7), False),  # a Saturday
        (date(2025, 4, 18), False),  # Good Friday 2025 (Easter 20 April)
    ],
)
def test_target_closing_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_publication_is_at_16_00_in_frankfurt() -> None:
    assert publication_moment(date(2026, 11, 4)) == datetime(2026, 11, 4, 15, tzinfo=UTC)  # CET
    assert publication_moment(date(2026, 7, 1)) == datetime(2026, 7, 1, 14, tzinfo=UTC)  # CEST


def test_the_latest_day_follows_the_clock(sim: SimulatorServer, clock: ManualClock) -> None:
    assert sim.ecb.latest_day() == date(2026, 11, 4)
    clock.set(MOMENT - timedelta(hours=1))  # 14:30 UTC: not published yet
    assert sim.ecb.latest_day() == date(2026, 11, 3)
    clock.set(datetime(2026, 11, 9, 9, tzinfo=UTC))  # Monday morning: Friday's
    assert sim.ecb.latest_day() == date(2026, 11, 6)


def test_the_daily_file_is_laid_out_as_the_ecbs(sim: SimulatorServer) -> None:
    text = _member(sim.ecb.daily_url, "eurofxref.csv")
    header, line, end = text.split("\n")
    assert end == ""
    assert header == "Date, " + "".join(f"{code}, " for code in LEVELS)
    assert line.startswith("04 November 2026, ") and line.endswith(", ")
    rates = sim.ecb.rates_on(date(2026, 11, 4))
    assert line == "04 November 2026, " + "".join(f"{rate}, " for rate in rates.values())


def test_the_history_file_is_newest_first_with_na_for_replaced_currencies(sim: SimulatorServer) -> None:
    lines = _member(sim.ecb.history_url, "eurofxref-hist.csv").splitlines()
    assert lines[0] == "Date," + "".join(f"{code}," for code in HISTORY_COLUMNS)
    days = [date.fromisoformat(line.split(",", 1)[0]) for line in lines[1:]]
    assert days == sorted(days, reverse=True) and days[0] == date(2026, 11, 4)
    assert all(is_working_day(day) for day in days)
    cyprus = HISTORY_COLUMNS.index("CYP") + 1
    assert {line.split(",")[cyprus] for line in lines[1:]} == {"N/A"}
    assert all(line.endswith(",") for line in lines)


def test_the_xml_files_hold_the_same_rates(sim: SimulatorServer) -> None:
    namespace = {"ecb": "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"}
    daily = ElementTree.fromstring(requests.get(f"{sim.ecb.endpoint}eurofxref-daily.xml", timeout=5).content)
    cube = daily.find("ecb:Cube/ecb:Cube", namespace)
    assert cube is not None and cube.get("time") == "2026-11-04"
    rates = {item.get("currency"): item.get("rate") for item in cube.findall("ecb:Cube", namespace)}
    assert rates == {code: str(rate) for code, rate in sim.ecb.rates_on(date(2026, 11, 4)).items()}
    history = ElementTree.fromstring(requests.get(f"{sim.ecb.endpoint}eurofxref-hist-90d.xml", timeout=5).content)
    assert len(history.findall("ecb:Cube/ecb:Cube", namespace)) > 55


def test_rates_are_deterministic_per_seed_and_day_and_plausible() -> None:
    day = date(2026, 11, 4)
    with SimulatorServer(seed=3, tls_port=None) as one, SimulatorServer(seed=3, tls_port=None) as two:
        assert one.ecb.rates_on(day) == two.ecb.rates_on(day)
        with SimulatorServer(seed=4, tls_port=None) as other:
            assert other.ecb.rates_on(day) != one.ecb.rates_on(day)
        usd = one.ecb.rates_on(day)["USD"]
        assert abs(usd - one.ecb.rates_on(day - timedelta(days=1))["USD"]) < usd / 50  # a small daily move
        assert one.ecb.rates_on(date(2026, 11, 7)) == {}  # a Saturday


def test_scripted_failures_and_the_fault_profile_apply(sim: SimulatorServer) -> None:
    sim.ecb.fail_next(503)
    assert requests.get(sim.ecb.daily_url, timeout=5).status_code == 503
    sim.faults.inject("ecb.history", 429, retry_after=3)
    throttled = requests.get(sim.ecb.history_url, timeout=5)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert requests.get(sim.ecb.daily_url, timeout=5).status_code == 200
