"""Store pages: connect form, plan limit, OAuth state checks, sync now, roles."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Membership, Plan, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import QuarantinedRecord, Store
from channels.views import OAUTH_SALT
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory, SyncRunFactory

pytestmark = pytest.mark.django_db
CONNECT = {
    "name": "Amazon US",
    "region": "NA",
    "marketplaces": ["US", "CA"],
    "permissions": ["orders", "finance"],
    "endpoint": "http://127.0.0.1:8765",
}


def test_empty_state_offers_to_connect(owner_client: Client) -> None:
    page = owner_client.get(reverse("channels:store-list")).content.decode()
    assert "No store connected yet" in page and reverse("channels:store-connect-amazon") in page


def test_connect_creates_a_pending_store_and_sends_the_seller_to_consent(tenant: Tenant, owner_client: Client) -> None:
    response = owner_client.post(reverse("channels:store-connect-amazon"), CONNECT)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == "/apps/authorize/consent" and target.netloc == "127.0.0.1:8765"
    query = parse_qs(target.query)
    assert query["redirect_uri"] == ["http://testserver" + reverse("channels:amazon-callback")]
    state = signing.loads(query["state"][0], salt=OAUTH_SALT)
    with tenant_scope(tenant):
        store = Store.objects.get()
    assert (store.status, store.marketplaces, state["store"]) == ("pending_auth", ["US", "CA"], store.pk)


def test_marketplaces_of_another_region_are_refused(owner_client: Client, tenant: Tenant) -> None:
    response = owner_client.post(reverse("channels:store-connect-amazon"), {**CONNECT, "marketplaces": ["US", "DE"]})
    assert response.status_code == 400
    assert "DE not in the North America region" in response.content.decode()
    with tenant_scope(tenant):
        assert not Store.objects.exists()


def test_store_limit_of_the_plan(tenant: Tenant, owner_client: Client) -> None:
    tenant.plan = Plan.BASIC
    tenant.save(update_fields=["plan"])
    with tenant_scope(tenant):
        StoreFactory(tenant=tenant)
        StoreFactory(tenant=tenant)
    response = owner_client.post(reverse("channels:store-connect-amazon"), CONNECT)
    assert response.status_code == 400
    assert "allows 2 stores and 2 are connected" in response.content.decode()
    with tenant_scope(tenant):
        assert Store.objects.count() == 2


def test_callback_with_a_forged_state_is_refused(owner_client: Client) -> None:
    response = owner_client.get(
        reverse("channels:amazon-callback"), {"state": "forged", "spapi_oauth_code": "c", "selling_partner_id": "A1"}
    )
    assert response.status_code == 400
    assert "invalid or expired" in response.content.decode()


def test_callback_with_another_tenants_state_answers_404(
    tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, status="pending_auth", seller_id="")
    state = signing.dumps({"store": store.pk, "tenant": tenant.pk, "nonce": "n"}, salt=OAUTH_SALT)
    response = client_for(other_owner).get(
        reverse("channels:amazon-callback"), {"state": state, "spapi_oauth_code": "c", "selling_partner_id": "A1"}
    )
    assert response.status_code == 404
    store.refresh_from_db()
    assert store.status == "pending_auth"


def test_callback_needs_the_same_browser_session(tenant: Tenant, owner: Membership, client_for: Callable) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, status="pending_auth", seller_id="")
    state = signing.dumps({"store": store.pk, "tenant": tenant.pk, "nonce": "stolen"}, salt=OAUTH_SALT)
    response = client_for(owner).get(
        reverse("channels:amazon-callback"), {"state": state, "spapi_oauth_code": "c", "selling_partner_id": "A1"}
    )
    assert response.status_code == 404


def test_sync_now_queues_each_resource(
    tenant: Tenant,
    make_member: Callable,
    client_for: Callable,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    operator = make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(operator).post(reverse("channels:store-sync", args=[store.pk]))
    assert response.status_code == 302
    assert sorted((task.name, kwargs["resource"], kwargs["store_id"]) for task, kwargs in enqueued) == [
        ("channels.run_store_sync", "deferred_money", store.pk),  # finance: money Amazon holds back
        ("channels.run_store_sync", "inventory", store.pk),  # FBA stock (an Amazon store)
        ("channels.run_store_sync", "orders", store.pk),
        ("channels.run_store_sync", "refunds", store.pk),  # the store granted "returns" (refunds.sync)
        ("channels.run_store_sync", "returns", store.pk),
        ("channels.run_store_sync", "settlements", store.pk),  # finance: settlement reports
    ]


@pytest.mark.parametrize("role", [Role.SUPPORT])
def test_support_sees_no_stores(role: str, tenant: Tenant, make_member: Callable, client_for: Callable) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
    client = client_for(make_member(tenant, role))
    assert client.get(reverse("channels:store-list")).status_code == 403
    assert client.post(reverse("channels:store-sync", args=[store.pk])).status_code == 403


def test_finance_sees_stores_but_cannot_sync_or_connect(
    tenant: Tenant, make_member: Callable, client_for: Callable
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
    client = client_for(make_member(tenant, Role.FINANCE))
    assert client.get(reverse("channels:store-detail", args=[store.pk])).status_code == 200
    assert client.post(reverse("channels:store-sync", args=[store.pk])).status_code == 403
    assert client.get(reverse("channels:store-connect-amazon")).status_code == 403


def test_store_detail_shows_the_sync_log_and_quarantined_raw_payload(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        run = SyncRunFactory(store=store, status="failed", error_code="http_503", message="Amazon answered 503")
        QuarantinedRecord.objects.create(
            tenant=tenant,
            store=store,
            resource="orders",
            sync_run=run,
            external_id="X-1",
            fingerprint="f",
            reason="orderItems: missing or empty",
            raw='{"orderId": "X-1"}',
        )
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert run.trace_id in page and "http_503" in page
    assert "orderItems: missing or empty" in page and "&quot;orderId&quot;: &quot;X-1&quot;" in page
    failed_only = owner_client.get(reverse("channels:store-detail", args=[store.pk]), {"status": "succeeded"})
    assert run.trace_id not in failed_only.content.decode()


def test_running_sync_shows_a_polling_progress_bar(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        run = SyncRunFactory(store=store, status="running", progress=40)
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and "40%" in page
    partial = owner_client.get(reverse("channels:syncrun-progress", args=[store.pk, run.pk])).content.decode()
    assert "40%" in partial


def test_reauthorization_warning_goes_out_once_per_authorisation(tenant: Tenant, owner: Membership) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from acorn.notifications.models import Notification
    from channels.services import stores_warn_reauthorization

    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, authorized_at=timezone.now() - timedelta(days=340))
        StoreFactory(tenant=tenant, authorized_at=timezone.now() - timedelta(days=100))
    assert stores_warn_reauthorization() == 1
    assert stores_warn_reauthorization() == 0
    with tenant_scope(tenant):
        assert Notification.objects.filter(kind="store_reauthorize_soon").count() == 1
        # the warning was for an earlier authorisation: the current one gets its own
        Store.objects.filter(pk=store.pk).update(reauthorization_warned_at=timezone.now() - timedelta(days=400))
    assert stores_warn_reauthorization() == 1


def test_sync_now_watches_its_runs_from_queued_to_the_result(
    tenant: Tenant, owner_client: Client, other_owner: Membership, client_for: Callable
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
    # when: Sync now is pressed, the page comes back watching the runs it queued
    answer = owner_client.post(reverse("channels:store-sync", args=[store.pk]))
    assert answer.status_code == 302 and "?synced=" in answer["Location"]
    synced = parse_qs(urlsplit(answer["Location"]).query)["synced"][0]
    status_url = reverse("channels:store-sync-status", args=[store.pk])
    page = owner_client.get(answer["Location"]).content.decode()
    assert 'id="sync-request"' in page and 'hx-trigger="every 2s"' in page and "Queued, waiting for a worker" in page
    # then: a worker starts the orders run: its progress shows, still polling
    with tenant_scope(tenant):
        run = SyncRunFactory(store=store, resource="orders", status="running", progress=40)
    polled = owner_client.get(status_url, {"synced": synced}).content.decode()
    assert "40%" in polled and 'hx-trigger="every 2s"' in polled
    # and when every run has ended, the result stays without polling
    with tenant_scope(tenant):
        run.status, run.fetched, run.created = "succeeded", 12, 10
        run.save()
        for resource in ("deferred_money", "inventory", "refunds", "returns", "settlements"):
            SyncRunFactory(store=store, resource=resource, status="succeeded")
    done = owner_client.get(status_url, {"synced": synced}).content.decode()
    assert "Sync finished" in done and "12 fetched, 10 new" in done and "hx-trigger" not in done
    # a run that never started: the page stops asking after ten minutes and says where to look
    long_ago = (timezone.now() - timedelta(minutes=11)).isoformat()
    with tenant_scope(tenant):
        store_b = StoreFactory(tenant=tenant)
    late = owner_client.get(reverse("channels:store-sync-status", args=[store_b.pk]), {"synced": long_ago})
    assert "hx-trigger" not in late.content.decode() and "Not started yet" in late.content.decode()
    # another company cannot watch this store; a bad time is not found
    assert client_for(other_owner).get(status_url, {"synced": synced}).status_code == 404
    assert owner_client.get(status_url, {"synced": "yesterday"}).status_code == 404
