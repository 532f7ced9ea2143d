"""Retention and closure, the defects a review found: open returns, a closed account's webhooks, audit on a
failing rule, plan changes, profit rollups of emptied days, re-checks under lock, buyer data, small ones.

The clock is frozen at NOW (tests/tenancy/test_retention.py); basic plans keep 12 months.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from acorn.audit.models import AuditEvent
from acorn.tenancy import retention as engine
from acorn.tenancy import services
from acorn.tenancy.models import Membership, Plan, Tenant
from acorn.tenancy.retention import (
    RetentionRule,
    register_retention_rule,
    retention_apply,
    retention_cutoff,
    retention_rules,
)
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import QuarantinedRecord, SyncRun, WebhookEvent, WebhookStatus
from channels.webhooks import webhook_events_dispatch_due
from finance.profit.models import ProfitDaily
from finance.profit.rollup import profit_rebuild
from finance.retention import _orders_delete
from finance.settlements.models import SettlementUpload
from orders.models import Order, OrderStatusChange, Shipment
from orders.services import order_upsert_page
from refunds.models import Refund, Return
from refunds.privacy import _on_customer_redact
from tests.channels.test_sync_engine import make_order
from tests.channels.test_webhooks import _post_shopify, _shopify_store, _sign
from tests.factories import StoreFactory
from tests.tenancy.test_retention import (  # noqa: F401  (the autouse fixtures freeze the clock, basic plans)
    NOW,
    OLD,
    _basic_plans,
    _frozen,
    _order,
    _refund,
    _return,
    _seed,
)

pytestmark = pytest.mark.django_db


def _store(tenant: Tenant) -> Any:
    return StoreFactory(tenant=tenant, platform="shopify", region="", marketplaces=[])


# --- 1. an open return keeps its refund ---------------------------------------------------------------------


def test_an_open_return_keeps_the_old_refund_it_points_at(tenant: Tenant) -> None:
    # given two old refunds with no order: one with a return still open (received, restock not decided),
    # one with a return that is final and old
    with tenant_scope(tenant):
        store = _store(tenant)
        kept_refund = _refund(store, None, "R-KEPT", at=OLD)
        open_return = _return(store, None, "RET-OPEN", at=NOW - timedelta(days=2), status="received")
        Return.objects.filter(pk=open_return.pk).update(refund=kept_refund, restock_state="pending")
        gone_refund = _refund(store, None, "R-GONE", at=OLD)
        old_return = _return(store, None, "RET-OLD", at=OLD)
        Return.objects.filter(pk=old_return.pk).update(refund=gone_refund)
    # when the job runs (the dry run first)
    assert retention_apply(tenant=tenant, dry_run=True).item("refunds").rows == 1
    report = retention_apply(tenant=tenant)
    # then the open return and its refund stay; the final old pair goes
    with tenant_scope(tenant):
        assert Return.objects.get(pk=open_return.pk).refund_id == kept_refund.pk
        assert not Refund.objects.filter(pk=gone_refund.pk).exists()
        assert not Return.objects.filter(pk=old_return.pk).exists()
    assert report.item("refunds").rows == 1
    # and the next run has nothing to do
    assert retention_apply(tenant=tenant).total_rows == 0


# --- 2. a closed account's webhooks --------------------------------------------------------------------------


def test_a_closed_accounts_waiting_events_do_not_starve_another_tenants(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, enqueued: Any
) -> None:
    # given a closed tenant with many events waiting (and one compliance event), and another tenant's event
    with tenant_scope(tenant):
        store = _store(tenant)
    with tenant_scope(other_tenant):
        other_store = _store(other_tenant)
    services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)
    long_ago = NOW - timedelta(hours=1)
    with scopes_disabled():
        for number in range(5):
            WebhookEvent.objects.create(
                tenant=tenant, store=store, topic="orders/updated", event_id=f"c{number}", payload="{}",
                received_at=long_ago,
            )  # fmt: skip
        redact = WebhookEvent.objects.create(
            tenant=tenant, store=store, topic="customers/redact", event_id="r", payload="{}", received_at=long_ago
        )
        other = WebhookEvent.objects.create(
            tenant=other_tenant, store=other_store, topic="orders/updated", event_id="o", payload="{}",
            received_at=long_ago,
        )  # fmt: skip
    # when the beat dispatches with room for three
    enqueued.clear()
    assert webhook_events_dispatch_due(limit=3) == 2
    # then the other tenant's event is queued, the closed one's compliance event by its own task, nothing else
    assert [(task.name, kwargs["event_id"]) for task, kwargs in enqueued] == [
        ("channels.process_compliance_webhook_event", redact.pk),
        ("channels.process_webhook_event", other.pk),
    ]


def test_a_closed_account_stores_only_compliance_deliveries_and_a_redact_still_erases(
    tenant: Tenant, owner: Membership, enqueued: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    # given a closed account (in its grace period) with a buyer's comment on a refund of order 2002
    with tenant_scope(tenant):
        store = _shopify_store(tenant)
        order = _order(store, "2002", at=NOW - timedelta(days=3))
        refund = _refund(store, order, "R-2002", at=NOW - timedelta(days=2))
    services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)
    enqueued.clear()

    def post(topic: str, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return _post_shopify(
                Client(), body, shop=store.seller_id, topic=topic, event_id=topic,
                signature=_sign(body, settings.SHOPIFY_API_SECRET),
            )  # fmt: skip

    # when the shop sends an order update: answered, not stored
    assert post("orders/updated", {"id": 2002}).status_code == 200
    with scopes_disabled():
        assert not WebhookEvent.objects.exists()
    # when it sends customers/redact: stored and acted on by the compliance task
    assert post("customers/redact", {"orders_to_redact": [2002]}).status_code == 200
    assert [task.name for task, _kwargs in enqueued] == ["channels.process_compliance_webhook_event"]
    assert enqueued.run_all() == [WebhookStatus.PROCESSED]
    with scopes_disabled():
        refund.refresh_from_db()
        assert (refund.customer_comment, refund.raw) == ("", {})
        assert Order.objects.get(pk=order.pk).tags == []


# --- 3. a failing rule --------------------------------------------------------------------------------------


def test_a_failing_rule_is_audited_and_reported_and_the_later_rules_still_run(tenant: Tenant) -> None:
    # given old data and a rule, before the orders, that fails half-way
    seeded = _seed(tenant, "A")

    def broken(tenant: Tenant, cutoff: Any, pks: list[int]) -> int:
        SyncRun.objects.filter(pk__in=pks).delete()
        raise RuntimeError("storage down")

    saved = retention_rules()
    register_retention_rule(
        RetentionRule(
            "zz_broken", "Broken", "delete", 5, lambda t, c: SyncRun.objects.filter(tenant=t), "started_at", broken
        )
    )
    try:
        report = retention_apply(tenant=tenant)
    finally:
        engine._RULES[:] = saved
    # then its batch was rolled back, the failure audited and reported
    item = report.item("zz_broken")
    assert item is not None and item.rows == 0 and "storage down" in item.error
    assert [failed.key for failed in report.failed] == ["zz_broken"]
    with tenant_scope(tenant):
        assert SyncRun.objects.filter(status="running").exists()  # not selected by the sync log rule
        assert SyncRun.objects.filter(pk=seeded.recent_run.pk).exists()
        assert AuditEvent.objects.get(action="retention.failed").after["rule"] == "zz_broken"
        # and the orders rule after it ran, audited with its deletion
        assert not Order.objects.filter(pk=seeded.old.pk).exists()
        applied = AuditEvent.objects.filter(action="retention.applied", after__rule="orders").get()
        assert applied.after["rows"] == 1
        assert AuditEvent.objects.get(action="retention.completed").after["items"]["zz_broken"]["error"]


def test_the_command_exits_1_when_a_rule_failed(tenant: Tenant) -> None:
    def broken(tenant: Tenant, cutoff: Any) -> Any:
        raise RuntimeError("boom")

    saved = retention_rules()
    register_retention_rule(RetentionRule("zz_broken", "Broken", "delete", 5, broken, "pk"))
    try:
        with pytest.raises(CommandError, match="zz_broken"):
            call_command("apply_retention", "--tenant", tenant.slug, stdout=StringIO())
    finally:
        engine._RULES[:] = saved


# --- 4. plan changes ----------------------------------------------------------------------------------------


def test_a_custom_retention_of_zero_months_is_refused(tenant: Tenant) -> None:
    staff = type("Staff", (), {"is_superuser": True, "is_authenticated": True, "pk": None})()
    with pytest.raises(ValidationError):
        services.tenant_set_custom_limits(tenant=tenant, actor=staff, max_stores=5, max_users=5, retention_months=0)
    tenant.refresh_from_db()
    assert tenant.plan == Plan.BASIC
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(
            plan=Plan.CUSTOM, custom_max_stores=5, custom_max_users=5, custom_retention_months=0
        )


def test_a_shorter_retention_applies_only_thirty_days_after_the_plan_change(
    tenant: Tenant, owner: Membership, client_for: Any
) -> None:
    # given a pro tenant with a 17-month-old order (kept by pro's 36 months)
    Tenant.objects.filter(pk=tenant.pk).update(plan=Plan.PRO)
    tenant.refresh_from_db()
    seeded = _seed(tenant, "A")
    # when the owner moves to basic (12 months)
    with tenant_scope(tenant):
        services.tenant_change_plan(tenant=tenant, actor=owner.user, membership=owner, plan=Plan.BASIC)
    tenant.refresh_from_db()
    # then the next runs keep the order for 30 days, and the plan page says until when
    assert retention_apply(tenant=tenant).total_rows == 0
    page = client_for(owner).get(reverse("tenancy:plan")).content.decode()
    assert "Until 2026-07-15 the previous 36 months still apply" in page
    with time_machine.travel(NOW + timedelta(days=29), tick=False):
        assert retention_apply(tenant=tenant).total_rows == 0
    # and after the 30 days the basic plan's 12 months apply
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        retention_apply(tenant=tenant)
    with tenant_scope(tenant):
        assert not Order.objects.filter(pk=seeded.old.pk).exists()


def test_moving_back_to_the_longer_plan_ends_the_grace(tenant: Tenant, owner: Membership) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(plan=Plan.PRO)
    tenant.refresh_from_db()
    with tenant_scope(tenant):
        services.tenant_change_plan(tenant=tenant, actor=owner.user, membership=owner, plan=Plan.BASIC)
    tenant.refresh_from_db()
    assert (tenant.retention_previous_months, tenant.retention_changed_at) == (36, NOW)
    with tenant_scope(tenant):
        services.tenant_change_plan(tenant=tenant, actor=owner.user, membership=owner, plan=Plan.PRO)
    tenant.refresh_from_db()
    assert (tenant.retention_previous_months, tenant.retention_changed_at) == (None, None)
    assert retention_cutoff(tenant) == NOW.replace(year=2023)


def test_a_plan_shortened_in_the_platform_admin_also_waits_thirty_days(tenant: Tenant, rf: Any) -> None:
    from django.contrib import admin

    from acorn.tenancy.admin import TenantAdmin

    # given a pro tenant that platform staff move to basic in the Django admin
    Tenant.objects.filter(pk=tenant.pk).update(plan=Plan.PRO)
    tenant.refresh_from_db()
    tenant.plan = Plan.BASIC
    form = type("ChangedForm", (), {"changed_data": ["plan"]})()
    TenantAdmin(Tenant, admin.site).save_model(rf.post("/"), tenant, form, True)
    # then the 36 months stay in force for 30 days
    tenant.refresh_from_db()
    assert (tenant.plan, tenant.retention_previous_months, tenant.retention_changed_at) == (Plan.BASIC, 36, NOW)
    assert retention_cutoff(tenant) == NOW.replace(year=2023)


# --- 5. profit rollups of days retention emptied ------------------------------------------------------------


def test_a_full_profit_rebuild_keeps_the_rollups_of_days_retention_emptied(tenant: Tenant) -> None:
    # given an old order whose day was rolled up while it was inside the retention
    with tenant_scope(tenant):
        store = _store(tenant)
        old = _order(store, "OLD", at=OLD)
        _order(store, "INSIDE", at=NOW - timedelta(days=10))
    with time_machine.travel(OLD + timedelta(days=30), tick=False):
        profit_rebuild(tenant=tenant)
    with tenant_scope(tenant):
        before = list(ProfitDaily.objects.filter(day=OLD.date()).values_list("orders", "currency"))
        assert before and before[0][0] == 1
    # when retention deletes the order, then a full rebuild runs
    retention_apply(tenant=tenant)
    profit_rebuild(tenant=tenant)
    # then the old day's rollup is still there, as it was, and the recent day is rolled up
    with tenant_scope(tenant):
        assert not Order.objects.filter(pk=old.pk).exists()
        assert list(ProfitDaily.objects.filter(day=OLD.date()).values_list("orders", "currency")) == before
        assert ProfitDaily.objects.filter(day=(NOW - timedelta(days=10)).date()).exists()


# --- 6. the re-check under lock -----------------------------------------------------------------------------


def test_a_batch_acts_only_on_rows_still_selected_when_locked(tenant: Tenant) -> None:
    # given an old order that a refund request reaches between the batch's read and its transaction
    seeded = _seed(tenant, "A")
    orders_rule = next(rule for rule in retention_rules() if rule.key == "orders")
    calls: list[int] = []

    def racing(tenant: Tenant, cutoff: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:  # 1: the oldest date, 2: the batch's keys, 3: the re-select under lock
            _refund(seeded.store, seeded.old, "A-R-LATE", at=NOW, status="pending_approval")
        return orders_rule.select(tenant, cutoff)

    saved = retention_rules()
    register_retention_rule(
        RetentionRule("orders", orders_rule.label, orders_rule.action, 10, racing, "purchased_at", orders_rule.act)
    )
    try:
        report = retention_apply(tenant=tenant)
    finally:
        engine._RULES[:] = saved
    # then the order and its refunds stay
    with tenant_scope(tenant):
        assert Order.objects.filter(pk=seeded.old.pk).exists()
        assert Refund.objects.filter(external_id="A-R-LATE").exists()
    assert report.item("orders").rows == 0


def test_deleting_orders_checks_their_refunds_again(tenant: Tenant) -> None:
    seeded = _seed(tenant, "A")
    cutoff = retention_cutoff(tenant)
    with tenant_scope(tenant):
        _refund(seeded.store, seeded.old, "A-R-APPROVED", at=OLD, status="approved")
        assert _orders_delete(tenant, cutoff, [seeded.old.pk]) == 0
        assert Refund.objects.filter(order=seeded.old).count() == 2


# --- 7. buyer data ------------------------------------------------------------------------------------------


def test_an_order_kept_for_the_books_loses_its_shipments_tracking_number(tenant: Tenant) -> None:
    seeded = _seed(tenant, "A")
    retention_apply(tenant=tenant)
    with tenant_scope(tenant):
        assert list(Shipment.objects.filter(order=seeded.books).values_list("tracking_number", flat=True)) == [""]
        assert Shipment.objects.get(order=seeded.inside).tracking_number == "1ZA-INSIDE"


def test_customers_redact_clears_the_orders_tags_and_the_quarantined_refund_records(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant):
        store = _shopify_store(tenant)
        order = _order(store, "2002", at=NOW - timedelta(days=3))
        kept = _order(store, "2003", at=NOW - timedelta(days=3))
        _refund(store, order, "R-2002", at=NOW)
        QuarantinedRecord.objects.create(
            tenant=tenant, store=store, resource="refunds", external_id="R-2002", fingerprint="q1", reason="bad",
            raw='{"buyer": "Jane Doe"}',
        )  # fmt: skip
        QuarantinedRecord.objects.create(
            tenant=tenant, store=store, resource="returns", external_id="RET-9", fingerprint="q2", reason="bad",
            raw='{"order_id": 20020001, "buyer": "Jane Doe"}',
        )  # fmt: skip
        QuarantinedRecord.objects.create(
            tenant=tenant, store=store, resource="refunds", external_id="R-OTHER", fingerprint="q3", reason="bad",
            raw="{}",
        )  # fmt: skip
        event = WebhookEvent.objects.create(tenant=tenant, store=store, topic="customers/redact", event_id="x")
        assert _on_customer_redact(store, event, {"orders_to_redact": [2002, 20020001]})
        assert Order.objects.get(pk=order.pk).tags == []
        assert Order.objects.get(pk=kept.pk).tags == ["buyer:jane@example.com"]
        assert list(QuarantinedRecord.objects.values_list("external_id", flat=True)) == ["R-OTHER"]


def test_closure_deletes_the_files_of_unfinished_uploads(
    tenant: Tenant, owner: Membership, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(tenant):
        upload = SettlementUpload.objects.create(
            tenant=tenant, store=_store(tenant), filename="s.txt", status=SettlementUpload.Status.QUEUED
        )
        upload.document.save("s.txt", ContentFile(b"settlement-id\tbuyer"), save=True)
        name = upload.document.name
    assert default_storage.exists(name)
    services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)
    with time_machine.travel(NOW + timedelta(days=31), tick=False), django_capture_on_commit_callbacks(execute=True):
        services.tenant_closure_complete(tenant=tenant)
    assert not default_storage.exists(name)


# --- 8. small ones ------------------------------------------------------------------------------------------


def test_the_dry_run_counts_a_closed_accounts_rows(tenant: Tenant, owner: Membership) -> None:
    _seed(tenant, "A")
    services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)
    out = StringIO()
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        call_command("apply_retention", "--dry-run", "--json", stdout=out)
    closed = json.loads(out.getvalue())["closed_accounts"]
    assert [(item["tenant"], item["rows"] > 20) for item in closed] == [(tenant.slug, True)]
    with dangerously_unscoped():
        assert Order.objects.filter(tenant=tenant).count() == 5


def test_deleting_rows_counts_what_was_deleted(tenant: Tenant) -> None:
    seeded = _seed(tenant, "A")
    with tenant_scope(tenant):
        assert engine._delete_rows(SyncRun, [seeded.old_run.pk, 10**9]) == 1


def test_the_account_cannot_close_while_a_refund_may_move_money(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, client_for: Any
) -> None:
    # given an approved refund (another tenant's executing one does not count)
    with tenant_scope(tenant):
        store = _store(tenant)
        refund = _refund(store, _order(store, "1", at=NOW), "R-1", at=NOW, status="approved")
    with tenant_scope(other_tenant):
        other_store = _store(other_tenant)
        _refund(other_store, _order(other_store, "1", at=NOW), "R-1", at=NOW, status="executing")
    # when the owner closes: refused with the reason
    response = client_for(owner).post(reverse("tenancy:tenant-close"), {"confirm_name": tenant.name})
    assert response.status_code == 400
    assert "1 refund is approved or being executed and may still move money" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.is_active
    # and once it has succeeded, the account closes
    with tenant_scope(tenant):
        Refund.objects.filter(pk=refund.pk).update(status="succeeded")
    services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)


# --- the plan page's preview is cached ----------------------------------------------------------------------


def test_the_plan_page_reads_the_preview_from_the_cache_until_a_run(
    tenant: Tenant, owner: Membership, client_for: Any
) -> None:
    _seed(tenant, "A")
    client = client_for(owner)
    assert "1 order older than" in client.get(reverse("tenancy:plan")).content.decode()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("tenancy:plan")).content.decode()
    assert "1 order older than" in page
    assert len(queries) <= 12
    assert not [query for query in queries.captured_queries if "orders_order" in query["sql"]]
    # a real run drops it: the page shows what is left
    retention_apply(tenant=tenant)
    assert "No orders older than" in client.get(reverse("tenancy:plan")).content.decode()


def test_an_anonymised_order_resent_by_the_channel_stays_anonymised(tenant: Tenant) -> None:
    # given: an order kept for the books and anonymised by the retention
    seeded = _seed(tenant, "A")
    retention_apply(tenant=tenant)
    with tenant_scope(tenant):
        order = Order.objects.get(pk=seeded.books.pk)
        assert order.anonymised_at is not None and order.tags == []
        history = OrderStatusChange.objects.filter(order=order).count()
        # when: the channel sends it again, newer, with tags and another status
        template = make_order(1)
        again = replace(
            template,
            external_id=order.external_id,
            updated_at=order.channel_updated_at + timedelta(days=1),
            status="cancelled",
            raw_status="CANCELLED",
            tags=("vip-buyer",),
        )
        order_upsert_page(store=order.store, orders=[again])
        order.refresh_from_db()
        # then: the money and status follow the channel, the buyer's tags and the history do not come back
        assert order.status == "cancelled" and order.tags == []
        assert OrderStatusChange.objects.filter(order=order).count() == history
