"""Orders and the stock pool: which warehouse serves an order's lines (one decision, used by allocation,
routing, shipments and restock), the lines' stock kept in step with their orders, and their stock state kept
from inventory's allocations (inventory tells, orders listen).

The decision (`order_warehouses`): an order sent to a fulfilment target is served by that target's warehouse;
an order not sent yet by the warehouse of the target its first matching routing rule names; otherwise (no
rule matches, or the target names no warehouse) by none in particular — inventory then takes the first own or
third-party warehouse that holds the whole line. Inventory reserves there, a shipment takes the stock from
there, a return goes back there. When the decision changes (a rule was added, changed or reordered before the
order was sent), what the order's lines hold moves with it (`orders_follow_routes`, and the queueing itself in
`orders.fulfilment.fulfilment_queue_orders`): released in the old warehouse and reserved in the new one, or
backordered — and the order flagged — when the new one is short.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Value, When

from channels.adapters.base import ExternalOrder
from channels.models import Store
from inventory.allocation import (
    LINE_REF_PREFIX,
    AllocationContext,
    allocate_orders,
    allocations_drop,
    line_ref,
    stock_lock_for,
)
from inventory.models import AllocationState, LineAllocation, Warehouse
from orders.fulfilment.selectors import OPEN_STATUSES, active_routes, route_for
from orders.models import (
    FulfillmentChannel,
    FulfillmentRequest,
    FulfillmentRoute,
    FulfillmentTarget,
    Order,
    OrderLine,
    StockProblem,
)

# Rule changes re-decide at most this many waiting orders at once (the oldest first); the rest follow when
# they change or are queued.
FOLLOW_LIMIT = 2000


def target_warehouse(target: FulfillmentTarget | None) -> Warehouse | None:
    """The warehouse a fulfilment target ships from (None: no target, or one without a warehouse)."""
    return target.warehouse if target is not None else None


def order_warehouses(
    *,
    orders: Sequence[Order],
    routes: Sequence[FulfillmentRoute] | None = None,
    lines: Mapping[int, Sequence[OrderLine]] | None = None,
) -> dict[int, Warehouse | None]:
    """Order pk → the warehouse that serves its merchant-fulfilled lines (see the module docstring). `lines`:
    the orders' lines by order pk when the caller holds them (else they are read)."""
    merchant = [order for order in orders if order.fulfillment_channel == FulfillmentChannel.MERCHANT]
    if not merchant:
        return {}
    sent = {
        request.order_id: request.target
        for request in FulfillmentRequest.objects.filter(order_id__in=[order.pk for order in merchant]).select_related(
            "target__warehouse"
        )
    }
    skus: dict[int, set[str]] = {}
    if lines is not None:
        for order in merchant:
            skus[order.pk] = {line.sku for line in lines.get(order.pk, [])}
    else:
        for order_id, sku in OrderLine.objects.filter(order_id__in=[order.pk for order in merchant]).values_list(
            "order_id", "sku"
        ):
            skus.setdefault(order_id, set()).add(sku)
    decided: dict[int, Warehouse | None] = {}
    for order in merchant:
        target = sent.get(order.pk)
        if target is None:
            if routes is None:
                routes = active_routes(tenant_id=order.tenant_id)
            route = route_for(order, routes=routes, skus=skus.get(order.pk, set()))
            target = route.target if route is not None else None
        decided[order.pk] = target_warehouse(target)
    return decided


def order_page_stock_lock(*, store: Store, incoming: Iterable[ExternalOrder]) -> AllocationContext | None:
    """Before the ingest locks a page's orders: lock the stock levels its lines may touch (what the known lines
    hold, what the incoming SKUs resolve to), in pk order, so that a concurrent release serving one of these
    orders' backorders never waits on the order while holding the stock this page needs. Returns the context
    for `orders_allocate` (the SKUs resolved; nothing to lock again), or None where nothing was locked."""
    incoming = list(incoming)
    if not incoming or not connection.features.has_select_for_update:
        return None  # nothing to lock, or SQLite (one writer at a time)
    known = OrderLine.objects.filter(
        tenant_id=store.tenant_id, order__store=store, order__external_id__in=[order.external_id for order in incoming]
    ).values_list("pk", flat=True)
    return stock_lock_for(
        store=store,
        line_refs=[f"{LINE_REF_PREFIX}{pk}" for pk in known],
        skus=[(line.sku, line.channel_product_id[:60]) for order in incoming for line in order.lines],
    )


