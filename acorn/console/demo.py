"""The demo tenant. Later capabilities add their stores, catalogue and data here, idempotently.

Its stores, catalogue and overseas warehouse live on the channel simulator (`make run` starts it), a
development tool that is not part of the product: where it is not installed, seeding stops before anything
is kept and says how to install it (`acorn.devtools.simulator_required`).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from acorn.devtools import simulator_required
from acorn.fx.fetch import ECB_SOURCE
from acorn.fx.reference_file import reference_rates_parse
from acorn.fx.services import reference_rates_upsert
from acorn.money import quantize_amount
from acorn.tenancy.models import Membership, Plan, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from acorn.tenancy.services import tenant_create
from channels.models import DataPermission, Platform, Store
from channels.services import store_authorize, store_connect_shopify, store_connect_woocommerce, store_create
from inventory.catalogue import bundle_set_components, product_save, warehouse_save
from inventory.models import Product, SharingRule, SkuMapping, StockMovement, Warehouse
from inventory.services import mapping_create, stock_receive
from inventory.sharing import sharing_rule_update
from orders.fulfilment.services import fulfilment_route_create, fulfilment_target_create
from orders.models import FulfillmentTarget
from refunds.approvals import policy_get, policy_update
from refunds.models import ClassificationRule
from refunds.rules import rule_save

_SIMULATOR_PURPOSE = "manage.py demo"
DEMO_SLUG = "demo-trading-co"
DEMO_NAME = "Demo Trading Co."
DEMO_PASSWORD = "acorn-demo-2026"
DEMO_MEMBERS = [
    (Role.OWNER, "owner@demo.acorn.local"),
    (Role.ADMIN, "admin@demo.acorn.local"),
    (Role.OPERATOR, "operator@demo.acorn.local"),
    (Role.FINANCE, "finance@demo.acorn.local"),
    (Role.SUPPORT, "support@demo.acorn.local"),
]


def _demo_user(email: str) -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model(username=email, email=email, first_name=email.split("@")[0].title())
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def _demo_stores(tenant: Tenant, owner: Any) -> list[dict[str, Any]]:
    """The Amazon NA and EU stores, on the simulator (`make run` starts it at ACORN_SIMULATOR_URL)."""
    with simulator_required(_SIMULATOR_PURPOSE):
        from simulator.demo import DEMO_SELLERS

    stores = []
    for demo in DEMO_SELLERS:
        store = Store.objects.filter(tenant=tenant, name=demo.store_name).first()
        if store is None:
            store = store_create(
                tenant=tenant,
                actor=owner,
                membership=None,
                platform=Platform.AMAZON,
                name=demo.store_name,
                region=demo.region,
                marketplaces=list(demo.marketplaces),
                permissions=DataPermission.values,
                endpoint=settings.ACORN_SIMULATOR_URL,
            )
            store_authorize(
                store=store,
                actor=owner,
                seller_id=demo.selling_partner_id,
                secrets={"refresh_token": demo.refresh_token},
            )
        stores.append({"store_id": store.pk, "name": store.name, "status": store.status})
    stores.extend(_demo_shops(tenant, owner))
    return stores


def _demo_shops(tenant: Tenant, owner: Any) -> list[dict[str, Any]]:
    """One Shopify shop and one WooCommerce site on the simulator, with the simulator's fixed credentials."""
    with simulator_required(_SIMULATOR_PURPOSE):
        from simulator.shopify.demo import DEMO_ACCESS_TOKEN, DEMO_SHOP_DOMAIN
        from simulator.woocommerce.demo import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, DEMO_SITE_SLUG

    simulator = settings.ACORN_SIMULATOR_URL.rstrip("/")
    woo_site = f"{settings.ACORN_SIMULATOR_TLS_URL.rstrip('/')}/woo/{DEMO_SITE_SLUG}"
    shops = [
        ("Shopify Outfitters", Platform.SHOPIFY, DEMO_SHOP_DOMAIN, f"{simulator}/shopify/{DEMO_SHOP_DOMAIN}"),
        ("WooCommerce DE", Platform.WOOCOMMERCE, woo_site, woo_site),
    ]
    created = []
    for name, platform, account, endpoint in shops:
        store = Store.objects.filter(tenant=tenant, name=name).first()
        if store is None:
            store = store_create(
                tenant=tenant,
                actor=owner,
                membership=None,
                platform=platform,
                name=name,
                permissions=DataPermission.values,
                endpoint=endpoint,
                seller_id=account,
            )
            if platform == Platform.SHOPIFY:
                store_connect_shopify(store=store, actor=owner, secrets={"access_token": DEMO_ACCESS_TOKEN})
            else:
                store_connect_woocommerce(
                    store=store, actor=owner, consumer_key=DEMO_CONSUMER_KEY, consumer_secret=DEMO_CONSUMER_SECRET
                )
        created.append({"store_id": store.pk, "name": store.name, "status": store.status})
    return created


