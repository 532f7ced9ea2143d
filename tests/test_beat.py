"""Every task in the beat schedule runs, by its registered name, against two companies with data.

Beat runs its tasks outside any tenant scope, where a query on a tenant-owned model raises: a fan-out that
forgets to enter the scope crashes every few minutes in production and nowhere in a test that wraps itself in
a scope. Here nothing is wrapped. Each schedule entry's task runs once, then the tasks it queued (and the ones
those queued) run too, against the simulator over real HTTP; then the entry's check says what a seller would
see in both companies. A new schedule entry fails the test until it has a check here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from celery.app.task import Task
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.celery import app
from acorn.exports.models import ExportJob
from acorn.fx.selectors import rates_status
from acorn.fx.services import rate_on
from acorn.notifications.models import Notification
from acorn.tenancy.models import Invitation, InvitationStatus, Membership, Role, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels import services as channel_services
from channels.adapters.base import ExternalReturn
from channels.models import DataPermission, Store, StoreStatus, WebhookEvent, WebhookStatus
from finance.ledger.services import LineDraft, journal_write
from finance.models import Account, JournalEntry, JournalSource, JournalStatus, LedgerRole, Settlement, SettlementKind
from finance.profit.models import ProfitDaily, ProfitFact, ProfitRefreshDue
from finance.profit.triggers import debounce_key as profit_debounce_key
from finance.quickbooks.services import AppCredentials, quickbooks_connect
from finance.tasks import refresh_profit_task
from inventory import allocation
from inventory import services as stock
from inventory.models import ChannelListing, Product, PushState, SharingRule, SkuMapping, Warehouse
from inventory.sharing_push import store_stock_push
from orders.fulfilment import services as fulfilment
from orders.models import ConfirmationState, FulfillmentRequest, FulfillmentState, Order, Shipment, ShipmentSource
from orders.shipments import shipment_record
from refunds import approvals, monitoring
from refunds.ingest import return_upsert_page
from refunds.models import DigestSent, Refund, RefundStatus, RestockState, Return, ServiceNotice
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_amazon_e2e as amazon_e2e
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks
from tests.factories import InvitationFactory

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
    with SimulatorServer(seed=41, world=World(seed=41, clock=ManualClock(NOW)), tls_port=None) as server:
        server.warehouse.delay_seconds = 0
        settings.ACORN_ECB_RATES_URL = server.ecb.daily_url  # the ECB's files from the simulator too
        yield server


@dataclass
class Company:
    """One seller and what it has that the beat should act on."""

    tenant: Tenant
    shop: Store
    amazon: Store
    invitation: Invitation
    listing_ids: list[int] = field(default_factory=list)
    shipment_id: int = 0
    request_id: int = 0
    refund_id: int = 0
    fba_return_id: int = 0
    woo_store_id: int = 0
    woo_total: Decimal = Decimal(0)
    notice_ids: list[int] = field(default_factory=list)
    stub_store_id: int = 0
    journal_id: int = 0
    quickbooks_realm: str = ""
    webhook_event_id: int = 0
    export_job_ids: tuple[int, int] = (0, 0)  # (expired, still kept)


def _shop(tenant: Tenant, sim: SimulatorServer, domain: str) -> Store:
    sim.shopify.add_shop(domain, currency="EUR", orders_per_day=4, history_days=10)
    with tenant_scope(tenant):
        store = channel_services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="shopify",
            name=f"Shopify {domain}",
            permissions=list(DataPermission.values),
            endpoint=f"{sim.url}/shopify/{domain}",
            seller_id=domain,
        )
        return channel_services.store_authorize(
            store=store,
            actor=None,
            seller_id=domain,
            secrets={"access_token": sim.shopify.issue_access_token(domain)},
            queue_sync=False,
        )


def _quickbooks(tenant: Tenant, sim: SimulatorServer, slug: str) -> tuple[int, str]:
    """Connect a QuickBooks company whose chart has the accounts of one journal; returns (journal id, realm)."""
    sim.quickbooks.add_app("beat-qbo-client", "beat-qbo-secret")
    realm = sim.quickbooks.add_company(f"{slug} Books")
    for name, account_type in (("Amazon Clearing", "Bank"), ("Amazon Sales", "Income")):
        sim.quickbooks.add_account(realm, name, account_type)
    with tenant_scope(tenant):
        quickbooks_connect(
            tenant=tenant,
            actor=None,
            realm_id=realm,
            api_base=sim.quickbooks.endpoint,
            refresh_token=sim.quickbooks.issue_refresh_token("beat-qbo-client", realm),
            app=AppCredentials("beat-qbo-client", "beat-qbo-secret"),
        )
        bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
        sales = Account.objects.get(tenant=tenant, key="amazon_sales")
        entry = journal_write(
            tenant=tenant,
            number=f"ADJ-{slug}",
            day=timezone.now().date(),
            source=JournalSource.ADJUSTMENT,
            currency="USD",
            narration=f"Beat journal {slug}",
            lines=[
                LineDraft(bank, LedgerRole.BANK, Decimal("12.34")),
                LineDraft(sales, LedgerRole.SALES, Decimal("-12.34")),
            ],
        )
    return entry.pk, realm


def _company(
    tenant: Tenant, owner: Membership, sim: SimulatorServer, slug: str, capture: Callable[..., Any]
) -> Company:
    """A company with a Shopify shop and an Amazon store on the simulator, a warehouse API taking its orders,
    stock shared to the shop, a parcel to confirm, a refund to execute, returns, and a lapsed invitation."""
    with tenant_scope(tenant):
        target, secret = fulfilment.fulfilment_target_create(
            tenant=tenant, name=f"Warehouse {slug}", kind="https", endpoint_url=sim.warehouse.url(slug)
        )
        fulfilment.fulfilment_route_create(tenant=tenant, target=target)
    sim.warehouse.add_warehouse(slug, secret)
    shop = _shop(tenant, sim, f"{slug}.myshopify.com")
    with capture(execute=True):
        _sync_until_done(shop)
    amazon = amazon_e2e._connect(tenant, sim, name=f"Amazon {slug}")
    with tenant_scope(tenant):
        # an invitation nobody took up in time
        invitation = InvitationFactory(tenant=tenant, expires_at=timezone.now() - timedelta(days=1))
        company = Company(tenant=tenant, shop=shop, amazon=amazon, invitation=invitation)
        company.export_job_ids = _export_files(tenant)
        # an Amazon authorisation started two hours ago and never completed
        company.stub_store_id = Store.objects.create(
            tenant=tenant,
            platform="amazon",
            name=f"Abandoned {slug}",
            status=StoreStatus.PENDING_AUTH,
            created_at=timezone.now() - timedelta(hours=2),
        ).pk
        # a WooCommerce site (its data only: no permission to sync) with an order paid this morning
        woo = Store.objects.create(
            tenant=tenant, platform="woocommerce", name=f"Woo {slug}", status=StoreStatus.ACTIVE, permissions=[]
        )
        paid_at = timezone.now() - timedelta(minutes=30)
        Order.objects.create(
            tenant=tenant, store=woo, external_id=f"W-{slug}", purchased_at=paid_at, channel_updated_at=paid_at,
            status="paid_unshipped", raw_status="processing", fulfillment_channel="merchant", currency="EUR",
            item_amount=Decimal("40.00"), shipping_amount=Decimal("5.00"), total_amount=Decimal("45.00"),
            tags=["payment_method:stripe", "payment_method_title:Credit card (Stripe)"],
        )  # fmt: skip
        company.woo_store_id, company.woo_total = woo.pk, Decimal("45.00")
        # Amazon's yearly re-authorisation comes up in under 30 days
        Store.objects.filter(pk=amazon.pk).update(authorized_at=timezone.now() - timedelta(days=340))
        orders = [
            order
            for order in Order.objects.filter(store=shop, status="paid_unshipped").order_by("purchased_at", "pk")
            if order.lines.exists() and all(line.sku and line.quantity for line in order.lines.all())
        ]
        assert len(orders) >= 2, "the simulated shop has too few open orders"
        # stock shared to the shop: every SKU of the shop's open orders, pushed by a rule
        warehouse, _ = Warehouse.objects.get_or_create(tenant=tenant, name="Shenzhen")
        for sku in sorted({line.sku for order in orders for line in order.lines.all()}):
            product = Product.objects.create(tenant=tenant, sku=f"M-{sku}", name=sku)
            stock.stock_receive(product=product, warehouse=warehouse, quantity=40)
            SkuMapping.objects.create(tenant=tenant, store=shop, product=product, channel_sku=sku)
        SharingRule.objects.update_or_create(tenant=tenant, store=shop, defaults={"push_enabled": True})
        allocation.mapping_reresolve(store=shop)
        store_stock_push(store=shop)
        # every listing's push failed a while ago and its retry is due
        listings = ChannelListing.objects.filter(store=shop)
        listings.update(state=PushState.FAILED, next_attempt_at=timezone.now() - timedelta(seconds=1))
        company.listing_ids = list(listings.values_list("pk", flat=True))
        # a parcel recorded whose confirmation task was lost
        with capture(execute=True):
            shipment, _created = shipment_record(
                order=orders[0],
                carrier="YunExpress",
                tracking_number=f"YT-{slug}",
                shipped_at=timezone.now() - timedelta(minutes=5),
                source=ShipmentSource.MANUAL,
            )
        company.shipment_id = shipment.pk
        # a warehouse order whose send is due again
        request = FulfillmentRequest.objects.filter(order__store=shop).order_by("pk").first()
        assert request is not None, "the route sent no order to the warehouse"
        FulfillmentRequest.objects.filter(pk=request.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        company.request_id = request.pk
        # a refund that needs no approval, whose execution task was lost
        approvals.policy_update(
            tenant=tenant,
            one_approval_from=Decimal(1_000_000),
            two_approvals_from=Decimal(2_000_000),
            approver_roles=approvals.approver_roles_possible(),
            actor=None,
        )
        line = next(line for line in orders[1].lines.order_by("pk") if line.quantity and line.item_amount > 0)
        with capture(execute=True):
            refund = approvals.refund_request(
                order=orders[1], lines=[(line, 1)], shipping=False, note="Broken", restock=False, actor=owner.user
            )
        assert refund.status == RefundStatus.APPROVED
        Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        company.refund_id = refund.pk
        # returns from Amazon: an MFN request customer service has not heard of yet (a batch window was open and
        # its task was lost), and an FBA return
        cache.add(monitoring._window_key(tenant.pk), True)
        returned = timezone.now() - timedelta(days=2)
        with capture(execute=True):
            return_upsert_page(
                store=amazon,
                returns=[
                    ExternalReturn(external_id=f"RMA-{slug}", order_id="111-0000001", sku="SKU-1", quantity=1,
                                   returned_at=returned, fulfillment_channel="merchant", status="Approved",
                                   reason_code="CR-DEFECTIVE", rma=f"RMA-{slug}"),
                    ExternalReturn(external_id=f"FBA-{slug}", order_id="111-0000002", sku="SKU-1", quantity=1,
                                   returned_at=returned, fulfillment_channel="fba", disposition="SELLABLE",
                                   status="Unit returned to inventory"),
                ],
            )  # fmt: skip
        # the window task that would have told them was lost an hour ago
        waiting = ServiceNotice.objects.filter(sent_at__isnull=True)
        waiting.update(created_at=timezone.now() - timedelta(hours=1))
        company.notice_ids = list(waiting.values_list("pk", flat=True))
        assert company.notice_ids
        company.fba_return_id = Return.objects.get(external_id=f"FBA-{slug}").pk
        # a compliance webhook (a buyer's data request) whose first attempt failed, its retry now due
        company.webhook_event_id = WebhookEvent.objects.create(
            tenant=tenant, store=shop, topic="customers/data_request", event_id=f"privacy-{slug}",
            payload='{"orders_requested": [1001]}', status=WebhookStatus.RETRYING, attempts=1,
            next_attempt_at=timezone.now() - timedelta(seconds=1), error="OperationalError: database is locked",
        ).pk  # fmt: skip
    # a QuickBooks Online company connected, and a journal due for posting
    company.journal_id, company.quickbooks_realm = _quickbooks(tenant, sim, slug)
    return company


def _queued_tenants(ran: list[tuple[Task, dict[str, Any]]], name: str) -> set[int]:
    return {kwargs["tenant_id"] for task, kwargs in ran if task.name == name}


# What each schedule entry must have done, seen in both companies (`ran`: every task the entry queued).
Check = Callable[[list[Company], Any, list[tuple[Task, dict[str, Any]]]], None]


def _synced(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert _queued_tenants(ran, "channels.run_store_sync") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            assert Order.objects.filter(store=company.amazon).exists()


def _warned(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    for company in companies:
        with tenant_scope(company.tenant):
            assert Notification.objects.filter(tenant=company.tenant, kind="store_reauthorize_soon").exists()


def _expired(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    for company in companies:
        with tenant_scope(company.tenant):
            assert Invitation.objects.get(pk=company.invitation.pk).status == InvitationStatus.EXPIRED


def _export_files(tenant: Tenant) -> tuple[int, int]:
    """Two finished exports with files: one past its expiry, one still kept."""
    jobs = []
    for expires in (timezone.now() - timedelta(minutes=1), timezone.now() + timedelta(days=1)):
        job = ExportJob(tenant=tenant, kind="orders", file_format="csv", status="done", expires_at=expires)
        job.document.save("orders.csv", ContentFile(b"Order id\n"), save=False)
        job.save()
        jobs.append(job.pk)
    return jobs[0], jobs[1]


def _exports_expired(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    for company in companies:
        with tenant_scope(company.tenant):
            expired, kept = (ExportJob.objects.get(pk=pk) for pk in company.export_job_ids)
            assert (expired.status, expired.document.name) == ("expired", "")
            assert kept.status == "done" and kept.document.storage.exists(kept.document.name)


def _stubs_removed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    for company in companies:
        with tenant_scope(company.tenant):
            assert not Store.objects.filter(pk=company.stub_store_id).exists()
            assert Store.objects.filter(pk__in=[company.shop.pk, company.amazon.pk]).count() == 2


def _pushed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert _queued_tenants(ran, "inventory.push_store_stock") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            states = set(ChannelListing.objects.filter(pk__in=company.listing_ids).values_list("state", flat=True))
            assert company.listing_ids and states == {PushState.IN_SYNC}, states


def _refreshed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert _queued_tenants(ran, "inventory.push_store_stock") == {c.tenant.pk for c in companies}


def _confirmed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    for company in companies:
        with tenant_scope(company.tenant):
            assert Shipment.objects.get(pk=company.shipment_id).confirmation == ConfirmationState.CONFIRMED


def _sent_to_warehouse(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    for company in companies:
        with tenant_scope(company.tenant):
            assert FulfillmentRequest.objects.get(pk=company.request_id).state == FulfillmentState.SENT


def _executed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    for company in companies:
        with tenant_scope(company.tenant):
            assert Refund.objects.get(pk=company.refund_id).status == RefundStatus.SUCCEEDED


def _restocked(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    for company in companies:
        with tenant_scope(company.tenant):
            assert Return.objects.get(pk=company.fba_return_id).restock_state == RestockState.BY_CHANNEL


def _webhooks_retried(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    assert _queued_tenants(ran, "channels.process_webhook_event") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            event = WebhookEvent.objects.get(pk=company.webhook_event_id)
            assert (event.status, event.attempts) == (WebhookStatus.PROCESSED, 2)
            assert Notification.objects.filter(tenant=company.tenant, kind="privacy_request").exists()


def _per_tenant(name: str) -> Check:
    def check(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
        assert _queued_tenants(ran, name) == {c.tenant.pk for c in companies}

    return check


def _notices_sent(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    for company in companies:
        with tenant_scope(company.tenant):
            assert not ServiceNotice.objects.filter(pk__in=company.notice_ids, sent_at__isnull=True).exists()
            assert Notification.objects.filter(tenant=company.tenant, kind="return_request").exists()


def _digests(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert _queued_tenants(ran, "refunds.send_weekly_digest") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            assert DigestSent.objects.filter(tenant=company.tenant).count() == 1


def _statements_built(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    assert _queued_tenants(ran, "finance.build_store_statements") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            statement = Settlement.objects.get(store_id=company.woo_store_id, kind=SettlementKind.WOOCOMMERCE_STATEMENT)
            assert statement.total_amount == company.woo_total and statement.balanced


def _profit_rebuilt(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert _queued_tenants(ran, "finance.rebuild_profit") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            assert ProfitFact.objects.filter(kind="sale").exists() and ProfitDaily.objects.exists()


def _profit_refresh_lost(companies: list[Company]) -> None:
    """A page of each company's shop changed its orders ten minutes ago and the refresh it queued was lost
    (its debounce key expired since): the orders' P&L is out of date and they are still due."""
    for company in companies:
        with tenant_scope(company.tenant):
            order_ids = list(Order.objects.filter(store=company.shop).values_list("pk", flat=True))
            ProfitFact.objects.filter(order_id__in=order_ids).delete()
            due = [ProfitRefreshDue(tenant=company.tenant, kind="order", object_id=pk) for pk in order_ids]
            ProfitRefreshDue.objects.bulk_create(due, ignore_conflicts=True)
            ProfitRefreshDue.objects.update(created_at=timezone.now() - timedelta(minutes=10))
        cache.delete(profit_debounce_key(company.tenant.pk))


