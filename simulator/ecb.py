"""The ECB's euro foreign exchange reference rates, served as the ECB publishes them.

    sim.ecb.daily_url            # {sim.url}/ecb/stats/eurofxref/eurofxref.zip (what ACORN_ECB_RATES_URL names)
    sim.ecb.rates_on(day)        # {"USD": Decimal("1.1650"), …}, or {} on a weekend / TARGET closing day
    sim.ecb.latest_day()         # the newest day published as of the world's clock
    sim.ecb.fail_next(503)       # the next request answers 503 (0 drops the connection); times=n for more
    sim.ecb.malformed = "rate"   # serve a broken file: "rate" (a cell that is no number), "html" (a 200 page
                                 # that is no CSV), "zip" (a truncated archive); None serves the real thing

Files, under ``/ecb`` + the ECB's own paths (www.ecb.europa.eu/stats/policy_and_exchange_rates/
euro_reference_exchange_rates/ lists them; their layout is the one of the files the ECB serves, as
tools that read them show):

* ``/stats/eurofxref/eurofxref.zip``: ``eurofxref.csv``, the latest working day: ``Date, USD, JPY, …, ZAR, ``
  then ``10 February 2023, 1.0690, 139.88, …, `` (", " between cells, a trailing one, the date in English).
* ``/stats/eurofxref/eurofxref-hist.zip``: ``eurofxref-hist.csv``, newest first, ISO dates, ``,`` between
  cells and after the last, ``N/A`` where a currency had no rate, with the columns of currencies the euro
  replaced (CYP, EEK, …) kept. The real file starts in 1999; the simulator's holds the last `HISTORY_DAYS`.
* ``/stats/eurofxref/eurofxref-daily.xml`` and ``eurofxref-hist-90d.xml``: the gesmes envelope,
  ``<Cube time='2023-05-25'><Cube currency='USD' rate='1.0735'/>…``.

The rates are made up but plausible: per currency, a level near late-2026 figures, a slow swing and a small
daily move, deterministic from the seed and the day (the same day always has the same rates). A day is
published at 16:00 CET / CEST ("usually updated around 16:00 CET on every working day, except on TARGET
closing days": weekends, New Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December). The
server's fault profile applies (429 / 503 / dropped connections) like any other front.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import threading
import zipfile
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from simulator.faults import DROP_CONNECTION, FaultInjector
from simulator.http import Request, Response, Route

PREFIX = "/ecb"
FOLDER = "/stats/eurofxref/"
HISTORY_DAYS = 400
XML_90_DAYS = 90
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# The currencies of today's daily file, with a level near late-2026 figures (how many units one euro buys).
LEVELS: dict[str, str] = {
    "USD": "1.1650", "JPY": "181.20", "CZK": "24.300", "DKK": "7.4600", "GBP": "0.87000", "HUF": "385.00",
    "PLN": "4.2200", "RON": "5.0900", "SEK": "10.900", "CHF": "0.93000", "ISK": "144.00", "NOK": "11.800",
    "TRY": "50.000", "AUD": "1.7600", "BRL": "6.4000", "CAD": "1.6100", "CNY": "8.2500", "HKD": "9.1000",
    "IDR": "19200.00", "ILS": "3.9000", "INR": "105.00", "KRW": "1690.00", "MXN": "21.200", "MYR": "4.9000",
    "NZD": "2.0200", "PHP": "66.000", "SGD": "1.5100", "THB": "37.500", "ZAR": "20.500",
}  # fmt: skip
# The history file's columns, as in the ECB's eurofxref-hist.csv: currencies the euro replaced stay, N/A.
HISTORY_COLUMNS = (
    "USD", "JPY", "BGN", "CYP", "CZK", "DKK", "EEK", "GBP", "HUF", "LTL", "LVL", "MTL", "PLN", "ROL", "RON", "SEK",
    "SIT", "SKK", "CHF", "ISK", "NOK", "HRK", "RUB", "TRL", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR", "ILS",
    "INR", "KRW", "MXN", "MYR", "NZD", "PHP", "SGD", "THB", "ZAR",
)  # fmt: skip
# Bulgaria's lev, fixed to the euro, published until it adopted the euro on 1 January 2026.
BGN_RATE, BGN_LAST_DAY = "1.9558", date(2025, 12, 31)
# Currencies pegged to the euro barely move.
PEGGED = frozenset({"DKK"})
MALFORMED_KINDS = ("rate", "html", "zip")


def _easter(year: int) -> date:
    """Easter Sunday (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    n = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * n) // 433
    month = (h + n - 7 * m + 90) // 25
    return date(year, month, (h + n - 7 * m + 33 * month + 19) % 32)


