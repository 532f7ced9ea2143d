"""Look up a rate and convert: the latest published rate on or before the day, direct, inverse or through
EUR (the reference rates are EUR-based, as the ECB publishes them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from acorn.fx.models import ExchangeRate
from acorn.money import RATE_DECIMAL_PLACES, Converted, Money, convert

PIVOT = "EUR"
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_DECIMAL_PLACES)


def _direct(base: str, quote: str, on: date) -> tuple[Decimal, date, str] | None:
    row = (
        ExchangeRate.objects.filter(base=base, quote=quote, rate_date__lte=on)
        .order_by("-rate_date", "source")
        .values_list("rate", "rate_date", "source")
        .first()
    )
    if row is not None:
        return row
    inverse = (
        ExchangeRate.objects.filter(base=quote, quote=base, rate_date__lte=on)
        .order_by("-rate_date", "source")
        .values_list("rate", "rate_date", "source")
        .first()
    )
    if inverse is not None:
        return ((Decimal(1) / inverse[0]).quantize(_RATE_QUANTUM), inverse[1], inverse[2])
    return None


def rate_on(base: str, quote: str, on: date) -> tuple[Decimal, date, str] | None:
    """(rate, its date, source) for converting `base` to `quote` on `on`, or None when no rate is known."""
    if base == quote:
        return (Decimal(1), on, "identity")
    found = _direct(base, quote, on)
    if found is not None:
        return found
    if PIVOT in (base, quote):
        return None
    to_pivot, from_pivot = _direct(base, PIVOT, on), _direct(PIVOT, quote, on)
    if to_pivot is None or from_pivot is None:
        return None
    rate = (to_pivot[0] * from_pivot[0]).quantize(_RATE_QUANTUM)
    return (rate, min(to_pivot[1], from_pivot[1]), to_pivot[2] if to_pivot[2] == from_pivot[2] else "cross")


def convert_on(money: Money, *, to_currency: str, on: date) -> Converted | None:
    """`money` in `to_currency` at the rate of `on` (quantised to its minor unit), or None without a rate."""
    found = rate_on(money.currency, to_currency, on)
    if found is None:
        return None
    rate, rate_date, source = found
    return convert(money, to_currency=to_currency, rate=rate, rate_date=rate_date, source=source)
