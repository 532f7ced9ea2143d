"""Refund execution end to end: orders synced from the simulator over real HTTP through the real client
libraries, a refund requested in ACORN that needs two approvals, refused to one person and to its requester,
then approved twice and executed on the channel exactly once even when the task runs twice — a Shopify
`refundCreate`, a WooCommerce refund, and an Amazon MFN order adjustment feed settled by its processing
report. Failures: a permanent channel refusal ends FAILED with its message; a retryable one backs off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ChannelRetryableError
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from channels.models import Store
from channels.sync import sync_run_execute
from orders.models import Order
from refunds import approvals, execution
from refunds.models import Refund, RefundStatus
from refunds.tasks import dispatch_refund_executions_task, execute_refund_task, poll_refund_feed_task
from simulator.merchant import AdjustedItem
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_amazon_e2e as amazon_e2e
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels import test_woocommerce_e2e as woo_e2e
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not the vendors'
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=31, world=World(seed=31, clock=ManualClock(NOW))) as server:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        server.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=6, history_days=20)
        server.woo.add_site(woo_e2e.SLUG, currency="EUR", orders_per_day=6, history_days=20)
        yield server


@pytest.fixture
def people(tenant: Tenant, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {
        role: make_member(tenant, role, f"{role}@alpha.example")
        for role in (Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT)
    }


def _everything_needs_two(tenant: Tenant) -> None:
    approvals.policy_update(
        tenant=tenant,
        one_approval_from=Decimal(0),
        two_approvals_from=Decimal(0),
        approver_roles=approvals.approver_roles_possible(),
        actor=None,
    )


def _request_one_unit(order: Order, requester: Membership) -> Refund:
    line = next(line for line in order.lines.order_by("pk") if line.quantity and line.item_amount > 0)
    return approvals.refund_request(
        order=order, lines=[(line, 1)], shipping=False, note="Arrived broken", restock=False, actor=requester.user
    )


def _sync_refunds_twice(store: Store, sim: SimulatorServer) -> None:
    """The refunds sync (refunds.sync) over the store, twice, as the beat would run it."""
    with tenant_scope(store.tenant):
        Store.objects.filter(pk=store.pk).update(permissions=["orders", "returns"])
        store.refresh_from_db()
        for _ in range(2):
            for _attempt in range(30):
                run = sync_run_execute(
                    store=store,
                    resource="refunds",
                    trigger="command",
                    sleep=lambda seconds: sim.world.advance(timedelta(seconds=seconds)),
                )
                if run.status == "succeeded":
                    break
                assert run.status == "partial", f"{run.status} {run.error_code}: {run.message}"


def _approve_twice(
    refund: Refund,
    people: dict[str, Membership],
    enqueued: EnqueuedTasks,
    capture: Callable,
    channel_count: Callable[[], int],
) -> None:
    """The DONE-WHEN walk: the requester (admin) cannot approve; one approval executes nothing; the same
    person cannot approve twice; the second person's approval queues the execution."""
    tenant_id = refund.tenant_id
    before = channel_count()
    with pytest.raises(PermissionDenied, match="someone else"):
        approvals.refund_approve(refund=refund, actor=people["admin"].user)
    with pytest.raises(PermissionDenied, match="role"):
        approvals.refund_approve(refund=refund, actor=people["operator"].user)
    with capture(execute=True):
        approvals.refund_approve(refund=refund, actor=people["finance"].user)
    assert not enqueued
    # one approval of two: the task (run by hand, or by the beat) has nothing to execute
    assert execute_refund_task(tenant_id=tenant_id, refund_id=refund.pk) == "not_due"
    assert dispatch_refund_executions_task() == 0
    with pytest.raises(PermissionDenied):
        approvals.refund_approve(refund=refund, actor=people["finance"].user)
    assert channel_count() == before
    with capture(execute=True):
        approvals.refund_approve(refund=refund, actor=people["owner"].user)
    assert [task.name for task, _ in enqueued] == ["refunds.execute_refund"]