# Left unmapped on purpose, so the demo's "unmapped SKUs" queue has something to show.
DEMO_UNMAPPED_CODES = ("YOGA-MAT-6MM", "TOTE-CANVAS")
# Sold in packs: the channel SKU is a pack of N master units.
DEMO_PACKS = {"SCREEN-PROTECTOR-2P": ("SCREEN-PROTECTOR", 2), "SOCKS-3P": ("SOCKS", 3)}


def _master_of(channel_sku: str) -> tuple[str, int] | None:
    """'KGO-SCREEN-PROTECTOR-2P' → ('SCREEN-PROTECTOR', 2): the store prefix off, packs to their unit."""
    code = channel_sku.split("-", 1)[1] if "-" in channel_sku else channel_sku
    if code.startswith(DEMO_UNMAPPED_CODES):
        return None
    for pack, (unit, size) in DEMO_PACKS.items():
        if code.startswith(pack):
            return unit + code[len(pack) :], size
    return code, 1


def _demo_catalogue(tenant: Tenant, owner: Any) -> dict[str, int]:
    """Master SKUs, two warehouses with stock, a bundle, and mappings for most channel SKUs (a few left
    unmapped on purpose). Idempotent: what exists is left as it is."""
    with simulator_required(_SIMULATOR_PURPOSE):
        from simulator.catalogue import PRODUCT_TEMPLATES
        from simulator.demo import demo_channel_skus

    warehouses = {}
    for name, kind, country in (("Shenzhen", "own", "CN"), ("Los Angeles 3PL", "third_party", "US")):
        warehouses[name] = Warehouse.objects.filter(tenant=tenant, name=name).first() or warehouse_save(
            tenant=tenant, actor=owner, name=name, kind=kind, country=country, active=True
        )
    titles = {template.code: (template.titles["en"], template.base_price_usd) for template in PRODUCT_TEMPLATES}
    for store_name, skus in demo_channel_skus().items():
        store = Store.objects.filter(tenant=tenant, name=store_name).first()
        if store is None:
            continue
        for channel_sku in skus:
            master = _master_of(channel_sku)
            if master is None:
                continue
            sku, multiplier = master
            product = Product.objects.filter(tenant=tenant, sku=sku).first()
            if product is None:
                title, price_usd = titles.get(sku, (sku.replace("-", " ").title(), Decimal("18")))
                product = product_save(
                    tenant=tenant,
                    actor=owner,
                    sku=sku,
                    name=title,
                    # 30 % of the price of one unit (a 2-pack listing's price is for two).
                    unit_cost_amount=quantize_amount(price_usd / multiplier * Decimal("7.1") * Decimal("0.3"), "CNY"),
                    unit_cost_currency="CNY",
                    low_stock_threshold=15,
                )
            if not SkuMapping.objects.filter(store=store, channel_sku=channel_sku).exists():
                mapping_create(
                    store=store, product=product, channel_sku=channel_sku, quantity_multiplier=multiplier, actor=owner
                )
    products = list(Product.objects.filter(tenant=tenant, is_bundle=False).order_by("sku"))
    for index, product in enumerate(products):
        if StockMovement.objects.filter(product=product).exists():
            continue
        # Every product is stocked in both warehouses: US orders ship from Los Angeles (see _demo_fulfilment),
        # the rest from Shenzhen. Every fifth starts just above its threshold of 15, so the first orders that
        # reserve it bring a (true) low-stock alert; nothing is low when the demo opens.
        low = index % 5 == 4
        shenzhen = 12 if low else 150 + 10 * (index % 7)
        los_angeles = 6 if low else 40 + 5 * (index % 3)
        stock_receive(product=product, warehouse=warehouses["Shenzhen"], quantity=shenzhen, reference="PO-DEMO-1")
        stock_receive(
            product=product, warehouse=warehouses["Los Angeles 3PL"], quantity=los_angeles, reference="PO-DEMO-2"
        )
    parts = {product.sku: product for product in products}
    kit_parts = [(parts[sku], 1) for sku in ("PHONE-STAND", "CHARGER-65W", "USB-C-CABLE-2M") if sku in parts]
    if kit_parts and not Product.objects.filter(tenant=tenant, sku="DESK-SETUP-KIT").exists():
        kit = product_save(
            tenant=tenant, actor=owner, sku="DESK-SETUP-KIT", name="Desk setup kit", unit_cost_currency="CNY"
        )
        bundle_set_components(product=kit, components=kit_parts, actor=owner)
    return {
        "products": Product.objects.filter(tenant=tenant).count(),
        "mappings": SkuMapping.objects.filter(tenant=tenant).count(),
    }


