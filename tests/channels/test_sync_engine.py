"""The sync engine with a scripted adapter (a test double at the adapter boundary, not a mocked client).

What the engine must guarantee: page + cursor in one transaction, idempotent re-runs, retries that honour
Retry-After, one auth interruption, restart of an expired pagination, quarantine without loss, the lease.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import sync
from channels.adapters.base import (
    BadRecord,
    ChannelAdapter,
    ChannelAuthError,
    ChannelCursorExpired,
    ChannelRateLimited,
    ChannelRetryableError,
    ExternalOrder,
    ExternalOrderLine,
    Page,
)
from channels.models import QuarantinedRecord, Store, StoreCredential, StoreStatus, SyncCursor, SyncRun
from orders.models import Order, OrderLine
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def make_order(
    n: int, *, status: str = "paid_unshipped", updated: datetime | None = None, total: str = "10.00"
) -> ExternalOrder:
    return ExternalOrder(
        external_id=f"111-{n:07d}",
        marketplace="US",
        purchased_at=T0,
        updated_at=updated or T0 + timedelta(minutes=n),
        raw_status=status.upper(),
        status=status,
        fulfillment_channel="merchant",
        currency="USD",
        item_amount=Decimal(total),
        shipping_amount=Decimal(0),
        tax_amount=Decimal(0),
        discount_amount=Decimal(0),
        other_amount=Decimal(0),
        total_amount=Decimal(total),
        buyer_country="US",
        lines=(
            ExternalOrderLine(
                external_id=f"L{n}",
                sku="SKU-1",
                quantity=1,
                currency="USD",
                unit_price=Decimal(total),
                item_amount=Decimal(total),
            ),
        ),
    )


class ScriptedAdapter(ChannelAdapter):
    key = "amazon"
    script: list[Any] = []
    calls: list[tuple[datetime, datetime | None, str | None]] = []

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        type(self).calls.append((updated_after, updated_before, page_token))
        step = type(self).script.pop(0)
        if callable(step):  # something happens while the call is out, then it answers
            step = step()
        if isinstance(step, Exception):
            raise step
        return step


@pytest.fixture
def store(tenant: Tenant, owner: Membership) -> Iterator[Store]:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        StoreCredential.objects.create(tenant=tenant, store=store, secrets={"refresh_token": "Atzr|x"})
        yield store


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Callable[[list[Any]], type[ScriptedAdapter]]:
    settings.ACORN_RATE_LIMIT_SCALE = 10_000
    monkeypatch.setattr(sync, "adapter_for", lambda store, secrets: ScriptedAdapter(store=store, secrets=secrets))

    def load(steps: list[Any]) -> type[ScriptedAdapter]:
        ScriptedAdapter.script = list(steps)
        ScriptedAdapter.calls = []
        return ScriptedAdapter

    return load


def run(store: Store, **kwargs: Any) -> SyncRun:
    naps: list[float] = []
    result = sync.sync_run_execute(store=store, resource="orders", trigger="command", sleep=naps.append, **kwargs)
    result.refresh_from_db()
    result.naps = naps
    return result


def test_pages_are_stored_and_the_cursor_advances_to_the_window_end(store: Store, scripted: Callable) -> None:
    end = T0 + timedelta(hours=1)
    scripted(
        [
            Page(items=(make_order(1), make_order(2)), next_token="p2", window_end=end),
            Page(items=(make_order(3),), next_token=None, window_end=end),
        ]
    )
    result = run(store)
    assert (result.status, result.pages, result.created, result.fetched) == ("succeeded", 2, 3, 3)
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.high_water == end and cursor.page_token == "" and cursor.window_start is None
    assert Order.objects.count() == 3 and OrderLine.objects.count() == 3
    # the second page was asked with the token and the window end pinned by the first
    assert ScriptedAdapter.calls[1][1:] == (end, "p2")


def test_running_twice_changes_nothing(store: Store, scripted: Callable) -> None:
    page = Page(items=(make_order(1), make_order(2)), window_end=T0 + timedelta(hours=1))
    scripted([page, page])
    run(store)
    second = run(store)
    assert (second.created, second.updated, second.skipped) == (0, 0, 2)
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 2


def test_next_window_starts_at_the_high_water_minus_overlap(store: Store, scripted: Callable, settings: Any) -> None:
    end = T0 + timedelta(hours=1)
    scripted([Page(items=(), window_end=end), Page(items=(), window_end=end + timedelta(hours=1))])
    run(store)
    run(store)
    assert ScriptedAdapter.calls[1][0] == end - timedelta(seconds=settings.ACORN_SYNC_OVERLAP_SECONDS)


def test_changes_update_and_older_copies_never_win(store: Store, scripted: Callable) -> None:
    newer = make_order(1, status="shipped", updated=T0 + timedelta(hours=2), total="12.50")
    older = make_order(1, status="paid_unshipped", updated=T0 + timedelta(hours=1))
    scripted([Page(items=(older,)), Page(items=(newer, older))])
    run(store)
    second = run(store)
    order = Order.objects.get()
    assert (second.updated, order.status, order.total_amount) == (1, "shipped", Decimal("12.50"))


def test_retryable_errors_back_off_honouring_retry_after(store: Store, scripted: Callable) -> None:
    scripted([ChannelRateLimited("429", retry_after=3), ChannelRetryableError("503"), Page(items=(make_order(1),))])
    result = run(store)
    assert (result.status, result.retries, result.created) == ("succeeded", 2, 1)
    assert result.naps[0] == 3  # Retry-After honoured


def test_persistent_failure_fails_the_run_and_backs_off(store: Store, scripted: Callable) -> None:
    scripted([ChannelRetryableError("503", code="http_503")] * sync.MAX_ATTEMPTS_PER_CALL)
    result = run(store)
    assert (result.status, result.error_code) == ("failed", "http_503")
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.consecutive_failures == 1 and cursor.next_run_at > timezone.now()


def test_auth_failure_interrupts_the_store_once_and_notifies(store: Store, scripted: Callable) -> None:
    scripted([ChannelAuthError("invalid_grant"), ChannelAuthError("invalid_grant")])
    first = run(store)
    store.refresh_from_db()
    assert (first.status, store.status) == ("auth_failed", StoreStatus.AUTH_INTERRUPTED)
    assert Notification.objects.filter(kind="store_auth_interrupted").count() == 1
    assert SyncCursor.objects.get(store=store).next_run_at is None
    # a second attempt does not even call the vendor, and does not notify again
    second = run(store)
    assert second.error_code == "store_not_active" and len(ScriptedAdapter.script) == 1
    assert Notification.objects.filter(kind="store_auth_interrupted").count() == 1


def test_expired_pagination_restarts_the_pinned_window(store: Store, scripted: Callable) -> None:
    end = T0 + timedelta(hours=1)
    scripted(
        [
            Page(items=(make_order(1),), next_token="p2", window_end=end),
            ChannelCursorExpired("token expired"),
            Page(items=(make_order(1), make_order(2)), next_token=None, window_end=end),
        ]
    )
    result = run(store)
    assert result.status == "succeeded" and Order.objects.count() == 2
    start = ScriptedAdapter.calls[0][0]
    assert ScriptedAdapter.calls[2] == (start, end, None)


def test_malformed_records_are_quarantined_once_and_the_page_goes_on(store: Store, scripted: Callable) -> None:
    bad = BadRecord(
        reason="proceeds.grandTotal.amount: '1,2x' is not a decimal amount", raw={"orderId": "X"}, external_id="X"
    )
    scripted([Page(items=(make_order(1),), bad_records=(bad,)), Page(items=(make_order(1),), bad_records=(bad,))])
    first = run(store)
    run(store)
    record = QuarantinedRecord.objects.get()
    assert (first.quarantined, record.seen_count, record.external_id) == (1, 2, "X")
    assert "grandTotal" in record.reason and Order.objects.count() == 1


def test_time_budget_pauses_and_the_next_run_resumes_mid_window(store: Store, scripted: Callable) -> None:
    end = T0 + timedelta(hours=1)
    scripted(
        [
            Page(items=(make_order(1),), next_token="p2", window_end=end),
            Page(items=(make_order(2),), next_token=None, window_end=end),
        ]
    )
    first = run(store, time_budget_seconds=0)
    assert first.status == "partial" and first.error_code == "time_budget"
    assert SyncCursor.objects.get(store=store).page_token == "p2"
    ScriptedAdapter.script.append(Page(items=(), window_end=end + timedelta(minutes=30)))
    second = run(store)
    assert second.status == "succeeded" and ScriptedAdapter.calls[1][2] == "p2"
    assert Order.objects.count() == 2


def test_a_failing_persist_rolls_back_the_page_and_keeps_the_cursor(
    store: Store, scripted: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted([Page(items=(make_order(1),), next_token="p2", window_end=T0)])

    def explode(store: Store, items: Any) -> Any:
        Order.objects.create(
            tenant=store.tenant,
            store=store,
            external_id="half-written",
            purchased_at=T0,
            channel_updated_at=T0,
            status="shipped",
            raw_status="S",
            fulfillment_channel="fba",
            currency="USD",
        )
        raise RuntimeError("disk full")

    job = sync.sync_job_get("orders")
    monkeypatch.setitem(sync._JOBS, "orders", sync.SyncJob(**{**job.__dict__, "persist": explode}))
    with pytest.raises(RuntimeError):
        run(store)
    assert not Order.objects.exists()
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.page_token == "" and cursor.high_water is None
    assert SyncRun.objects.get().status == "failed"


def test_only_one_run_per_store_and_resource(store: Store, scripted: Callable) -> None:
    cursor = sync.sync_cursor_get_or_create(store=store, resource="orders")
    SyncCursor.objects.filter(pk=cursor.pk).update(lease_until=timezone.now() + timedelta(minutes=5), lease_run="other")
    with pytest.raises(sync.SyncAlreadyRunning):
        run(store)
    # an expired lease (a killed worker) is taken over, and its run is marked interrupted
    stale = SyncRun.objects.create(
        tenant=store.tenant, store=store, resource="orders", trigger="schedule", trace_id="stale"
    )
    SyncCursor.objects.filter(pk=cursor.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    scripted([Page(items=())])
    assert run(store).status == "succeeded"
    stale.refresh_from_db()
    assert (stale.status, stale.error_code) == ("failed", "interrupted")


def test_credentials_that_no_key_decrypts_fail_clearly(store: Store, scripted: Callable, settings: Any) -> None:
    from cryptography.fernet import Fernet

    from acorn.crypto import _fernet

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _fernet.cache_clear()
    try:
        fresh = Store.objects.get(pk=store.pk)
        result = run(fresh)
    finally:
        _fernet.cache_clear()
    assert (result.status, result.error_code) == ("failed", "credential_unreadable")


def test_a_resumed_window_is_followed_by_a_fresh_one_until_caught_up(
    store: Store, scripted: Callable, settings: Any
) -> None:
    # given: a run stopped mid-window (pinned to `end`), and an order updated after that window
    end = T0 + timedelta(hours=1)
    fresh_end = end + timedelta(hours=2)
    scripted(
        [
            Page(items=(make_order(1),), next_token="p2", window_end=end),
            Page(items=(make_order(2),), next_token=None, window_end=end),
            Page(items=(make_order(3, updated=end + timedelta(minutes=30)),), next_token=None, window_end=fresh_end),
        ]
    )
    first = run(store, time_budget_seconds=0)
    assert (first.status, first.caught_up) == ("partial", False)

    # when: the next run resumes
    second = run(store)

    # then: it finished the pinned window, opened a fresh one from there, and ended caught up
    assert (second.status, second.caught_up, second.pages) == ("succeeded", True, 2)
    assert ScriptedAdapter.calls[2] == (end - timedelta(seconds=settings.ACORN_SYNC_OVERLAP_SECONDS), None, None)
    assert Order.objects.count() == 3
    cursor = SyncCursor.objects.get(store=store)
    assert (cursor.high_water, cursor.up_to_date_as_of, cursor.last_status) == (fresh_end, fresh_end, "succeeded")
    assert second.synced_to == fresh_end


def test_a_window_the_run_opened_itself_is_enough(store: Store, scripted: Callable) -> None:
    end = T0 + timedelta(hours=1)
    scripted([Page(items=(make_order(1),), next_token="p2", window_end=end), Page(items=(), window_end=end)])
    result = run(store)
    assert (result.status, result.caught_up, len(ScriptedAdapter.calls)) == ("succeeded", True, 2)


def test_a_vendor_without_a_window_end_is_up_to_date_as_of_when_the_window_opened(
    store: Store, scripted: Callable
) -> None:
    scripted([Page(items=(make_order(1),))])
    before = timezone.now()
    result = run(store)
    cursor = SyncCursor.objects.get(store=store)
    assert result.caught_up and before <= cursor.up_to_date_as_of <= timezone.now()


def test_a_run_that_spends_its_budget_ends_behind_and_queues_the_next_at_once(
    store: Store, scripted: Callable, enqueued: Any, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: more pages than the budget allows
    end = T0 + timedelta(hours=1)
    scripted([Page(items=(make_order(1),), next_token="p2", window_end=end)])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = run(store, time_budget_seconds=0)

    # then: the run says it is behind and how far it got, and the next one is queued at once
    assert (result.status, result.caught_up, result.synced_to) == ("partial", False, None)
    assert result.message.startswith("Behind (time budget spent): nothing synced yet; the next run continues at once")
    assert [(task.name, kwargs["resource"], kwargs["trigger"]) for task, kwargs in enqueued] == [
        ("channels.run_store_sync", "orders", "catch_up")
    ]
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.last_status == "partial" and cursor.is_behind and cursor.up_to_date_as_of is None
    # the continuation claimed the slot: the dispatcher (or a second claim) does not queue it twice
    assert cursor.next_run_at > timezone.now() + timedelta(minutes=1)
    assert sync.sync_continue(store=store, resource="orders") is False
    assert len(enqueued) == 1


def test_a_long_retry_after_ends_behind_and_waits_for_it(store: Store, scripted: Callable, enqueued: Any) -> None:
    scripted([ChannelRateLimited("429", retry_after=600)])
    before = timezone.now()
    result = run(store, time_budget_seconds=30)
    assert (result.status, result.error_code) == ("partial", "rate_limited")
    assert "the next run continues in 600 s" in result.message
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.next_run_at >= before + timedelta(seconds=600)
    assert sync.sync_continue(store=store, resource="orders") is False  # not due: the dispatcher takes it later


def test_a_store_disconnected_during_a_run_stops_at_the_next_page(store: Store, scripted: Callable) -> None:
    def disconnect_meanwhile() -> Page[ExternalOrder]:
        Store.objects.filter(pk=store.pk).update(status=StoreStatus.DISABLED)
        return Page(items=(make_order(1),), next_token="p2", window_end=T0)

    scripted([disconnect_meanwhile, Page(items=(make_order(2),), window_end=T0)])
    result = run(store)
    assert (result.status, result.error_code) == ("failed", "store_not_active")
    assert Order.objects.count() == 1 and len(ScriptedAdapter.script) == 1  # page 2 was never asked for


def test_a_resumed_window_without_an_end_that_restarts_is_read_whole_and_counts(
    store: Store, scripted: Callable
) -> None:
    # given: an unbounded listing (an FBA pass, a shop) interrupted after its first page
    scripted(
        [
            Page(items=(make_order(1),), next_token="p2"),
            ChannelCursorExpired("token expired"),
            Page(items=(make_order(1), make_order(2)), next_token=None),
        ]
    )
    run(store, time_budget_seconds=0)

    # when: the next run finds the token expired and reads the listing again from its start
    second = run(store)

    # then: that whole read is this run's own, so it ends caught up without a further window
    assert (second.status, second.caught_up, len(ScriptedAdapter.calls)) == ("succeeded", True, 3)
    assert Order.objects.count() == 2


@pytest.mark.parametrize(
    "outage",
    [
        lambda: __import__("redis").exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
        lambda: __import__("django.db", fromlist=["OperationalError"]).OperationalError("server closed the connection"),
    ],
    ids=["redis", "database"],
)
def test_a_run_that_redis_or_the_database_broke_is_tried_again_in_seconds_not_after_twice_the_interval(
    store: Store, scripted: Callable, monkeypatch: pytest.MonkeyPatch, outage: Callable[[], Exception]
) -> None:
    # given a run whose page cannot be stored because Redis or PostgreSQL is restarting (loadtest --faults)
    scripted([Page(items=(make_order(1),), next_token="p2", window_end=T0)])

    def unavailable(store: Store, items: Any) -> Any:
        raise outage()

    job = sync.sync_job_get("orders")
    monkeypatch.setitem(sync._JOBS, "orders", sync.SyncJob(**{**job.__dict__, "persist": unavailable}))
    before = timezone.now()
    with pytest.raises(Exception, match=r"111|closed"):
        run(store)

    # then the run says what happened, and the next comes within seconds (15 s ± 20 %), not 2 x 10 minutes
    run_row = SyncRun.objects.get()
    assert (run_row.status, run_row.error_code) == ("failed", "infrastructure_unavailable")
    cursor = SyncCursor.objects.get(store=store)
    assert cursor.consecutive_failures == 1
    assert before + timedelta(seconds=11) <= cursor.next_run_at <= timezone.now() + timedelta(seconds=19)
    # and the store is not reported as failing
    assert not Notification.objects.exists()


def test_a_run_whose_worker_dies_is_due_again_when_its_lease_lapses(store: Store, settings: Any) -> None:
    # given a cursor claimed by the dispatcher for the job's whole interval, and a run that takes its lease
    cursor = sync.sync_cursor_get_or_create(store=store, resource="orders")
    SyncCursor.objects.filter(pk=cursor.pk).update(next_run_at=timezone.now() + timedelta(minutes=10))
    assert sync._acquire_lease(cursor, "run-1")

    # when its worker dies (nothing finishes the run: the lease is never released)
    cursor.refresh_from_db()

    # then the cursor is due again as soon as the lease lapses, not after the interval
    assert cursor.next_run_at == cursor.lease_until
    assert cursor.lease_until <= timezone.now() + timedelta(
        seconds=settings.ACORN_SYNC_TIME_BUDGET_SECONDS + settings.ACORN_SYNC_LEASE_MARGIN_SECONDS + 1
    )