def test_shopify_refund_needs_two_people_and_is_created_once(
    tenant: Tenant,
    people: dict[str, Membership],
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # given: the shop's orders synced, a paid order, a policy where every refund needs two approvals
    store = shop_e2e._connect(tenant, sim)
    _sync_until_done(store)
    paid = {
        str(o["legacy_id"])
        for o in sim.shopify.visible_orders(shop_e2e.SHOP)
        if o["financial_status"] == "PAID" and o["presentment_currency"] == "EUR"
    }
    with tenant_scope(tenant):
        order = Order.objects.filter(store=store, external_id__in=paid).order_by("pk").first()
        assert order is not None
        _everything_needs_two(tenant)
        # when: the admin requests a refund of one unit
        refund = _request_one_unit(order, people["admin"])
        assert (refund.status, refund.approvals_required) == (RefundStatus.PENDING_APPROVAL, 2)

        def ours() -> int:
            return len(
                [r for r in sim.shopify.refunds(shop_e2e.SHOP) if r["order_id"].endswith(f"/{order.external_id}")]
            )

        _approve_twice(refund, people, enqueued, django_capture_on_commit_callbacks, ours)
        before = ours()
        # then: the queued task refunds on Shopify; a second run (a redelivery) does nothing
        assert enqueued.run_all() == ["succeeded"]
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED and refund.executed_at is not None
        assert refund.channel_refund_id and refund.dedupe_key == f"shopify|{refund.channel_refund_id}"
        assert refund.external_id == refund.channel_refund_id
        adapter = ShopifyAdapter(store=store, secrets=store.credential.secrets)
    assert ours() == before + 1
    read_back = {r.external_id: r for r in adapter.fetch_order_refunds(order.external_id)}
    assert -read_back[refund.channel_refund_id].total_amount == refund.amount
    # the refunds sync reads it back from Shopify (twice): still one refund, ours, now seen in both
    _sync_refunds_twice(store, sim)
    with tenant_scope(tenant):
        same = Refund.objects.filter(store=store, external_id=refund.channel_refund_id)
        assert [r.pk for r in same] == [refund.pk]
        merged = same.get()
        assert merged.origin == "console" and merged.status == RefundStatus.SUCCEEDED and merged.amount == refund.amount
        assert "shopify" in merged.sources
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="refunds.refund_executed", object_id=str(refund.pk)).count() == 1
        # executing it again by hand (the same key) would be a replay: a person may only retry a FAILED one
        with pytest.raises(Exception, match="failed"):
            execution.refund_execution_retry(refund=refund, actor=people["owner"].user)


def _woo_order(store: Store, adapter: WooCommerceAdapter, *, refundable: bool) -> Order:
    """A paid order whose gateway does (or does not) refund automatically, with nothing refunded yet."""
    for order in Order.objects.filter(store=store, status__in=("paid_unshipped", "shipped")).order_by("pk"):
        raw, _ = adapter.request("GET", f"orders/{order.external_id}")
        gateway_refunds = raw.get("payment_method") in ("stripe", "ppcp-gateway") and raw.get("transaction_id")
        if bool(gateway_refunds) == refundable and not raw.get("refunds") and order.lines.exists():
            return order
    raise AssertionError("the simulated site has no such order")


def test_woocommerce_refund_is_posted_once_and_a_refusal_is_shown(
    tenant: Tenant,
    people: dict[str, Membership],
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    store = woo_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        adapter = WooCommerceAdapter(store=store, secrets=store.credential.secrets)
        order = _woo_order(store, adapter, refundable=True)
        _everything_needs_two(tenant)
        refund = _request_one_unit(order, people["admin"])

        def ours() -> int:
            return len([r for r in sim.woo.refunds(woo_e2e.SLUG) if str(r["order_id"]) == order.external_id])

        _approve_twice(refund, people, enqueued, django_capture_on_commit_callbacks, ours)
        before = ours()
        assert enqueued.run_all() == ["succeeded"]
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED
        assert refund.dedupe_key == f"woocommerce|{refund.channel_refund_id}"
        made = [r for r in sim.woo.refunds(woo_e2e.SLUG) if str(r["id"]) == refund.channel_refund_id]
        assert ours() == before + 1 and len(made) == 1
        assert Decimal(made[0]["amount"]) == refund.amount and made[0]["refunded_payment"] is True
    _sync_refunds_twice(store, sim)
    with tenant_scope(tenant):
        assert [r.pk for r in Refund.objects.filter(store=store, external_id=refund.channel_refund_id)] == [refund.pk]
        merged = Refund.objects.get(pk=refund.pk)
        assert merged.amount == refund.amount and "woocommerce" in merged.sources

        # a gateway without automatic refunds: WooCommerce refuses, the refund ends FAILED with its words
        manual = _woo_order(store, adapter, refundable=False)
        refused = _request_one_unit(manual, people["admin"])
        for member in ("finance", "owner"):
            approvals.refund_approve(refund=refused, actor=people[member].user)
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refused.pk) == "failed"
        refused.refresh_from_db()
        assert refused.status == RefundStatus.FAILED and "automatic refunds" in refused.last_error
        assert refused.attempts == 1 and refused.next_attempt_at is None
        # never silently repeated: the beat leaves it alone; a person may send it again
        assert dispatch_refund_executions_task() == 0
        with django_capture_on_commit_callbacks(execute=True):
            execution.refund_execution_retry(refund=refused, actor=people["finance"].user)
        refused.refresh_from_db()
        assert refused.status == RefundStatus.APPROVED and refused.attempts == 0


