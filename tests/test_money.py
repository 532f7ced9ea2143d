"""Money: Decimal only, ISO currencies, minor units, explicit conversion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from acorn.money import CurrencyMismatchError, Money, convert, to_decimal, validate_currency_code


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("19.995", "USD", "20.00"),
        ("19940", "JPY", "19940"),
        ("1.2345", "KWD", "1.235"),
        ("-0.005", "EUR", "-0.01"),
    ],
)
def test_quantize_to_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert Money(Decimal(amount), currency).quantized().amount == Decimal(expected)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        Money(19.99, "USD")
    with pytest.raises(TypeError):
        Money(Decimal(1), "USD") * 1.5


def test_vendor_strings_parse_and_garbage_is_refused() -> None:
    assert to_decimal(" 11.01 ") == Decimal("11.01")
    assert to_decimal(25) == Decimal(25)
    with pytest.raises(ValueError):
        to_decimal("11,01x")
    with pytest.raises(ValueError):
        to_decimal("NaN")


def test_mixing_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")
    assert Money(Decimal("1.10"), "USD") + Money(Decimal("2.20"), "USD") == Money(Decimal("3.30"), "USD")


@pytest.mark.parametrize("code", ["usd", "US", "XYZ", "", "EURO"])
def test_invalid_currency_codes(code: str) -> None:
    with pytest.raises(ValidationError):
        validate_currency_code(code)


def test_convert_keeps_rate_date_and_source() -> None:
    result = convert(
        Money(Decimal("100"), "USD"),
        to_currency="CNY",
        rate=Decimal("7.1234"),
        rate_date=date(2026, 11, 25),
        source="test",
    )
    assert result.result == Money(Decimal("712.34"), "CNY")
    assert (result.rate, result.rate_date, result.source) == (Decimal("7.1234"), date(2026, 11, 25), "test")
    with pytest.raises(ValueError):
        convert(Money(Decimal(1), "USD"), to_currency="CNY", rate=Decimal(0), rate_date=date.today(), source="x")


def test_only_currencies_in_use_are_offered_but_old_codes_stay_valid_in_stored_data() -> None:
    from acorn.money import currencies_in_use, currency_choices

    # given Babel's territory currency data with its validity dates
    offered = [code for code, _label in currency_choices()]
    # then forms offer current tender only, the common ones first, each once
    assert offered[:3] == ["CNY", "USD", "EUR"] and len(offered) == len(set(offered))
    assert {"JPY", "GBP", "CHF", "VES", "ZWG"} <= set(offered)
    assert not {"ADP", "AFA", "ALK", "DEM", "FRF", "XAU", "XDR"} & set(offered)
    # the data has dates: the French franc was in use in 1990, the euro was not
    assert "FRF" in currencies_in_use(date(1990, 6, 1)) and "EUR" not in currencies_in_use(date(1990, 6, 1))
    # and a row stored with an old code still validates
    validate_currency_code("DEM")
