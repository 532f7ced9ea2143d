"""Inventory pages: the product list (on hand / reserved / available per warehouse, FBA apart), a product's
stock and history, the product and bundle editor, and the warehouses."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from inventory import services
from inventory.catalogue import bundle_set_components, product_save, warehouse_save
from inventory.forms import AdjustForm, ComponentFormSet, ProductForm, ReceiveForm, WarehouseForm
from inventory.models import WarehouseKind
from inventory.selectors import (
    component_choices,
    movement_list,
    product_channel_listings,
    product_get_or_404,
    product_stock_list,
    waiting_line_counts,
    warehouse_get_or_404,
    warehouse_list,
)


@tenant_member_required("inventory.view")
def product_list_view(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    page = Paginator(product_stock_list(tenant=request.tenant, query=query), 50).get_page(request.GET.get("page"))
    warehouses = list(warehouse_list(tenant=request.tenant))
    rows = []
    for product in page.object_list:
        by_warehouse = {level.warehouse_id: level for level in product.levels.all()}
        on_hand, reserved = getattr(product, "total_on_hand", 0), getattr(product, "total_reserved", 0)
        available = (on_hand or 0) - (reserved or 0)  # own and third-party warehouses, FBA apart
        rows.append((product, [by_warehouse.get(warehouse.pk) for warehouse in warehouses], available))
    return render(
        request,
        "inventory/product_list.html",
        {
            "page": page,
            "rows": rows,
            "warehouses": warehouses,
            "query": query,
            "waiting": waiting_line_counts(tenant=request.tenant),
            "can_manage": has_permission(request.membership, "inventory.manage"),
        },
    )


@tenant_member_required("inventory.view")
def product_detail_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    """A product's stock per warehouse, its movement history, and (for managers) receipts and adjustments."""
    product = product_get_or_404(tenant=request.tenant, pk=product_pk)
    warehouses = warehouse_list(tenant=request.tenant).exclude(kind=WarehouseKind.FBA)
    can_manage = has_permission(request.membership, "inventory.manage")
    action = request.POST.get("action") if request.method == "POST" else None
    if action and not can_manage:
        raise PermissionDenied
    receive = ReceiveForm(request.POST if action == "receive" else None, warehouses=warehouses, prefix="receive")
    adjust = AdjustForm(request.POST if action == "adjust" else None, warehouses=warehouses, prefix="adjust")
    form = receive if action == "receive" else adjust if action == "adjust" else None
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "receive":
                services.stock_receive(
                    product=product,
                    warehouse=data["warehouse"],
                    quantity=data["quantity"],
                    reference=data["reference"],
                    actor=request.user,
                )
            else:
                services.stock_adjust(
                    product=product,
                    warehouse=data["warehouse"],
                    delta=data["delta"],
                    kind=data["kind"],
                    reason=data["reason"],
                    actor=request.user,
                )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Stock of %(sku)s updated.") % {"sku": product.sku})
            return redirect("inventory:product-detail", product_pk=product.pk)
    page = Paginator(movement_list(product=product), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/product_detail.html",
        {
            "product": product,
            "components": product.components.select_related("component").order_by("component__sku"),
            "listings": product_channel_listings(product=product),
            "levels": product.levels.select_related("warehouse").order_by("warehouse__kind", "warehouse__name"),
            "page": page,
            "receive": receive,
            "adjust": adjust,
            "can_manage": can_manage,
        },
        status=400 if form is not None and form.errors else 200,
    )


@tenant_member_required("inventory.manage")
def product_edit_view(request: TenantRequest, product_pk: int | None = None) -> HttpResponse:
    """Create a master product or change one, with its bundle components."""
    product = product_get_or_404(tenant=request.tenant, pk=product_pk) if product_pk else None
    others = component_choices(tenant=request.tenant, bundle=product)
    initial = (
        [{"component": part.component, "quantity": part.quantity} for part in product.components.all()]
        if product is not None
        else []
    )
    data = request.POST if request.method == "POST" else None
    # The form edits a copy: the service compares the stored product with the new values for the audit.
    form = ProductForm(data, initial=model_to_dict(product) if product else None, prefix="product")
    components = ComponentFormSet(data, initial=initial, prefix="parts", form_kwargs={"products": others})
    if data is not None and form.is_valid() and components.is_valid():
        parts = [
            (row["component"], row["quantity"])
            for row in components.cleaned_data
            if row and row.get("component") is not None
        ]
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            with transaction.atomic():
                saved = product_save(tenant=request.tenant, product=product, actor=request.user, **values)
                if parts or (product is not None and product.is_bundle):
                    bundle_set_components(product=saved, components=parts, actor=request.user)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                form_add_errors(form, error)
            else:
                components._non_form_errors = components.error_class(error.messages)  # type: ignore[attr-defined]
        else:
            messages.success(request, _("Product %(sku)s saved.") % {"sku": saved.sku})
            return redirect("inventory:product-detail", product_pk=saved.pk)
    return render(
        request,
        "inventory/product_form.html",
        {"product": product, "form": form, "components": components},
        status=400 if data is not None else 200,
    )


@tenant_member_required("inventory.view")
def warehouse_list_view(request: TenantRequest) -> HttpResponse:
    can_manage = has_permission(request.membership, "inventory.manage")
    if request.method == "POST" and not can_manage:
        raise PermissionDenied
    form = WarehouseForm(request.POST if request.method == "POST" else None, prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            warehouse = warehouse_save(tenant=request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Warehouse %(name)s added.") % {"name": warehouse.name})
            return redirect("inventory:warehouse-list")
    return render(
        request,
        "inventory/warehouse_list.html",
        {"warehouses": warehouse_list(tenant=request.tenant), "form": form, "can_manage": can_manage},
        status=400 if form.errors else 200,
    )


@tenant_member_required("inventory.manage")
def warehouse_edit_view(request: TenantRequest, warehouse_pk: int) -> HttpResponse:
    warehouse = warehouse_get_or_404(tenant=request.tenant, pk=warehouse_pk)
    if warehouse.read_only:
        raise PermissionDenied
    form = WarehouseForm(request.POST if request.method == "POST" else None, initial=model_to_dict(warehouse))
    if request.method == "POST" and form.is_valid():
        try:
            warehouse_save(tenant=request.tenant, warehouse=warehouse, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Warehouse %(name)s saved.") % {"name": warehouse.name})
            return redirect("inventory:warehouse-list")
    return render(
        request,
        "inventory/warehouse_form.html",
        {"warehouse": warehouse, "form": form},
        status=400 if form.errors else 200,
    )
