"""After-sales monitoring: customer service hears of new return requests and flagged refunds from the ingest
at once, batched when many arrive together; the weekly digest goes out once per week and company."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.adapters.base import ExternalRefund, ExternalReturn, RefundLine
from channels.models import Store
from inventory.models import Product
from orders.models import Order
from refunds import monitoring
from refunds.ingest import refund_upsert_page, return_upsert_page
from refunds.models import (
    AlertStatus,
    ClassificationRule,
    DigestSent,
    Refund,
    RefundOrigin,
    RefundRateAlert,
    RefundRateDaily,
    RefundStatus,
    ServiceNotice,
)
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
POSTED = datetime(2026, 11, 10, 8, 30, tzinfo=UTC)
_numbers = count(1)


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon US")


@pytest.fixture
def service(tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    """Customer service (support) and an admin get return requests; owner, operator and finance do not."""
    return {
        "support": make_member(tenant, Role.SUPPORT, "support@alpha.example"),
        "admin": make_member(tenant, Role.ADMIN, "admin@alpha.example"),
        "operator": make_member(tenant, Role.OPERATOR, "operator@alpha.example"),
        "finance": make_member(tenant, Role.FINANCE, "finance@alpha.example"),
    }


@pytest.fixture(autouse=True)
def _scope(tenant: Tenant) -> Iterator[None]:
    with tenant_scope(tenant):
        yield


def mfn_request(n: int | None = None, *, sku: str = "SKU-1") -> ExternalReturn:
    n = n or next(_numbers)
    return ExternalReturn(
        external_id=f"RMA{n}",
        order_id=f"111-{n:07d}",
        sku=sku,
        quantity=1,
        returned_at=POSTED,
        fulfillment_channel="merchant",
        reason_code="CR-DEFECTIVE",
        customer_comment="It stopped working",
        status="Approved",
        rma=f"RMA{n}",
        carrier="UPS",
        tracking_number=f"1Z{n}",
    )


def fba_return(n: int) -> ExternalReturn:
    return ExternalReturn(
        external_id=f"R-fba-{n}",
        order_id=f"111-{n:07d}",
        sku="SKU-1",
        quantity=1,
        returned_at=POSTED,
        fulfillment_channel="fba",
        reason_code="DEFECTIVE",
        status="Unit returned to inventory",
        disposition="SELLABLE",
        tracking_number="1ZFBA",
    )


def channel_refund(n: int, *, sku: str = "SKU-1") -> ExternalRefund:
    return ExternalRefund(
        external_id=f"shop-refund-{n}",
        order_id=f"#10{n:02d}",
        posted_at=POSTED,
        currency="USD",
        lines=(RefundLine(order_item_id="", sku=sku, quantity=1, components=(("principal", Decimal("-25")),)),),
        marketplace="US",
        source="shopify",
    )


def ingest(
    capture: Callable[..., Any], enqueued: EnqueuedTasks, action: Callable[[], Any], *, run_tasks: bool = True
) -> None:
    """Run an ingest page as the sync does (its own transaction), commit, then what was queued (emails)."""
    with capture(execute=True):
        action()
    if run_tasks:
        run_emails(enqueued)


def run_emails(enqueued: EnqueuedTasks) -> None:
    """Run the queued email tasks (not the batch window's countdown: the tests end windows themselves)."""
    emails = [(task, kwargs) for task, kwargs in enqueued if task.name == "notifications.send_notification_emails"]
    others = [(task, kwargs) for task, kwargs in enqueued if task.name != "notifications.send_notification_emails"]
    enqueued.clear()
    for task, kwargs in emails:
        task(**kwargs)
    enqueued.extend(others)


def notes(tenant: Tenant, kind: str = "return_request") -> list[Notification]:
    return list(Notification.objects.filter(tenant=tenant, kind=kind).select_related("recipient").order_by("pk"))


def recipients(notifications: list[Notification]) -> list[str]:
    return sorted(n.recipient.email for n in notifications)


def outbox_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- return requests ---------------------------------------------------------------------------------------------


def test_one_new_return_request_is_its_own_notification_and_email(
    tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    mail.outbox.clear()

    # when: the ingest creates one MFN return request
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(1)])
    )

    # then: support and admin get one notification each, linked to the return, and one email each
    sent = notes(tenant)
    assert recipients(sent) == ["admin@alpha.example", "support@alpha.example"]
    assert sent[0].title == "New return request: order 111-0000001"
    assert sent[0].link.startswith("/app/refunds/returns/") and sent[0].link.rstrip("/").split("/")[-1].isdigit()
    assert "It stopped working" in sent[0].body
    assert outbox_to() == ["admin@alpha.example", "support@alpha.example"]
    # and the batch window is open, its end queued
    assert [task.name for task, _kwargs in enqueued] == ["refunds.flush_service_notices"]