def _demo_fulfilment(tenant: Tenant, owner: Any) -> None:
    """Where the demo's merchant-fulfilled orders go: buyers in the US to the overseas warehouse's API (the
    simulator's, which ships and calls back with tracking), everything else to the Shenzhen pick list."""
    with simulator_required(_SIMULATOR_PURPOSE):
        from simulator.demo import DEMO_WAREHOUSE_SECRET, DEMO_WAREHOUSE_SLUG

    if FulfillmentTarget.objects.filter(tenant=tenant).exists():
        return
    simulator = settings.ACORN_SIMULATOR_URL.rstrip("/")
    overseas, _secret = fulfilment_target_create(
        tenant=tenant,
        actor=owner,
        name="Los Angeles 3PL (API)",
        kind="https",
        warehouse=Warehouse.objects.filter(tenant=tenant, name="Los Angeles 3PL").first(),
        endpoint_url=f"{simulator}/warehouse/{DEMO_WAREHOUSE_SLUG}/orders",
        active=True,
    )
    overseas.secrets = cast(Any, {"signing_secret": DEMO_WAREHOUSE_SECRET})  # the simulator's fixed secret
    overseas.save(update_fields=["secrets"])
    own, _secret = fulfilment_target_create(
        tenant=tenant,
        actor=owner,
        name="Shenzhen pick list",
        kind="pick_list",
        warehouse=Warehouse.objects.filter(tenant=tenant, name="Shenzhen").first(),
        endpoint_url="",
        active=True,
    )
    fulfilment_route_create(tenant=tenant, target=overseas, actor=owner, countries=["US"])
    fulfilment_route_create(tenant=tenant, target=own, actor=owner)


