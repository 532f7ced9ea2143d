"""How old the newest rate is, and the warning pages show when it is older than ACORN_FX_STALE_DAYS (3) days.
Every date is built from the clock (or the clock is moved), never a fixed today."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from acorn.fx.models import ExchangeRate
from acorn.fx.selectors import rates_status
from acorn.tenancy.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


def _rate_days_ago(days: int) -> None:
    day = timezone.now().date() - timedelta(days=days)
    ExchangeRate.objects.create(base="EUR", quote="USD", rate_date=day, rate=Decimal("1.16"), source="ecb")


@pytest.mark.parametrize(("age", "stale"), [(0, False), (3, False), (4, True), (30, True)])
def test_rates_are_stale_when_older_than_the_setting(age: int, stale: bool) -> None:
    # given: the newest rate `age` days old
    _rate_days_ago(age)
    # when
    status = rates_status()
    # then
    assert status.latest_date == timezone.now().date() - timedelta(days=age)
    assert status.age_days == age and status.stale is stale and status.stale_after_days == 3
    assert status.loaded_at is not None


def test_the_setting_and_the_moving_clock_decide(settings: Any) -> None:
    # given: a rate of today, and a threshold of one day
    settings.ACORN_FX_STALE_DAYS = 1
    _rate_days_ago(0)
    assert rates_status().stale is False
    # when: two days pass with no new rate
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        status = rates_status()
    # then
    assert status.age_days == 2 and status.stale is True
    # and: `now` may be given
    assert rates_status(now=timezone.now() + timedelta(days=1)).stale is False


def test_no_rate_at_all_is_stale() -> None:
    ExchangeRate.objects.all().delete()
    status = rates_status()
    assert (status.latest_date, status.age_days, status.stale) == (None, None, True)
    page = render_to_string("fx/_stale_warning.html", {"rates_status": status})
    assert "No exchange rates are loaded" in page


def test_the_include_renders_only_when_stale_in_both_languages() -> None:
    # given: a rate five days old
    _rate_days_ago(5)
    day = (timezone.now().date() - timedelta(days=5)).isoformat()
    # when / then: the warning, with the age and the day
    page = render_to_string("fx/_stale_warning.html", {"rates_status": rates_status()})
    assert (
        f"Exchange rates are 5 days old (last: {day}); amounts in the reporting currency use the last known rate."
        in page
    )
    with translation.override("zh-hans"):
        chinese = render_to_string("fx/_stale_warning.html", {"rates_status": rates_status()})
    chinese_day = "{d.year}年{d.month}月{d.day}日".format(d=timezone.now().date() - timedelta(days=5))
    assert "汇率" in chinese and chinese_day in chinese and "Exchange rates" not in chinese
    # and: nothing at all once a fresh rate arrives
    _rate_days_ago(1)
    assert render_to_string("fx/_stale_warning.html", {"rates_status": rates_status()}).strip() == ""


def test_the_journals_page_warns_while_rates_are_stale(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    # given: a finance member, and rates last fetched a week ago
    client = client_for(make_member(tenant, Role.FINANCE))
    _rate_days_ago(7)
    # when / then
    page = client.get(reverse("finance:journal-list")).content.decode()
    assert 'id="fx-stale-warning"' in page and "7 days old" in page
    # when: today's rates arrive, then: no warning
    _rate_days_ago(0)
    page = client.get(reverse("finance:journal-list")).content.decode()
    assert 'id="fx-stale-warning"' not in page