def test_several_return_requests_arriving_together_are_one_notification(
    tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    mail.outbox.clear()

    # when: one page with three requests (and an FBA return, which Amazon handles itself)
    ingest(
        django_capture_on_commit_callbacks,
        enqueued,
        lambda: return_upsert_page(
            store=store, returns=[mfn_request(1), mfn_request(2), mfn_request(3), fba_return(4)]
        ),
    )

    # then: one notification per member, naming the three, linked to the list
    sent = notes(tenant)
    assert recipients(sent) == ["admin@alpha.example", "support@alpha.example"]
    assert sent[0].title == "3 new return requests"
    assert sent[0].body.count("Order 111-") == 3
    assert sent[0].link.startswith("/app/refunds/returns/?")
    assert len(mail.outbox) == 2


def test_an_fba_return_and_a_return_synced_again_tell_nobody(
    tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[fba_return(9)])
    )
    assert notes(tenant) == []

    request = mfn_request(10)
    ingest(django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[request]))
    cache.clear()  # the window closed meanwhile
    ingest(django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[request]))

    assert len(notes(tenant)) == 2  # the first sync only: support and admin
    assert ServiceNotice.objects.filter(tenant=tenant).count() == 1


def test_requests_within_an_open_window_wait_and_go_out_together_at_its_end(
    tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: a first request went out at once and opened the window
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(1)])
    )
    assert len(notes(tenant)) == 2

    # when: two more pages arrive during the window
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(2)])
    )
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(3)])
    )

    # then: nothing more yet
    assert len(notes(tenant)) == 2

    # when: the window ends (its queued task runs)
    mail.outbox.clear()
    window_end = [(task, kwargs) for task, kwargs in enqueued if task.name == "refunds.flush_service_notices"]
    assert window_end == [(window_end[0][0], {"tenant_id": tenant.pk})]
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        window_end[0][0](**window_end[0][1])
    run_emails(enqueued)

    # then: the two went out as one; the window stays open one more period
    latest = notes(tenant)[2:]
    assert [n.title for n in latest] == ["2 new return requests"] * 2
    assert len(mail.outbox) == 2
    assert [task.name for task, _kwargs in enqueued] == ["refunds.flush_service_notices"]

    # when: that period ends quietly
    task, kwargs = enqueued.pop()
    assert task(**kwargs) == 0

    # then: the window is closed: the next request goes out at once
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(4)])
    )
    assert notes(tenant)[-1].title == "New return request: order 111-0000004"


def test_notices_left_behind_by_a_lost_window_task_are_sent_by_the_beat(
    tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from refunds.tasks import send_stale_service_notices_task

    # given: a window is open (its task lost) and a request waits in it
    cache.add(monitoring._window_key(tenant.pk), True)
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(5)])
    )
    assert notes(tenant) == []
    assert send_stale_service_notices_task() == 0  # not stale yet

    # when: long after
    ServiceNotice.objects.filter(tenant=tenant).update(created_at=datetime.now(UTC) - timedelta(hours=1))
    assert send_stale_service_notices_task() == 1

    # then
    assert [n.title for n in notes(tenant)] == ["New return request: order 111-0000005"] * 2