def _demo_sharing(tenant: Tenant, owner: Any) -> None:
    """How much of the pool each demo store shows: the shops everything but a small buffer, Amazon NA half
    (at most 50), Amazon EU nothing pushed yet (the switch is there to try)."""
    terms = {
        "Shopify Outfitters": (100, 2, None, True),
        "WooCommerce DE": (100, 2, None, True),
        "Amazon NA": (50, 5, 50, True),
        "Amazon EU": (30, 5, None, False),
    }
    for store in Store.objects.filter(tenant=tenant, name__in=terms):
        if SharingRule.objects.filter(store=store).exists():
            continue
        percent, buffer, most, push = terms[store.name]
        sharing_rule_update(
            tenant=tenant,
            store=store,
            actor=owner,
            share_percent=percent,
            safety_buffer=buffer,
            max_listed=most,
            warehouses=[],
            push_enabled=push,
        )


def _demo_refund_rules(tenant: Tenant, owner: Any) -> None:
    """An approval policy in CNY and three classification rules a seller would start with."""
    policy = policy_get(tenant=tenant)
    if policy.one_approval_from != Decimal("300"):
        policy_update(
            tenant=tenant,
            one_approval_from=Decimal("300"),
            two_approvals_from=Decimal("2000"),
            approver_roles=["owner", "admin", "finance"],
            actor=owner,
        )
    rules = (
        {
            "name": "Expensive defects: quality team, two approvals",
            "tags": "defective,missing_parts",
            "amount_min": Decimal("1000"),
            "set_category": "Quality",
            "set_ledger_account": "Refunds: product quality",
            "require_approvals": 2,
            "flag_for_service": True,
        },
        {
            "name": "Damaged in transit: carrier claim",
            "tags": "damaged",
            "set_category": "Carrier claim",
            "set_ledger_account": "Refunds: shipping damage",
        },
        {
            "name": "Changed their mind",
            "tags": "no_longer_needed,size_fit",
            "set_category": "Buyer remorse",
            "set_ledger_account": "Refunds: returns",
        },
    )
    for values in rules:
        if not ClassificationRule.objects.filter(tenant=tenant, name=values["name"]).exists():
            rule_save(tenant=tenant, rule=ClassificationRule(tenant=tenant, **values), actor=owner)


def _demo_exchange_rates() -> int:
    """The last ACORN_FX_HISTORY_DAYS days of ECB reference rates as the simulator (`make run` starts it with
    seed 1) serves them at ACORN_ECB_RATES_URL, read through the loader's parser, so the console converts at
    recent rates before the beat's first fetch (which then finds them equal). Returns the rates created."""
    with simulator_required(_SIMULATOR_PURPOSE):
        from simulator.demo import demo_ecb_history_csv

    rates = reference_rates_parse(demo_ecb_history_csv(), name="simulator eurofxref-hist.csv")
    if not rates:
        return 0
    since = max(rate.day for rate in rates) - timedelta(days=settings.ACORN_FX_HISTORY_DAYS)
    return reference_rates_upsert(rates=[rate for rate in rates if rate.day >= since], source=ECB_SOURCE).created


@transaction.atomic
def demo_seed() -> dict[str, Any]:
    """Create (or complete) the demo tenant with one member per role. Running it twice changes nothing."""
    owner = _demo_user(DEMO_MEMBERS[0][1])
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        tenant = tenant_create(
            name=DEMO_NAME,
            slug=DEMO_SLUG,
            owner=owner,
            contact_name="Li Wei",
            phone="+86 755 8888 0000",
            main_category="electronics",
            reporting_currency="CNY",
            plan=Plan.PRO,
        )
    with tenant_scope(tenant):
        for role, email in DEMO_MEMBERS[1:]:
            user = _demo_user(email)
            Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        stores = _demo_stores(tenant, owner)
        catalogue = _demo_catalogue(tenant, owner)
        _demo_fulfilment(tenant, owner)
        _demo_sharing(tenant, owner)
        _demo_refund_rules(tenant, owner)
    exchange_rates = _demo_exchange_rates()
    return {
        "exchange_rates_created": exchange_rates,
        "stores": stores,
        "catalogue": catalogue,
        "tenant": tenant.slug,
        "tenant_id": tenant.pk,
        "logins": [{"role": str(role), "email": email} for role, email in DEMO_MEMBERS],
    }
