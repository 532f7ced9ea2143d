"""The SKU mapping pages: the mapping list (search, store filter, add, inline edit, delete), CSV import and
export, and the queue of channel SKUs that order lines wait on, with suggestions.

Reading needs `inventory.view`; every change needs `inventory.manage`. Rows of the list are edited in
place with htmx (HX-Request answers a table row); without JavaScript the same URLs answer whole pages.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from acorn.exports.views import export_queued_if_large
from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_get_or_404, store_list
from inventory import mapping as mappings
from inventory import mapping_csv
from inventory.forms_mappings import (
    MappingEditForm,
    MappingFilterForm,
    MappingForm,
    MappingImportForm,
    QueueMapForm,
    UnmappedCreateForm,
)
from inventory.models import SkuMapping
from inventory.unmapped_products import (
    MAX_PICKS,
    ProductDraft,
    products_create_from_unmapped,
    unmapped_product_drafts,
)

PAGE_SIZE = 50


def _is_htmx(request: TenantRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _added_message(request: TenantRequest, added: mappings.MappingAdded) -> None:
    mapping = added.mapping
    text = _("%(channel)s in %(store)s is now mapped to %(sku)s.") % {
        "channel": mapping.channel_sku or mapping.channel_product_id,
        "store": mapping.store.name,
        "sku": mapping.product.sku,
    }
    messages.success(request, text + _waiting_lines(added.reserved, added.backordered))


def _waiting_lines(reserved: int, backordered: int) -> str:
    """What a new mapping did to the order lines waiting for it (" 3 waiting order lines now hold stock." …)."""
    text = ""
    if reserved:
        text += " " + ngettext(
            "%(count)d waiting order line now holds stock.",
            "%(count)d waiting order lines now hold stock.",
            reserved,
        ) % {"count": reserved}
    if backordered:
        text += " " + ngettext(
            "%(count)d order line waits for stock (backordered).",
            "%(count)d order lines wait for stock (backordered).",
            backordered,
        ) % {"count": backordered}
    return text


def _filters(request: TenantRequest) -> tuple[MappingFilterForm, str, Any]:
    form = MappingFilterForm(request.GET or None, stores=store_list(tenant=request.tenant))
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["q"], form.cleaned_data["store"]
    return form, "", None


def _mapping_list_page(
    request: TenantRequest, *, add_form: MappingForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = request.tenant
    filters, query, store = _filters(request)
    page = Paginator(mappings.mapping_list(tenant=tenant, query=query, store=store), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    can_manage = has_permission(request.membership, "inventory.manage")
    if can_manage and add_form is None:
        add_form = MappingForm(
            stores=store_list(tenant=tenant),
            products=mappings.mappable_product_list(tenant=tenant),
            initial={"store": store},
        )
    return render(
        request,
        "inventory/mapping_list.html",
        {
            "page": page,
            "filters": filters,
            "filtered": bool(query or store),
            "add_form": add_form,
            "can_manage": can_manage,
            "unmapped": mappings.unmapped_summary(tenant=tenant),
        },
        status=status,
    )


@require_GET
@tenant_member_required("inventory.view")
def mapping_list_view(request: TenantRequest) -> HttpResponse:
    return _mapping_list_page(request)


@require_POST
@tenant_member_required("inventory.manage")
def mapping_create_view(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    form = MappingForm(
        request.POST, stores=store_list(tenant=tenant), products=mappings.mappable_product_list(tenant=tenant)
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            added = mappings.mapping_add(
                tenant=tenant,
                store=data["store"],
                product=data["product"],
                channel_sku=data["channel_sku"],
                channel_product_id=data["channel_product_id"],
                asin=data["asin"],
                quantity_multiplier=data["quantity_multiplier"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            _added_message(request, added)
            return redirect("inventory:mapping-list")
    return _mapping_list_page(request, add_form=form, status=400)


def _edit_form(request: TenantRequest, mapping: SkuMapping) -> MappingEditForm:
    return MappingEditForm(
        request.POST if request.method == "POST" else None,
        products=mappings.mappable_product_list(tenant=request.tenant),
        initial={
            "channel_sku": mapping.channel_sku,
            "channel_product_id": mapping.channel_product_id,
            "asin": mapping.asin,
            "product": mapping.product.sku,
            "quantity_multiplier": mapping.quantity_multiplier,
        },
        prefix=f"mapping-{mapping.pk}",
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def mapping_edit_view(request: TenantRequest, mapping_pk: int) -> HttpResponse:
    """Edit one mapping: in its table row (htmx) or on a page of its own."""
    mapping = mappings.mapping_get_or_404(tenant=request.tenant, pk=mapping_pk)
    form = _edit_form(request, mapping)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mapping = mappings.mapping_update(
                tenant=request.tenant,
                mapping=mapping,
                product=data["product"],
                channel_sku=data["channel_sku"],
                channel_product_id=data["channel_product_id"],
                asin=data["asin"],
                quantity_multiplier=data["quantity_multiplier"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            if _is_htmx(request):
                return render(
                    request, "inventory/mapping_row.html", {"mapping": mapping, "can_manage": True, "saved": True}
                )
            label = mapping.channel_sku or mapping.channel_product_id
            messages.success(request, _("Mapping of %(channel)s saved.") % {"channel": label})
            return redirect("inventory:mapping-list")
    context = {"mapping": mapping, "form": form}
    if _is_htmx(request):  # htmx swaps only successful answers: errors come back as 200 with the form
        return render(request, "inventory/mapping_row_form.html", context)
    return render(request, "inventory/mapping_form.html", context, status=400 if form.errors else 200)


@require_GET
@tenant_member_required("inventory.view")
def mapping_row_view(request: TenantRequest, mapping_pk: int) -> HttpResponse:
    """One row of the mapping table (htmx puts it back when an edit is cancelled)."""
    mapping = mappings.mapping_get_or_404(tenant=request.tenant, pk=mapping_pk)
    if not _is_htmx(request):  # a row alone is no page: show it in the list
        query = urlencode({"q": mapping.channel_sku or mapping.channel_product_id, "store": mapping.store_id})
        return redirect(f"{reverse('inventory:mapping-list')}?{query}")
    can_manage = has_permission(request.membership, "inventory.manage")
    return render(request, "inventory/mapping_row.html", {"mapping": mapping, "can_manage": can_manage})


@require_POST
@tenant_member_required("inventory.manage")
def mapping_delete_view(request: TenantRequest, mapping_pk: int) -> HttpResponse:
    mapping = mappings.mapping_get_or_404(tenant=request.tenant, pk=mapping_pk)
    label = mapping.channel_sku or mapping.channel_product_id
    mappings.mapping_delete(tenant=request.tenant, mapping=mapping, actor=request.user)
    if _is_htmx(request):
        return HttpResponse("")  # the row disappears
    messages.success(request, _("Mapping of %(channel)s deleted.") % {"channel": label})
    return redirect("inventory:mapping-list")


@require_GET
@tenant_member_required("inventory.view")
def mapping_export_view(request: TenantRequest) -> HttpResponse:
    """The mappings (as filtered on the list) as a CSV file that the import reads back unchanged."""
    _form, query, store = _filters(request)
    queued = export_queued_if_large(
        request,
        records=mappings.mapping_list(tenant=request.tenant, query=query, store=store),
        kind=mapping_csv.MAPPINGS_EXPORT.key,
        file_format="csv",
        filters=mapping_csv.MappingExportFilters(query=query, store_id=store.pk if store else None),
    )
    if queued is not None:
        return queued
    response = StreamingHttpResponse(
        mapping_csv.mapping_export_lines(tenant=request.tenant, query=query, store=store),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"sku-mappings-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The view guard is typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def mapping_import_view(request: TenantRequest) -> HttpResponse:
    """Upload a CSV of mappings: all rows are imported, or none and every problem is listed."""
    form = MappingImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = mapping_csv.mapping_import(
            tenant=request.tenant, data=form.cleaned_data["file"].read(), actor=request.user
        )
        if result.imported:
            text = _("Import done: %(created)d created, %(updated)d changed, %(unchanged)d unchanged.") % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
            if result.reserved:
                text += " " + ngettext(
                    "%(count)d waiting order line now holds stock.",
                    "%(count)d waiting order lines now hold stock.",
                    result.reserved,
                ) % {"count": result.reserved}
            messages.success(request, text)
            return redirect("inventory:mapping-list")
    failed = form.errors or (result is not None and not result.imported)
    return render(
        request,
        "inventory/mapping_import.html",
        {"form": form, "result": result, "columns": mapping_csv.CSV_COLUMNS},
        status=400 if failed else 200,
    )


@require_GET
@tenant_member_required("inventory.view")
def unmapped_list_view(request: TenantRequest) -> HttpResponse:
    """The queue: channel SKUs that paid order lines wait on, oldest first, with suggested products."""
    tenant = request.tenant
    filters, _query, store = _filters(request)
    page = Paginator(mappings.unmapped_sku_list(tenant=tenant, store=store), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "inventory/unmapped_list.html",
        {
            "page": page,
            "rows": mappings.unmapped_sku_rows(tenant=tenant, rows=page.object_list),
            "filters": filters,
            "filtered": store is not None,
            "can_manage": has_permission(request.membership, "inventory.manage"),
        },
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def unmapped_map_view(request: TenantRequest) -> HttpResponse:
    """Map one waiting channel SKU (a suggestion in one click, or a product chosen by its SKU)."""
    tenant = request.tenant
    stores = store_list(tenant=tenant)
    if request.method == "POST":
        form = QueueMapForm(request.POST, stores=stores, products=mappings.mappable_product_list(tenant=tenant))
    else:
        store_pk = request.GET.get("store", "")
        if not store_pk.isdigit():
            raise Http404
        store = store_get_or_404(tenant=tenant, pk=int(store_pk))
        initial = {
            "store": store.pk,
            "channel_sku": request.GET.get("channel_sku", "")[:200],
            "channel_product_id": request.GET.get("channel_product_id", "")[:60],
        }
        form = QueueMapForm(initial=initial, stores=stores, products=mappings.mappable_product_list(tenant=tenant))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            added = mappings.mapping_add(
                tenant=tenant,
                store=data["store"],
                product=data["product"],
                channel_sku=data["channel_sku"],
                channel_product_id=data["channel_product_id"],
                quantity_multiplier=data["quantity_multiplier"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            _added_message(request, added)
            return redirect("inventory:unmapped-list")
    channel_sku = str(form["channel_sku"].value() or "")
    store_pk = str(form["store"].value() or "")
    return render(
        request,
        "inventory/unmapped_map.html",
        {
            "form": form,
            "store": stores.filter(pk=int(store_pk)).first() if store_pk.isdigit() else None,
            "channel_sku": channel_sku,
            "channel_product_id": str(form["channel_product_id"].value() or ""),
            "suggestions": mappings.mapping_suggestions(tenant=tenant, channel_skus=[channel_sku]).get(channel_sku, ()),
        },
        status=400 if form.errors else 200,
    )


def _pick_count(data: Any) -> int:
    return min(sum(1 for key in data if key.startswith("pick_")), MAX_PICKS)


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def unmapped_create_view(request: TenantRequest) -> HttpResponse:
    """Make master products of the chosen unmapped channel SKUs in one step (SKU and name prefilled from the
    channel SKU and its listing title, editable) and map them at once, so the waiting lines reserve."""
    tenant = request.tenant
    stores = store_list(tenant=tenant)
    if request.method == "POST":
        form = UnmappedCreateForm(request.POST, count=_pick_count(request.POST))
        picks = [mappings.parse_pick(str(request.POST.get(f"pick_{i}", ""))) for i in range(form.count)]
        found = stores.in_bulk({pick[0] for pick in picks if pick is not None})
        rows: list[dict[str, Any]] = [
            {"store": found.get(pick[0]), "channel_sku": pick[1], "channel_product_id": pick[2]} if pick else {}
            for pick in picks
        ]
        if form.is_valid():
            entries = form.entries()
            if any(pick[0] not in found for pick, _sku, _name in entries):
                raise Http404  # another company's store
            drafts = [
                ProductDraft(store=found[pick[0]], channel_sku=pick[1], channel_product_id=pick[2], sku=sku, name=name)
                for pick, sku, name in entries
            ]
            try:
                created = products_create_from_unmapped(tenant=tenant, drafts=drafts, actor=request.user)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                text = ngettext(
                    "%(count)d product created and mapped.", "%(count)d products created and mapped.", len(drafts)
                ) % {"count": len(created.products)}
                messages.success(request, text + _waiting_lines(created.reserved, created.backordered))
                return redirect("inventory:unmapped-list")
    else:
        chosen = [
            pick for pick in (mappings.parse_pick(value) for value in request.GET.getlist("pick")) if pick is not None
        ]
        drafts = unmapped_product_drafts(tenant=tenant, picks=chosen)
        if not drafts:
            messages.warning(request, _("Choose at least one unmapped SKU to create a product from."))
            return redirect("inventory:unmapped-list")
        initial: dict[str, Any] = {}
        for index, draft in enumerate(drafts):
            initial[f"pick_{index}"] = mappings.pick_value(draft.store.pk, draft.channel_sku, draft.channel_product_id)
            initial[f"sku_{index}"], initial[f"name_{index}"] = draft.sku, draft.name
        form = UnmappedCreateForm(initial=initial, count=len(drafts))
        rows = [
            {
                "store": draft.store,
                "channel_sku": draft.channel_sku,
                "channel_product_id": draft.channel_product_id,
                "lines": draft.lines,
                "units": draft.units,
            }
            for draft in drafts
        ]
    return render(
        request,
        "inventory/unmapped_create.html",
        {"form": form, "rows": list(zip(rows, form.rows(), strict=True))},
        status=400 if form.errors else 200,
    )
