"""A failed sync run says what went wrong in the reader's language; the vendor's text stays beside it."""

from __future__ import annotations

import pytest
from django.utils import translation

from acorn.tenancy.models import Membership, Tenant
from channels.errors import SUMMARIES, error_summary
from channels.sync import resource_label, sync_jobs


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The channel refused the store's authorisation: re-authorise the store to resume."),
        ("zh-hans", "渠道拒绝了店铺的授权：请重新授权店铺以恢复同步。"),  # noqa: RUF001 - Chinese punctuation
    ],
)
def test_a_known_code_reads_as_a_sentence_in_the_language(language: str, expected: str) -> None:
    with translation.override(language):
        assert error_summary(code="auth", status="auth_failed") == expected


def test_an_unknown_vendor_code_falls_back_on_the_runs_status_and_a_clean_run_says_nothing() -> None:
    assert error_summary(code="QuotaExceeded", status="failed") == str(SUMMARIES["channel_error"])
    assert error_summary(code="Unauthorized", status="auth_failed") == str(SUMMARIES["auth"])
    assert error_summary(code="", status="succeeded") == ""


def test_every_registered_resource_has_a_name_in_both_languages() -> None:
    for job in sync_jobs():
        assert job.label, job.resource
        with translation.override("zh-hans"):
            chinese = resource_label(job.resource)
        assert chinese != job.resource and any("\u4e00" <= char <= "\u9fff" for char in chinese), chinese
    assert resource_label("retired_resource") == "retired_resource"


@pytest.mark.django_db
def test_the_keeps_failing_notice_names_the_resource_in_each_readers_language(
    tenant: Tenant, owner: Membership
) -> None:
    from acorn.notifications.models import Notification
    from acorn.tenancy.scoping import tenant_scope
    from channels.models import SyncRun
    from channels.store_state import store_notify_sync_failing
    from channels.sync import resource_message
    from tests.factories import StoreFactory

    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon JP")
        run = SyncRun(tenant=tenant, store=store, resource="orders", status="failed", error_code="QuotaExceeded")
        store_notify_sync_failing(store=store, run=run, resource=resource_message("orders"))
        notice = Notification.objects.get(kind="sync_failed")
        with translation.override("zh-hans"):
            chinese = notice.title_text
        with translation.override("en"):
            english = notice.title_text
    assert english.startswith("Orders sync of “Amazon JP”")
    assert "订单" in chinese and "orders" not in chinese.lower()