def test_amazon_mfn_refund_goes_out_as_an_adjustment_feed_and_its_report_settles_it(
    tenant: Tenant,
    people: dict[str, Membership],
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    store = amazon_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        order = (
            Order.objects.filter(store=store, fulfillment_channel="merchant", status="shipped")
            .exclude(refunds__isnull=False)
            .order_by("pk")
            .first()
        )
        assert order is not None
        fba = Order.objects.filter(store=store, fulfillment_channel="fba").first()
        assert fba is not None
        assert "Seller Central" in approvals.request_refusal(order=fba)
        _everything_needs_two(tenant)
        refund = _request_one_unit(order, people["admin"])

        def ours() -> int:
            return len([r for r in sim.world.adjustments(store.seller_id) if r["order_id"] == order.external_id])

        _approve_twice(refund, people, enqueued, django_capture_on_commit_callbacks, ours)
        # when: the task submits the feed (twice, as a redelivery would: the second finds nothing to do)
        queued = list(enqueued)
        enqueued.clear()
        assert [execute_refund_task(**kwargs) for _, kwargs in queued] == ["submitted"]
        assert [task.name for task, _ in enqueued] == ["refunds.poll_refund_feed"]  # read later, with a countdown
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"
        refund.refresh_from_db()
        assert refund.status == RefundStatus.EXECUTING and refund.feed_id
        assert refund.channel_refund_id == str(refund.idempotency_key)
        # then: a later run reads the processing report and settles it
        for _ in range(20):
            sim.world.advance(timedelta(minutes=3))
            if poll_refund_feed_task(tenant_id=tenant.pk, refund_id=refund.pk) == "succeeded":
                break
        refund.refresh_from_db()
        assert refund.status == RefundStatus.SUCCEEDED and refund.executed_at is not None
        assert poll_refund_feed_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"
    made = [r for r in sim.world.adjustments(store.seller_id) if r["order_id"] == order.external_id]
    assert len(made) == 1

    # Amazon refuses an adjustment: the line was refunded in Seller Central behind ACORN's back
    with tenant_scope(tenant):
        other = (
            Order.objects.filter(store=store, fulfillment_channel="merchant", status="shipped")
            .exclude(refunds__isnull=False)
            .exclude(pk=order.pk)
            .order_by("pk")
            .first()
        )
        assert other is not None
        line = next(line for line in other.lines.order_by("pk") if line.quantity and line.item_amount > 0)
        sim.world.refund_order(
            store.seller_id,
            other.external_id,
            reason="CustomerReturn",
            currency=other.currency,
            items=[
                AdjustedItem(
                    order_item_id=line.external_id,
                    merchant_adjustment_item_id="seller-central-1",
                    components={"Principal": line.item_amount - line.discount_amount},
                )
            ],
        )
        refused = _request_one_unit(other, people["admin"])
        for member in ("finance", "owner"):
            approvals.refund_approve(refund=refused, actor=people[member].user)
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refused.pk) == "submitted"
        for _ in range(20):
            sim.world.advance(timedelta(minutes=3))
            if poll_refund_feed_task(tenant_id=tenant.pk, refund_id=refused.pk) == "failed":
                break
        refused.refresh_from_db()
        assert refused.status == RefundStatus.FAILED and "exceeds" in refused.last_error
        assert refused.feed_id == "" and refused.next_attempt_at is None


