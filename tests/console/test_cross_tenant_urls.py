"""Walk every URL pattern as a member of tenant B with tenant A's object ids: nothing of A answers.

Every URL keyword must be known to OBJECT_IDS (or the admin walk), so that a new view with an id in
its URL cannot be added without this test covering it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import scopes_disabled

from acorn.audit.services import audit_record
from acorn.notifications.services import notify
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.permissions import role_has_permission
from acorn.tenancy.scoping import tenant_scope
from finance.exports.models import JournalExport
from finance.exports.services import journals_export
from finance.ledger.models import Account, AccountMapping, JournalEntry
from finance.ledger.services import settlement_journals
from finance.profit.models import OtherCost
from finance.profit.other_costs import ManualCost, other_cost_create
from finance.settlements.models import Settlement, SettlementUpload
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import InvitationFactory, StoreFactory, SyncRunFactory
from tests.finance.console_data import import_statement

# URL keywords that are not object ids of a tenant, with a harmless value.
NON_OBJECT_KWARGS = {
    "token": "not-a-real-token",
    "key": "not-a-real-key",
    "uidb36": "0",
    "app_label": "tenancy",
    "content_type_id": "1",
    "object_id": "1",
    "url": "x",
    "type": "totp",
    "fmt": "csv",
}
# Patterns outside the tenant console (allauth, admin, i18n) are covered by their own tests or the admin walk.
SKIP_NAMESPACES = {"admin"}


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in SKIP_NAMESPACES:
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield name, entry


@pytest.fixture
def tenant_a_objects(tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]) -> dict[str, Any]:
    """One object of every kind that has a console URL, all belonging to tenant A."""
    operator = make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant):
        invitation = InvitationFactory(tenant=tenant)
        notification = notify(tenant=tenant, kind="member_joined", title="hello")[0]
        audit_record(tenant=tenant, actor=owner.user, action="test.event", target=tenant)
        store = StoreFactory(tenant=tenant)
        run = SyncRunFactory(store=store, status="running")
        order_upsert_page(store=store, orders=[make_order(1)])  # so the admin walk covers orders too
        from orders.models import Order

        order = Order.objects.get(store=store)
        from inventory.models import Product

        product = Product.objects.create(tenant=tenant, sku="A-SKU", name="A product")
        from inventory.models import Warehouse

        warehouse = Warehouse.objects.create(tenant=tenant, name="A warehouse")
        from inventory.models import ChannelListing, SkuMapping

        listed = SkuMapping.objects.create(tenant=tenant, store=store, product=product, channel_sku="A-LISTED-SKU")
        listing = ChannelListing.objects.create(tenant=tenant, store=store, mapping=listed)
        from inventory.models import SkuMapping

        mapping = SkuMapping.objects.create(tenant=tenant, store=store, product=product, channel_sku="A-CHANNEL-SKU")
        from orders.models import FulfillmentTarget, Shipment

        shipment = Shipment.objects.create(
            tenant=tenant, order=order, carrier="UPS", tracking_number="1ZA", shipped_at=order.purchased_at,
            source="manual", confirmation="failed",
        )  # fmt: skip
        target = FulfillmentTarget.objects.create(tenant=tenant, name="A 3PL", kind="https", callback_key="a-callback")
        from orders.models import FulfillmentRequest, FulfillmentRoute

        route = FulfillmentRoute.objects.create(tenant=tenant, target=target, position=1)
        fulfilment = FulfillmentRequest.objects.create(
            tenant=tenant, order=order, target=target, key="a-request", state="failed"
        )
        from refunds.models import ClassificationRule, Refund, Return

        refund = Refund.objects.create(
            tenant=tenant, store=store, order=order, order_external_id=order.external_id, external_id="a-refund",
            dedupe_key="a-refund", origin="console", status="pending_approval", currency="USD",
            amount=5, refunded_at=order.purchased_at, approvals_required=1, requested_by=owner.user,
        )  # fmt: skip
        returned = Return.objects.create(
            tenant=tenant, store=store, order=order, order_external_id=order.external_id, external_id="a-return",
            source="amazon_mfn", sku="SKU-1", quantity=1, status="received", returned_at=order.purchased_at,
        )  # fmt: skip
        rule = ClassificationRule.objects.create(tenant=tenant, name="A rule", position=1)
        from refunds.models import RefundRateAlert, RefundRateThreshold

        threshold = RefundRateThreshold.objects.create(
            tenant=tenant, scope="product", product=product, rate_percent=5, window_days=30
        )
        alert = RefundRateAlert.objects.create(
            tenant=tenant, product=product, threshold=threshold, window_days=30, threshold_percent=5,
            rate_percent=12, latest_rate_percent=12, units_sold=50, units_refunded=6,
        )  # fmt: skip
        settlement = import_statement(store)  # a statement with lines, an unknown order and an unclassified type
        upload = SettlementUpload.objects.create(tenant=tenant, store=store, filename="a.tsv")
        journal = settlement_journals(settlement=settlement)[0]  # also makes the default chart
        account = Account.objects.get(tenant=tenant, key="amazon_sales")
        account_mapping = AccountMapping.objects.create(
            tenant=tenant, role="sales", platform="amazon", store=store, marketplace="US", account=account
        )
        journal_export = journals_export(tenant=tenant, format="qbo", settlement=settlement, actor=owner.user)
        from acorn.exports.models import ExportJob

        export_job = ExportJob.objects.create(
            tenant=tenant, kind="tenant_data", file_format="zip", status="failed", requested_by=owner.user
        )
        other_cost = other_cost_create(
            tenant=tenant, actor=owner.user,
            entry=ManualCost(kind="storage", day=order.purchased_at.date(), amount=Decimal(5), currency="USD"),
        )  # fmt: skip
    return {
        "membership_pk": operator.pk,
        "invitation_pk": invitation.pk,
        "notification_pk": notification.pk,
        "store_pk": store.pk,
        "run_pk": run.pk,
        "product_pk": product.pk,
        "order_pk": order.pk,
        "warehouse_pk": warehouse.pk,
        "listing_pk": listing.pk,
        "mapping_pk": mapping.pk,
        "webhook_key": store.webhook_key,  # a webhook URL: B's unsigned post must be refused (401)
        "shipment_pk": shipment.pk,
        "callback_key": target.callback_key,  # a warehouse callback: B's unsigned post is refused (401)
        "target_pk": target.pk,
        "route_pk": route.pk,
        "request_pk": fulfilment.pk,
        "refund_pk": refund.pk,
        "return_pk": returned.pk,
        "rule_pk": rule.pk,
        "threshold_pk": threshold.pk,
        "alert_pk": alert.pk,
        "settlement_pk": settlement.pk,
        "upload_pk": upload.pk,
        "account_pk": account.pk,
        "account_mapping_pk": account_mapping.pk,
        "journal_pk": journal.pk,
        "export_pk": journal_export.pk,
        "other_cost_pk": other_cost.pk,
        "job_pk": export_job.pk,
    }


def _console_urls_with_object_ids(ids: dict[str, Any]) -> list[str]:
    urls = []
    for name, pattern in _walk(get_resolver().url_patterns):
        params = list(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else []
        if not params:
            continue
        object_params = [p for p in params if p not in NON_OBJECT_KWARGS]
        if not object_params:
            continue
        missing = [p for p in object_params if p not in ids]
        assert not missing, f"{name}: add {missing} to tenant_a_objects so the cross-tenant walk covers it"
        kwargs = {p: ids.get(p, NON_OBJECT_KWARGS.get(p)) for p in params}
        urls.append(reverse(name, kwargs=kwargs))
    return urls


@pytest.mark.django_db
def test_every_console_url_hides_other_tenants_objects(
    tenant_a_objects: dict[str, Any], other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    # given: the owner of tenant B (the strongest role there)
    client = client_for(other_owner)
    urls = _console_urls_with_object_ids(tenant_a_objects)
    assert len(urls) >= 4  # the walk found the id-carrying views

    # when / then: every URL with one of A's ids answers 404 (or 403) to GET and POST
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            allowed = (401, 403, 404, 405) if url.startswith(("/webhooks/", "/callbacks/")) else (403, 404, 405)
            assert response.status_code in allowed, f"{method.__name__.upper()} {url} -> {response.status_code}"


@pytest.mark.django_db
def test_other_tenants_objects_are_untouched_by_the_walk(
    tenant: Tenant,
    tenant_a_objects: dict[str, Any],
    other_owner: Membership,
    client_for: Callable[[Membership], Client],
) -> None:
    client = client_for(other_owner)
    for url in _console_urls_with_object_ids(tenant_a_objects):
        client.post(url, {"role": Role.ADMIN})
    with tenant_scope(tenant):
        membership = Membership.objects.get(pk=tenant_a_objects["membership_pk"])
        from acorn.notifications.models import Notification
        from acorn.tenancy.models import Invitation

        assert membership.role == Role.OPERATOR
        assert Invitation.objects.get(pk=tenant_a_objects["invitation_pk"]).status == "pending"
        assert Notification.objects.get(pk=tenant_a_objects["notification_pk"]).read_at is None
        from channels.models import Store

        store = Store.objects.get(pk=tenant_a_objects["store_pk"])
        # rename, marketplaces, disconnect and delete all refused B
        assert (store.status, store.delete_requested_at, store.marketplaces) == ("active", None, ["US", "CA"])
        assert store.name.startswith("Amazon store")
        from inventory.models import SkuMapping

        assert SkuMapping.objects.get(pk=tenant_a_objects["mapping_pk"]).channel_sku == "A-CHANNEL-SKU"
        from orders.models import Shipment

        assert Shipment.objects.get(pk=tenant_a_objects["shipment_pk"]).confirmation == "failed"  # not retried by B
        settlement = Settlement.objects.get(pk=tenant_a_objects["settlement_pk"])
        assert (settlement.line_count, settlement.unclassified_count) == (9, 1)  # nothing of it mapped or removed
        assert Account.objects.get(pk=tenant_a_objects["account_pk"]).name == "Amazon Sales"  # not renamed
        assert AccountMapping.objects.filter(pk=tenant_a_objects["account_mapping_pk"]).exists()  # not removed
        assert JournalEntry.objects.filter(pk=tenant_a_objects["journal_pk"]).exists()  # not rebuilt by B
        assert JournalExport.objects.filter(tenant=tenant).count() == 1  # B exported nothing of A's
        assert OtherCost.objects.filter(pk=tenant_a_objects["other_cost_pk"]).exists()  # not deleted by B
        from acorn.exports.models import ExportJob

        assert ExportJob.objects.get(pk=tenant_a_objects["job_pk"]).status == "failed"  # not retried by B


def _admin_objects(tenant: Tenant) -> list[tuple[type[Model], Any]]:
    """One object of tenant A for every model registered in the admin that has one."""
    objects = []
    with scopes_disabled():
        for model in admin.site._registry:
            manager = model._default_manager
            if any(f.name == "tenant" for f in model._meta.fields):
                obj = manager.filter(tenant=tenant).first()
            elif model is Tenant:
                obj = tenant
            else:
                obj = manager.filter(pk__isnull=False).order_by("pk").first()
            if obj is not None:
                objects.append((model, obj))
    return objects


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.FINANCE, Role.OPERATOR, Role.SUPPORT])
def test_admin_hides_other_tenants_objects_from_tenant_staff(
    role: str,
    tenant: Tenant,
    tenant_a_objects: dict[str, int],
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    client = client_for(make_member(other_tenant, role))
    checked = 0
    for model, obj in _admin_objects(tenant):
        opts = model._meta
        for view in ("change", "delete", "history"):
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])
            response = client.get(url)
            allowed = (403, 404) if role_has_permission(role, "admin.access") else (302, 403, 404)
            assert response.status_code in allowed, f"{role} GET {url} -> {response.status_code}"
            if response.status_code == 302:
                # Staff without admin access bounce to the admin's sign-in, which refuses them.
                assert response["Location"].startswith(reverse("admin:login")), response["Location"]
                assert client.get(response["Location"]).status_code == 403
            checked += 1
    assert checked >= 12
