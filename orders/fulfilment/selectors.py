"""Reads of fulfilment: targets, routing rules, requests, the problems a person must look at, pick lists and
CSV batches. Every query is scoped to the tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from acorn.tenancy.models import Tenant
from inventory.allocation import LINE_REF_PREFIX
from inventory.models import AllocationState, LineAllocation
from orders.models import (
    FulfillmentChannel,
    FulfillmentRequest,
    FulfillmentRoute,
    FulfillmentState,
    FulfillmentTarget,
    FulfillmentTargetKind,
    Order,
    OrderLine,
    OrderStatus,
)

# Orders a warehouse may pack: paid and not (fully) shipped.
OPEN_STATUSES = (OrderStatus.PAID_UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)
# An order waiting for stock is a problem once it has waited this long.
STOCK_WAIT = timedelta(days=1)
PROBLEM_KINDS = ("failed", "cancel", "no_route", "stock")


def fulfilment_target_list(*, tenant: Tenant) -> QuerySet[FulfillmentTarget]:
    """The tenant's targets with their warehouse, rule count and requests waiting, sent and failed."""
    return (
        FulfillmentTarget.objects.filter(tenant=tenant)
        .select_related("warehouse")
        .annotate(
            route_count=Count("routes", distinct=True),
            pending_count=Count("requests", filter=Q(requests__state=FulfillmentState.PENDING), distinct=True),
            sent_count=Count("requests", filter=Q(requests__state=FulfillmentState.SENT), distinct=True),
            failed_count=Count(
                "requests",
                filter=Q(requests__state__in=[FulfillmentState.FAILED, FulfillmentState.CANCEL_FAILED]),
                distinct=True,
            ),
        )
        .order_by("name")
    )


def fulfilment_target_choices(*, tenant: Tenant) -> QuerySet[FulfillmentTarget]:
    """The tenant's targets by name, for a filter."""
    return FulfillmentTarget.objects.filter(tenant=tenant).order_by("name")


def fulfilment_target_get_or_404(*, tenant: Tenant, pk: int) -> FulfillmentTarget:
    target = FulfillmentTarget.objects.filter(tenant=tenant, pk=pk).select_related("warehouse").first()
    if target is None:
        raise Http404
    return target


def fulfilment_route_list(*, tenant: Tenant, target: FulfillmentTarget | None = None) -> QuerySet[FulfillmentRoute]:
    """Rules in the order they are tried (positions are shared by all of the tenant's targets)."""
    routes = FulfillmentRoute.objects.filter(tenant=tenant).select_related("store", "target")
    if target is not None:
        routes = routes.filter(target=target)
    return routes.order_by("position", "pk")


def fulfilment_route_get_or_404(*, tenant: Tenant, pk: int) -> FulfillmentRoute:
    route = FulfillmentRoute.objects.filter(tenant=tenant, pk=pk).select_related("store", "target").first()
    if route is None:
        raise Http404
    return route


def fulfilment_request_get_or_404(*, tenant: Tenant, pk: int) -> FulfillmentRequest:
    request = FulfillmentRequest.objects.filter(tenant=tenant, pk=pk).select_related("order__store", "target").first()
    if request is None:
        raise Http404
    return request


def fulfilment_request_list(*, target: FulfillmentTarget) -> QuerySet[FulfillmentRequest]:
    """The orders sent (or waiting to be sent) to a target, newest first."""
    return (
        FulfillmentRequest.objects.filter(target=target).select_related("order__store").order_by("-created_at", "-pk")
    )


def fulfilment_request_for_order(*, order: Order) -> FulfillmentRequest | None:
    """The order's request to a warehouse, if it was queued."""
    return FulfillmentRequest.objects.filter(order=order).select_related("target").first()


# --- problems ---------------------------------------------------------------------------------------------


def _requests(tenant: Tenant, target: FulfillmentTarget | None) -> QuerySet[FulfillmentRequest]:
    requests = FulfillmentRequest.objects.filter(tenant=tenant).select_related("order__store", "target")
    return requests.filter(target=target) if target is not None else requests


