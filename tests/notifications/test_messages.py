"""Stored notices render their parameters in the reader's language: names given as messages, days and moments
in the reader's style and the active time zone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from django.utils import translation

from acorn.dates import tenant_time_zone
from acorn.notifications.messages import message, render_stored


def test_days_moments_and_names_are_kept_as_data_and_written_when_read() -> None:
    notice = message(
        "%(what)s: %(day)s, %(moment)s",  # a test msgid: not in the catalogue, so only the parameters change
        what=message("Orders"),
        day=date(2026, 12, 7),
        moment=datetime(2026, 12, 7, 6, 5, tzinfo=UTC),
    )
    stored = json.loads(json.dumps(notice.stored()))  # as the notification row keeps it
    with translation.override("en"), tenant_time_zone("Asia/Shanghai"):
        assert render_stored([stored]) == "Orders: 2026-12-07, 2026-12-07 14:05 CST"
    with translation.override("zh-hans"), tenant_time_zone("UTC"):
        assert render_stored([stored]) == "订单: 2026年12月7日, 2026年12月7日 06:05 (UTC)"
