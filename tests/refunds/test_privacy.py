"""Shopify's redaction requests remove the buyer's personal data that refunds and returns carry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_scopes import scopes_disabled

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import QuarantinedRecord, Store, WebhookEvent
from channels.webhooks import webhook_event_process
from refunds.models import Refund, Return
from tests.factories import StoreFactory
from tests.tenancy.test_retention import COMMENT, OLD, _order, _refund, _return

pytestmark = pytest.mark.django_db


def _shop(tenant: Tenant, domain: str) -> Store:
    return StoreFactory(tenant=tenant, platform="shopify", region="", marketplaces=[], seller_id=domain)


def _deliver(store: Store, topic: str, payload: dict[str, Any]) -> None:
    with tenant_scope(store.tenant):
        event = WebhookEvent.objects.create(
            tenant=store.tenant, store=store, topic=topic, event_id=f"{topic}-1", payload=json.dumps(payload)
        )
        assert webhook_event_process(event=event) == "processed"


def test_customers_redact_erases_the_buyers_words_on_the_named_orders_only(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    # given two orders of one shop with refunds and returns carrying the buyer's words, and another tenant's
    with tenant_scope(tenant):
        shop = _shop(tenant, "acme.myshopify.com")
        named, other = _order(shop, "2002", at=OLD), _order(shop, "2003", at=OLD)
        for order in (named, other):
            _refund(shop, order, f"R-{order.external_id}", at=OLD)
            _return(shop, order, f"RET-{order.external_id}", at=OLD)
        _refund(shop, None, "R-WAITING", at=OLD).__class__.objects.filter(external_id="R-WAITING").update(
            order_external_id="2002"
        )
        QuarantinedRecord.objects.create(
            tenant=tenant, store=shop, resource="orders", external_id="2002", fingerprint="q", reason="x", raw="{}"
        )
    with tenant_scope(other_tenant):
        elsewhere = _shop(other_tenant, "acme.myshopify.com")
        _refund(elsewhere, _order(elsewhere, "2002", at=OLD), "R-ELSEWHERE", at=OLD)
    # when Shopify asks to redact the buyer of order 2002
    _deliver(shop, "customers/redact", {"shop_domain": "acme.myshopify.com", "orders_to_redact": [2002]})
    # then its refunds (the one still waiting for the order too) and returns lose the buyer data, amounts stay
    with scopes_disabled():
        refunds = {r.external_id: r for r in Refund.objects.all()}
        for key in ("R-2002", "R-WAITING"):
            assert (refunds[key].customer_comment, refunds[key].raw) == ("", {})
            assert refunds[key].amount > 0
        returned = Return.objects.get(external_id="RET-2002")
        assert (returned.customer_comment, returned.raw, returned.tracking_number) == ("", {}, "")
        assert not QuarantinedRecord.objects.exists()
        # and the other order, and the other tenant's order with the same id, keep theirs
        assert refunds["R-2003"].customer_comment == COMMENT
        assert Return.objects.get(external_id="RET-2003").customer_comment == COMMENT
        assert refunds["R-ELSEWHERE"].customer_comment == COMMENT


def test_shop_redact_erases_the_buyer_data_of_every_refund_and_return_of_the_store(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        shop, kept = _shop(tenant, "acme.myshopify.com"), _shop(tenant, "other.myshopify.com")
        _refund(shop, _order(shop, "1", at=OLD), "R-1", at=OLD)
        _return(shop, None, "RET-1", at=OLD)
        _refund(kept, _order(kept, "9", at=OLD), "R-9", at=OLD)
    _deliver(shop, "shop/redact", {"shop_domain": "acme.myshopify.com"})
    with tenant_scope(tenant):
        assert Refund.objects.get(external_id="R-1").customer_comment == ""
        assert Return.objects.get(external_id="RET-1").raw == {}
        assert Refund.objects.get(external_id="R-9").customer_comment == COMMENT
