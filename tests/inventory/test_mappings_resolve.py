"""`mappings_resolve` (a page's channel SKUs at once) answers exactly what `mapping_resolve` answers for each
pair: the channel's product id first, then its SKU (as the channel spells it), then an active master SKU equal
to it; a store's mappings only; FBA mappings and pack multipliers kept."""

from __future__ import annotations

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory.models import Product, SkuMapping
from inventory.selectors import mapping_resolve, mappings_resolve
from tests.factories import StoreFactory, TenantFactory

pytestmark = pytest.mark.django_db

PAIRS = [
    ("MUG", ""),  # a master SKU maps itself
    ("mug", ""),  # …spelled as it is: not another case
    ("OLD", ""),  # an inactive master SKU does not
    ("PACK2", ""),  # a mapping by SKU, two units each
    ("pack2", ""),
    ("PACK2", "P-LAMP"),  # the product id wins over the SKU
    ("NOPE", "P-LAMP"),
    ("MUG", "P-NONE"),  # an unknown product id falls back to the SKU, then the master SKU
    ("", "P-LAMP"),
    ("", "P-NONE"),
    ("", ""),
    ("FBA-MUG", ""),  # an FBA mapping resolves like any other
    ("OTHER-STORE", ""),  # another store's mapping is not this store's
    ("LAMP", "P-MUG"),
]


def test_the_batch_resolver_gives_the_single_answer_for_every_case(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, other_store = StoreFactory(tenant=tenant), StoreFactory(tenant=tenant)
        mug = Product.objects.create(tenant=tenant, sku="MUG", name="Mug")
        lamp = Product.objects.create(tenant=tenant, sku="LAMP", name="Lamp")
        Product.objects.create(tenant=tenant, sku="OLD", name="Old", active=False)
        SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="PACK2", product=mug, quantity_multiplier=2)
        SkuMapping.objects.create(tenant=tenant, store=store, channel_product_id="P-LAMP", product=lamp)
        SkuMapping.objects.create(
            tenant=tenant,
            store=store,
            channel_sku="LAMP",
            channel_product_id="P-MUG",
            product=mug,
            quantity_multiplier=3,
        )
        SkuMapping.objects.create(
            tenant=tenant, store=store, channel_sku="FBA-MUG", product=mug, fulfilled_by_channel=True
        )
        SkuMapping.objects.create(tenant=tenant, store=other_store, channel_sku="OTHER-STORE", product=lamp)
        batch = mappings_resolve(store=store, pairs=PAIRS)
        single = {pair: mapping_resolve(store=store, sku=pair[0], channel_product_id=pair[1]) for pair in PAIRS}
        assert batch == single
        assert single[("PACK2", "P-LAMP")] is not None and single[("PACK2", "P-LAMP")].product == lamp
        assert single[("OTHER-STORE", "")] is None


def test_another_tenants_products_and_mappings_are_not_resolved(tenant: Tenant) -> None:
    other = TenantFactory()
    with tenant_scope(other):
        other_store = StoreFactory(tenant=other)
        product = Product.objects.create(tenant=other, sku="THEIRS", name="Theirs")
        SkuMapping.objects.create(tenant=other, store=other_store, channel_sku="THEIR-PACK", product=product)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        assert mappings_resolve(store=store, pairs=[("THEIRS", ""), ("THEIR-PACK", "")]) == {
            ("THEIRS", ""): None,
            ("THEIR-PACK", ""): None,
        }
