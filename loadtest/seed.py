"""The load run's tenant: `python -m loadtest.seed --orders N [--amazon JSON] --json` (Django settings from the
environment, as `manage.py` reads them; the runner points them at its private PostgreSQL and Redis).

Creates (idempotent only in the sense that the runner seeds a fresh database once): a tenant with its owner
(through `tenant_create_with_owner`, as `create_tenant` does), a Shopify store for the loadtest shop (its
webhooks are signed with the app's secret), master products for the loadtest SKUs mapped to that store with
stock in one warehouse, and `--orders` orders ingested through `order_upsert_page` (the sync's and the
webhooks' one path), so that the console pages have something to list. With `--amazon`, the JSON line the
simulator child printed (benchmarks.backfill_simulator), it adds the Amazon store that the fault run syncs.
Prints one JSON object: {"tenant", "tenant_id", "email", "password", "order_ids", "shopify_store_id",
"amazon_store_id", "api_secret"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--amazon", default="", help="the simulator child's JSON line: add its Amazon store")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acorn.settings.local")
    import django

    django.setup()
    result = _seed(arguments.orders, json.loads(arguments.amazon) if arguments.amazon else None)
    sys.stdout.write(json.dumps(result) + "\n")


EMAIL = "owner@loadtest.acorn.local"
PASSWORD = "loadtest-not-a-secret-2026"


def _seed(orders: int, amazon: dict[str, Any] | None) -> dict[str, Any]:
    from django.conf import settings
    from django.utils import timezone

    from acorn.tenancy.models import Tenant
    from acorn.tenancy.scoping import tenant_scope
    from acorn.tenancy.services import tenant_create_with_owner
    from channels.adapters.shopify.parse import parse_rest_order
    from channels.models import DataPermission, Platform, Region, Store, StoreCredential, StoreStatus
    from inventory.ledger import stock_move
    from inventory.models import MovementKind, Product, SkuMapping, Warehouse
    from loadtest.orders import SHOP, SKUS, order_body
    from orders.models import Order
    from orders.services import order_upsert_page

    tenant = Tenant.objects.filter(slug__startswith="load-test").first()
    if tenant is None:
        tenant, _owner = tenant_create_with_owner(
            name="Load Test Trading",
            owner_email=EMAIL,
            password=PASSWORD,
            contact_name="Load test",
            phone="+1 555 0100",
            plan="custom",
            reporting_currency="USD",
        )
    with tenant_scope(tenant):
        shop = Store.objects.filter(platform=Platform.SHOPIFY, seller_id=SHOP).first()
        if shop is None:
            # Written directly, as benchmarks/backfill.py does: the connect flow walks OAuth against a live shop.
            shop = Store.objects.create(
                tenant=tenant,
                platform=Platform.SHOPIFY,
                name="Load test shop",
                seller_id=SHOP,
                endpoint=f"https://{SHOP}",
                status=StoreStatus.ACTIVE,
                authorized_at=timezone.now(),
            )
            StoreCredential.objects.create(tenant=tenant, store=shop, secrets={"access_token": "loadtest"})
            warehouse = Warehouse.objects.create(tenant=tenant, name="Load test warehouse")
            for sku in SKUS:
                product = Product.objects.create(tenant=tenant, sku=f"M-{sku}", name=f"Load test {sku}")
                SkuMapping.objects.create(tenant=tenant, store=shop, channel_sku=sku, product=product)
                stock_move(product=product, warehouse=warehouse, kind=MovementKind.RECEIPT, on_hand_delta=100_000)
            batch = []
            for order_id in range(1, orders + 1):
                batch.append(parse_rest_order(order_body(order_id)))
                if len(batch) == 200:
                    order_upsert_page(store=shop, orders=batch)
                    batch = []
            if batch:
                order_upsert_page(store=shop, orders=batch)
        amazon_store = None
        if amazon:
            amazon_store = Store.objects.create(
                tenant=tenant,
                platform=Platform.AMAZON,
                name=f"Amazon {amazon['region']}",
                region=Region(amazon["region"]),
                marketplaces=list(amazon["marketplaces"]),
                seller_id=amazon["selling_partner_id"],
                endpoint=amazon["url"],
                permissions=[DataPermission.ORDERS],
                status=StoreStatus.ACTIVE,
                authorized_at=timezone.now(),
            )
            StoreCredential.objects.create(
                tenant=tenant, store=amazon_store, secrets={"refresh_token": amazon["refresh_token"]}
            )
        order_ids = list(Order.objects.filter(store=shop).order_by("pk").values_list("pk", flat=True)[:200])
    return {
        "tenant": tenant.slug,
        "tenant_id": tenant.pk,
        "email": EMAIL,
        "password": PASSWORD,
        "order_ids": order_ids,
        "shopify_store_id": shop.pk,
        "amazon_store_id": amazon_store.pk if amazon_store else None,
        "api_secret": settings.SHOPIFY_API_SECRET,
    }


if __name__ == "__main__":
    main()
