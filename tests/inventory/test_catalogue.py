"""The catalogue editor: products, bundles, warehouses; the low-stock alert; orders flagged by stock."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from acorn.audit.models import AuditEvent
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services
from inventory.catalogue import bundle_set_components, product_save, warehouse_save
from inventory.low_stock import low_stock_check
from inventory.models import BundleComponent, Product, Warehouse
from orders.models import Order
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.inventory.channel_orders import ChannelBook
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db


def _product_post(**overrides: str) -> dict[str, str]:
    data = {
        "product-sku": "LAMP-01",
        "product-name": "Desk lamp 台灯",
        "product-unit_cost_amount": "12.50",
        "product-unit_cost_currency": "cny",
        "product-weight_grams": "800",
        "product-low_stock_threshold": "",
        "product-active": "on",
        "parts-TOTAL_FORMS": "3",
        "parts-INITIAL_FORMS": "0",
        "parts-MIN_NUM_FORMS": "0",
        "parts-MAX_NUM_FORMS": "50",
    }
    data.update(overrides)
    return data


def test_create_a_product_then_make_it_a_bundle(owner_client: Client, tenant: Tenant) -> None:
    response = owner_client.post("/app/inventory/new/", _product_post())
    assert response.status_code == 302
    with tenant_scope(tenant):
        lamp = Product.objects.get(sku="LAMP-01")
        assert (lamp.unit_cost_amount, lamp.unit_cost_currency, lamp.name) == (
            Decimal("12.50"),
            "CNY",
            "Desk lamp 台灯",
        )
        bulb = product_save(tenant=tenant, sku="BULB", name="Bulb")
        assert AuditEvent.objects.filter(action="inventory.product_created").count() == 2

    kit = _product_post(**{"product-sku": "LAMP-KIT", "parts-0-component": str(lamp.pk), "parts-0-quantity": "1"})
    kit.update({"parts-1-component": str(bulb.pk), "parts-1-quantity": "2"})
    assert owner_client.post("/app/inventory/new/", kit).status_code == 302
    with tenant_scope(tenant):
        bundle = Product.objects.get(sku="LAMP-KIT")
        assert bundle.is_bundle
        assert dict(bundle.components.values_list("component__sku", "quantity")) == {"LAMP-01": 1, "BULB": 2}

    # the bundle's page shows its components; emptying them makes it a plain product again
    assert "BULB" in owner_client.get(f"/app/inventory/{bundle.pk}/").content.decode()
    plain = _product_post(**{"product-sku": "LAMP-KIT", "parts-INITIAL_FORMS": "0"})
    assert owner_client.post(f"/app/inventory/{bundle.pk}/edit/", plain).status_code == 302
    with tenant_scope(tenant):
        bundle.refresh_from_db()
        assert not bundle.is_bundle and not BundleComponent.objects.filter(bundle=bundle).exists()
        change = AuditEvent.objects.filter(action="inventory.bundle_changed").order_by("pk").last()
        assert change is not None and change.before == {"BULB": 2, "LAMP-01": 1} and change.after == {}


def test_the_editor_says_what_is_wrong(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="LAMP-01", name="Lamp")
    duplicate = owner_client.post("/app/inventory/new/", _product_post())
    assert duplicate.status_code == 400
    assert "Another product already has the SKU LAMP-01." in duplicate.content.decode()
    bad = owner_client.post(
        "/app/inventory/new/",
        _product_post(**{"product-sku": "X", "product-unit_cost_amount": "-1", "product-unit_cost_currency": "XX"}),
    )
    page = bad.content.decode()
    assert bad.status_code == 400 and "A cost cannot be negative." in page
    with tenant_scope(tenant):
        assert not Product.objects.filter(sku="X").exists()


def test_a_withdrawn_currency_is_refused_for_a_new_cost_but_kept_on_an_old_product(
    owner_client: Client, tenant: Tenant
) -> None:
    # given a product saved long ago with a withdrawn currency (stored data stays valid)
    with tenant_scope(tenant):
        old = product_save(tenant=tenant, sku="OLD-1", name="Old lamp")
        Product.objects.filter(pk=old.pk).update(unit_cost_currency="DEM")
    # when a new product is given a withdrawn currency, it is refused with a message
    withdrawn = owner_client.post("/app/inventory/new/", _product_post(**{"product-unit_cost_currency": "afa"}))
    assert withdrawn.status_code == 400 and "AFA is not a currency in use." in withdrawn.content.decode()
    # then the old product can still be edited without changing its currency, but not moved to another old one
    keep = _product_post(**{"product-sku": "OLD-1", "product-unit_cost_currency": "DEM"})
    assert owner_client.post(f"/app/inventory/{old.pk}/edit/", keep).status_code == 302
    other = _product_post(**{"product-sku": "OLD-1", "product-unit_cost_currency": "ADP"})
    assert owner_client.post(f"/app/inventory/{old.pk}/edit/", other).status_code == 400
    with tenant_scope(tenant):
        assert not Product.objects.filter(sku="LAMP-01").exists()
        assert Product.objects.get(pk=old.pk).unit_cost_currency == "DEM"


def test_bundle_rules(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(tenant):
        a = product_save(tenant=tenant, sku="A", name="A")
        b = product_save(tenant=tenant, sku="B", name="B")
        kit = product_save(tenant=tenant, sku="KIT", name="Kit")
        bundle_set_components(product=kit, components=[(a, 1), (b, 3)])
        with pytest.raises(ValidationError, match="itself a bundle"):
            bundle_set_components(product=product_save(tenant=tenant, sku="BIG", name="Big"), components=[(kit, 1)])
        with pytest.raises(ValidationError, match="component of another bundle"):
            bundle_set_components(product=a, components=[(b, 1)])
        with pytest.raises(ValidationError, match="contain itself"):
            bundle_set_components(product=b, components=[(b, 1)])
    with tenant_scope(other_tenant):
        theirs = product_save(tenant=other_tenant, sku="THEIRS", name="Theirs")
    with tenant_scope(tenant), pytest.raises(ValidationError, match="another company"):
        bundle_set_components(product=kit, components=[(theirs, 1)])


def test_a_bundle_reserves_its_components(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="cn", active=True)
        assert warehouse.country == "CN"
        a = product_save(tenant=tenant, sku="A", name="A")
        b = product_save(tenant=tenant, sku="B", name="B")
        kit = product_save(tenant=tenant, sku="KIT", name="Kit")
        bundle_set_components(product=kit, components=[(a, 1), (b, 2)])
        services.stock_receive(product=a, warehouse=warehouse, quantity=5)
        services.stock_receive(product=b, warehouse=warehouse, quantity=5)
        order_upsert_page(store=store, orders=[_order(1, sku="KIT", quantity=2), _order(2, sku="KIT", quantity=1)])
        levels = {level.product.sku: (level.on_hand, level.reserved) for level in warehouse.levels.all()}
        assert levels == {"A": (5, 2), "B": (5, 4)}  # the second kit needs 2 more B: backordered, nothing half-held
        assert Order.objects.get(external_id="111-0000002").stock_problem == "backordered"
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_warehouses_page(owner_client: Client, tenant: Tenant) -> None:
    assert "No warehouses yet" in owner_client.get("/app/inventory/warehouses/").content.decode()
    new = {"new-name": "LA 3PL", "new-kind": "third_party", "new-country": "us", "new-active": "on"}
    assert owner_client.post("/app/inventory/warehouses/", new).status_code == 302
    again = owner_client.post("/app/inventory/warehouses/", new)
    assert again.status_code == 400 and "Another warehouse is already called LA 3PL." in again.content.decode()
    fba = owner_client.post("/app/inventory/warehouses/", {**new, "new-name": "FBA", "new-kind": "fba"})
    assert fba.status_code == 400
    with tenant_scope(tenant):
        la = Warehouse.objects.get(name="LA 3PL")
        assert la.country == "US" and la.kind == "third_party"
        amazon = Warehouse.objects.create(tenant=tenant, name="FBA NA", kind="fba", region="NA")
    edit = owner_client.post(
        f"/app/inventory/warehouses/{la.pk}/", {"name": "LA", "kind": "third_party", "country": "US"}
    )
    assert edit.status_code == 302
    assert owner_client.get(f"/app/inventory/warehouses/{amazon.pk}/").status_code == 403
    with tenant_scope(tenant):
        la.refresh_from_db()
        assert la.name == "LA" and not la.active


def test_roles_and_other_tenants(
    tenant: Tenant,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[..., Client],
    other_owner: Membership,
    owner: Membership,
) -> None:
    with tenant_scope(tenant):
        mine = product_save(tenant=tenant, sku="MINE", name="Mine")
        depot = warehouse_save(tenant=tenant, name="Depot", kind="own", country="", active=True)
    finance = client_for(make_member(tenant, Role.FINANCE))
    assert finance.get("/app/inventory/warehouses/").status_code == 200
    assert finance.post("/app/inventory/warehouses/", {"new-name": "X", "new-kind": "own"}).status_code == 403
    assert finance.get("/app/inventory/new/").status_code == 403
    assert finance.get(f"/app/inventory/{mine.pk}/edit/").status_code == 403
    theirs = client_for(other_owner)
    assert theirs.get(f"/app/inventory/{mine.pk}/edit/").status_code == 404
    assert theirs.post(f"/app/inventory/{mine.pk}/edit/", _product_post()).status_code == 404
    assert theirs.get(f"/app/inventory/warehouses/{depot.pk}/").status_code == 404
    assert "Depot" not in theirs.get("/app/inventory/warehouses/").content.decode()
    # a component id of another company is not a choice in my editor
    with tenant_scope(other_tenant):
        other = product_save(tenant=other_tenant, sku="OTHER", name="Other")
    response = client_for(owner).post(
        "/app/inventory/new/",
        _product_post(**{"product-sku": "KIT", "parts-0-component": str(other.pk), "parts-0-quantity": "1"}),
    )
    assert response.status_code == 400
    with tenant_scope(tenant):
        assert not Product.objects.filter(sku="KIT").exists()


def test_low_stock_alerts_once_per_dip(tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        mug = product_save(tenant=tenant, sku="SKU-1", name="Mug", low_stock_threshold=3)
        assert not Notification.objects.filter(kind="stock_low").exists()  # never had stock: nothing ran low
        services.stock_receive(product=mug, warehouse=warehouse, quantity=10)
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[mug.pk]) == 0
        mug.refresh_from_db()
        assert mug.low_stock_alerted_at is None
        order_upsert_page(store=store, orders=[_order(n, quantity=2) for n in range(1, 5)])  # 8 reserved: 2 left
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[mug.pk]) == 1
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[mug.pk]) == 0  # the same dip: no second alert
        alert = Notification.objects.filter(kind="stock_low").order_by("pk").last()
        assert alert is not None and "SKU-1" in alert.title and f"/app/inventory/{mug.pk}/" == alert.link
        assert alert.body.startswith("2 available")
        # back above the threshold clears the flag, and the next dip alerts again
        services.stock_receive(product=mug, warehouse=warehouse, quantity=5)
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[mug.pk]) == 0
        mug.refresh_from_db()
        assert mug.low_stock_alerted_at is None
        order_upsert_page(store=store, orders=[_order(5, quantity=5)])
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[mug.pk]) == 1


def test_low_stock_counts_every_sellable_warehouse_packs_and_kits_and_stays_quiet_for_what_never_had_stock(
    tenant: Tenant, owner: Membership, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        # given: socks with a threshold of 15, created before any arrived, and 190 of them in two warehouses
        store = StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1")
        shenzhen = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        los_angeles = warehouse_save(tenant=tenant, name="LA 3PL", kind="third_party", country="US", active=True)
        closed = warehouse_save(tenant=tenant, name="Old shed", kind="own", country="CN", active=True)
        socks = product_save(tenant=tenant, sku="SOCKS-43-46", name="Socks", low_stock_threshold=15)
        lid = product_save(tenant=tenant, sku="LID", name="Lid")
        kit = product_save(tenant=tenant, sku="KIT", name="Socks and lid", low_stock_threshold=2)
        bundle_set_components(product=kit, components=[(socks, 2), (lid, 1)])
        services.mapping_create(store=store, product=socks, channel_sku="SOCKS-3P-43-46", quantity_multiplier=3)
    with tenant_scope(tenant):
        assert not Notification.objects.filter(kind="stock_low").exists()  # nothing ever arrived: no alert
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        services.stock_receive(product=socks, warehouse=shenzhen, quantity=10)
        services.stock_receive(product=socks, warehouse=los_angeles, quantity=180)
        services.stock_receive(product=lid, warehouse=shenzhen, quantity=2)
        services.stock_receive(product=socks, warehouse=closed, quantity=5)
        warehouse_save(tenant=tenant, warehouse=closed, name="Old shed", kind="own", country="CN", active=False)
    with tenant_scope(tenant):
        # then: 190 pairs across both warehouses are not low; the kit (2 lids make 2 kits) is at its threshold
        assert [n.title for n in Notification.objects.filter(kind="stock_low")] == ["KIT is low on stock"]
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        # when: 58 three-packs are ordered (174 pairs): 16 pairs left, still above 15
        book = ChannelBook(store)
        book.send(book.order(1, ("L1", "SOCKS-3P-43-46", 58), country="DE"))
    with tenant_scope(tenant):
        assert Notification.objects.filter(kind="stock_low", title__startswith="SOCKS").count() == 0
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        # when: one more three-pack: 13 left (the inactive shed's 5 are not for sale)
        book.send(book.order(2, ("L1", "SOCKS-3P-43-46", 1), country="DE"))
    with tenant_scope(tenant):
        alert = Notification.objects.get(kind="stock_low", title__startswith="SOCKS")
        assert alert.body.startswith("13 available")


def test_low_stock_of_one_company_never_alerts_another(
    tenant: Tenant, owner: Membership, other_tenant: Tenant, other_owner: Membership
) -> None:
    with tenant_scope(other_tenant):
        warehouse = warehouse_save(tenant=other_tenant, name="Shenzhen", kind="own", country="CN", active=True)
        theirs = product_save(tenant=other_tenant, sku="SKU-1", name="Mug", low_stock_threshold=5)
        services.stock_receive(product=theirs, warehouse=warehouse, quantity=3)
        assert low_stock_check(tenant_id=other_tenant.pk, product_ids=[theirs.pk]) == 1
    with tenant_scope(tenant):
        assert low_stock_check(tenant_id=tenant.pk, product_ids=[theirs.pk]) == 0
        assert not Notification.objects.filter(kind="stock_low").exists()


def test_orders_are_flagged_and_filtered_by_stock(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        mug = product_save(tenant=tenant, sku="SKU-1", name="Mug")
        services.stock_receive(product=mug, warehouse=warehouse, quantity=1)
        order_upsert_page(store=store, orders=[_order(1), _order(2), _order(3, sku="NOBODY-KNOWS")])
        flags = dict(Order.objects.values_list("external_id", "stock_problem"))
        assert flags == {"111-0000001": "", "111-0000002": "backordered", "111-0000003": "unmapped"}
    backordered = owner_client.get("/app/orders/", {"stock": "backordered"}).content.decode()
    assert "111-0000002" in backordered and "111-0000001" not in backordered and "111-0000003" not in backordered
    anything = owner_client.get("/app/orders/", {"stock": "any"}).content.decode()
    assert "111-0000002" in anything and "111-0000003" in anything and "111-0000001" not in anything
    with tenant_scope(tenant):
        services.mapping_create(store=store, product=mug, channel_sku="NOBODY-KNOWS")
        assert (
            Order.objects.get(external_id="111-0000003").stock_problem == "backordered"
        )  # mapped; now waits for stock
        services.stock_receive(product=mug, warehouse=warehouse, quantity=5)
        assert set(Order.objects.values_list("stock_problem", flat=True)) == {""}


def test_a_new_product_serves_lines_that_waited_for_its_sku(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        order_upsert_page(store=store, orders=[_order(1, sku="NEW-SKU", quantity=2)])
        assert Order.objects.get().stock_problem == "unmapped"
        product = product_save(tenant=tenant, sku="NEW-SKU", name="New")
        assert Order.objects.get().stock_problem == "backordered"  # known now; waits for stock
        services.stock_receive(product=product, warehouse=warehouse, quantity=2)
        assert Order.objects.get().stock_problem == ""


def test_a_line_the_channel_already_shipped_never_waits_for_a_mapping(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        order_upsert_page(store=store, orders=[_order(1, sku="OLD-SKU", status="shipped")])
        assert Order.objects.get().stock_problem == ""
        product = product_save(tenant=tenant, sku="OLD-SKU", name="Old")
        services.stock_receive(product=product, warehouse=warehouse, quantity=5)
        assert warehouse.levels.get().reserved == 0  # nothing reserved for an order long gone
