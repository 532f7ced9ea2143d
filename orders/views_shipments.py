"""Shipment pages: record a parcel for one order, upload a CSV of tracking numbers (all rows or none, every
problem listed by line and column), and the confirmations to the channels with a retry for failed ones;
plus the warehouse's signed callback (no session, no CSRF: every request is verified by its signature).

Reading needs `orders.view`; recording and retrying need `orders.fulfil`.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from acorn.tenancy.scoping import tenant_scope
from orders import shipments
from orders.forms_shipments import CARRIER_SUGGESTIONS, ShipmentFilterForm, ShipmentForm, ShipmentImportForm
from orders.fulfilment.services import signature_valid
from orders.models import ConfirmationState, ShipmentSource
from orders.selectors import order_get_or_404

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def shipment_create_view(request: TenantRequest, order_pk: int) -> HttpResponse:
    """Record a parcel of one order by hand; its confirmation to the channel is queued."""
    order = order_get_or_404(tenant=request.tenant, pk=order_pk)
    refusal = shipments.shipment_refusal(order=order)
    lines = shipments.lines_to_ship(order=order)
    form = ShipmentForm(
        request.POST if request.method == "POST" else None, lines=lines, purchased_at=order.purchased_at
    )
    if request.method == "POST" and not refusal and form.is_valid():
        data = form.cleaned_data
        try:
            shipment, created = shipments.shipment_record(
                order=order,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                shipped_at=data["shipped_at"],
                source=ShipmentSource.MANUAL,
                lines=form.parcel_lines(),
                ship_method=data["ship_method"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            if not created:
                text = _("Shipment %(tracking)s was already recorded; nothing changed.")
            elif shipment.confirmation == ConfirmationState.PENDING:
                text = _("Shipment %(tracking)s recorded; its confirmation to the channel is on its way.")
            else:
                text = _("Shipment %(tracking)s recorded; the channel needs no confirmation.")
            messages.success(request, text % {"tracking": shipment.tracking_number})
            return redirect("orders:order-detail", order_pk=order.pk)
    failed = request.method == "POST"
    return render(
        request,
        "orders/shipment_form.html",
        {
            "order": order,
            "form": form,
            "refusal": refusal,
            "remaining": any(entry.remaining for entry in lines),
            "shipments": shipments.shipment_list_for_order(order=order),
            "carriers": CARRIER_SUGGESTIONS,
        },
        status=400 if failed else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def shipment_import_view(request: TenantRequest) -> HttpResponse:
    """Upload tracking numbers as CSV: every row is recorded, or none and every problem is listed."""
    form = ShipmentImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = shipments.shipments_import_csv(
            tenant=request.tenant, data=form.cleaned_data["file"].read(), actor=request.user
        )
        if result.imported:
            text = ngettext("%(count)d shipment recorded", "%(count)d shipments recorded", result.created) % {
                "count": result.created
            }
            if result.unchanged:
                text += "; " + ngettext(
                    "%(count)d was already recorded", "%(count)d were already recorded", result.unchanged
                ) % {"count": result.unchanged}
            messages.success(request, text + ".")
            return redirect("orders:shipment-list")
    failed = bool(form.errors) or (result is not None and not result.imported)
    return render(
        request,
        "orders/shipment_import.html",
        {"form": form, "result": result, "columns": shipments.CSV_COLUMNS},
        status=400 if failed else 200,
    )


@require_GET
@tenant_member_required("orders.view")
def shipment_import_template_view(request: TenantRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(shipments.shipment_import_template_lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="shipments-template.csv"'
    return response


@require_GET
@tenant_member_required("orders.view")
def shipment_list_view(request: TenantRequest) -> HttpResponse:
    """Shipments and their confirmation to the channel; by default those not confirmed yet."""
    filters = ShipmentFilterForm(request.GET or None)
    states = filters.states()
    page = Paginator(shipments.shipment_list(tenant=request.tenant, states=states), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/shipment_list.html",
        {
            "filters": filters,
            "page": page,
            "filtered": bool(request.GET.get("state")),
            "can_fulfil": has_permission(request.membership, "orders.fulfil"),
        },
    )


@require_POST
@tenant_member_required("orders.fulfil")
def shipment_retry_view(request: TenantRequest, shipment_pk: int) -> HttpResponse:
    shipment = shipments.shipment_get_or_404(tenant=request.tenant, pk=shipment_pk)
    try:
        shipments.shipment_confirmation_retry(tenant=request.tenant, shipment=shipment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("The confirmation of %(tracking)s is sent again.") % {"tracking": shipment.tracking_number}
        )
    return redirect("orders:shipment-list")


@csrf_exempt
@require_POST
def fulfilment_callback_view(request: HttpRequest, callback_key: str) -> HttpResponse:
    """A warehouse reports on an order ACORN sent it. The URL's key names the target (and so the tenant);
    the request must be signed with the target's secret within the last few minutes."""
    target = shipments.fulfilment_target_by_callback_key_unscoped(callback_key)
    if target is None:
        return JsonResponse({"error": "unknown callback"}, status=404)
    if len(request.body) > shipments.CALLBACK_MAX_BODY_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    body = request.body
    valid = signature_valid(
        target, request.headers.get("X-Acorn-Timestamp") or "", body, request.headers.get("X-Acorn-Signature") or ""
    )
    if not valid:
        logger.warning("fulfilment_callback_bad_signature", extra={"tenant_id": target.tenant_id, "target": target.pk})
        return JsonResponse({"error": "bad or stale signature"}, status=401)
    with tenant_scope(target.tenant):
        try:
            payload = shipments.callback_payload(body)
            answer = shipments.fulfilment_callback_process(target=target, payload=payload)
        except shipments.CallbackError as error:
            return JsonResponse({"error": error.message, "field": error.field}, status=error.status)
    return JsonResponse(answer)
