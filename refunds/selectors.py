"""Reads of refunds and returns for the console. Every query is scoped to the tenant; list queries stay
index-friendly (tenant + date) and are paged by keyset, never OFFSET.

The amount filter compares the amount in the tenant's reporting currency (`reporting_amount`), so that one
range means the same thing across stores selling in USD, EUR and JPY; a refund with no known rate has no
reporting amount and does not match an amount range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from acorn.tenancy.models import Tenant
from orders.selectors import SKU_SEARCH_CAP, number_spellings, order_number_ids
from refunds.models import Refund, RefundLine, Return

COUNT_CAP = 10_000
UNTAGGED = "untagged"  # tag filter: rows no code, keyword, rule or person has tagged yet
ANY_REASON = "any"  # return list: any open review reason


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def open_review(prefix: str = "") -> Q:
    """Rows with a review reason that nobody has marked reviewed yet (a new reason reopens the row)."""
    from django.db.models import F

    return ~Q(**{f"{prefix}review_reason": ""}) & ~Q(**{f"{prefix}review_reason": F(f"{prefix}reviewed_reason")})


@dataclass(frozen=True)
class RefundFilters:
    query: str = ""  # an order number (with or without "#", or its start) or a SKU
    status: str = ""
    tag: str = ""
    platform: str = ""
    store_id: int | None = None
    sku: str = ""
    amount_min: Decimal | None = None  # in the reporting currency
    amount_max: Decimal | None = None
    date_from: date | None = None  # refunded on or after (the console's time zone)
    date_to: date | None = None  # refunded on or before
    origin: str = ""
    needs_review: bool = False

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> RefundFilters:
        return cls(
            query=(data.get("q") or "").strip(),
            status=data.get("status") or "",
            tag=data.get("tag") or "",
            platform=data.get("platform") or "",
            store_id=data.get("store"),
            sku=(data.get("sku") or "").strip(),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            origin=data.get("origin") or "",
            needs_review=bool(data.get("needs_review")),
        )


def refund_list(*, tenant: Tenant, filters: RefundFilters | None = None) -> QuerySet[Refund]:
    """The tenant's refunds matching the filters (unordered: the caller pages them by a keyset)."""
    f = filters or RefundFilters()
    refunds = Refund.objects.filter(tenant=tenant).select_related("store")
    if f.status:
        refunds = refunds.filter(status=f.status)
    if f.tag == UNTAGGED:
        refunds = refunds.filter(tag="")
    elif f.tag:
        refunds = refunds.filter(tag=f.tag)
    if f.platform:
        refunds = refunds.filter(store__platform=f.platform)
    if f.store_id:
        refunds = refunds.filter(store_id=f.store_id)
    if f.sku:
        # Exact channel SKU of a refunded line, or the master SKU it maps to (the line SKU index finds them).
        refund_ids = RefundLine.objects.filter(tenant=tenant).filter(Q(sku=f.sku) | Q(product__sku=f.sku))
        refunds = refunds.filter(pk__in=refund_ids.values("refund_id"))
    if f.query:
        refunds = refunds.filter(pk__in=refund_search_ids(tenant=tenant, query=f.query))
    if f.amount_min is not None or f.amount_max is not None:
        refunds = refunds.filter(reporting_currency=tenant.reporting_currency)
    if f.amount_min is not None:
        refunds = refunds.filter(reporting_amount__gte=f.amount_min)
    if f.amount_max is not None:
        refunds = refunds.filter(reporting_amount__lte=f.amount_max)
    if f.date_from:
        refunds = refunds.filter(refunded_at__gte=_day_start(f.date_from))
    if f.date_to:
        refunds = refunds.filter(refunded_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.origin:
        refunds = refunds.filter(origin=f.origin)
    if f.needs_review:
        refunds = refunds.filter(open_review())
    return refunds


def _newest_refund_ids(refunds: QuerySet[Any], field: str = "pk") -> list[int]:
    return list(refunds.order_by(f"-{field}").values_list(field, flat=True)[:SKU_SEARCH_CAP])


def refund_search_ids(*, tenant: Tenant, query: str) -> list[int]:
    """The tenant's refunds the search box finds, newest first: those of an order whose number is `query`
    with or without "#" (the channel's order id, or the number the seller sees, such as Shopify's "#1001"),
    else of orders whose number starts with it; and those with a line whose channel SKU contains it or whose
    master SKU is it, in any case. A refund whose order is not imported yet is found by its order id."""
    query = query.strip()
    if not query:
        return []
    spellings = number_spellings(query)
    by_order = Refund.objects.filter(tenant=tenant)
    order_ids = order_number_ids(tenant=tenant, query=query)
    exact = _newest_refund_ids(by_order.filter(Q(order_id__in=order_ids) | Q(order_external_id__in=spellings)))
    if exact:
        return exact
    starts = Q()
    for spelling in spellings:
        starts |= Q(order_external_id__istartswith=spelling)
    found = set(_newest_refund_ids(by_order.filter(starts)))
    found.update(
        _newest_refund_ids(by_order.filter(order_id__in=order_number_ids(tenant=tenant, query=query, prefix=True)))
    )
    lines = RefundLine.objects.filter(tenant=tenant)
    for condition in (Q(sku__icontains=query), Q(product__sku__iexact=query)):  # apart: each its own index
        found.update(_newest_refund_ids(lines.filter(condition), "refund_id"))
    return sorted(found, reverse=True)


def refund_page_rows(refunds: QuerySet[Refund]) -> QuerySet[Refund]:
    """What a list page shows besides the refund itself: its lines (one query for the whole page)."""
    return refunds.prefetch_related(Prefetch("lines", queryset=RefundLine.objects.order_by("pk")))


def count_capped(rows: QuerySet[Any]) -> tuple[int, bool]:
    """How many rows match, counting at most COUNT_CAP + 1 of them: (count, more_than_cap)."""
    count = rows.order_by().values("pk")[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def refund_get_or_404(*, tenant: Tenant, pk: int) -> Refund:
    refund = (
        Refund.objects.filter(tenant=tenant, pk=pk)
        .select_related("store", "order", "matched_rule", "requested_by", "reviewed_by")
        .first()
    )
    if refund is None:
        raise Http404
    return refund


def refund_detail_lines(*, refund: Refund) -> list[RefundLine]:
    return list(refund.lines.select_related("product", "order_line").order_by("pk"))


def refund_related_returns(*, refund: Refund) -> list[Return]:
    """Returns linked to the refund, then returns of the same order not linked to any refund yet."""
    linked = Q(refund=refund)
    same_order = Q(store_id=refund.store_id, order_external_id=refund.order_external_id, refund__isnull=True)
    return list(Return.objects.filter(linked | same_order, tenant=refund.tenant_id).order_by("-returned_at", "-pk"))


@dataclass(frozen=True)
class ReturnFilters:
    status: str = ""
    tag: str = ""
    store_id: int | None = None
    source: str = ""
    review_reason: str = ""  # a code, or ANY_REASON for any open one
    sku: str = ""
    date_from: date | None = None  # returned on or after
    date_to: date | None = None

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> ReturnFilters:
        return cls(
            status=data.get("status") or "",
            tag=data.get("tag") or "",
            store_id=data.get("store"),
            source=data.get("source") or "",
            review_reason=(data.get("review_reason") or "").strip(),
            sku=(data.get("sku") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def return_list(*, tenant: Tenant, filters: ReturnFilters | None = None) -> QuerySet[Return]:
    """The tenant's returns matching the filters (unordered: the caller pages them by a keyset)."""
    f = filters or ReturnFilters()
    returns = Return.objects.filter(tenant=tenant).select_related("store")
    if f.status:
        returns = returns.filter(status=f.status)
    if f.tag == UNTAGGED:
        returns = returns.filter(tag="")
    elif f.tag:
        returns = returns.filter(tag=f.tag)
    if f.store_id:
        returns = returns.filter(store_id=f.store_id)
    if f.source:
        returns = returns.filter(source=f.source)
    if f.review_reason == ANY_REASON:
        returns = returns.filter(open_review())
    elif f.review_reason:
        returns = returns.filter(open_review(), review_reason=f.review_reason)
    if f.sku:
        returns = returns.filter(Q(sku=f.sku) | Q(product__sku=f.sku))
    if f.date_from:
        returns = returns.filter(returned_at__gte=_day_start(f.date_from))
    if f.date_to:
        returns = returns.filter(returned_at__lt=_day_start(f.date_to + timedelta(days=1)))
    return returns


def return_review_reasons(*, tenant: Tenant) -> list[str]:
    """The review reason codes the tenant's returns carry (for the filter)."""
    return list(
        Return.objects.filter(tenant=tenant)
        .exclude(review_reason="")
        .order_by("review_reason")
        .values_list("review_reason", flat=True)
        .distinct()
    )


def return_get_or_404(*, tenant: Tenant, pk: int) -> Return:
    record = (
        Return.objects.filter(tenant=tenant, pk=pk)
        .select_related("store", "order", "refund", "product", "restock_warehouse", "reviewed_by")
        .first()
    )
    if record is None:
        raise Http404
    return record
