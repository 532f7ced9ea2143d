"""Exchange rates: the latest rate on or before the day, direct, inverse or through EUR; none is None."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from acorn.fx.models import ExchangeRate
from acorn.fx.services import convert_on, rate_on
from acorn.money import Money


@pytest.mark.django_db
def test_reference_rates_convert_a_fresh_install() -> None:
    # given: only the reference rates the migration loads
    # when: a JPY amount is converted to CNY through EUR
    converted = convert_on(Money(Decimal("1820"), "JPY"), to_currency="CNY", on=date(2026, 11, 1))

    # then: 1820 JPY = 10 EUR = 82.50 CNY, with the rate and its source kept
    assert converted is not None
    assert converted.result == Money(Decimal("82.50"), "CNY")
    assert converted.rate_date == date(2026, 1, 2) and converted.source == "acorn-reference"


@pytest.mark.django_db
def test_latest_rate_on_or_before_the_day_wins() -> None:
    # given: two later USD→CNY rates
    ExchangeRate.objects.create(base="USD", quote="CNY", rate_date=date(2026, 10, 1), rate=Decimal("7.10"), source="t")
    ExchangeRate.objects.create(base="USD", quote="CNY", rate_date=date(2026, 11, 1), rate=Decimal("7.20"), source="t")

    # then: each day takes the latest rate not after it; the inverse is derived
    assert rate_on("USD", "CNY", date(2026, 10, 15)) == (Decimal("7.10"), date(2026, 10, 1), "t")
    assert rate_on("USD", "CNY", date(2026, 11, 2)) == (Decimal("7.20"), date(2026, 11, 1), "t")
    inverse = rate_on("CNY", "USD", date(2026, 11, 2))
    assert inverse is not None and inverse[0] == Decimal("0.1388888889")


@pytest.mark.django_db
def test_unknown_currency_or_day_before_any_rate_has_no_rate() -> None:
    assert rate_on("USD", "XAF", date(2026, 11, 1)) is None
    assert rate_on("USD", "CNY", date(2025, 1, 1)) is None
    assert rate_on("USD", "USD", date(2025, 1, 1)) == (Decimal(1), date(2025, 1, 1), "identity")


@pytest.mark.django_db
def test_load_ecb_file_is_idempotent_and_names_bad_cells(tmp_path: Path) -> None:
    import json

    from django.core.management import CommandError, call_command

    good = tmp_path / "eurofxref.csv"
    good.write_text("Date, USD, JPY, CNY, \n2026-11-20, 1.1650, 181.20, 8.2710, \n2026-11-19, 1.1600, N/A, 8.2600, \n")
    out = tmp_path / "out.txt"
    for expected in (5, 0):
        with out.open("w") as handle:
            call_command("load_exchange_rates", str(good), "--json", stdout=handle)
        assert json.loads(out.read_text())["created"] == expected
    assert rate_on("EUR", "JPY", date(2026, 11, 21)) == (Decimal("181.20"), date(2026, 11, 20), "ecb")

    bad = tmp_path / "bad.csv"
    bad.write_text("Date,USD\n2026-11-21,1.17\n2026-11-22,1.17x\n")
    with pytest.raises(CommandError, match=r"line 3, column USD: '1.17x'"):
        call_command("load_exchange_rates", str(bad))
    assert not ExchangeRate.objects.filter(rate_date=date(2026, 11, 21)).exists()
