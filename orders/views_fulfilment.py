"""Fulfilment pages: targets (warehouses that receive orders) and their routing rules, the problems a person
must settle, the CSV download and the printable pick list.

Reading needs `orders.view`; creating, changing, sending and marking need `orders.fulfil`. Another
company's target, rule or request answers 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_list
from inventory.models import WarehouseKind
from inventory.selectors import warehouse_list
from orders.forms_fulfilment import FulfillmentRouteForm, FulfillmentTargetForm, ProblemFilterForm
from orders.fulfilment import files as fulfilment_files
from orders.fulfilment import services as fulfilment
from orders.fulfilment.selectors import (
    active_routes,
    cancel_problems,
    csv_batches,
    failed_requests,
    fulfilment_request_get_or_404,
    fulfilment_request_list,
    fulfilment_route_get_or_404,
    fulfilment_route_list,
    fulfilment_target_choices,
    fulfilment_target_get_or_404,
    fulfilment_target_list,
    orders_waiting_for_stock,
    orders_without_request,
    pending_requests,
    pick_list,
    problem_counts,
    route_for,
)
from orders.models import FulfillmentRoute, FulfillmentTarget, FulfillmentTargetKind

PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _can_fulfil(request: TenantRequest) -> bool:
    return has_permission(request.membership, "orders.fulfil")


def _back(request: TenantRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (a local URL only), else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _batch_id(sent_at: datetime) -> int:
    """A CSV download's id in URLs: its `sent_at` in microseconds since the epoch (exact, no float)."""
    return (sent_at - _EPOCH) // timedelta(microseconds=1)


# --- targets --------------------------------------------------------------------------------------------------


@tenant_member_required("orders.view")
def fulfilment_target_list_view(request: TenantRequest) -> HttpResponse:
    return render(
        request,
        "orders/fulfilment_target_list.html",
        {
            "targets": fulfilment_target_list(tenant=request.tenant),
            "counts": problem_counts(tenant=request.tenant),
            "can_fulfil": _can_fulfil(request),
        },
    )


def _target_form(request: TenantRequest, target: FulfillmentTarget | None = None) -> FulfillmentTargetForm:
    warehouses = warehouse_list(tenant=request.tenant).exclude(kind=WarehouseKind.FBA)
    initial = (
        {
            "name": target.name,
            "kind": target.kind,
            "warehouse": target.warehouse_id,
            "endpoint_url": target.endpoint_url,
            "active": target.active,
        }
        if target is not None
        else {"active": True}
    )
    data = request.POST if request.method == "POST" else None
    return FulfillmentTargetForm(data, initial=initial, warehouses=warehouses)