def failed_requests(*, tenant: Tenant, target: FulfillmentTarget | None = None) -> QuerySet[FulfillmentRequest]:
    """Pushes that failed: retried automatically while `next_attempt_at` is set, else waiting for a person."""
    return _requests(tenant, target).filter(state=FulfillmentState.FAILED).order_by("-updated_at", "-pk")


def cancel_problems(*, tenant: Tenant, target: FulfillmentTarget | None = None) -> QuerySet[FulfillmentRequest]:
    """Cancels a person must settle: a failed cancel, a cancel to pass on by hand (CSV and pick-list targets
    have no API), and orders the warehouse cancelled while they are still open on the channel."""
    return (
        _requests(tenant, target)
        .filter(
            Q(state=FulfillmentState.CANCEL_FAILED)
            | Q(
                state=FulfillmentState.CANCEL_PENDING,
                target__kind__in=[FulfillmentTargetKind.CSV, FulfillmentTargetKind.PICK_LIST],
            )
            | Q(state=FulfillmentState.CANCELLED, order__status__in=list(OPEN_STATUSES))
        )
        .order_by("-updated_at", "-pk")
    )


def _open_merchant_orders(tenant: Tenant) -> QuerySet[Order]:
    has_request = FulfillmentRequest.objects.filter(order=OuterRef("pk"))
    return (
        Order.objects.filter(
            tenant=tenant, fulfillment_channel=FulfillmentChannel.MERCHANT, status__in=list(OPEN_STATUSES)
        )
        .exclude(Exists(has_request))
        .select_related("store")
    )


def orders_without_request(*, tenant: Tenant) -> QuerySet[Order]:
    """Ready orders (paid, merchant-fulfilled, every line reserved) that no rule sent anywhere."""
    not_reserved = OrderLine.objects.filter(order=OuterRef("pk")).exclude(stock_state=AllocationState.RESERVED)
    has_lines = OrderLine.objects.filter(order=OuterRef("pk"))
    return (
        _open_merchant_orders(tenant)
        .filter(stock_problem="")
        .filter(Exists(has_lines))
        .exclude(Exists(not_reserved))
        .order_by("-purchased_at", "-pk")
    )


def orders_waiting_for_stock(*, tenant: Tenant, now: datetime | None = None) -> QuerySet[Order]:
    """Paid merchant orders that have waited more than a day for stock or for a SKU mapping."""
    since = (now or timezone.now()) - STOCK_WAIT
    return (
        _open_merchant_orders(tenant)
        .exclude(stock_problem="")
        .filter(purchased_at__lte=since)
        .order_by("purchased_at", "pk")
    )


def problem_counts(*, tenant: Tenant, target: FulfillmentTarget | None = None) -> dict[str, int]:
    """How many problems of each kind (the order kinds are not per target)."""
    return {
        "failed": failed_requests(tenant=tenant, target=target).count(),
        "cancel": cancel_problems(tenant=tenant, target=target).count(),
        "no_route": orders_without_request(tenant=tenant).count(),
        "stock": orders_waiting_for_stock(tenant=tenant).count(),
    }


# --- lines as a warehouse sees them ------------------------------------------------------------------------


@dataclass(frozen=True)
class FulfilmentLine:
    """One order line with the master product its stock was reserved as (None when it has none)."""

    line_id: str
    sku: str
    title: str
    quantity: int
    master_sku: str | None
    master_name: str
    master_quantity: int | None


def request_lines(requests: Iterable[FulfillmentRequest]) -> dict[int, list[FulfilmentLine]]:
    """The lines of each request's order (request pk → lines), with master SKUs from inventory's allocations."""
    by_order = {request.order_id: request.pk for request in requests}
    if not by_order:
        return {}
    lines = list(OrderLine.objects.filter(order_id__in=list(by_order)).order_by("pk"))
    allocations = {
        allocation.line_ref: allocation
        for allocation in LineAllocation.objects.filter(
            line_ref__in=[f"{LINE_REF_PREFIX}{line.pk}" for line in lines]
        ).select_related("product")
    }
    result: dict[int, list[FulfilmentLine]] = {pk: [] for pk in by_order.values()}
    for line in lines:
        allocation = allocations.get(f"{LINE_REF_PREFIX}{line.pk}")
        product = allocation.product if allocation is not None else None
        result[by_order[line.order_id]].append(
            FulfilmentLine(
                line_id=line.external_id,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                master_sku=product.sku if product is not None else None,
                master_name=product.name if product is not None else "",
                master_quantity=allocation.units if allocation is not None and product is not None else None,
            )
        )
    return result


