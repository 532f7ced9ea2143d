"""Look up a rate and convert: the latest published rate on or before the day, direct, inverse or through
EUR (the reference rates are EUR-based, as the ECB publishes them). A day with no rate of its own (a weekend,
a TARGET holiday, a fetch that failed) takes the last known one, and the result says which day that was.

`reference_rates_upsert` is the one writer of reference rates (the file loader and the daily fetch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from acorn.fx.models import ExchangeRate
from acorn.fx.reference_file import REFERENCE_BASE, ReferenceRate
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


@dataclass(frozen=True)
class UpsertResult:
    """What `reference_rates_upsert` did: rows created, rows whose rate was corrected, rows already equal."""

    created: int
    updated: int
    unchanged: int


@transaction.atomic
def reference_rates_upsert(*, rates: Sequence[ReferenceRate], source: str) -> UpsertResult:
    """Store EUR-based rates under `source`: new (currency, day) rows are created, a corrected rate replaces
    the stored one, an equal one writes nothing. Never deletes: an older file loses no newer rate."""
    if not rates:
        return UpsertResult(0, 0, 0)
    days = [rate.day for rate in rates]
    stored = {
        (row.quote, row.rate_date): row
        for row in ExchangeRate.objects.filter(
            base=REFERENCE_BASE, source=source, rate_date__gte=min(days), rate_date__lte=max(days)
        ).order_by("pk")
    }
    new: dict[tuple[str, date], ExchangeRate] = {}
    updated = unchanged = 0
    for item in rates:
        rate = item.rate.quantize(_RATE_QUANTUM)
        row = stored.get((item.quote, item.day))
        if row is None:
            new[(item.quote, item.day)] = ExchangeRate(
                base=REFERENCE_BASE, quote=item.quote, rate_date=item.day, rate=rate, source=source
            )
        elif row.rate == rate:
            unchanged += 1
        else:
            row.rate = rate
            row.save(update_fields=["rate"])
            updated += 1
    ExchangeRate.objects.bulk_create(new.values(), batch_size=500)
    return UpsertResult(created=len(new), updated=updated, unchanged=unchanged)
