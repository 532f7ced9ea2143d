"""Exchange-rate tasks: the daily ECB fetch (global reference data, no tenant)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from acorn.fx.fetch import RatesUnavailable, exchange_rates_fetch


@shared_task(
    name="fx.fetch_exchange_rates",
    acks_late=True,
    autoretry_for=(RatesUnavailable,),
    retry_backoff=600,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=3,
)
def fetch_exchange_rates_task() -> dict[str, Any]:
    """Fetch the ECB's reference rates and upsert them (the history file too when days are missing). Safe to
    run twice: a second run writes nothing. Returns the fetch summary."""
    return exchange_rates_fetch().as_dict()
