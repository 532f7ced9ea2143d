"""Refunds and returns ingest: pages of channel refunds / returns upserted idempotently, deduplicated, linked.

Deduplication. How two reports of one refund are recognised is the channel's declared `refund_identity`.
Most channels give each refund its own id that every report repeats (CHANNEL_ID): the key is
``<platform>|<refund id>``. Amazon reports one refund twice (ORDER_POSTING_TOTAL): Finances v0 (a
RefundEvent, item-level, source ``finances_v0``) and Finances 2024-06-19 (a ``Refund`` transaction, source
``transactions``). Neither carries the other's id: v0 has no refund id at all, the transaction has a
REFUND_ID that v0 never shows. What both carry, for the same posting, is the order id, the posting time and
the signed net total (every component, fees included). So that key is ``<platform>|<order id>|<posted, to
the second, UTC>|<net total quantised to the currency>``: stable across re-reads of either API, and two
different refunds of one order would need the same second and the same net amount to collide (Amazon posts
one refund per adjustment). The v0 copy wins for the money and the lines (it has OrderAdjustmentItemId and
every charge per item); the transaction only adds itself to ``sources`` (and its REFUND_ID as the refund's
id).

Waiting for the order. A refund or return whose order is not imported yet keeps ``order=None`` and its
``order_external_id``; ``link_waiting_for_orders`` (registered with orders.hooks in RefundsConfig.ready()) links them
when the order arrives. Partial refunds add up; when a channel's refunds of an order add up to more than
the order total the refunds get ``review_reason="exceeds_order"`` (the channel's fact is kept, not refused).

Returns are one row per SKU. FBA returns are restocked by Amazon (``restock_state=by_channel``); an FBA
return without carrier tracking needs review (``review_reason="no_tracking"``), it is not "unprocessed". A
return and a refund of the same order and SKU are linked from whichever side arrives second; a refund with
no words of its own takes its return's comment and reason code.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from acorn.money import quantize_amount
from channels.adapters.base import (
    ChannelAdapter,
    ExternalRefund,
    ExternalReturn,
    FulfillmentChannel,
    RefundExecuting,
    RefundExecutionMode,
    RefundFetching,
    RefundIdentity,
    ReturnFetching,
    ReturnState,
    UnknownChannel,
)
from channels.adapters.registry import adapter_class_for
from channels.models import Store
from channels.sync import PersistCounts
from inventory.selectors import mapping_resolve
from orders.models import Order, OrderLine
from refunds.listeners import refunds_money_changed
from refunds.models import (
    Refund,
    RefundLine,
    RefundOrigin,
    RefundSource,
    RefundStatus,
    RestockState,
    Return,
    ReturnSource,
    ReturnStatus,
    ServiceNoticeKind,
)
from refunds.monitoring import RETURN_REQUEST_SOURCES, after_refunds_page, service_notices_add
from refunds.rates import rollup_refresh_for_refunds
from refunds.rules import classify_refund, classify_return
from refunds.services import refund_totals_fill

logger = logging.getLogger(__name__)

EXCEEDS_ORDER = "exceeds_order"
NO_TRACKING = "no_tracking"

# ExternalRefund.source (what the adapter read) → RefundSource.
_SOURCES: dict[str, str] = {
    "finances_v0": RefundSource.AMAZON_FINANCES,
    "transactions": RefundSource.AMAZON_TRANSACTIONS,
    "shopify": RefundSource.SHOPIFY,
    "woocommerce": RefundSource.WOOCOMMERCE,
}
# Which source's money and lines a refund keeps when two describe it (higher wins).
_DETAIL_RANK: dict[str, int] = {RefundSource.AMAZON_TRANSACTIONS: 1}
# ReturnFetching.return_source (what the channel's return is) → ReturnSource.
_RETURN_SOURCES: dict[str, str] = {
    "amazon_fba": ReturnSource.AMAZON_FBA,
    "amazon_mfn": ReturnSource.AMAZON_MFN,
    "shopify": ReturnSource.SHOPIFY,
    "woocommerce": ReturnSource.WOOCOMMERCE,
}

REFUND_FIELDS = [
    "order",
    "order_external_id",
    "marketplace",
    "external_id",
    "sources",
    "currency",
    *Refund.COMPONENT_FIELDS.values(),
    "amount",
    "net_amount",
    "reporting_currency",
    "reporting_amount",
    "fx_rate",
    "fx_rate_date",
    "fx_rate_source",
    "refunded_at",
    "reason_code",
    "reason_text",
    "customer_comment",
    "raw",
    "updated_at",
]


# --- helpers ---------------------------------------------------------------------------------------------


def _field_max(model: type[Any], name: str) -> int:
    return int(model._meta.get_field(name).max_length)


def _cut(model: type[Any], name: str, value: str) -> str:
    return (value or "")[: _field_max(model, name)]


def _q(amount: Decimal, currency: str) -> Decimal:
    return quantize_amount(amount, currency)


def _jsonable(value: Any) -> Any:
    """A DTO as plain JSON (Decimal and datetimes as text), to keep what the channel said in `raw`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _channel(store: Store) -> type[ChannelAdapter] | None:
    """The adapter class of the store's channel (its declarations), None for a platform ACORN has none for."""
    try:
        return adapter_class_for(store.platform)
    except UnknownChannel:
        return None


