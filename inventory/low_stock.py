"""The low-stock alert: once per dip of a product's available stock to its threshold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from acorn.notifications.messages import message
from acorn.notifications.services import notify
from inventory.models import BundleComponent, Product, StockMovement, Warehouse, WarehouseKind
from inventory.sharing import available_units  # the same arithmetic the channel quantities use


def low_stock_check(*, tenant_id: int, product_ids: Iterable[int]) -> int:
    """One alert when a product's available stock falls to its threshold; the flag clears when it is back
    above, so the next dip alerts again. Returns how many alerts went out.

    Available is what can be sold now: on hand minus reserved over every active own and third-party warehouse
    (FBA stock is Amazon's, counted apart), in master units — a channel's 3-pack is 3 of them — and for a
    bundle the complete kits its components make. A product that never had stock of its own (just created,
    or only ever at FBA) does not alert: there is nothing to run low on; inactive products do not alert.
    The bundles that use a product are checked with it."""
    ids = set(product_ids)
    bundles = BundleComponent.objects.filter(tenant_id=tenant_id, component_id__in=ids).values("bundle_id")
    products = list(  # one statement: the products and the bundles using them
        Product.objects.filter(tenant_id=tenant_id, low_stock_threshold__isnull=False)
        .filter(Q(pk__in=ids) | Q(pk__in=bundles))
        .select_related("tenant")
    )
    if not products:
        return 0
    sellable = list(
        Warehouse.objects.filter(
            tenant_id=tenant_id, active=True, kind__in=[WarehouseKind.OWN, WarehouseKind.THIRD_PARTY]
        )
        .order_by("kind", "pk")
        .values_list("pk", flat=True)
    )
    available = available_units(tenant_id=tenant_id, products=products, warehouse_ids=sellable)
    stocked = _ever_stocked(tenant_id, products)
    alerted = 0
    for product in products:
        low = product.active and product.pk in stocked and available[product.pk] <= (product.low_stock_threshold or 0)
        if low and product.low_stock_alerted_at is None:
            claimed = Product.objects.filter(pk=product.pk, low_stock_alerted_at__isnull=True).update(
                low_stock_alerted_at=timezone.now()
            )
            if claimed:  # another worker may have alerted for the same dip
                notify(
                    tenant=product.tenant,
                    kind="stock_low",
                    title=message(gettext_noop("%(sku)s is low on stock"), sku=product.sku),
                    body=message(
                        gettext_noop("%(available)d available, at or under the threshold of %(threshold)d."),
                        available=available[product.pk],
                        threshold=product.low_stock_threshold or 0,
                    ),
                    link=reverse("inventory:product-detail", args=[product.pk]),
                )
                alerted += 1
        elif not low and product.low_stock_alerted_at is not None:
            Product.objects.filter(pk=product.pk).update(low_stock_alerted_at=None)
    return alerted


def _ever_stocked(tenant_id: int, products: Sequence[Product]) -> set[int]:
    """The products (bundles: whose components) that ever had units of their own: a receipt, a return or a
    positive adjustment in an own or third-party warehouse."""
    components: dict[int, set[int]] = {product.pk: {product.pk} for product in products if not product.is_bundle}
    bundle_ids = [product.pk for product in products if product.is_bundle]
    for bundle_id, component_id in BundleComponent.objects.filter(
        tenant_id=tenant_id, bundle_id__in=bundle_ids
    ).values_list("bundle_id", "component_id"):
        components.setdefault(bundle_id, set()).add(component_id)
    wanted = set().union(*components.values()) if components else set()
    had = set(
        StockMovement.objects.filter(tenant_id=tenant_id, product_id__in=wanted, on_hand_delta__gt=0)
        .exclude(warehouse__kind=WarehouseKind.FBA)
        .values_list("product_id", flat=True)
        .distinct()
    )
    return {product_id for product_id, parts in components.items() if parts and parts <= had}
