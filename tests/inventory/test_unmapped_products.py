"""Creating master products from unmapped channel SKUs in one step (issue 21): the chosen waiting SKUs, with
their SKU and listing title prefilled and editable, become products mapped at once so the waiting lines
resolve; SKUs unique without regard to case; all or nothing; another company's store cannot be used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import mapping as mappings
from inventory.models import AllocationState, LineAllocation, Product, SkuMapping
from inventory.unmapped_products import ProductDraft, products_create_from_unmapped, unmapped_product_drafts
from orders.models import OrderLine
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db

URL = "/app/inventory/unmapped/create/"
QUEUE_URL = "/app/inventory/unmapped/"


def _waiting_orders(tenant: Tenant, store: Any) -> None:
    """Two paid orders of one unmapped Amazon SKU (titled in Chinese), one of another."""
    orders = []
    for n, sku, title in (
        (1, "amz-mug-blue", "蓝色马克杯 350ml"),
        (2, "amz-mug-blue", "蓝色马克杯 350ml"),
        (3, "LID-9", ""),
    ):
        order = _order(n, sku=sku, quantity=n)
        orders.append(replace(order, lines=(replace(order.lines[0], title=title),)))
    with tenant_scope(tenant):
        order_upsert_page(store=store, orders=orders)


@pytest.fixture
def store(tenant: Tenant) -> Any:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon US")


def _picks(store: Any, *skus: str) -> list[str]:
    return [mappings.pick_value(store.pk, sku, "") for sku in skus]


def test_drafts_take_the_channel_sku_and_the_listing_title(tenant: Tenant, store: Any) -> None:
    _waiting_orders(tenant, store)
    with tenant_scope(tenant):
        drafts = unmapped_product_drafts(
            tenant=tenant, picks=[(store.pk, "amz-mug-blue", ""), (store.pk, "LID-9", ""), (store.pk, "GONE", "")]
        )
    assert [(d.sku, d.name, d.lines, d.units) for d in drafts] == [
        ("amz-mug-blue", "蓝色马克杯 350ml", 2, 3),
        ("LID-9", "LID-9", 1, 3),  # no title: the SKU
    ]


def test_create_and_map_in_one_step_from_the_queue(owner_client: Client, tenant: Tenant, store: Any) -> None:
    # given: the queue offers a checkbox per waiting SKU and the button
    _waiting_orders(tenant, store)
    queue = owner_client.get(QUEUE_URL).content.decode()
    assert 'id="create-products-form"' in queue and 'name="pick"' in queue
    # when: both are picked, the form opens prefilled
    page = owner_client.get(URL, {"pick": _picks(store, "amz-mug-blue", "LID-9")}).content.decode()
    assert 'value="amz-mug-blue"' in page and "蓝色马克杯 350ml" in page and 'value="LID-9"' in page
    # and the SKU and name are edited before creating
    response = owner_client.post(
        URL,
        {
            "pick_0": _picks(store, "amz-mug-blue")[0], "sku_0": "MUG-BLUE", "name_0": "Blue mug 350 ml",
            "pick_1": _picks(store, "LID-9")[0], "sku_1": "LID-9", "name_1": "Lid",
        },
        follow=True,
    )  # fmt: skip
    # then: two products, mapped; the waiting lines resolved (no stock yet: backordered)
    text = response.content.decode()
    assert "2 products created and mapped." in text and "3 order lines wait for stock (backordered)." in text
    with tenant_scope(tenant):
        products = {p.sku: p.name for p in Product.objects.all()}
        assert products == {"MUG-BLUE": "Blue mug 350 ml", "LID-9": "Lid"}
        assert sorted(SkuMapping.objects.values_list("channel_sku", "product__sku")) == [
            ("LID-9", "LID-9"), ("amz-mug-blue", "MUG-BLUE"),
        ]  # fmt: skip
        assert not LineAllocation.objects.filter(state=AllocationState.UNMAPPED).exists()
        assert set(OrderLine.objects.values_list("stock_state", flat=True)) == {"backordered"}
        assert AuditEvent.objects.filter(action="inventory.product_created").count() == 2
    assert "Every order line is mapped" in owner_client.get(QUEUE_URL).content.decode()


def test_skus_are_unique_without_regard_to_case_and_nothing_is_half_made(
    owner_client: Client, tenant: Tenant, store: Any
) -> None:
    _waiting_orders(tenant, store)
    with tenant_scope(tenant):
        Product.objects.create(tenant=tenant, sku="MUG-BLUE", name="Existing mug")
    data = {
        "pick_0": _picks(store, "amz-mug-blue")[0], "sku_0": "mug-blue", "name_0": "Blue mug",
        "pick_1": _picks(store, "LID-9")[0], "sku_1": "Lid-9", "name_1": "",
    }  # fmt: skip
    response = owner_client.post(URL, data)
    text = response.content.decode()
    assert response.status_code == 400
    assert "Another product already has the SKU MUG-BLUE: map to it instead." in text
    assert "Give the product a name." in text
    # two rows making the same SKU in different case
    data.update({"sku_0": "NEW-1", "sku_1": "new-1", "name_1": "Lid"})
    twice = owner_client.post(URL, data).content.decode()
    assert "Two rows would make the SKU" in twice
    with tenant_scope(tenant):
        assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-BLUE"]
        assert not SkuMapping.objects.exists()


def test_a_sku_mapped_meanwhile_is_refused(tenant: Tenant, store: Any) -> None:
    _waiting_orders(tenant, store)
    with tenant_scope(tenant):
        drafts = unmapped_product_drafts(tenant=tenant, picks=[(store.pk, "LID-9", "")])
        lid = Product.objects.create(tenant=tenant, sku="LID-OLD", name="Lid")
        mappings.mapping_add(tenant=tenant, store=store, product=lid, channel_sku="LID-9")
        with pytest.raises(ValidationError, match="mapped meanwhile"):
            products_create_from_unmapped(tenant=tenant, drafts=drafts)
        assert Product.objects.count() == 1


def test_nothing_picked_goes_back_to_the_queue(owner_client: Client) -> None:
    response = owner_client.get(URL, follow=True)
    assert "Choose at least one unmapped SKU" in response.content.decode()


def test_another_company_cannot_use_its_stores_skus(
    tenant: Tenant,
    store: Any,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    _waiting_orders(tenant, store)
    stranger = client_for(make_member(other_tenant, Role.OWNER, "boss@beta.example"))
    # the picks of our store are not offered to them
    page = stranger.get(URL, {"pick": _picks(store, "amz-mug-blue")}, follow=True).content.decode()
    assert "Choose at least one unmapped SKU" in page and "蓝色马克杯" not in page
    posted = stranger.post(URL, {"pick_0": _picks(store, "amz-mug-blue")[0], "sku_0": "X", "name_0": "X"})
    assert posted.status_code == 404
    with tenant_scope(other_tenant):
        assert not Product.objects.exists()
        with pytest.raises(ValidationError, match="another company"):
            products_create_from_unmapped(
                tenant=other_tenant,
                drafts=[
                    ProductDraft(store=store, channel_sku="amz-mug-blue", channel_product_id="", sku="X", name="X")
                ],
            )
    with tenant_scope(tenant):
        assert not Product.objects.exists() and not SkuMapping.objects.exists()


def test_a_support_member_may_not_create(
    tenant: Tenant, store: Any, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    _waiting_orders(tenant, store)
    support = client_for(make_member(tenant, Role.SUPPORT, "help@alpha.example"))
    assert support.get(URL, {"pick": _picks(store, "LID-9")}).status_code == 403
    assert 'id="create-products-form"' not in support.get(QUEUE_URL).content.decode()
