"""Webhooks: signatures checked on the raw body, each event stored once, acted on by a task, buyer details
not kept, compliance topics acted on, and one tenant's webhook never lands in another's store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from acorn.audit.models import AuditEvent
from channels.models import StoreCredential, StoreStatus, WebhookEvent, WebhookStatus
from orders.models import Order
from tests.factories import StoreFactory, TenantFactory
from tests.vendor import VENDOR_FIXTURES

pytestmark = pytest.mark.django_db
WOO_ORDER = VENDOR_FIXTURES / "woocommerce/wp-api-v3/orders/retrieve-an-order.response.json"


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _shopify_store(tenant: Any, shop: str = "acme.myshopify.com") -> Any:
    store = StoreFactory(
        tenant=tenant, platform="shopify", name=f"Shopify {shop}", region="", marketplaces=[], seller_id=shop
    )
    StoreCredential.objects.create(tenant=tenant, store=store, secrets={"access_token": "shpat_x"})
    return store


def _woo_store(tenant: Any, secret: str = "woo-hook-secret") -> Any:
    store = StoreFactory(
        tenant=tenant,
        platform="woocommerce",
        name="Woo",
        region="",
        marketplaces=[],
        seller_id="https://shop.example",
        endpoint="https://shop.example",
    )
    StoreCredential.objects.create(
        tenant=tenant,
        store=store,
        secrets={"consumer_key": "ck_1", "consumer_secret": "cs_1", "webhook_secret": secret},
    )
    return store


def _post_shopify(client: Client, body: bytes, *, shop: str, topic: str, event_id: str, signature: str) -> Any:
    return client.post(
        reverse("webhook-shopify"),
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature,
        HTTP_X_SHOPIFY_SHOP_DOMAIN=shop,
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_EVENT_ID=event_id,
        HTTP_X_SHOPIFY_WEBHOOK_ID=f"wh-{event_id}",
    )


def _events() -> list[WebhookEvent]:
    with scopes_disabled():
        return list(WebhookEvent.objects.order_by("pk"))


def test_shopify_forged_signature_is_401_and_stores_nothing(tenant: Any, enqueued: Any) -> None:
    _shopify_store(tenant)
    body = json.dumps({"id": 1001}).encode()
    response = _post_shopify(
        Client(), body, shop="acme.myshopify.com", topic="orders/updated", event_id="e1", signature=_sign(body, "nope")
    )
    assert response.status_code == 401
    assert _events() == [] and not enqueued
    tampered = _post_shopify(
        Client(),
        body + b" ",
        shop="acme.myshopify.com",
        topic="orders/updated",
        event_id="e1",
        signature=_sign(body, settings.SHOPIFY_API_SECRET),
    )
    assert tampered.status_code == 401  # the HMAC covers the exact raw bytes


def test_shopify_same_event_three_times_is_stored_and_queued_once(
    tenant: Any, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _shopify_store(tenant)
    body = json.dumps({"id": 1001, "email": "buyer@example.com"}).encode()
    signature = _sign(body, settings.SHOPIFY_API_SECRET)
    answers = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(
                _post_shopify(
                    Client(),
                    body,
                    shop="acme.myshopify.com",
                    topic="orders/updated",
                    event_id="ev-1",
                    signature=signature,
                ).json()
            )
    [event] = _events()
    assert (event.topic, event.resource_id, event.deliveries) == ("orders/updated", "1001", 3)
    assert [answer["duplicate"] for answer in answers] == [False, True, True]
    assert [task.name for task, _ in enqueued] == ["channels.process_webhook_event"]
    assert enqueued[0][1] == {"tenant_id": tenant.pk, "event_id": event.pk}


def test_shopify_webhook_for_an_unknown_shop_is_accepted_but_stored_nowhere(tenant: Any, enqueued: Any) -> None:
    body = b'{"id": 5}'
    response = _post_shopify(
        Client(),
        body,
        shop="stranger.myshopify.com",
        topic="orders/create",
        event_id="x",
        signature=_sign(body, settings.SHOPIFY_API_SECRET),
    )
    assert response.status_code == 200 and _events() == []


def test_shopify_custom_app_webhooks_verify_with_the_stores_own_secret(tenant: Any, enqueued: Any) -> None:
    store = _shopify_store(tenant, "custom.myshopify.com")
    with scopes_disabled():
        credential = StoreCredential.objects.get(store=store)
        credential.secrets = {"access_token": "t", "webhook_secret": "custom-s"}
        credential.save()
    body = b'{"id": 9}'
    response = _post_shopify(
        Client(),
        body,
        shop="custom.myshopify.com",
        topic="orders/create",
        event_id="c1",
        signature=_sign(body, "custom-s"),
    )
    assert response.status_code == 200 and len(_events()) == 1


def test_woocommerce_unsigned_ping_gets_200_and_nothing_else(tenant: Any, enqueued: Any) -> None:
    store = _woo_store(tenant)
    response = Client().post(
        reverse("webhook-woocommerce", args=[store.webhook_key]),
        data="webhook_id=17",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and _events() == []


def _post_woo(store: Any, body: bytes, *, signature: str, delivery: str, topic: str = "order.updated") -> Any:
    return Client().post(
        reverse("webhook-woocommerce", args=[store.webhook_key]),
        data=body,
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_SIGNATURE=signature,
        HTTP_X_WC_WEBHOOK_TOPIC=topic,
        HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery,
        HTTP_X_WC_WEBHOOK_SOURCE="https://shop.example/",
    )


def test_woocommerce_order_webhook_upserts_the_order_once_and_forgets_buyer_details(
    tenant: Any, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    store = _woo_store(tenant)
    body = WOO_ORDER.read_bytes()
    forged = _post_woo(store, body, signature=_sign(body, "other"), delivery="d1")
    assert forged.status_code == 401 and _events() == []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert _post_woo(store, body, signature=_sign(body, "woo-hook-secret"), delivery="d1").status_code == 200
    assert [task.name for task, _ in enqueued] == ["channels.process_webhook_event"]
    assert enqueued.run_all() == [WebhookStatus.PROCESSED]
    with scopes_disabled():
        order = Order.objects.get(store=store)
        assert (order.external_id, order.status, order.currency, str(order.total_amount)) == (
            "727",
            "paid_unshipped",
            "USD",
            "29.3500",
        )
        assert order.source_name == "rest-api" and order.buyer_country == "US"
        [event] = _events()
        assert "john.doe@example.com" not in event.payload  # buyer details are not kept once acted on
        assert event.deliveries == 3


def test_woocommerce_webhook_key_of_one_tenant_cannot_write_into_another(tenant: Any, enqueued: Any) -> None:
    other = TenantFactory()
    mine = _woo_store(tenant, secret="mine")
    with scopes_disabled():
        theirs = _woo_store(other, secret="theirs")
    body = b'{"id": 1}'
    # Their URL with my secret's signature: refused.
    assert _post_woo(theirs, body, signature=_sign(body, "mine"), delivery="z").status_code == 401
    assert _post_woo(mine, body, signature=_sign(body, "mine"), delivery="z").status_code == 200
    [event] = _events()
    assert event.store_id == mine.pk and event.tenant_id == tenant.pk


def test_app_uninstalled_disables_the_store_and_deletes_its_tokens(
    tenant: Any, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    store = _shopify_store(tenant)
    body = json.dumps({"id": 1, "domain": "acme.myshopify.com"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        _post_shopify(
            Client(),
            body,
            shop="acme.myshopify.com",
            topic="app/uninstalled",
            event_id="u1",
            signature=_sign(body, settings.SHOPIFY_API_SECRET),
        )
    enqueued.run_all()
    with scopes_disabled():
        store.refresh_from_db()
        assert store.status == StoreStatus.DISABLED
        assert not StoreCredential.objects.filter(store=store).exists()
        assert AuditEvent.objects.filter(action="store.uninstalled", tenant=tenant).exists()


def test_compliance_topics_are_answered_and_acted_on(
    tenant: Any, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    store = _shopify_store(tenant)
    secret = settings.SHOPIFY_API_SECRET
    with scopes_disabled():
        kept = WebhookEvent.objects.create(
            tenant=tenant, store=store, topic="orders/create", event_id="old", resource_id="2002", payload='{"x": 1}'
        )
    for topic, payload in [
        ("customers/data_request", {"shop_domain": "acme.myshopify.com", "orders_requested": [2001]}),
        ("customers/redact", {"shop_domain": "acme.myshopify.com", "orders_to_redact": [2002]}),
        ("shop/redact", {"shop_domain": "acme.myshopify.com"}),
    ]:
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = _post_shopify(
                Client(), body, shop="acme.myshopify.com", topic=topic, event_id=topic, signature=_sign(body, secret)
            )
        assert response.status_code == 200
    assert enqueued.run_all() == [WebhookStatus.PROCESSED] * 3
    with scopes_disabled():
        actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
        assert {"privacy.customer_data_requested", "privacy.customer_redacted", "privacy.shop_redacted"} <= actions
        kept.refresh_from_db()
        assert "redacted" in kept.payload
        store.refresh_from_db()
        assert store.status == StoreStatus.DISABLED


def test_renew_webhook_subscriptions_needs_manage_permission_and_queues_once(
    tenant: Any,
    enqueued: Any,
    make_member: Any,
    client_for: Any,
    owner_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    store = _shopify_store(tenant)
    url = reverse("channels:store-register-webhooks", args=[store.pk])
    from acorn.tenancy.models import Role

    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url)
    assert response.status_code == 302
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("channels.register_webhooks", {"tenant_id": tenant.pk, "store_id": store.pk})
    ]
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="store.webhooks_requested", tenant=tenant).exists()
