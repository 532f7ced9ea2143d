"""Retention per plan: what is older than the tenant's plan goes (or loses its buyer data), nothing else does.

The clock is frozen at NOW; the basic plan keeps 12 months, so the cut-off is 2025-06-15 12:00 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Plan, Tenant
from acorn.tenancy.retention import months_before, retention_apply, retention_cutoff
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import QuarantinedRecord, Store, SyncRun, WebhookEvent
from finance.ledger.models import JournalEntry, JournalSource, JournalStatus
from finance.settlements.models import Settlement, SettlementKind, SettlementLine, SettlementUpload
from inventory.models import LineAllocation
from orders.models import Order, OrderLine, OrderStatusChange, Shipment
from refunds.models import Refund, Return
from tests.factories import StoreFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
OLD = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)  # 17 months ago: past a basic plan's 12
JUST_INSIDE = datetime(2025, 6, 16, 9, 0, tzinfo=UTC)  # 11.97 months ago: kept
COMMENT = "Please send it back to Jane Doe, 1 Main Street"


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _basic_plans(tenant: Tenant, other_tenant: Tenant) -> None:
    Tenant.objects.filter(pk__in=[tenant.pk, other_tenant.pk]).update(plan=Plan.BASIC)
    tenant.plan = other_tenant.plan = Plan.BASIC


def _order(store: Store, external_id: str, *, at: datetime, status: str = "shipped") -> Order:
    order = Order.objects.create(
        tenant=store.tenant, store=store, external_id=external_id, purchased_at=at, channel_updated_at=at,
        status=status, raw_status=status, fulfillment_channel="merchant", currency="USD",
        item_amount=Decimal("20.00"), total_amount=Decimal("20.00"), tags=["buyer:jane@example.com"],
    )  # fmt: skip
    line = OrderLine.objects.create(
        tenant=store.tenant, order=order, external_id=f"{external_id}-1", sku="MUG", quantity=1, currency="USD",
        unit_price_amount=Decimal("20.00"), item_amount=Decimal("20.00"), total_amount=Decimal("20.00"),
    )  # fmt: skip
    OrderStatusChange.objects.create(tenant=store.tenant, order=order, status=status, raw_status=status, changed_at=at)
    LineAllocation.objects.create(
        tenant=store.tenant, line_ref=f"order-line:{line.pk}", store=store, quantity=1,
        state="shipped" if status == "shipped" else "reserved",
    )  # fmt: skip
    if status == "shipped":
        Shipment.objects.create(
            tenant=store.tenant, order=order, carrier="UPS", tracking_number=f"1Z{external_id}", shipped_at=at,
            source="manual", confirmation="confirmed",
        )  # fmt: skip
    return order


def _refund(store: Store, order: Order | None, key: str, *, at: datetime, status: str = "succeeded") -> Refund:
    return Refund.objects.create(
        tenant=store.tenant, store=store, order=order, order_external_id=order.external_id if order else "GONE",
        external_id=key, dedupe_key=key, origin="channel", status=status, currency="USD", amount=Decimal("5.00"),
        net_amount=Decimal("-5.00"), refunded_at=at, customer_comment=COMMENT, raw={"buyer": "Jane Doe"},
    )  # fmt: skip


def _return(store: Store, order: Order | None, key: str, *, at: datetime, status: str = "closed") -> Return:
    return Return.objects.create(
        tenant=store.tenant, store=store, order=order, order_external_id=order.external_id if order else "GONE",
        external_id=key, source="shopify", sku="MUG", quantity=1, status=status, returned_at=at,
        customer_comment=COMMENT, tracking_number="1ZRETURN", raw={"buyer": "Jane Doe"}, restock_state="sellable",
    )  # fmt: skip


def _in_locked_books(store: Store, order: Order) -> SettlementLine:
    settlement = Settlement.objects.create(
        tenant=store.tenant, store=store, kind=SettlementKind.SHOPIFY_PAYOUT, external_id=f"P-{order.external_id}",
        source="api", currency="USD", period_start=OLD, period_end=OLD + timedelta(days=14),
    )  # fmt: skip
    JournalEntry.objects.create(
        tenant=store.tenant, number=f"J-{order.external_id}", date=OLD.date(), period=OLD.date().replace(day=1),
        source=JournalSource.SETTLEMENT, settlement=settlement, store=store, narration="Payout", currency="USD",
        status=JournalStatus.EXPORTED, locked_at=OLD + timedelta(days=20),
    )  # fmt: skip
    return SettlementLine.objects.create(
        tenant=store.tenant, settlement=settlement, line_number=2, category="sales", amount=Decimal("20.00"),
        order=order, order_external_id=order.external_id,
    )  # fmt: skip


@dataclass
class Seeded:
    store: Store
    old: Order
    inside: Order
    open_order: Order
    pending_refund_order: Order
    books: Order
    books_line: SettlementLine
    old_orphan_refund: Refund
    old_run: SyncRun
    recent_run: SyncRun
    old_webhook: WebhookEvent
    retrying_webhook: WebhookEvent


def _seed(tenant: Tenant, prefix: str) -> Seeded:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="shopify", region="", marketplaces=[])
        old = _order(store, f"{prefix}-OLD", at=OLD)
        _refund(store, old, f"{prefix}-R-OLD", at=OLD + timedelta(days=3))
        _return(store, old, f"{prefix}-RET-OLD", at=OLD + timedelta(days=2))
        inside = _order(store, f"{prefix}-INSIDE", at=JUST_INSIDE)
        open_order = _order(store, f"{prefix}-OPEN", at=OLD, status="paid_unshipped")
        pending = _order(store, f"{prefix}-PENDING", at=OLD)
        _refund(store, pending, f"{prefix}-R-PENDING", at=OLD, status="pending_approval")
        books = _order(store, f"{prefix}-BOOKS", at=OLD)
        _refund(store, books, f"{prefix}-R-BOOKS", at=OLD + timedelta(days=1))
        books_line = _in_locked_books(store, books)
        orphan = _refund(store, None, f"{prefix}-R-ORPHAN", at=OLD)
        for at in (OLD, JUST_INSIDE):
            SettlementUpload.objects.create(
                tenant=tenant, store=store, filename="settlement.txt", status="done", uploaded_at=at
            )
        old_run = SyncRunFactory(store=store, started_at=OLD, finished_at=OLD)
        recent_run = SyncRunFactory(store=store, started_at=JUST_INSIDE, finished_at=JUST_INSIDE)
        SyncRunFactory(store=store, started_at=OLD, status="running")
        QuarantinedRecord.objects.create(
            tenant=tenant, store=store, resource="orders", fingerprint=f"{prefix}-q", reason="bad", raw="{}",
            first_seen_at=OLD, last_seen_at=OLD,
        )  # fmt: skip
        old_webhook = WebhookEvent.objects.create(
            tenant=tenant, store=store, topic="orders/create", event_id=f"{prefix}-1", payload="{}",
            status="processed", received_at=OLD,
        )  # fmt: skip
        retrying = WebhookEvent.objects.create(
            tenant=tenant, store=store, topic="orders/create", event_id=f"{prefix}-2", payload="{}",
            status="retrying", received_at=OLD,
        )  # fmt: skip
    return Seeded(
        store, old, inside, open_order, pending, books, books_line, orphan, old_run, recent_run, old_webhook, retrying
    )


def _counts(tenant: Tenant) -> dict[str, int]:
    with tenant_scope(tenant):
        return {
            model.__name__: model.objects.filter(tenant=tenant).count()
            for model in (
                Order, OrderLine, OrderStatusChange, Shipment, Refund, Return, LineAllocation, SyncRun,
                QuarantinedRecord, WebhookEvent, SettlementLine, SettlementUpload,
            )
        }  # fmt: skip


def test_the_cut_off_is_the_plans_months_before_now(tenant: Tenant) -> None:
    assert retention_cutoff(tenant) == datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    tenant.plan = Plan.PRO
    assert retention_cutoff(tenant) == datetime(2023, 6, 15, 12, 0, tzinfo=UTC)
    tenant.plan, tenant.custom_max_stores, tenant.custom_max_users = Plan.CUSTOM, 5, 5
    tenant.custom_retention_months = 18
    assert retention_cutoff(tenant) == datetime(2024, 12, 15, 12, 0, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)


def test_the_dry_run_lists_what_will_go_and_changes_nothing(tenant: Tenant) -> None:
    # given a tenant with data older than its plan, data just inside, open items and rows in locked books
    seeded = _seed(tenant, "A")
    before = _counts(tenant)
    # when the dry run reports
    report = retention_apply(tenant=tenant, dry_run=True)
    # then it lists per model the rows, the oldest date and the action
    rows = {item.key: (item.rows, item.action) for item in report.items}
    assert rows["orders"] == (1, "delete")
    assert rows["orders_in_books"] == (1, "anonymise")
    assert rows["refunds"] == (1, "delete")
    assert rows["sync_runs"] == (1, "delete")
    assert rows["webhook_events"] == (1, "delete")
    assert rows["quarantined_records"] == (1, "delete")
    assert rows["settlement_uploads"] == (1, "delete")
    order_item = report.item("orders")
    assert order_item is not None and order_item.oldest == OLD
    # and nothing changed, nothing audited
    assert _counts(tenant) == before
    with tenant_scope(tenant):
        assert Order.objects.get(pk=seeded.books.pk).anonymised_at is None
        assert not AuditEvent.objects.filter(action="retention.applied").exists()


def test_the_job_removes_exactly_what_is_older_than_the_plan(tenant: Tenant) -> None:
    # given
    seeded = _seed(tenant, "A")
    # when the job runs
    report = retention_apply(tenant=tenant)
    # then the old, final order goes with its lines, history, shipment, refund, return and allocation
    with tenant_scope(tenant):
        assert not Order.objects.filter(pk=seeded.old.pk).exists()
        assert not Refund.objects.filter(external_id="A-R-OLD").exists()
        assert not Return.objects.filter(external_id="A-RET-OLD").exists()
        assert not OrderLine.objects.filter(order_id=seeded.old.pk).exists()
        assert not Shipment.objects.filter(order_id=seeded.old.pk).exists()
        live_refs = set(LineAllocation.objects.values_list("line_ref", flat=True))
        assert len(live_refs) == 4  # inside, open, pending, books
        # data just inside the window stays, and open items stay
        kept = set(Order.objects.values_list("pk", flat=True))
        assert {seeded.inside.pk, seeded.open_order.pk, seeded.pending_refund_order.pk, seeded.books.pk} == kept
        assert Refund.objects.filter(external_id="A-R-PENDING").exists()
        # the order in locked books stays, without its buyer data, still named by the statement
        books = Order.objects.get(pk=seeded.books.pk)
        assert books.anonymised_at == NOW and books.tags == []
        assert not OrderStatusChange.objects.filter(order=books).exists()
        refund = Refund.objects.get(external_id="A-R-BOOKS")
        assert (refund.customer_comment, refund.raw, refund.amount) == ("", {}, Decimal("5.00"))
        assert SettlementLine.objects.get(pk=seeded.books_line.pk).order_id == books.pk
        assert JournalEntry.objects.filter(locked_at__isnull=False).count() == 1
        # the orphan refund, the old sync run, the processed webhook and the quarantined record go
        assert not Refund.objects.filter(pk=seeded.old_orphan_refund.pk).exists()
        assert set(SyncRun.objects.values_list("status", flat=True)) == {"succeeded", "running"}
        assert SyncRun.objects.filter(pk=seeded.recent_run.pk).exists()
        assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [seeded.retrying_webhook.pk]
        assert not QuarantinedRecord.objects.exists()
        assert list(SettlementUpload.objects.values_list("uploaded_at", flat=True)) == [JUST_INSIDE]
        # and an audit event per batch says what went
        events = {event.after["rule"]: event.after for event in AuditEvent.objects.filter(action="retention.applied")}
        assert (events["orders"]["action"], events["orders"]["rows"]) == ("delete", 1)
        assert (events["orders_in_books"]["action"], events["orders_in_books"]["rows"]) == ("anonymise", 1)
        assert "refunds_in_books" not in events  # nothing done, nothing recorded
    assert report.item("orders") is not None


def test_running_twice_changes_nothing_the_second_time(tenant: Tenant) -> None:
    _seed(tenant, "A")
    retention_apply(tenant=tenant)
    after_first = _counts(tenant)
    second = retention_apply(tenant=tenant)
    assert second.total_rows == 0
    assert _counts(tenant) == after_first
    assert retention_apply(tenant=tenant, dry_run=True).total_rows == 0


def test_another_tenants_data_is_untouched(tenant: Tenant, other_tenant: Tenant) -> None:
    # given two tenants with the same old data
    _seed(tenant, "A")
    other = _seed(other_tenant, "B")
    before = _counts(other_tenant)
    # when the job runs for the first
    retention_apply(tenant=tenant)
    # then the other's rows are all there, its buyer data too
    assert _counts(other_tenant) == before
    with tenant_scope(other_tenant):
        assert Order.objects.get(pk=other.books.pk).anonymised_at is None
        assert Refund.objects.get(external_id="B-R-BOOKS").customer_comment == COMMENT


def test_a_pro_tenant_keeps_what_a_basic_one_loses(tenant: Tenant) -> None:
    tenant.plan = Plan.PRO
    tenant.save(update_fields=["plan"])
    _seed(tenant, "A")
    before = _counts(tenant)
    assert retention_apply(tenant=tenant).total_rows == 0
    assert _counts(tenant) == before


def test_the_command_dry_run_prints_json_then_the_run_applies(tenant: Tenant, other_tenant: Tenant) -> None:
    _seed(tenant, "A")
    _seed(other_tenant, "B")
    before = _counts(tenant)
    out = StringIO()
    call_command("apply_retention", "--tenant", tenant.slug, "--dry-run", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["dry_run"] is True and [report["tenant"] for report in printed["tenants"]] == [tenant.slug]
    orders = next(item for item in printed["tenants"][0]["items"] if item["model"] == "orders")
    assert orders == {"model": "orders", "label": "Orders", "action": "delete", "rows": 1, "oldest": OLD.isoformat()}
    assert _counts(tenant) == before
    other_before = _counts(other_tenant)
    call_command("apply_retention", "--tenant", tenant.slug, stdout=StringIO())
    assert _counts(tenant)["Order"] == before["Order"] - 1
    assert _counts(other_tenant) == other_before


def test_the_nightly_task_runs_per_active_tenant(tenant: Tenant, other_tenant: Tenant, enqueued: Any) -> None:
    from acorn.tenancy.tasks import dispatch_retention_task

    _seed(tenant, "A")
    other_tenant.is_active = False
    other_tenant.save(update_fields=["is_active"])
    assert dispatch_retention_task() == {"tenants": 1, "closed": 0}
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [("tenancy.apply_retention", {"tenant_id": tenant.pk})]
    enqueued.run_all()
    with dangerously_unscoped():
        assert AuditEvent.objects.filter(tenant=tenant, action="retention.applied").count() == 7


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "1 order older than 2025-06-15 will be removed on the next nightly run."),
        ("zh-hans", "1 个早于 2025年6月15日 的订单将在下一次夜间运行时删除。"),
    ],
)
def test_the_plan_page_says_what_will_go_when(
    tenant: Tenant, owner: Any, client_for: Any, language: str, expected: str
) -> None:
    _seed(tenant, "A")
    client: Client = client_for(owner)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    page = client.get(reverse("tenancy:plan")).content.decode()
    assert expected in page