def orders_allocate(
    *,
    store: Store,
    orders: Sequence[Order],
    lines: Mapping[int, Sequence[OrderLine]] | None = None,
    locked: AllocationContext | None = None,
) -> None:
    """The ingest's stock step: every merchant line of these orders in step with its order, served from the
    warehouse the decision names (inside the ingest's transaction). `lines`: every line of these orders by
    order pk, as the ingest just stored them (else they are read); `locked`: what `order_page_stock_lock`
    returned for the page."""
    merchant = [order.pk for order in orders if order.fulfillment_channel == FulfillmentChannel.MERCHANT]
    if not merchant:
        return
    if lines is None:
        read: dict[int, list[OrderLine]] = {}
        for line in OrderLine.objects.filter(order_id__in=merchant).order_by("pk"):
            read.setdefault(line.order_id, []).append(line)
        lines = read
    allocate_orders(
        store=store,
        orders=orders,
        warehouses=order_warehouses(orders=orders, lines=lines),
        lines=lines,
        locked=locked,
    )


def order_stock_follow(*, order: Order, warehouse: Warehouse | None) -> bool:
    """Make the order's lines hold their stock in `warehouse` (its target's), moving what they hold when they
    hold it elsewhere. True when every line then holds all it needs there; False when the warehouse is short
    (the lines are backordered and the order flagged: it must not be sent there)."""
    refs = {line_ref(line): line for line in OrderLine.objects.filter(order=order)}
    warehouses = dict(
        LineAllocation.objects.filter(tenant_id=order.tenant_id, line_ref__in=list(refs)).values_list(
            "line_ref", "warehouse_id"
        )
    )
    wanted = warehouse.pk if warehouse is not None else None
    if all(warehouses.get(ref) == wanted for ref in refs):
        return True
    allocate_orders(store=order.store, orders=[order], warehouses={order.pk: warehouse})
    states = set(OrderLine.objects.filter(order=order).values_list("stock_state", flat=True))
    return states == {AllocationState.RESERVED}


def orders_stock_follow(*, pairs: Sequence[tuple[Order, Warehouse | None]]) -> list[bool]:
    """`order_stock_follow` for many orders at once: orders whose lines already hold their stock in the wanted
    warehouse (the usual case: the ingest reserved them where the same rules point) are told so from two
    reads; the others move one by one."""
    if not pairs:
        return []
    refs: dict[int, list[str]] = {}
    for pk, order_id in OrderLine.objects.filter(order_id__in=[order.pk for order, _w in pairs]).values_list(
        "pk", "order_id"
    ):
        refs.setdefault(order_id, []).append(f"{LINE_REF_PREFIX}{pk}")
    where = dict(
        LineAllocation.objects.filter(
            tenant_id=pairs[0][0].tenant_id, line_ref__in=[ref for order_refs in refs.values() for ref in order_refs]
        ).values_list("line_ref", "warehouse_id")
    )
    followed: list[bool] = []
    for order, warehouse in pairs:
        wanted = warehouse.pk if warehouse is not None else None
        if all(where.get(ref) == wanted for ref in refs.get(order.pk, [])):
            followed.append(True)
        else:
            followed.append(order_stock_follow(order=order, warehouse=warehouse))
    return followed


def orders_follow_routes(*, tenant_id: int) -> int:
    """Routing rules or targets changed: open merchant orders not sent anywhere yet, whose lines hold (or wait
    for) stock, move it to the warehouse the rules now name. Returns how many orders moved."""
    has_request = FulfillmentRequest.objects.filter(order=OuterRef("pk"))
    holding = OrderLine.objects.filter(
        order=OuterRef("pk"), stock_state__in=[AllocationState.RESERVED, AllocationState.BACKORDERED]
    )
    orders = list(
        Order.objects.filter(
            tenant_id=tenant_id, fulfillment_channel=FulfillmentChannel.MERCHANT, status__in=list(OPEN_STATUSES)
        )
        .exclude(Exists(has_request))
        .filter(Exists(holding))
        .select_related("store")
        .order_by("purchased_at", "pk")[:FOLLOW_LIMIT]
    )
    if not orders:
        return 0
    decided = order_warehouses(orders=orders, routes=active_routes(tenant_id=tenant_id))
    lines = list(OrderLine.objects.filter(order__in=orders).values_list("pk", "order_id"))
    current: dict[int, set[int | None]] = {}
    where = dict(
        LineAllocation.objects.filter(
            tenant_id=tenant_id, line_ref__in=[f"{LINE_REF_PREFIX}{pk}" for pk, _order in lines]
        ).values_list("line_ref", "warehouse_id")
    )
    for pk, order_id in lines:
        current.setdefault(order_id, set()).add(where.get(f"{LINE_REF_PREFIX}{pk}"))
    moved = 0
    for order in orders:
        warehouse = decided.get(order.pk)
        if current.get(order.pk, set()) != {warehouse.pk if warehouse is not None else None}:
            allocate_orders(store=order.store, orders=[order], warehouses={order.pk: warehouse})
            moved += 1
    return moved


