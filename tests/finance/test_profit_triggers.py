"""P&L refreshes are merged per company: what sync pages, webhooks and statements change is written down as
due in their own transaction, one task per company drains it, a lost task is queued again by the beat, and a
company never drains another's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder, ExternalOrderLine, FulfillmentChannel, OrderStatus
from channels.models import Store
from finance.profit import triggers
from finance.profit.models import ProfitFact, ProfitRefreshDue, RefreshKind
from finance.tasks import dispatch_profit_refreshes_task, refresh_profit_task
from orders.models import Order
from orders.services import order_upsert_page
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory, TenantFactory

pytestmark = pytest.mark.django_db

PLACED = timezone.now().replace(microsecond=0) - timedelta(days=3)


def _external(number: int) -> ExternalOrder:
    line = ExternalOrderLine(
        external_id="L1", sku="MUG", quantity=1, currency="USD", unit_price=Decimal("10.00"),
        item_amount=Decimal("10.00"),
    )  # fmt: skip
    return ExternalOrder(
        external_id=f"111-{number:07d}", marketplace="US", purchased_at=PLACED, updated_at=PLACED,
        raw_status="Shipped", status=OrderStatus.SHIPPED, fulfillment_channel=FulfillmentChannel.FBA,
        currency="USD", item_amount=Decimal("10.00"), shipping_amount=Decimal(0), tax_amount=Decimal(0),
        discount_amount=Decimal(0), other_amount=Decimal(0), total_amount=Decimal("10.00"), buyer_country="US",
        lines=(line,),
    )  # fmt: skip


def _sync_pages(store: Store, pages: int, per_page: int, django_capture_on_commit_callbacks, start: int = 0) -> None:
    """New orders in pages stored as a sync stores them, each in its own transaction, after-commit work run."""
    with tenant_scope(store.tenant):
        for page in range(pages):
            with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
                numbers = range(start + page * per_page, start + (page + 1) * per_page)
                order_upsert_page(store=store, orders=[_external(number) for number in numbers])


def _refreshes(enqueued: EnqueuedTasks) -> list[dict]:
    return [kwargs for task, kwargs in enqueued if task.name == "finance.refresh_profit"]


@pytest.fixture
def store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, platform="amazon")


def test_many_pages_queue_one_refresh_that_drains_them_all(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks
) -> None:
    _sync_pages(store, pages=5, per_page=4, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert _refreshes(enqueued) == [{"tenant_id": store.tenant_id}]
    with tenant_scope(store.tenant):
        assert ProfitRefreshDue.objects.filter(kind=RefreshKind.ORDER).count() == 20
    assert refresh_profit_task(tenant_id=store.tenant_id) == 20
    with tenant_scope(store.tenant):
        assert not ProfitRefreshDue.objects.exists()
        assert set(ProfitFact.objects.values_list("order_id", flat=True)) == set(
            Order.objects.values_list("pk", flat=True)
        )
    # Changes after the drain started queue the next refresh: the debounce key went with the drain.
    enqueued.clear()
    _sync_pages(
        store, pages=1, per_page=1, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks, start=100
    )
    assert _refreshes(enqueued) == [{"tenant_id": store.tenant_id}]


def test_a_rollback_leaves_nothing_due_and_queues_nothing(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks
) -> None:
    with tenant_scope(store.tenant), django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            order_upsert_page(store=store, orders=[_external(1)])
            raise RuntimeError("the page failed")
        assert not ProfitRefreshDue.objects.exists()
    assert _refreshes(enqueued) == []


def test_a_failed_refresh_leaves_the_rows_due(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sync_pages(store, pages=1, per_page=3, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    def broken(**kwargs: object) -> int:
        raise RuntimeError("rates unavailable")

    monkeypatch.setattr(triggers, "profit_refresh", broken)
    with pytest.raises(RuntimeError):
        refresh_profit_task(tenant_id=store.tenant_id)
    with tenant_scope(store.tenant):
        assert ProfitRefreshDue.objects.count() == 3


def test_a_large_backlog_drains_in_batches(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triggers, "DRAIN_BATCH", 2)
    _sync_pages(store, pages=1, per_page=5, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert triggers.profit_refresh_due(tenant=store.tenant) == 5
    with tenant_scope(store.tenant):
        assert not ProfitRefreshDue.objects.exists()
        assert ProfitFact.objects.values("order_id").distinct().count() == 5


def test_the_beat_queues_companies_whose_refresh_was_lost(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks
) -> None:
    other = StoreFactory(tenant=TenantFactory(), platform="amazon")
    inactive = StoreFactory(tenant=TenantFactory(is_active=False), platform="amazon")
    with time_machine.travel(timezone.now() - timedelta(minutes=10), tick=False):
        for each in (store, inactive):
            _sync_pages(
                each, pages=1, per_page=1, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
            )
    _sync_pages(other, pages=1, per_page=1, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    enqueued.clear()
    triggers.cache.clear()  # the queued messages were lost, and their debounce keys expired
    assert dispatch_profit_refreshes_task() == 1  # only the company due for long (the other is fresh, or inactive)
    assert _refreshes(enqueued) == [{"tenant_id": store.tenant_id}]
    assert dispatch_profit_refreshes_task() == 0  # already queued


def test_a_company_drains_only_its_own_rows(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks
) -> None:
    other = StoreFactory(tenant=TenantFactory(), platform="amazon")
    for each in (store, other):
        _sync_pages(each, pages=1, per_page=2, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert refresh_profit_task(tenant_id=store.tenant_id) == 2
    with tenant_scope(other.tenant):
        assert ProfitRefreshDue.objects.count() == 2
        assert not ProfitFact.objects.exists()
    with tenant_scope(store.tenant):
        assert not ProfitRefreshDue.objects.exists()