def test_retryable_failures_back_off_then_fail_and_are_shown(
    tenant: Tenant, people: dict[str, Membership], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import StoreFactory
    from tests.refunds.test_approvals import make_order

    store = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(tenant):
        order = make_order(store, currency="CNY")
        approvals.policy_update(
            tenant=tenant,
            one_approval_from=Decimal(100000),
            two_approvals_from=Decimal(100000),
            approver_roles=["owner"],
            actor=None,
        )
        refund = _request_one_unit(order, people["operator"])
        assert refund.status == RefundStatus.APPROVED

        def timeout(refund: Refund) -> Any:
            raise ChannelRetryableError("Shopify did not answer in time", retry_after=None)

        monkeypatch.setattr(execution, "_call_channel", timeout)
        waits = []
        for attempt in range(1, execution.MAX_ATTEMPTS + 1):
            Refund.objects.filter(pk=refund.pk).update(next_attempt_at=None if attempt == 1 else timezone.now())
            outcome = execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk)
            refund.refresh_from_db()
            if attempt < execution.MAX_ATTEMPTS:
                assert outcome == "retry" and refund.status == RefundStatus.APPROVED
                assert refund.next_attempt_at is not None
                waits.append(round((refund.next_attempt_at - timezone.now()).total_seconds() / 60))
                # not due yet: a second run does nothing
                assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"
        assert waits == [1, 2, 4, 8, 16]
        assert outcome == "failed" and refund.status == RefundStatus.FAILED
        assert refund.attempts == execution.MAX_ATTEMPTS and "did not answer" in refund.last_error
        assert AuditEvent.objects.filter(action="refunds.refund_execution_failed", object_id=str(refund.pk)).exists()


def test_the_beat_picks_up_lost_tasks_and_dead_workers_claims(
    tenant: Tenant, people: dict[str, Membership], monkeypatch: pytest.MonkeyPatch, enqueued: EnqueuedTasks
) -> None:
    from tests.factories import StoreFactory
    from tests.refunds.test_approvals import make_order

    store = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(tenant):
        order = make_order(store, currency="CNY")
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(10**6), two_approvals_from=Decimal(10**6),
            approver_roles=["owner"], actor=None,
        )  # fmt: skip
        refund = _request_one_unit(order, people["operator"])
    # a fresh approval's own task is on its way: the beat leaves it alone
    assert dispatch_refund_executions_task() == 0
    # its task was lost: after a while the beat queues it
    with tenant_scope(tenant):
        Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    enqueued.clear()
    assert dispatch_refund_executions_task() == 1
    assert [(task.name, kwargs["refund_id"]) for task, kwargs in enqueued] == [("refunds.execute_refund", refund.pk)]
    # a worker died mid-call (EXECUTING, no feed, lease expired): claimed again, sent under the same key
    calls: list[str] = []

    def succeed(row: Refund) -> Any:
        calls.append(str(row.idempotency_key))
        return execution._Outcome(execution.SUCCEEDED, channel_refund_id="777")

    monkeypatch.setattr(execution, "_call_channel", succeed)
    with tenant_scope(tenant):
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.EXECUTING, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5)
        )
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "not_due"  # lease still held
        Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk) == "succeeded"
        refund.refresh_from_db()
    assert calls == [str(refund.idempotency_key)]
    assert (refund.status, refund.attempts, refund.dedupe_key) == (RefundStatus.SUCCEEDED, 2, "shopify|777")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_execute_once_on_postgresql(
    tenant: Tenant, people: dict[str, Membership], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task delivered twice at the same moment: one claim wins, the channel is called once."""
    import threading

    from django.db import connection, connections

    from tests.factories import StoreFactory
    from tests.refunds.test_approvals import make_order

    if connection.vendor != "postgresql":
        pytest.skip("concurrent claims need PostgreSQL")
    store = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(tenant):
        order = make_order(store, currency="CNY")
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(10**6), two_approvals_from=Decimal(10**6),
            approver_roles=["owner"], actor=None,
        )  # fmt: skip
        refund = _request_one_unit(order, people["operator"])
    calls: list[int] = []
    barrier = threading.Barrier(2)

    def slow_channel(row: Refund) -> Any:
        calls.append(row.pk)
        return execution._Outcome(execution.SUCCEEDED, channel_refund_id="4242")

    monkeypatch.setattr(execution, "_call_channel", slow_channel)
    results: list[str] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(execute_refund_task(tenant_id=tenant.pk, refund_id=refund.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["not_due", "succeeded"]
    assert calls == [refund.pk]
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED
