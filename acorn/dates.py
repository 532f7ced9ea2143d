"""Dates and times for people: one style everywhere, in the tenant's time zone, written per the reader's language.

The console's middleware activates the tenant's zone (Tenant.time_zone) for each request, and tasks that write
dates for a tenant (emails) enter it with `tenant_time_zone`; these helpers then show a moment in that zone,
with the zone named, so nobody has to guess whether "14:05" is Shanghai or UTC:

    English   2026-12-07 14:05 CST         (the zone's abbreviation, or its IANA name where it has none)
    Chinese   2026年12月7日 14:05 (Asia/Shanghai)

Days and months are written the same way ("2026-12-07" / "2026年12月7日", "2026-12" / "2026年12月"). Stored data
stays in UTC; only what is shown changes. Exports and machine-read values keep ISO 8601.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from typing import Any

from babel.core import get_global
from babel.dates import format_date, format_time
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

DEFAULT_TIME_ZONE = "UTC"

# Babel (CLDR) patterns per language; any other language falls back to the English (ISO-like) style.
_PATTERNS = {
    "en": {"day": "yyyy-MM-dd", "month": "yyyy-MM", "time": "HH:mm"},
    "zh": {"day": "y年M月d日", "month": "y年M月", "time": "HH:mm"},
}


@cache
def available_time_zones() -> tuple[str, ...]:
    """Every IANA zone this machine's tz database knows (zoneinfo.available_timezones), sorted; the only list a
    tenant may choose from."""
    return tuple(sorted(zoneinfo.available_timezones()))


@cache
def offered_time_zones() -> tuple[str, ...]:
    """The zones the company form offers: CLDR's zones of the world's countries (Babel's territory_zones, the
    canonical Area/City names such as Asia/Shanghai and Europe/Kyiv) that this machine's tz database knows, and
    UTC. The old aliases the tz database also carries ("Japan", "US/Eastern", "Asia/Calcutta") are not offered;
    a tenant already holding one keeps it (validate_time_zone accepts every IANA name)."""
    zones = {
        zone
        for territory_zones in get_global("territory_zones").values()
        for zone in territory_zones
        if not zone.startswith("Etc/")  # fixed offsets, named with the sign inverted (Etc/GMT+8 is UTC-8)
    }
    return (DEFAULT_TIME_ZONE, *sorted(zones & set(available_time_zones())))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in offered_time_zones()]


def validate_time_zone(value: str) -> None:
    """Validator for model and form fields: an IANA zone name such as "Asia/Shanghai"."""
    if value not in available_time_zones():
        raise ValidationError(_("%(value)s is not a time zone name such as Asia/Shanghai."), params={"value": value})


def default_time_zone_for_currency(currency: str) -> str:
    """A first guess at a new tenant's zone from its reporting currency: the zone of the one country whose
    currency it is (CNY → Asia/Shanghai, JPY → Asia/Tokyo, GBP → Europe/London), else UTC (USD and EUR are
    spent in too many places to guess). The owner changes it on the company page."""
    territories = [
        territory
        for territory, tenders in get_global("territory_currencies").items()
        if any(tender[0] == currency and tender[2] is None and tender[3] for tender in tenders)
    ]
    if len(territories) != 1:
        return DEFAULT_TIME_ZONE
    zones = [zone for zone in get_global("territory_zones").get(territories[0], []) if zone in available_time_zones()]
    return zones[0] if zones else DEFAULT_TIME_ZONE


@contextmanager
def tenant_time_zone(name: str | None) -> Iterator[None]:
    """Show dates in the zone `name` (a tenant's) within the block: for tasks and emails outside a request."""
    previous = timezone.get_current_timezone()
    timezone.activate(zone_info(name))
    try:
        yield
    finally:
        timezone.activate(previous)


def zone_info(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


def _language() -> tuple[str, dict[str, str]]:
    locale = to_locale(get_language() or "en")
    return locale, _PATTERNS.get(locale.split("_")[0], _PATTERNS["en"])


def _zone_label(moment: datetime, *, chinese: bool) -> str:
    """The zone a moment is shown in: its abbreviation in English where the tz database has one ("CST", "CET",
    "UTC"), else the zone's IANA name; always the IANA name in Chinese, where abbreviations are not read."""
    key = getattr(moment.tzinfo, "key", None) or str(moment.tzinfo)
    if chinese:
        return f"({key})"
    abbreviation = moment.tzname() or ""
    return abbreviation if abbreviation.isalpha() else key


def format_moment(value: Any) -> str:
    """A date and time for a person, in the active (tenant's) zone, with the zone shown; "" for none."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return format_day(value)
    moment = timezone.localtime(value) if timezone.is_aware(value) else value.replace(tzinfo=zone_info(None))
    locale, patterns = _language()
    text = (
        f"{format_date(moment, patterns['day'], locale=locale)} {format_time(moment, patterns['time'], locale=locale)}"
    )
    return f"{text} {_zone_label(moment, chinese=locale.startswith('zh'))}"


def format_time_of_day(value: Any) -> str:
    """Only the time of a moment ("14:05"), in the active zone: for a list whose day and zone are said once."""
    if not isinstance(value, datetime):
        return ""
    moment = timezone.localtime(value) if timezone.is_aware(value) else value
    locale, patterns = _language()
    return format_time(moment, patterns["time"], locale=locale)


def format_day(value: Any) -> str:
    """A calendar day for a person ("2026-12-07" / "2026年12月7日"); a moment is first put in the active zone."""
    return _format_date(value, "day")


def format_month(value: Any) -> str:
    """A month for a person ("2026-12" / "2026年12月")."""
    return _format_date(value, "month")


def _format_date(value: Any, pattern: str) -> str:
    """A day or month (`pattern`: "day" / "month") in the reader's style; "" for none, a moment's own day in the
    active zone, anything else as text."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return str(value)
    locale, patterns = _language()
    return format_date(value, patterns[pattern], locale=locale)