def _stock_problem(states: set[str]) -> str:
    if AllocationState.UNMAPPED in states:
        return StockProblem.UNMAPPED
    if AllocationState.BACKORDERED in states:
        return StockProblem.BACKORDERED
    return ""


def _orders_stock_problem_follow(order_ids: Iterable[int] | QuerySet[OrderLine, dict[str, Any]]) -> set[int]:
    """Recompute the stock problem of these orders (ids, or a query of "order_id" values) from their lines'
    states: one read, and one UPDATE for those whose problem changed. Returns the orders that just became whole
    (no line unmapped or backordered)."""
    ids: Any = order_ids if isinstance(order_ids, QuerySet) else set(order_ids)
    if not isinstance(ids, QuerySet) and not ids:
        return set()
    states: dict[int, set[str]] = defaultdict(set) if isinstance(ids, QuerySet) else {pk: set() for pk in ids}
    before: dict[int, str] = {}
    for order_id, state, problem in OrderLine.objects.filter(order_id__in=ids).values_list(
        "order_id", "stock_state", "order__stock_problem"
    ):
        states[order_id].add(state)
        before[order_id] = problem
    moved: dict[str, list[int]] = {}
    for order_id, order_states in states.items():
        problem = _stock_problem(order_states)
        if order_id in before and problem != before[order_id]:
            moved.setdefault(problem, []).append(order_id)
        elif order_id not in before:  # no lines left: no problem either
            moved.setdefault("", []).append(order_id)
    if moved:
        to_problem = _by_pk_case(moved)
        Order.objects.filter(pk__in=[pk for pks in moved.values() for pk in pks]).exclude(
            stock_problem=to_problem
        ).update(stock_problem=to_problem)
    return {pk for pk in moved.get("", []) if pk in before}


def _by_pk_case(pks_by_value: Mapping[str, list[int]]) -> Case:
    """The value each row takes, by its pk: one CASE with a branch per value (not per row), so that rows moving
    to different values change in one UPDATE, whose SQL grows with the rows only by their pks."""
    return Case(
        *(When(pk__in=pks, then=Value(value)) for value, pks in pks_by_value.items()),
        output_field=CharField(),
    )


def lines_stock_state_follow(*, tenant_id: int, changes: Mapping[str, str]) -> set[int]:
    """Allocations changed state: their order lines keep the state (one UPDATE for all) and their orders the
    stock problem it makes. Returns the orders that just became whole (no line unmapped or backordered any
    more)."""
    by_state: dict[str, list[int]] = {}
    for ref, state in changes.items():
        if ref.startswith(LINE_REF_PREFIX):
            by_state.setdefault(state, []).append(int(ref.removeprefix(LINE_REF_PREFIX)))
    if not by_state:
        return set()
    line_ids = [pk for pks in by_state.values() for pk in pks]
    to_state = _by_pk_case(by_state)
    OrderLine.objects.filter(tenant_id=tenant_id, pk__in=line_ids).exclude(stock_state=to_state).update(
        stock_state=to_state
    )
    # The lines' orders, read in the same statement as their lines' states (every one of them has lines).
    return _orders_stock_problem_follow(
        OrderLine.objects.filter(tenant_id=tenant_id, pk__in=line_ids).values("order_id")
    )


def order_lines_remove(*, tenant_id: int, line_pks: Iterable[int]) -> int:
    """Order lines the channel removed from their orders: what they held goes back to the pool (and serves
    waiting orders), the lines are deleted, and their orders' stock flags are recomputed without them.
    Returns how many lines went."""
    pks = list(line_pks)
    if not pks:
        return 0
    order_ids = set(OrderLine.objects.filter(tenant_id=tenant_id, pk__in=pks).values_list("order_id", flat=True))
    allocations_drop(tenant_id=tenant_id, line_refs=[f"{LINE_REF_PREFIX}{pk}" for pk in pks])
    _total, by_model = OrderLine.objects.filter(tenant_id=tenant_id, pk__in=pks).delete()
    _orders_stock_problem_follow(order_ids)
    return by_model.get(OrderLine._meta.label, 0)