# --- refunds flagged by a rule -----------------------------------------------------------------------------------


def test_a_refund_a_rule_flags_for_customer_service_is_told_once(
    tenant: Tenant,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", region="", marketplaces=[])
    ClassificationRule.objects.create(
        tenant=tenant, name="Fragile SKU: call the buyer", position=1, skus="SKU-FRAGILE", flag_for_service=True
    )
    mail.outbox.clear()

    # when: one flagged refund and one that is not
    ingest(
        django_capture_on_commit_callbacks,
        enqueued,
        lambda: refund_upsert_page(store=shop, refunds=[channel_refund(1, sku="SKU-FRAGILE"), channel_refund(2)]),
    )

    # then: one notification each for support and admin, linked to the refund
    sent = notes(tenant, "refund_flagged")
    flagged = Refund.objects.get(tenant=tenant, flagged_for_service=True)
    assert recipients(sent) == ["admin@alpha.example", "support@alpha.example"]
    assert sent[0].link == f"/app/refunds/{flagged.pk}/"
    assert "Fragile SKU: call the buyer" in sent[0].body
    assert outbox_to() == ["admin@alpha.example", "support@alpha.example"]
    # and the alerts of the refunded SKUs are evaluated after commit (no SKU mapped here: no task)
    assert all(task.name != "refunds.evaluate_refund_alerts" for task, _kwargs in enqueued)

    # when: the same refund is synced again: still flagged, not newly
    cache.clear()
    ingest(
        django_capture_on_commit_callbacks,
        enqueued,
        lambda: refund_upsert_page(store=shop, refunds=[replace(channel_refund(1, sku="SKU-FRAGILE"), note="updated")]),
    )
    assert len(notes(tenant, "refund_flagged")) == 2


def test_a_refunds_ingest_queues_the_alert_evaluation_of_its_skus(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from inventory.models import SkuMapping

    shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", region="", marketplaces=[])
    product = Product.objects.create(tenant=tenant, sku="MUG", name="Mug")
    SkuMapping.objects.create(tenant=tenant, store=shop, channel_sku="SKU-1", product=product)

    ingest(
        django_capture_on_commit_callbacks,
        enqueued,
        lambda: refund_upsert_page(store=shop, refunds=[channel_refund(1), channel_refund(2)]),
    )

    assert [(task.name, kwargs) for task, kwargs in enqueued if task.name == "refunds.evaluate_refund_alerts"] == [
        ("refunds.evaluate_refund_alerts", {"tenant_id": tenant.pk, "product_ids": [product.pk]})
    ]


# --- tenants ----------------------------------------------------------------------------------------------------


def test_another_companys_returns_never_reach_our_team_and_ours_never_theirs(
    tenant: Tenant,
    other_tenant: Tenant,
    store: Store,
    service: dict[str, Membership],
    make_member: Callable[..., Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    their_support = make_member(other_tenant, Role.SUPPORT, "support@beta.example")
    with tenant_scope(other_tenant):
        their_store = StoreFactory(tenant=other_tenant)
    mail.outbox.clear()

    # when: both companies receive requests
    ingest(
        django_capture_on_commit_callbacks, enqueued, lambda: return_upsert_page(store=store, returns=[mfn_request(1)])
    )
    with tenant_scope(other_tenant):
        ingest(
            django_capture_on_commit_callbacks,
            enqueued,
            lambda: return_upsert_page(store=their_store, returns=[mfn_request(2), mfn_request(3)]),
        )

    # then: each team hears of its own only
    assert [n.title for n in notes(tenant)] == ["New return request: order 111-0000001"] * 2
    with dangerously_unscoped():
        theirs = list(Notification.objects.filter(recipient=their_support.user))
    assert [n.title for n in theirs] == ["2 new return requests"]
    assert sorted(m.to[0] for m in mail.outbox if "beta" in m.to[0]) == ["support@beta.example"]
    # and sending our notices never claims theirs
    with dangerously_unscoped():
        ServiceNotice.objects.filter(tenant=other_tenant).update(sent_at=None)
    assert monitoring.service_notices_send(tenant_id=tenant.pk) == 0


# --- weekly digest ------------------------------------------------------------------------------------------------


def _digest_data(tenant: Tenant, store: Store) -> None:
    """Last week (Mon 16 to Sun 22 Nov 2026): 2 orders, 2 refunds (30 USD), 10 of 100 units refunded."""
    monday = datetime(2026, 11, 16, 9, tzinfo=UTC)
    tenant.reporting_currency = "USD"
    tenant.save(update_fields=["reporting_currency"])
    for n, purchased in enumerate((monday, monday + timedelta(days=6, hours=14), monday - timedelta(hours=10))):
        Order.objects.create(
            tenant=tenant,
            store=store,
            external_id=f"W-{n}",
            purchased_at=purchased,
            channel_updated_at=purchased,
            status="shipped",
            raw_status="Shipped",
            fulfillment_channel="merchant",
            currency="USD",
        )
    for n, amount in enumerate(("10", "20")):
        Refund.objects.create(
            tenant=tenant,
            store=store,
            order_external_id=f"W-{n}",
            external_id=f"WR-{n}",
            dedupe_key=f"WR-{n}",
            origin=RefundOrigin.CHANNEL,
            status=RefundStatus.SUCCEEDED,
            currency="USD",
            amount=Decimal(amount),
            reporting_currency="USD",
            reporting_amount=Decimal(amount),
            refunded_at=monday + timedelta(days=2),
        )
    Refund.objects.create(  # the week before: not counted
        tenant=tenant,
        store=store,
        order_external_id="OLD",
        external_id="OLD",
        dedupe_key="OLD",
        origin=RefundOrigin.CHANNEL,
        status=RefundStatus.SUCCEEDED,
        currency="USD",
        amount=Decimal("99"),
        reporting_currency="USD",
        reporting_amount=Decimal("99"),
        refunded_at=monday - timedelta(days=1),
    )
    mug = Product.objects.create(tenant=tenant, sku="MUG", name="Mug")
    plate = Product.objects.create(tenant=tenant, sku="PLATE", name="Plate")
    RefundRateDaily.objects.create(
        tenant=tenant, product=mug, store=store, day=date(2026, 11, 18), sold_units=60, refunded_units=9
    )
    RefundRateDaily.objects.create(
        tenant=tenant, product=plate, store=store, day=date(2026, 11, 20), sold_units=40, refunded_units=1
    )
    RefundRateAlert.objects.create(
        tenant=tenant,
        product=mug,
        status=AlertStatus.OPEN,
        window_days=30,
        threshold_percent=Decimal("8"),
        rate_percent=Decimal("15"),
        latest_rate_percent=Decimal("15"),
        units_sold=60,
        units_refunded=9,
    )


def test_the_weekly_digest_has_last_weeks_figures_and_goes_out_once_per_week(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    store: Store,
    service: dict[str, Membership],
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _digest_data(tenant, store)
    today = date(2026, 11, 23)  # a Monday
    mail.outbox.clear()

    # when: it runs, and runs again the same week
    with django_capture_on_commit_callbacks(execute=True):
        first = monitoring.weekly_digest_send(tenant=tenant, today=today)
        again = monitoring.weekly_digest_send(tenant=tenant, today=today + timedelta(days=2))
    run_emails(enqueued)

    # then: one digest for the week, to owner and admin (weekly_digest's roles)
    assert (first, again) == (True, False)
    assert list(DigestSent.objects.filter(tenant=tenant).values_list("week", flat=True)) == [date(2026, 11, 16)]
    sent = notes(tenant, "weekly_digest")
    assert recipients(sent) == ["admin@alpha.example", "owner@alpha.example"]
    assert sent[0].title == "Weekly digest: 2026-11-16 to 2026-11-22"
    body = mail.outbox[0].body
    assert "Orders: 2" in body
    assert "Refunds: 2, 30.00 USD" in body
    assert "Refund rate: 10.00% (10 of 100 units)" in body
    assert "1. MUG — Mug: 15.00% (9 / 60)" in body
    assert "2. PLATE — Plate: 2.50% (1 / 40)" in body
    assert "Open refund-rate alerts: 1" in body
    assert outbox_to() == ["admin@alpha.example", "owner@alpha.example"]
    with dangerously_unscoped():
        assert not Notification.objects.filter(recipient=other_owner.user).exists()

    # when: next week
    with django_capture_on_commit_callbacks(execute=True):
        assert monitoring.weekly_digest_send(tenant=tenant, today=today + timedelta(days=7)) is True
    assert DigestSent.objects.filter(tenant=tenant).count() == 2


def test_the_weekly_digest_reads_in_each_readers_language(
    tenant: Tenant,
    owner: Membership,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: the owner reads Chinese (the worker writing the digest runs in the site's English)
    from acorn.tenancy.services import user_set_language

    user_set_language(user=owner.user, language="zh-hans")
    _digest_data(tenant, store)
    mail.outbox.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        monitoring.weekly_digest_send(tenant=tenant, today=date(2026, 11, 23))
    run_emails(enqueued)

    # then: the owner's email and notification are in Chinese, figures and SKUs unchanged
    (email,) = [message for message in mail.outbox if owner.user.email in message.to]
    assert "周报：2026年11月16日 至 2026年11月22日" in email.subject  # noqa: RUF001  (the days in Chinese style)
    assert "订单：2" in email.body and "退款：2 笔，共 30.00 USD" in email.body  # noqa: RUF001
    assert "1. MUG — Mug：15.00%（9 / 60）" in email.body  # noqa: RUF001
    assert "Refund rate" not in email.body


def test_the_digest_beat_queues_one_task_per_active_tenant_and_the_task_sends_it(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from refunds.tasks import dispatch_weekly_digests_task

    other_tenant.is_active = False
    other_tenant.save(update_fields=["is_active"])

    dispatch_weekly_digests_task()
    queued = [(task, kwargs) for task, kwargs in enqueued if task.name == "refunds.send_weekly_digest"]
    assert [kwargs for _task, kwargs in queued] == [{"tenant_id": tenant.pk}]
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert queued[0][0](**queued[0][1]) is True
        assert queued[0][0](**queued[0][1]) is False
    assert len(notes(tenant, "weekly_digest")) == 1


@override_settings(LANGUAGE_CODE="zh-hans")
def test_the_digest_email_follows_the_site_language(
    tenant: Tenant, owner: Membership, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        monitoring.weekly_digest_send(tenant=tenant, today=date(2026, 11, 23))
    run_emails(enqueued)

    assert len(mail.outbox) == 1
    assert "2026年11月16日" in mail.outbox[0].body  # the week written in the reader's style


def test_the_beat_runs_the_alerts_the_stale_notices_and_the_monday_digest(settings: Any) -> None:
    from celery.schedules import crontab

    from acorn.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["evaluate-refund-alerts"] == {"task": "refunds.dispatch_refund_alerts", "schedule": 900.0}
    assert schedule["send-stale-service-notices"]["task"] == "refunds.send_stale_service_notices"
    digest = schedule["send-weekly-digests"]
    assert digest["task"] == "refunds.dispatch_weekly_digests"
    assert digest["schedule"] == crontab(minute=0, hour=7, day_of_week=1)
    app.loader.import_default_modules()
    for entry in ("evaluate-refund-alerts", "send-stale-service-notices", "send-weekly-digests"):
        assert schedule[entry]["task"] in app.tasks