def is_working_day(day: date) -> bool:
    """A TARGET working day: not a weekend, New Year's Day, Good Friday, Easter Monday, 1 May, 25/26 December."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    easter = _easter(day.year)
    return day not in (easter - timedelta(days=2), easter + timedelta(days=1))


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def publication_moment(day: date) -> datetime:
    """16:00 in Frankfurt on `day` (CEST, UTC+2, from the last Sunday of March to the last Sunday of October)."""
    summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    return datetime(day.year, day.month, day.day, 14 if summer else 15, tzinfo=UTC)


def _rate_text(value: float) -> str:
    """Five significant figures, at least two decimals, as the ECB writes them (1.0690, 139.88, 16233.33)."""
    decimals = max(4 - math.floor(math.log10(value)), 2)
    return f"{value:.{decimals}f}"


class EcbContext:
    """The ECB's reference-rate files for one server."""

    def __init__(self, *, seed: int, clock: Callable[[], datetime], faults: FaultInjector, base_url: Callable[[], str]):
        self.seed = seed
        self.clock = clock
        self.faults = faults
        self._base_url = base_url
        self._lock = threading.Lock()
        self._scripted: deque[int] = deque()
        self.malformed: str | None = None

    # -- for tests and the demo -----------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The folder URL, like https://www.ecb.europa.eu/stats/eurofxref/."""
        return f"{self._base_url()}{PREFIX}{FOLDER}"

    @property
    def daily_url(self) -> str:
        return f"{self.endpoint}eurofxref.zip"

    @property
    def history_url(self) -> str:
        return f"{self.endpoint}eurofxref-hist.zip"

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` requests answer `status` (0: the connection drops without an answer)."""
        with self._lock:
            self._scripted.extend([status] * times)

    def latest_day(self) -> date:
        """The newest working day whose rates are published as of the clock."""
        now = self.clock()
        day = now.date()
        if now < publication_moment(day):
            day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
        return day

    def published_days(self, count_back: int) -> list[date]:
        """Working days of the last `count_back` calendar days up to the latest, newest first."""
        latest = self.latest_day()
        days = (latest - timedelta(days=offset) for offset in range(count_back))
        return [day for day in days if is_working_day(day)]

    def rates_on(self, day: date) -> dict[str, Decimal]:
        """The reference rates of `day` ({} when nothing is published that day)."""
        if not is_working_day(day):
            return {}
        rates = {}
        for code, level in LEVELS.items():
            phase = int(hashlib.sha256(f"{self.seed}:{code}".encode()).hexdigest()[:8], 16) / 2**32
            swing = (0.001 if code in PEGGED else 0.03) * math.sin(day.toordinal() / 47 + phase * 2 * math.pi)
            draw = random.Random(f"ecb:{self.seed}:{code}:{day.isoformat()}").uniform(-1, 1)  # noqa: S311
            noise = (0.0002 if code in PEGGED else 0.004) * draw
            rates[code] = Decimal(_rate_text(float(level) * (1 + swing + noise)))
        return rates

    # -- the files ------------------------------------------------------------------------------------------

    def daily_csv(self) -> str:
        day = self.latest_day()
        rates = self.rates_on(day)
        header = "".join(f"{code}, " for code in rates)
        cells = "".join(f"{rate}, " for rate in rates.values())
        return f"Date, {header}\n{day.day:02d} {MONTHS[day.month - 1]} {day.year}, {cells}\n"

    def history_csv(self) -> str:
        lines = ["Date," + "".join(f"{code}," for code in HISTORY_COLUMNS)]
        for day in self.published_days(HISTORY_DAYS):
            rates = {code: str(rate) for code, rate in self.rates_on(day).items()}
            if day <= BGN_LAST_DAY:
                rates["BGN"] = BGN_RATE
            lines.append(day.isoformat() + "," + "".join(f"{rates.get(code, 'N/A')}," for code in HISTORY_COLUMNS))
        return "\n".join(lines) + "\n"

    def xml(self, days: list[date]) -> str:
        cubes = []
        for day in days:
            inner = "".join(
                f"\t\t\t<Cube currency='{code}' rate='{rate}'/>\n" for code, rate in self.rates_on(day).items()
            )
            cubes.append(f"\t\t<Cube time='{day.isoformat()}'>\n{inner}\t\t</Cube>\n")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
            'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
            "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
            "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n"
            f"\t<Cube>\n{''.join(cubes)}\t</Cube>\n</gesmes:Envelope>\n"
        )

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _fault(self, operation: str, path: str) -> Response | None:
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            if scripted == DROP_CONNECTION:
                return Response.drop()
            return Response.html("<html><body><h1>Service Unavailable</h1></body></html>", status=scripted)
        fault = self.faults.before_call(operation, path)
        if fault is None:
            return None
        if fault.status == DROP_CONNECTION:
            return Response.drop(fault.hang_seconds)
        response = Response.html("<html><body><h1>Try again later</h1></body></html>", status=fault.status)
        if fault.retry_after:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    def _zip(self, member: str, text: str) -> Response:
        if self.malformed == "html":
            return Response.html("<html><head><title>Maintenance</title></head><body>Back soon.</body></html>")
        if self.malformed == "rate":
            lines = text.split("\n")
            lines[1] = lines[1].replace(",", ", 1.17x,", 1)  # the first currency's cell is no number
            text = "\n".join(lines)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, text)
        body = buffer.getvalue()
        if self.malformed == "zip":
            body = body[: len(body) // 2]
        return Response(body=body, headers={"Content-Type": "application/zip"})

    def _handler(self, operation: str, make: Callable[[], Response]) -> Callable[[Request, dict[str, str]], Response]:
        def handle(request: Request, params: dict[str, str]) -> Response:
            return self._fault(operation, request.path) or make()

        return handle

    def routes(self) -> list[Route]:
        folder = f"{PREFIX}{FOLDER}"

        def xml_response(days: Callable[[], list[date]]) -> Callable[[], Response]:
            return lambda: Response(
                body=self.xml(days()).encode("utf-8"), headers={"Content-Type": "text/xml; charset=UTF-8"}
            )

        return [
            Route(
                "GET",
                f"{folder}eurofxref.zip",
                self._handler("ecb.daily", lambda: self._zip("eurofxref.csv", self.daily_csv())),
                "ecbDailyCsv",
            ),
            Route(
                "GET",
                f"{folder}eurofxref-hist.zip",
                self._handler("ecb.history", lambda: self._zip("eurofxref-hist.csv", self.history_csv())),
                "ecbHistoryCsv",
            ),
            Route(
                "GET",
                f"{folder}eurofxref-daily.xml",
                self._handler("ecb.daily", xml_response(lambda: [self.latest_day()])),
                "ecbDailyXml",
            ),
            Route(
                "GET",
                f"{folder}eurofxref-hist-90d.xml",
                self._handler("ecb.history", xml_response(lambda: self.published_days(XML_90_DAYS))),
                "ecbHistory90Xml",
            ),
        ]