def _secret_page(request: TenantRequest, target: FulfillmentTarget, secret: str, *, created: bool) -> HttpResponse:
    """The signing secret, shown this once (never stored in the session, never cached)."""
    response = render(
        request,
        "orders/fulfilment_target_secret.html",
        {"target": target, "secret": secret, "created": created, "callback_url": fulfilment.callback_url(target)},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def fulfilment_target_create_view(request: TenantRequest) -> HttpResponse:
    form = _target_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            target, secret = fulfilment.fulfilment_target_create(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            return _secret_page(request, target, secret, created=True)
    return render(
        request,
        "orders/fulfilment_target_form.html",
        {"form": form, "target": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def fulfilment_target_edit_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    target = fulfilment_target_get_or_404(tenant=request.tenant, pk=target_pk)
    form = _target_form(request, target)
    if request.method == "POST" and form.is_valid():
        try:
            fulfilment.fulfilment_target_update(
                tenant=request.tenant, target=target, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Fulfilment target %(name)s saved.") % {"name": target.name})
            return redirect("orders:fulfilment-target-detail", target_pk=target.pk)
    return render(
        request,
        "orders/fulfilment_target_form.html",
        {"form": form, "target": target},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_target_secret_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    """A new signing secret (the old one stops working): shown once."""
    target = fulfilment_target_get_or_404(tenant=request.tenant, pk=target_pk)
    secret = fulfilment.fulfilment_target_regenerate_secret(tenant=request.tenant, target=target, actor=request.user)
    return _secret_page(request, target, secret, created=False)


@tenant_member_required("orders.view")
def fulfilment_target_detail_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    """A target: its routing rules (editable), how orders reach it, and the orders sent to it."""
    target = fulfilment_target_get_or_404(tenant=request.tenant, pk=target_pk)
    can_fulfil = _can_fulfil(request)
    page = Paginator(fulfilment_request_list(target=target), PAGE_SIZE).get_page(request.GET.get("page"))
    batches = (
        [(_batch_id(sent_at), sent_at, count) for sent_at, count in csv_batches(target=target)]
        if target.kind == FulfillmentTargetKind.CSV
        else []
    )
    return render(
        request,
        "orders/fulfilment_target_detail.html",
        {
            "target": target,
            "routes": fulfilment_route_list(tenant=request.tenant, target=target),
            "route_form": FulfillmentRouteForm(stores=store_list(tenant=request.tenant)) if can_fulfil else None,
            "callback_url": fulfilment.callback_url(target),
            "page": page,
            "pending_count": pending_requests(target=target).count(),
            "batches": batches,
            "can_fulfil": can_fulfil,
        },
    )


# --- routing rules ---------------------------------------------------------------------------------------------


def _route_form(request: TenantRequest, route: FulfillmentRoute | None = None) -> FulfillmentRouteForm:
    initial = (
        {
            "store": route.store_id,
            "countries": ", ".join(route.countries),
            "skus": "\n".join(route.skus),
            "position": route.position,
        }
        if route is not None
        else None
    )
    data = request.POST if request.method == "POST" else None
    return FulfillmentRouteForm(data, initial=initial, stores=store_list(tenant=request.tenant))


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def fulfilment_route_create_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    target = fulfilment_target_get_or_404(tenant=request.tenant, pk=target_pk)
    form = _route_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            fulfilment.fulfilment_route_create(
                tenant=request.tenant, target=target, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Routing rule added."))
            return redirect("orders:fulfilment-target-detail", target_pk=target.pk)
    return render(
        request,
        "orders/fulfilment_route_form.html",
        {"form": form, "target": target, "route": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.fulfil")
def fulfilment_route_edit_view(request: TenantRequest, route_pk: int) -> HttpResponse:
    route = fulfilment_route_get_or_404(tenant=request.tenant, pk=route_pk)
    form = _route_form(request, route)
    if request.method == "POST" and form.is_valid():
        try:
            fulfilment.fulfilment_route_update(
                tenant=request.tenant, route=route, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Routing rule saved."))
            return redirect("orders:fulfilment-target-detail", target_pk=route.target_id)
    return render(
        request,
        "orders/fulfilment_route_form.html",
        {"form": form, "target": route.target, "route": route},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_route_delete_view(request: TenantRequest, route_pk: int) -> HttpResponse:
    route = fulfilment_route_get_or_404(tenant=request.tenant, pk=route_pk)
    target_pk = route.target_id
    fulfilment.fulfilment_route_delete(tenant=request.tenant, route=route, actor=request.user)
    messages.success(request, _("Routing rule deleted."))
    return redirect("orders:fulfilment-target-detail", target_pk=target_pk)


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_route_move_view(request: TenantRequest, route_pk: int) -> HttpResponse:
    """Move a rule one place earlier ("up") or later ("down") in the order rules are tried."""
    route = fulfilment_route_get_or_404(tenant=request.tenant, pk=route_pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    fulfilment.fulfilment_route_move(tenant=request.tenant, route=route, offset=offset, actor=request.user)
    return redirect("orders:fulfilment-target-detail", target_pk=route.target_id)


# --- problems -------------------------------------------------------------------------------------------------


@tenant_member_required("orders.view")
def fulfilment_problems_view(request: TenantRequest) -> HttpResponse:
    """Failed pushes, cancels to settle, ready orders no rule routes, orders waiting for stock over a day."""
    form = ProblemFilterForm(request.GET or None, targets=fulfilment_target_choices(tenant=request.tenant))
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    show, target = data.get("show") or "failed", data.get("target")
    rows: Any
    if show == "cancel":
        rows = cancel_problems(tenant=request.tenant, target=target)
    elif show == "no_route":
        rows = orders_without_request(tenant=request.tenant)
    elif show == "stock":
        rows = orders_waiting_for_stock(tenant=request.tenant)
    else:
        rows = failed_requests(tenant=request.tenant, target=target)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    routed: list[tuple[Any, FulfillmentRoute | None]] = []
    if show == "no_route":
        routes = active_routes(tenant_id=request.tenant.pk)
        routed = [(order, route_for(order, routes=routes)) for order in page.object_list]
    return render(
        request,
        "orders/fulfilment_problems.html",
        {
            "form": form,
            "show": show,
            "selected_target": target,
            "page": page,
            "routed": routed,
            "counts": problem_counts(tenant=request.tenant, target=target),
            "can_fulfil": _can_fulfil(request),
        },
    )


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_request_retry_view(request: TenantRequest, request_pk: int) -> HttpResponse:
    """ "Retry now" for a failed push or cancel."""
    fulfillment_request = fulfilment_request_get_or_404(tenant=request.tenant, pk=request_pk)
    try:
        fulfilment.fulfilment_retry(tenant=request.tenant, request=fulfillment_request, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Order %(order)s will be sent again now.") % {"order": fulfillment_request.order.external_id}
        )
    return _back(request, reverse("orders:fulfilment-problems"))


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_request_cancelled_view(request: TenantRequest, request_pk: int) -> HttpResponse:
    """A person confirms the warehouse cancelled the order."""
    fulfillment_request = fulfilment_request_get_or_404(tenant=request.tenant, pk=request_pk)
    try:
        fulfilment.fulfilment_cancel_confirm(tenant=request.tenant, request=fulfillment_request, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Order %(order)s marked cancelled.") % {"order": fulfillment_request.order.external_id}
        )
    return _back(request, reverse("orders:fulfilment-problems") + "?show=cancel")


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_route_waiting_view(request: TenantRequest) -> HttpResponse:
    """Route the ready orders that no rule matched before (after the rules changed)."""
    queued = fulfilment.fulfilment_route_waiting(tenant=request.tenant, actor=request.user)
    messages.success(
        request,
        ngettext("%(count)d order was sent to a target.", "%(count)d orders were sent to a target.", queued)
        % {"count": queued},
    )
    return redirect(reverse("orders:fulfilment-problems") + "?show=no_route")


# --- CSV and pick list -----------------------------------------------------------------------------------------


def _target_of_kind(request: TenantRequest, target_pk: int, kind: str) -> FulfillmentTarget:
    target = fulfilment_target_get_or_404(tenant=request.tenant, pk=target_pk)
    if target.kind != kind:
        raise Http404
    return target


def _csv_response(target: FulfillmentTarget, sent_at: datetime, content: str) -> HttpResponse:
    # The content starts with a UTF-8 BOM (csv_lines), as the order export does: Chinese titles read right.
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{fulfilment_files.csv_file_name(target, sent_at)}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_member_required("orders.fulfil")
def fulfilment_csv_new_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    """Download the orders waiting for this CSV target; they are marked sent by the same step."""
    target = _target_of_kind(request, target_pk, FulfillmentTargetKind.CSV)
    taken = fulfilment_files.fulfilment_csv_take_new(tenant=request.tenant, target=target, actor=request.user)
    if taken is None:
        messages.info(request, _("No new orders wait for this warehouse."))
        return redirect("orders:fulfilment-target-detail", target_pk=target.pk)
    sent_at, content, _count = taken
    return _csv_response(target, sent_at, content)


@tenant_member_required("orders.fulfil")
def fulfilment_csv_again_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    """Download a past file again (nothing changes): `?batch=` names the download."""
    target = _target_of_kind(request, target_pk, FulfillmentTargetKind.CSV)
    batch = request.GET.get("batch", "")
    if not batch.isdigit():
        raise Http404
    sent_at = _EPOCH + timedelta(microseconds=int(batch))
    content = fulfilment_files.fulfilment_csv_again(target=target, sent_at=sent_at)
    if content is None:
        raise Http404
    return _csv_response(target, sent_at, content)


@require_http_methods(["GET", "POST"])
@tenant_member_required("orders.view")
def fulfilment_pick_list_view(request: TenantRequest, target_pk: int) -> HttpResponse:
    """The own warehouse's printable pick list of waiting orders; "mark as picked" sends the ones shown."""
    target = _target_of_kind(request, target_pk, FulfillmentTargetKind.PICK_LIST)
    can_fulfil = _can_fulfil(request)
    if request.method == "POST":
        if not can_fulfil:
            raise PermissionDenied
        pks = [int(value) for value in request.POST.getlist("request") if value.isdigit()]
        picked = fulfilment_files.fulfilment_mark_picked(
            tenant=request.tenant, target=target, request_pks=pks, actor=request.user
        )
        messages.success(
            request,
            ngettext("%(count)d order marked as picked.", "%(count)d orders marked as picked.", picked)
            % {"count": picked},
        )
        return redirect("orders:fulfilment-pick-list", target_pk=target.pk)
    requests, groups = pick_list(target=target)
    return render(
        request,
        "orders/fulfilment_pick_list.html",
        {"target": target, "requests": requests, "groups": groups, "can_fulfil": can_fulfil, "now": timezone.now()},
    )