def _executed_by_submission(store: Store) -> bool:
    """Whether ACORN's refunds on this channel go out as submissions, whose outcome the channel reports
    without ACORN's ids (so the refunds sync recognises them by order and amount, not by the channel's id)."""
    channel = _channel(store)
    return (
        channel is not None
        and issubclass(channel, RefundExecuting)
        and channel.refund_execution_mode == RefundExecutionMode.SUBMISSION
    )


def refund_source(store: Store, incoming: ExternalRefund) -> str:
    """The RefundSource of an incoming refund (by what the adapter says it read, else the channel's own)."""
    channel = _channel(store)
    default = channel.refund_source if channel is not None and issubclass(channel, RefundFetching) else ""
    return _SOURCES.get(incoming.source) or _SOURCES.get(default, RefundSource.SHOPIFY)


def refund_dedupe_key(store: Store, incoming: ExternalRefund) -> str:
    """The key two reports of the same refund share (see the module docstring)."""
    channel = _channel(store)
    identity = channel.refund_identity if channel is not None and issubclass(channel, RefundFetching) else None
    if identity == RefundIdentity.ORDER_POSTING_TOTAL:
        posted = incoming.posted_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        total = _q(incoming.total_amount, incoming.currency)
        return f"{store.platform}|{incoming.order_id}|{posted}|{total}"[:200]
    return f"{store.platform}|{incoming.external_id}"[:200]


def _orders_by_id(store: Store, external_ids: Iterable[str]) -> dict[str, Order]:
    ids = sorted({external_id for external_id in external_ids if external_id})
    return {order.external_id: order for order in Order.objects.filter(store=store, external_id__in=ids)}


