"""Orders, order notes and order refunds of REST API v3.

GET /orders pages with `page` / `per_page` (at most 100) and answers X-WP-Total, X-WP-TotalPages and a
Link header; `modified_after` / `modified_before` / `after` / `before` are exclusive and read as the
site's local time unless they carry an offset or `dates_are_gmt=true`. Pages are offsets into a list
that keeps changing: under the hostile profile an order on an earlier page is sometimes modified while a
client pages through (it moves to the end when sorted by `modified`), which is why clients sort by
modified time and restart from the last one they saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.http import Response
from simulator.woocommerce.catalogue import LIST_STATUSES, ORDER_STATUSES, TRASH
from simulator.woocommerce.model import Order, OrderState
from simulator.woocommerce.paging import page_headers
from simulator.woocommerce.render import note_json, order_json, refund_json
from simulator.woocommerce.rest import (
    Call,
    WooError,
    bool_param,
    date_param,
    enum_param,
    id_list_param,
    int_param,
    invalid_param,
    list_param,
    missing_param,
    no_route,
    wp_response,
)

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

ORDERBY = ("date", "id", "include", "title", "slug", "modified")
WRITABLE_STATUSES = (*ORDER_STATUSES, "checkout-draft")


def _number(call: Call, name: str) -> int:
    raw = call.params[name]
    if not raw.isdigit():
        raise no_route()
    return int(raw)


def _order(context: WooContext, call: Call, status: int) -> Order:
    order = context.order(call.site, _number(call, "id"))
    if order is None:
        raise WooError(status, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    return order


def _parent_order(context: WooContext, call: Call) -> Order:
    order = context.order(call.site, _number(call, "order_id"))
    if order is None:
        raise WooError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
    return order


def _statuses(call: Call) -> list[str]:
    statuses = list_param(call, "status") or ["any"]
    for index, status in enumerate(statuses):
        if status not in LIST_STATUSES:
            allowed = ", ".join(LIST_STATUSES[:-1]) + f", and {LIST_STATUSES[-1]}"
            raise invalid_param("status", f"status[{index}] is not one of {allowed}.", "rest_not_in_enum")
    return statuses


def list_orders(context: WooContext, call: Call) -> Response:
    site = call.site
    profile = context.faults.profile
    page = int_param(call, "page", 1, 1) or 1
    per_page = int_param(call, "per_page", 10, 1, 100) or 10
    offset = int_param(call, "offset", None, 0)
    statuses = _statuses(call)
    in_gmt = bool_param(call, "dates_are_gmt", False)
    after, before = date_param(call, "after", gmt=in_gmt), date_param(call, "before", gmt=in_gmt)
    modified_after = date_param(call, "modified_after", gmt=in_gmt)
    modified_before = date_param(call, "modified_before", gmt=in_gmt)
    orderby = enum_param(call, "orderby", "date", ORDERBY)
    descending = enum_param(call, "order", "desc", ("asc", "desc")) == "desc"
    include, exclude = id_list_param(call, "include"), set(id_list_param(call, "exclude"))
    customer = int_param(call, "customer", None, 0)
    product = int_param(call, "product", None, 0)
    search = str(call.param("search") or "").strip().lower()

    def wanted(order: Order, state: OrderState) -> bool:
        if state.status == TRASH:
            if TRASH not in statuses:
                return False
        elif "any" not in statuses and state.status not in statuses:
            return False
        if (include and order.id not in include) or order.id in exclude:
            return False
        if after is not None and not order.created > after:
            return False
        if before is not None and not order.created < before:
            return False
        if modified_after is not None and not state.modified > modified_after:
            return False
        if modified_before is not None and not state.modified < modified_before:
            return False
        if customer is not None and order.customer_id != customer:
            return False
        if product and all(product not in (line.product_id, line.variation_id) for line in order.lines):
            return False
        if search:
            haystack = f"{order.id} {order.billing.first_name} {order.billing.last_name} {order.billing.email}"
            if search not in haystack.lower():
                return False
        return True

    def select() -> list[tuple[Order, OrderState]]:
        rows = [(order, state) for order, state in context.states(site) if wanted(order, state)]
        if orderby == "date":
            rows.sort(key=lambda row: (row[0].created, row[0].id), reverse=descending)
        elif orderby == "modified":
            rows.sort(key=lambda row: (row[1].modified, row[0].id), reverse=descending)
        elif orderby == "include" and include:
            rows.sort(key=lambda row: include.index(row[0].id))
        else:
            rows.sort(key=lambda row: row[0].id, reverse=descending)
        return rows

    rows = select()
    start = offset if offset is not None else (page - 1) * per_page
    earlier = min(start, len(rows))
    if earlier and profile.duplicate_page_rate > 0 and context.faults.chance(profile.duplicate_page_rate):
        victim = rows[context.faults.randint(0, earlier - 1)][0]
        context.touch_order(site, victim)
        rows = select()
    body = [
        order_json(site, call.site_url, order, state, malformed=profile.malformed_records)
        for order, state in rows[start : start + per_page]
    ]
    return wp_response(body, headers=page_headers(call, len(rows), page, per_page))


def get_order(context: WooContext, call: Call) -> Response:
    order = _order(context, call, 404)
    state = order.state_at(context.now())
    return wp_response(
        order_json(call.site, call.site_url, order, state, malformed=context.faults.profile.malformed_records)
    )


def update_order(context: WooContext, call: Call) -> Response:
    order = _order(context, call, 400)
    assert call.key is not None
    status = call.param("status")
    if status is not None and status not in WRITABLE_STATUSES:
        allowed = ", ".join(WRITABLE_STATUSES[:-1]) + f", and {WRITABLE_STATUSES[-1]}"
        raise invalid_param("status", f"status is not one of {allowed}.", "rest_not_in_enum")
    meta = call.param("meta_data")
    if meta is not None and not (isinstance(meta, list) and all(isinstance(entry, dict) for entry in meta)):
        raise invalid_param("meta_data", "meta_data is not of type array.", "rest_invalid_type")
    customer_note = call.param("customer_note")
    transaction_id = call.param("transaction_id")
    context.update_order(
        call.site,
        order,
        key=call.key,
        status=status or None,
        meta=meta,
        customer_note=str(customer_note) if customer_note is not None else None,
        transaction_id=str(transaction_id) if transaction_id is not None else None,
        set_paid=bool_param(call, "set_paid", False),
    )
    state = order.state_at(context.now())
    return wp_response(
        order_json(call.site, call.site_url, order, state, malformed=context.faults.profile.malformed_records)
    )


def list_notes(context: WooContext, call: Call) -> Response:
    order = _parent_order(context, call)
    kind = enum_param(call, "type", "any", ("any", "customer", "internal"))
    notes = [
        note
        for note in reversed(order.notes_at(context.now()))
        if kind == "any" or (kind == "customer") == note.customer_note
    ]
    return wp_response([note_json(call.site, call.site_url, order, note) for note in notes])


def create_note(context: WooContext, call: Call) -> Response:
    order = _parent_order(context, call)
    assert call.key is not None
    text = call.param("note")
    if text is None or text == "":
        raise missing_param("note")
    note = context.add_note(
        call.site,
        order,
        str(text),
        customer_note=bool_param(call, "customer_note", False),
        added_by_user=bool_param(call, "added_by_user", False),
        key=call.key,
    )
    return wp_response(note_json(call.site, call.site_url, order, note), 201)


def list_refunds(context: WooContext, call: Call) -> Response:
    page = int_param(call, "page", 1, 1) or 1
    per_page = int_param(call, "per_page", 10, 1, 100) or 10
    order = context.order(call.site, _number(call, "order_id"))
    refunds: list[Any] = []
    if order is not None:
        state = order.state_at(context.now())
        refunds = sorted(state.refunds, key=lambda refund: (refund.created, refund.id), reverse=True)
    start = (page - 1) * per_page
    body = (
        [refund_json(call.site, call.site_url, order, refund) for refund in refunds[start : start + per_page]]
        if order
        else []
    )
    return wp_response(body, headers=page_headers(call, len(refunds), page, per_page))


def get_refund(context: WooContext, call: Call) -> Response:
    order = _parent_order(context, call)
    refund_id = _number(call, "id")
    state = order.state_at(context.now())
    refund = next((refund for refund in state.refunds if refund.id == refund_id), None)
    if refund is None:
        raise WooError(404, "woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")
    return wp_response(refund_json(call.site, call.site_url, order, refund))


def create_refund(context: WooContext, call: Call) -> Response:
    order = _parent_order(context, call)
    assert call.key is not None
    refund = context.create_refund(call.site, order, call.body(), call.key)
    return wp_response(refund_json(call.site, call.site_url, order, refund), 201)