def _profit_refreshed(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    # The beat queues each company whose refresh was lost, once, and its task drains everything due. (The
    # enqueued fixture keeps finance's refreshes to tests/finance, so the worker's part is run here.)
    assert result == len(companies)
    for company in companies:
        with tenant_scope(company.tenant):
            shop_orders = Order.objects.filter(store=company.shop).count()
        assert shop_orders and refresh_profit_task(tenant_id=company.tenant.pk) >= shop_orders
        with tenant_scope(company.tenant):
            assert not ProfitRefreshDue.objects.exists()
            assert ProfitFact.objects.filter(kind="sale", order__store=company.shop).exists()


def _journals_posted(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    assert result == len(companies)
    assert _queued_tenants(ran, "finance.post_journals") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            entry = JournalEntry.objects.get(pk=company.journal_id)
            assert entry.status == JournalStatus.POSTED and entry.external_id


def _rates_fetched(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    # Rates are global (no tenant): both companies convert at the ECB's latest day, fetched over HTTP.
    assert result["created"] > 0 and result["history_read"] is True
    latest = date.fromisoformat(result["latest_day"])
    found = rate_on("EUR", "USD", latest)
    assert found is not None and found[1:] == (latest, "ecb")
    assert rates_status().latest_date == latest


def _retention_applied(companies: list[Company], result: Any, ran: list[tuple[Task, dict[str, Any]]]) -> None:
    # Nothing is older than a plan's retention here: the job runs per company, audits, and removes nothing.
    assert result == {"tenants": len(companies), "closed": 0}
    assert _queued_tenants(ran, "tenancy.apply_retention") == {c.tenant.pk for c in companies}
    for company in companies:
        with tenant_scope(company.tenant):
            event = AuditEvent.objects.get(action="retention.completed")
            assert all(item["rows"] == 0 for item in event.after["items"].values())
            assert not AuditEvent.objects.filter(action__in=["retention.applied", "retention.failed"]).exists()
            assert Order.objects.filter(store=company.shop).exists()


# What an entry needs to find that nothing else in the schedule would have found first.
PREPARE: dict[str, Callable[[list[Company]], None]] = {"dispatch-profit-refreshes": _profit_refresh_lost}

CHECKS: dict[str, Check] = {
    "dispatch-due-syncs": _synced,
    "dispatch-due-webhooks": _webhooks_retried,
    "warn-reauthorization": _warned,
    "expire-invitations": _expired,
    "expire-exports": _exports_expired,
    "expire-pending-stores": _stubs_removed,
    "dispatch-stock-pushes": _pushed,
    "refresh-stock-listings": _refreshed,
    "dispatch-shipment-confirmations": _confirmed,
    "dispatch-fulfilment-requests": _sent_to_warehouse,
    "dispatch-refund-executions": _executed,
    "restock-returns": _restocked,
    "rebuild-refund-rates": _per_tenant("refunds.rebuild_refund_rates"),
    "evaluate-refund-alerts": _per_tenant("refunds.evaluate_refund_alerts"),
    "send-stale-service-notices": _notices_sent,
    "send-weekly-digests": _digests,
    "build-woocommerce-statements": _statements_built,
    "dispatch-profit-refreshes": _profit_refreshed,
    "post-quickbooks-journals": _journals_posted,
    "rebuild-profit": _profit_rebuilt,
    "fetch-exchange-rates": _rates_fetched,
    "apply-retention": _retention_applied,
}


def test_every_beat_entry_has_a_check_and_names_a_registered_task() -> None:
    # A new entry in CELERY_BEAT_SCHEDULE fails here until the test below exercises it.
    app.loader.import_default_modules()
    assert set(settings.CELERY_BEAT_SCHEDULE) == set(CHECKS)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def _drain(enqueued: EnqueuedTasks, capture: Callable[..., Any]) -> list[tuple[Task, dict[str, Any]]]:
    """Run what was queued, and what that queued, as workers would (each task in its own on-commit scope)."""
    ran: list[tuple[Task, dict[str, Any]]] = []
    for _round in range(6):
        if not enqueued:
            return ran
        batch = list(enqueued)
        enqueued.clear()
        for task, kwargs in batch:
            with capture(execute=True):
                task(**kwargs)
            ran.append((task, kwargs))
    raise AssertionError(f"tasks still queuing tasks after six rounds: {[task.name for task, _ in enqueued]}")


def test_every_beat_task_runs_outside_any_scope_for_two_companies_with_data(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    make_member: Callable[..., Membership],
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: two companies with stores, orders, stock, parcels, refunds, returns and people to tell
    for company_tenant in (tenant, other_tenant):
        make_member(company_tenant, Role.SUPPORT, f"support@{company_tenant.slug}.example")
    companies = [
        _company(tenant, owner, sim, "alpha-beat", django_capture_on_commit_callbacks),
        _company(other_tenant, other_owner, sim, "beta-beat", django_capture_on_commit_callbacks),
    ]
    enqueued.clear()  # the tasks queued while seeding are the "lost" ones the beat must find

    # when: every entry of the schedule runs once, as beat sends it, with nothing in scope
    failures: dict[str, str] = {}
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in schedule.items():
        task = app.tasks[entry["task"]]
        try:
            if name in PREPARE:
                PREPARE[name](companies)
            with django_capture_on_commit_callbacks(execute=True):
                result = task(*entry.get("args", ()), **entry.get("kwargs", {}))
            ran = _drain(enqueued, django_capture_on_commit_callbacks)
            # then: what a seller would see, in both companies
            CHECKS[name](companies, result, ran)
        except Exception as error:  # every entry runs; all failures are reported together
            failures[name] = f"{type(error).__name__}: {error}"
            enqueued.clear()

    assert failures == {}, "\n".join(f"{name}: {problem}" for name, problem in failures.items())
    with dangerously_unscoped():
        assert {n.tenant_id for n in Notification.objects.filter(kind="return_request")} == {tenant.pk, other_tenant.pk}