class _Products:
    """SKU → master product of the store (cached for one page)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, Any] = {}

    def get(self, sku: str) -> Any:
        if not sku:
            return None
        if sku not in self.cache:
            resolved = mapping_resolve(store=self.store, sku=sku)
            self.cache[sku] = resolved.product if resolved is not None else None
        return self.cache[sku]


# --- refunds ---------------------------------------------------------------------------------------------


class BadRefund(ValueError):
    """A refund the channel sent that cannot be stored as it is."""


def _validate_refund(incoming: ExternalRefund) -> None:
    if not incoming.order_id:
        raise BadRefund("order id: missing")
    if not incoming.currency or len(incoming.currency) != 3:
        raise BadRefund(f"currency: {incoming.currency!r} is not an ISO 4217 code")
    if incoming.posted_at.tzinfo is None:
        raise BadRefund("posted time: not timezone-aware")
    for line in incoming.lines:
        if line.quantity < 0:
            raise BadRefund(f"line {line.sku or line.order_item_id}: negative quantity")


def _own_words(incoming: ExternalRefund, source: str) -> tuple[str, str]:
    """(reason text, the buyer's words) the refund itself carries. A WooCommerce refund's `reason` is the only
    explanation the shop has (typed when refunding, often the buyer's words): it is both."""
    reason = (incoming.reason or incoming.note or "").strip()
    comment = incoming.reason.strip() if source == RefundSource.WOOCOMMERCE else ""
    return reason, comment


def _apply_detail(refund: Refund, incoming: ExternalRefund, source: str, order: Order | None) -> None:
    currency = incoming.currency.upper()
    refund.order = order if order is not None else refund.order
    refund.order_external_id = _cut(Refund, "order_external_id", incoming.order_id)
    marketplace = incoming.marketplace or (order.marketplace if order is not None else "")
    refund.marketplace = _cut(Refund, "marketplace", marketplace)
    refund.currency = currency
    refund.refunded_at = incoming.posted_at
    refund.set_components({name: _q(amount, currency) for name, amount in incoming.component_totals().items()})
    reason, comment = _own_words(incoming, source)
    refund.reason_text = _cut(Refund, "reason_text", reason)
    refund.raw["detail"] = source
    refund.raw["own_comment"] = comment
    if comment:
        refund.customer_comment = comment


def _line_rows(refund: Refund, incoming: ExternalRefund, order: Order | None, products: _Products) -> list[RefundLine]:
    currency = incoming.currency.upper()
    order_lines: list[OrderLine] = list(order.lines.all()) if order is not None else []
    rows = []
    for line in incoming.lines:
        row = RefundLine(
            tenant_id=refund.tenant_id,
            refund=refund,
            order_item_id=_cut(RefundLine, "order_item_id", line.order_item_id),
            adjustment_id=_cut(RefundLine, "adjustment_id", line.adjustment_id),
            sku=_cut(RefundLine, "sku", line.sku),
            quantity=max(line.quantity, 0),
        )
        totals = dict.fromkeys(Refund.COMPONENT_FIELDS, Decimal(0))
        for name, amount in line.components:
            totals[name] = totals.get(name, Decimal(0)) + amount
        row.set_components({name: _q(amount, currency) for name, amount in totals.items()})
        row.order_line = _order_line_for(order_lines, row.order_item_id, row.sku)
        row.product = products.get(row.sku)
        rows.append(row)
    return rows


def _order_line_for(lines: Sequence[OrderLine], order_item_id: str, sku: str) -> OrderLine | None:
    if order_item_id:
        found = next((line for line in lines if line.external_id == order_item_id), None)
        if found is not None:
            return found
    if sku:
        return next((line for line in lines if line.sku == sku), None)
    return None


@transaction.atomic
def refund_upsert_page(*, store: Store, refunds: Sequence[ExternalRefund]) -> PersistCounts:
    """Create new refunds, update the ones the channel changed, merge a second source of a known refund, skip
    the rest; link returns and orders; classify what changed. Running it twice changes nothing."""
    keyed: list[tuple[str, str, ExternalRefund]] = []
    skipped = 0
    for incoming in refunds:
        try:
            _validate_refund(incoming)
        except BadRefund as error:
            # The adapters quarantine malformed records; one that still slips through is logged and left out.
            logger.warning(
                "refund_skipped", extra={"store_id": store.pk, "refund": incoming.external_id, "why": str(error)}
            )
            skipped += 1
            continue
        keyed.append((refund_dedupe_key(store, incoming), refund_source(store, incoming), incoming))
    existing = {
        refund.dedupe_key: refund
        for refund in Refund.objects.filter(store=store, dedupe_key__in=[key for key, _, _ in keyed])
        .order_by("pk")
        .select_for_update()
    }
    orders = _orders_by_id(store, [incoming.order_id for _, _, incoming in keyed])
    products = _Products(store)
    now = timezone.now()
    created = updated = 0
    touched: dict[int, Refund] = {}
    for key, source, incoming in keyed:
        seen = _jsonable(incoming)
        refund = existing.get(key)
        order = orders.get(incoming.order_id)
        if refund is None:
            requested = _console_request_for(store, incoming, key)
            if requested is not None:
                existing[key] = requested
                touched[requested.pk] = requested
                updated += 1
                continue
            refund = Refund(
                tenant_id=store.tenant_id,
                store=store,
                dedupe_key=key,
                external_id=_cut(Refund, "external_id", incoming.external_id),
                origin=RefundOrigin.CHANNEL,
                status=RefundStatus.SUCCEEDED,
                sources=[source],
                raw={"sources": {source: seen}},
                created_at=now,
                updated_at=now,
            )
            refund.tenant = store.tenant
            _apply_detail(refund, incoming, source, order)
            lines = _line_rows(refund, incoming, order, products)
            refund_totals_fill(refund, lines)
            refund.save()
            RefundLine.objects.bulk_create(lines)
            existing[key] = refund
            touched[refund.pk] = refund
            created += 1
            continue
        raw_sources = dict(refund.raw.get("sources") or {})
        if raw_sources.get(source) == seen and source in refund.sources:
            skipped += 1
            continue
        raw_sources[source] = seen
        refund.raw = {**refund.raw, "sources": raw_sources}
        if source not in refund.sources:
            refund.sources = sorted({*refund.sources, source})
        if source == RefundSource.AMAZON_TRANSACTIONS and incoming.external_id:
            refund.external_id = _cut(Refund, "external_id", incoming.external_id)  # Amazon's REFUND_ID
        current = refund.raw.get("detail") or ""
        if refund.origin == RefundOrigin.CHANNEL and _DETAIL_RANK.get(source, 2) >= _DETAIL_RANK.get(current, 2):
            refund.tenant = store.tenant
            _apply_detail(refund, incoming, source, order)
            lines = _line_rows(refund, incoming, order, products)
            refund_totals_fill(refund, lines)
            refund.lines.all().delete()
            RefundLine.objects.bulk_create(lines)
        refund.updated_at = now
        refund.save(update_fields=REFUND_FIELDS)
        touched[refund.pk] = refund
        updated += 1
    for refund in touched.values():
        _link_returns_to_refund(refund)
    _mark_exceeding(store, {refund.order_external_id for refund in touched.values()})
    flagged: list[int] = []
    for refund in touched.values():
        refund.refresh_from_db()
        if "flagged_for_service" in classify_refund(refund) and refund.flagged_for_service:
            flagged.append(refund.pk)
    rollup_refresh_for_refunds(store=store, refunds=touched.values())  # refund rates: refund and order days
    refunds_money_changed(tenant_id=store.tenant_id, refund_ids=list(touched))  # profit
    after_refunds_page(store=store, refund_ids=list(touched), flagged_ids=flagged)  # alerts, customer service
    return PersistCounts(created=created, updated=updated, skipped=skipped)


def _console_request_for(store: Store, incoming: ExternalRefund, key: str) -> Refund | None:
    """A refund requested in ACORN and executed on the channel comes back in the channel's refunds: it is that
    request, not a second refund. Matched by the channel's refund id (Shopify, WooCommerce), or for Amazon (an
    order adjustment feed names no refund id) by the order, currency and amount given back. The request keeps its
    money and status (the execution records them); it gains the channel's copy and, for Amazon, the key that
    the second Amazon report of it will find. Saves; None when it is no request of ours."""
    requests = Refund.objects.filter(store=store, origin=RefundOrigin.CONSOLE).select_for_update()
    by_amount = _executed_by_submission(store)
    if by_amount:
        given_back = -sum(
            (amount for name, amount in incoming.component_totals().items() if name in Refund.BUYER_COMPONENTS),
            Decimal(0),
        )
        candidates = requests.filter(
            order_external_id=incoming.order_id,
            status__in=[RefundStatus.EXECUTING, RefundStatus.SUCCEEDED],
            currency=incoming.currency.upper(),
            amount=_q(given_back, incoming.currency),
        ).order_by("pk")
        # Not yet seen in a channel source (as refunds.execution.console_refund_for_channel, which matches
        # SUCCEEDED only: a feed's refund can post before ACORN has read the feed's processing report).
        found = next((refund for refund in candidates if set(refund.sources) <= {RefundSource.CONSOLE}), None)
    else:
        found = requests.filter(channel_refund_id=incoming.external_id).order_by("pk").first()
    if found is None:
        return None
    source = refund_source(store, incoming)
    raw = dict(found.raw or {})
    raw["sources"] = {**(raw.get("sources") or {}), source: _jsonable(incoming)}
    found.raw = raw
    found.sources = sorted({*found.sources, source})
    found.dedupe_key = key if by_amount else found.dedupe_key
    found.updated_at = timezone.now()
    found.save(update_fields=["raw", "sources", "dedupe_key", "updated_at"])
    return found


def _link_returns_to_refund(refund: Refund) -> None:
    """Link the order's unlinked returns of the refund's SKUs to it; adopt a return's words if it has none."""
    skus = {sku for sku in refund.lines.values_list("sku", flat=True) if sku}
    if skus:
        Return.objects.filter(
            store_id=refund.store_id, order_external_id=refund.order_external_id, sku__in=skus, refund__isnull=True
        ).update(refund=refund, updated_at=timezone.now())
    _adopt_return_words(refund)


def _adopt_return_words(refund: Refund) -> bool:
    """A refund with no words of its own takes its (first) linked return's comment and reason code. Saves;
    True when something changed."""
    if (refund.raw or {}).get("own_comment"):
        return False
    linked = list(Return.objects.filter(refund=refund).order_by("returned_at", "pk"))
    if not linked:
        return False
    worded = next((record for record in linked if record.customer_comment), linked[0])
    coded = next((record for record in linked if record.reason_code), linked[0])
    comment, code = worded.customer_comment, _cut(Refund, "reason_code", coded.reason_code)
    if (refund.customer_comment, refund.reason_code) == (comment, code):
        return False
    refund.customer_comment, refund.reason_code = comment, code
    refund.updated_at = timezone.now()
    refund.save(update_fields=["customer_comment", "reason_code", "updated_at"])
    return True


def _mark_exceeding(store: Store, order_ids: set[str], orders: dict[str, Order] | None = None) -> None:
    """Flag (or clear) `exceeds_order` on the channel refunds of each known order, by whether together they
    give back more than the order's total (a few statements for any number of orders). `orders`: these
    orders by external id when the caller has read them."""
    if not order_ids:
        return
    if orders is None:
        orders = _orders_by_id(store, order_ids)
    # Every refund the channel made: its own, and requests of ours it executed (the same money, counted once).
    channel_refunds = Refund.objects.filter(
        store=store, status=RefundStatus.SUCCEEDED, order_external_id__in=list(orders)
    )
    sums = {
        (row["order_external_id"], row["currency"]): row["total"]
        for row in channel_refunds.values("order_external_id", "currency").annotate(total=Sum("amount")).order_by()
    }
    refunded = {external_id for external_id, _currency in sums}
    exceeded = [
        external_id
        for external_id, order in orders.items()
        if (total := sums.get((external_id, order.currency))) is not None and total > order.total_amount
    ]
    if exceeded:
        channel_refunds.filter(order_external_id__in=exceeded, review_reason="").update(review_reason=EXCEEDS_ORDER)
    within = [external_id for external_id in orders if external_id in refunded and external_id not in exceeded]
    if within:
        channel_refunds.filter(order_external_id__in=within, review_reason=EXCEEDS_ORDER).update(review_reason="")


# --- returns ---------------------------------------------------------------------------------------------

RETURN_FIELDS = [
    "order",
    "order_external_id",
    "source",
    "marketplace",
    "fulfillment_channel",
    "sku",
    "asin",
    "product",
    "title",
    "quantity",
    "status",
    "channel_status",
    "reason_code",
    "customer_comment",
    "disposition",
    "fulfillment_center",
    "license_plate_number",
    "rma",
    "carrier",
    "tracking_number",
    "returned_at",
    "received_at",
    "review_reason",
    "raw",
]
# ReturnState (what a channel's return status means) → ReturnStatus.
_RETURN_STATUSES: dict[str, str] = {
    ReturnState.REQUESTED: ReturnStatus.REQUESTED,
    ReturnState.IN_TRANSIT: ReturnStatus.IN_TRANSIT,
    ReturnState.RECEIVED: ReturnStatus.RECEIVED,
    ReturnState.CLOSED: ReturnStatus.CLOSED,
    ReturnState.DECLINED: ReturnStatus.DECLINED,
}


def _return_reader(store: Store) -> type[ReturnFetching]:
    """What the store's channel declares about its returns (a channel that reports none: the common words)."""
    channel = _channel(store)
    return channel if channel is not None and issubclass(channel, ReturnFetching) else ReturnFetching


def return_status(store: Store, incoming: ExternalReturn) -> str:
    """The ReturnStatus of a channel return, as its channel reads its own status words."""
    return _RETURN_STATUSES[_return_reader(store).return_state(incoming)]


def return_source(store: Store, incoming: ExternalReturn) -> str:
    reader = _return_reader(store)
    kind = reader.return_source(incoming) if reader is not ReturnFetching else store.platform
    return _RETURN_SOURCES.get(kind, ReturnSource.SHOPIFY)


def return_key(store: Store, incoming: ExternalReturn) -> str:
    """The (store-unique) id of one SKU of a return (an Amazon RMA can cover several SKUs: its key adds it)."""
    return _return_reader(store).return_key(incoming)


class BadReturn(ValueError):
    """A return the channel sent that cannot be stored as it is."""


def _return_values(store: Store, incoming: ExternalReturn, order: Order | None, products: _Products) -> dict[str, Any]:
    if not incoming.order_id:
        raise BadReturn("order id: missing")
    if not incoming.sku:
        raise BadReturn("sku: missing")
    if incoming.quantity < 0:
        raise BadReturn("quantity: negative")
    fba = incoming.fulfillment_channel == FulfillmentChannel.FBA  # FBA returns are the channel's to restock
    marketplace = incoming.marketplace or (order.marketplace if order is not None else "")
    return {
        "order": order,
        "order_external_id": _cut(Return, "order_external_id", incoming.order_id),
        "source": return_source(store, incoming),
        "marketplace": _cut(Return, "marketplace", marketplace),
        "fulfillment_channel": _cut(Return, "fulfillment_channel", incoming.fulfillment_channel),
        "sku": _cut(Return, "sku", incoming.sku),
        "asin": _cut(Return, "asin", incoming.asin),
        "product": products.get(incoming.sku),
        "title": _cut(Return, "title", incoming.title),
        "quantity": incoming.quantity,
        "status": return_status(store, incoming),
        "channel_status": _cut(Return, "channel_status", incoming.status),
        "reason_code": _cut(Return, "reason_code", incoming.reason_code),
        "customer_comment": incoming.customer_comment.strip(),
        "disposition": _cut(Return, "disposition", incoming.disposition),
        "fulfillment_center": _cut(Return, "fulfillment_center", incoming.fulfillment_center),
        "license_plate_number": _cut(Return, "license_plate_number", incoming.license_plate_number),
        "rma": _cut(Return, "rma", incoming.rma),
        "carrier": _cut(Return, "carrier", incoming.carrier),
        "tracking_number": _cut(Return, "tracking_number", incoming.tracking_number),
        "returned_at": incoming.returned_at,
        "received_at": incoming.returned_at if fba else incoming.delivered_at,
        "raw": _jsonable(incoming),
    }


def _same(record: Return, name: str, value: Any) -> bool:
    if name in ("order", "product"):  # compare ids: no query per row
        return getattr(record, f"{name}_id") == (value.pk if value is not None else None)
    return bool(getattr(record, name) == value)


def _review_reason(current: str, *, fba: bool, tracking: str) -> str:
    """`no_tracking` for an FBA return without carrier tracking; other reasons a person or job set stay."""
    if fba and not tracking:
        return current or NO_TRACKING
    return "" if current == NO_TRACKING else current


@transaction.atomic
def return_upsert_page(*, store: Store, returns: Sequence[ExternalReturn]) -> PersistCounts:
    """Create new returns (one per SKU), update the ones the channel changed, skip the rest; link them to
    their order and refund; classify what changed. Restock decisions already taken are never touched."""
    latest: dict[str, ExternalReturn] = {}
    for incoming in returns:
        latest[return_key(store, incoming)] = incoming  # a repeated row: the last copy
    existing = {
        record.external_id: record
        for record in Return.objects.filter(store=store, external_id__in=list(latest))
        .order_by("pk")
        .select_for_update()
    }
    orders = _orders_by_id(store, [incoming.order_id for incoming in latest.values()])
    products = _Products(store)
    now = timezone.now()
    created = updated = skipped = 0
    touched: list[Return] = []
    requested: list[int] = []
    for key, incoming in latest.items():
        try:
            values = _return_values(store, incoming, orders.get(incoming.order_id), products)
        except BadReturn as error:
            logger.warning("return_skipped", extra={"store_id": store.pk, "return": key, "why": str(error)})
            skipped += 1
            continue
        fba = values["source"] == ReturnSource.AMAZON_FBA
        record = existing.get(key)
        if record is None:
            record = Return(
                tenant_id=store.tenant_id,
                store=store,
                external_id=key,
                restock_state=RestockState.BY_CHANNEL if fba else RestockState.PENDING,
                created_at=now,
                updated_at=now,
                **values,
            )
            record.review_reason = _review_reason("", fba=fba, tracking=record.tracking_number)
            record.save()
            created += 1
            touched.append(record)
            if record.source in RETURN_REQUEST_SOURCES:
                requested.append(record.pk)  # a return request: news for customer service
            continue
        if values["order"] is None:
            values["order"] = record.order  # linked meanwhile
        values["review_reason"] = _review_reason(record.review_reason, fba=fba, tracking=values["tracking_number"])
        if all(_same(record, name, value) for name, value in values.items()):
            skipped += 1
            continue
        for name, value in values.items():
            setattr(record, name, value)
        record.updated_at = now
        record.save(update_fields=[*RETURN_FIELDS, "updated_at"])
        updated += 1
        touched.append(record)
    for record in touched:
        _link_refund_to_return(record)
        classify_return(record)
    service_notices_add(tenant_id=store.tenant_id, kind=ServiceNoticeKind.RETURN_REQUEST, object_ids=requested)
    return PersistCounts(created=created, updated=updated, skipped=skipped)


def _link_refund_to_return(record: Return) -> None:
    """Link the return to the order's refund of its SKU (the earliest), and let that refund adopt its words."""
    if record.refund_id is None:
        refund = (
            Refund.objects.filter(
                store_id=record.store_id,
                order_external_id=record.order_external_id,
                origin=RefundOrigin.CHANNEL,
                lines__sku=record.sku,
            )
            .order_by("refunded_at", "pk")
            .first()
        )
        if refund is None:
            return
        record.refund, record.updated_at = refund, timezone.now()
        record.save(update_fields=["refund", "updated_at"])
    refund = Refund.objects.get(pk=record.refund_id)
    if _adopt_return_words(refund):
        classify_refund(refund)


# --- orders arriving late --------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def link_waiting_for_orders(*, store: Store, external_ids: Sequence[str]) -> set[str]:
    """Link the store's refunds and returns that waited for these orders (now imported). Returns the orders
    (external ids) that something was linked to. Most orders have nothing waiting: two narrow reads say so
    before any order is loaded. It runs inside the orders ingest's transaction, which a failure here rolls
    back whole: no savepoint (two statements a page)."""
    ids = sorted({external_id for external_id in external_ids if external_id})
    waited_for = set(
        Refund.objects.filter(store=store, order__isnull=True, order_external_id__in=ids).values_list(
            "order_external_id", flat=True
        )
    ) | set(
        Return.objects.filter(store=store, order__isnull=True, order_external_id__in=ids).values_list(
            "order_external_id", flat=True
        )
    )
    orders = _orders_by_id(store, waited_for)
    if not orders:
        return set()
    products = _Products(store)
    linked: set[str] = set()
    waiting = Refund.objects.filter(store=store, order__isnull=True, order_external_id__in=list(orders))
    for refund in waiting.order_by("pk").select_for_update():
        order = orders[refund.order_external_id]
        refund.order, refund.updated_at = order, timezone.now()
        if not refund.marketplace:
            refund.marketplace = order.marketplace
        refund.save(update_fields=["order", "marketplace", "updated_at"])
        order_lines = list(order.lines.all())
        for line in refund.lines.all():
            line.order_line = _order_line_for(order_lines, line.order_item_id, line.sku)
            line.product = line.product or products.get(line.sku)
            line.save(update_fields=["order_line", "product"])
        linked.add(refund.order_external_id)
    for record in Return.objects.filter(store=store, order__isnull=True, order_external_id__in=list(orders)):
        order = orders[record.order_external_id]
        record.order, record.updated_at = order, timezone.now()
        if not record.marketplace:
            record.marketplace = order.marketplace
        record.save(update_fields=["order", "marketplace", "updated_at"])
        linked.add(record.order_external_id)
    _mark_exceeding(store, set(orders), orders)
    return linked
