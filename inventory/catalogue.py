"""Writes of the catalogue: master products, bundles and warehouses (stock itself changes in ledger.py and
services.py; the low-stock alert is low_stock.py). Every write is validated, tenant-checked and audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record, snapshot
from acorn.tenancy.models import Tenant
from inventory.allocation import sku_reresolve
from inventory.low_stock import low_stock_check
from inventory.models import BundleComponent, Product, Warehouse, WarehouseKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PRODUCT_FIELDS = (
    "sku",
    "name",
    "unit_cost_amount",
    "unit_cost_currency",
    "weight_grams",
    "active",
    "low_stock_threshold",
)
WAREHOUSE_FIELDS = ("name", "kind", "country", "active")


@transaction.atomic
def product_save(
    *, tenant: Tenant, product: Product | None = None, actor: User | None = None, **values: Any
) -> Product:
    """Create a master product, or change one. The SKU is unique per company (case and spaces as typed)."""
    if product is not None and product.tenant_id != tenant.pk:
        raise ValidationError(_("This product belongs to another company."))
    unknown = set(values) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown product fields: {sorted(unknown)}")
    before = snapshot(product, list(PRODUCT_FIELDS)) if product is not None else None
    product = product or Product(tenant=tenant)
    for name, value in values.items():
        setattr(product, name, value.strip() if isinstance(value, str) else value)
    if Product.objects.filter(tenant=tenant, sku=product.sku).exclude(pk=product.pk).exists():
        raise ValidationError({"sku": _("Another product already has the SKU %(sku)s.") % {"sku": product.sku}})
    product.full_clean()
    product.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="inventory.product_changed" if before else "inventory.product_created",
        target=product,
        before=before,
        after=snapshot(product, list(PRODUCT_FIELDS)),
    )
    if product.active and (before is None or before["sku"] != product.sku or not before["active"]):
        # lines that waited for a product with exactly this SKU take it now (and reserve)
        sku_reresolve(tenant_id=tenant.pk, sku=product.sku)
    low_stock_check(tenant_id=tenant.pk, product_ids=[product.pk])
    return product


@transaction.atomic
def bundle_set_components(
    *, product: Product, components: Sequence[tuple[Product, int]], actor: User | None = None
) -> None:
    """Make `product` a bundle of these (component, quantity) pairs, or a plain product when empty.

    Components are plain products of the same company (a bundle inside a bundle would hide stock); a
    product already used inside a bundle cannot become one."""
    errors = []
    seen: set[int] = set()
    for component, quantity in components:
        if component.tenant_id != product.tenant_id:
            errors.append(_("%(sku)s belongs to another company.") % {"sku": component.sku})
        elif component.pk == product.pk:
            errors.append(_("A bundle cannot contain itself."))
        elif component.is_bundle:
            errors.append(_("%(sku)s is itself a bundle; list its components instead.") % {"sku": component.sku})
        elif component.pk in seen:
            errors.append(_("%(sku)s is listed twice.") % {"sku": component.sku})
        if quantity < 1:
            errors.append(_("Each component needs a quantity of at least 1."))
        seen.add(component.pk)
    if components and BundleComponent.objects.filter(component=product).exists():
        errors.append(_("%(sku)s is a component of another bundle, so it cannot be a bundle.") % {"sku": product.sku})
    if errors:
        raise ValidationError(errors)
    before = {part.component.sku: part.quantity for part in product.components.select_related("component")}
    product.components.all().delete()
    BundleComponent.objects.bulk_create(
        [
            BundleComponent(tenant_id=product.tenant_id, bundle=product, component=component, quantity=quantity)
            for component, quantity in components
        ]
    )
    product.is_bundle = bool(components)
    product.save(update_fields=["is_bundle"])
    audit_record(
        tenant=product.tenant,
        actor=actor,
        action="inventory.bundle_changed",
        target=product,
        before=before,
        after={component.sku: quantity for component, quantity in components},
    )


@transaction.atomic
def warehouse_save(
    *, tenant: Tenant, warehouse: Warehouse | None = None, actor: User | None = None, **values: Any
) -> Warehouse:
    """Create or change an own or third-party warehouse. FBA warehouses are Amazon's: the FBA sync makes them."""
    if warehouse is not None and (warehouse.tenant_id != tenant.pk or warehouse.read_only):
        raise ValidationError(_("This warehouse cannot be changed here."))
    if values.get("kind") == WarehouseKind.FBA:
        raise ValidationError({"kind": _("FBA warehouses are created by the Amazon inventory sync.")})
    before = snapshot(warehouse, list(WAREHOUSE_FIELDS)) if warehouse is not None else None
    warehouse = warehouse or Warehouse(tenant=tenant)
    for name, value in values.items():
        setattr(warehouse, name, value.strip() if isinstance(value, str) else value)
    warehouse.country = warehouse.country.upper()
    if Warehouse.objects.filter(tenant=tenant, name=warehouse.name).exclude(pk=warehouse.pk).exists():
        raise ValidationError({"name": _("Another warehouse is already called %(name)s.") % {"name": warehouse.name}})
    warehouse.full_clean()
    warehouse.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="inventory.warehouse_changed" if before else "inventory.warehouse_created",
        target=warehouse,
        before=before,
        after=snapshot(warehouse, list(WAREHOUSE_FIELDS)),
    )
    return warehouse
