"""Reads about exchange rates: how fresh the stored rates are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from acorn.fx.models import ExchangeRate


@dataclass(frozen=True)
class RatesStatus:
    """The newest rate ACORN holds: its day, when it was stored, its age in days, and whether that is stale."""

    latest_date: date | None
    loaded_at: datetime | None
    age_days: int | None
    stale: bool
    stale_after_days: int


def rates_status(*, now: datetime | None = None) -> RatesStatus:
    """How old the newest stored rate is, as of `now` (default: the clock). Stale when older than
    ACORN_FX_STALE_DAYS days, or when there is no rate at all."""
    limit = settings.ACORN_FX_STALE_DAYS
    newest = ExchangeRate.objects.order_by("-rate_date", "-created_at").values("rate_date", "created_at").first()
    if newest is None:
        return RatesStatus(None, None, None, stale=True, stale_after_days=limit)
    today = timezone.localdate(now or timezone.now())
    age = (today - newest["rate_date"]).days
    return RatesStatus(newest["rate_date"], newest["created_at"], age, stale=age > limit, stale_after_days=limit)