# --- pick lists and CSV batches -----------------------------------------------------------------------------


def pending_requests(*, target: FulfillmentTarget) -> QuerySet[FulfillmentRequest]:
    """The target's requests waiting to be picked or downloaded, oldest first."""
    return (
        FulfillmentRequest.objects.filter(target=target, state=FulfillmentState.PENDING)
        .select_related("order__store")
        .order_by("created_at", "pk")
    )


@dataclass
class PickGroup:
    """What to take from the shelf for one master SKU, and for which orders."""

    sku: str
    name: str
    mapped: bool
    quantity: int = 0
    lines: list[tuple[FulfillmentRequest, FulfilmentLine]] = field(default_factory=list)


def pick_list(*, target: FulfillmentTarget) -> tuple[list[FulfillmentRequest], list[PickGroup]]:
    """The target's pending requests, and their lines grouped by master SKU with the units to pick."""
    requests = list(pending_requests(target=target))
    lines = request_lines(requests)
    groups: dict[tuple[bool, str], PickGroup] = {}
    for request in requests:
        for line in lines.get(request.pk, []):
            mapped = line.master_sku is not None
            sku = line.master_sku if line.master_sku is not None else line.sku
            group = groups.setdefault(
                (mapped, sku), PickGroup(sku=sku, name=line.master_name or line.title, mapped=mapped)
            )
            group.quantity += line.master_quantity if line.master_quantity is not None else line.quantity
            group.lines.append((request, line))
    return requests, sorted(groups.values(), key=lambda group: (not group.mapped, group.sku))


def csv_batches(*, target: FulfillmentTarget, limit: int = 20) -> list[tuple[datetime, int]]:
    """The target's past CSV downloads (each marked its rows sent at one instant): (sent at, orders), newest first."""
    rows = (
        FulfillmentRequest.objects.filter(target=target, sent_at__isnull=False)
        .values("sent_at")
        .annotate(count=Count("pk"))
        .order_by("-sent_at")[:limit]
    )
    return [(row["sent_at"], row["count"]) for row in rows]


def csv_batch_requests(*, target: FulfillmentTarget, sent_at: datetime) -> QuerySet[FulfillmentRequest]:
    """The requests of one past CSV download, whatever happened to them since."""
    return (
        FulfillmentRequest.objects.filter(target=target, sent_at=sent_at)
        .select_related("order__store")
        .order_by("created_at", "pk")
    )


# --- routing rules ---------------------------------------------------------------------------------------


def active_routes(*, tenant_id: int) -> list[FulfillmentRoute]:
    """The tenant's rules to active targets (with the warehouse each ships from), in the order they are tried."""
    return list(
        FulfillmentRoute.objects.filter(tenant_id=tenant_id, target__active=True)
        .select_related("target__warehouse")
        .order_by("position", "pk")
    )


def route_for(
    order: Order, *, routes: Sequence[FulfillmentRoute] | None = None, skus: Iterable[str] | None = None
) -> FulfillmentRoute | None:
    """The first rule (by position) whose conditions all match the order — its store, its buyer country, any of
    its lines' channel SKUs; an empty condition matches anything. None: no route (it waits in the problems)."""
    candidates = active_routes(tenant_id=order.tenant_id) if routes is None else routes
    line_skus: set[str] | None = set(skus) if skus is not None else None
    country = (order.buyer_country or "").upper()
    for route in candidates:
        if route.store_id is not None and route.store_id != order.store_id:
            continue
        if route.countries and country not in route.countries:
            continue
        if route.skus:
            if line_skus is None:
                line_skus = set(OrderLine.objects.filter(order_id=order.pk).values_list("sku", flat=True))
            if not line_skus.intersection(route.skus):
                continue
        return route
    return None
