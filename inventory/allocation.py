"""Allocation of merchant-fulfilled order lines to stock: what each line holds, where, and how that follows
the order as the channel changes it, as it ships and as stock arrives or frees up.

What a line holds is exact. An allocation (`LineAllocation`, one per order line, named by its `line_ref`)
needs (quantity - shipped_quantity) x multiplier units of its product — of each component times the
component's quantity, for a bundle — and holds them as `Reservation` rows, all in one warehouse:

* RESERVED: it holds exactly what it needs;
* BACKORDERED: it holds less (possibly nothing) and waits; a bundle is served all or nothing;
* any other state (waiting for payment or a mapping, shipped, released): it holds nothing.

So, at every moment, `reserved` of a level == the sum of the reservations open lines hold there, and
`on_hand` == receipts and adjustments - what shipments took. Every change of a level is one conditional
UPDATE backed by the CHECK constraints (`inventory.ledger.stock_move` / `stock_reserve`): nothing is
decided on a value read earlier, so concurrent workers never oversell.

How a line follows its order (`allocate_line`, `allocate_orders`, called by the orders ingest):

* an edit of the quantity reserves or releases only the difference; a line the channel removed releases
  what it held (`allocations_drop`); a line whose SKU changed is resolved again;
* the warehouse that serves the line is decided by orders (its fulfilment route's warehouse) and stored on
  the allocation. When it changes, what the line holds moves there in one transaction: released here,
  reserved there, or BACKORDERED (and an alert) when that warehouse is short — never held in a warehouse
  that will not ship it. With no decision, the first active own or third-party warehouse that holds the
  whole line serves it;
* a shipment takes what the line holds for the units in the parcel, never more (`allocation_ship`); the
  channel saying "shipped" takes what is left;
* a cancellation releases everything.

Units that a release frees serve the oldest backordered lines of the same products at once (as a receipt
does): a backorder never waits while the stock it needs sits free in its warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from acorn.notifications.messages import message
from acorn.notifications.services import notify
from channels.adapters.base import FulfillmentChannel, OrderStatus
from channels.models import Store
from inventory.events import stock_changed
from inventory.hooks import allocations_changed
from inventory.ledger import InsufficientStock, stock_move, stock_reserve
from inventory.models import (
    AllocationState,
    BundleComponent,
    LineAllocation,
    MovementKind,
    Product,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseKind,
)
from inventory.reserve_fast import reserve_paid_line
from inventory.selectors import Resolved, mapping_resolve, mappings_resolve


class OrderLike(Protocol):
    """What allocation reads of an order (orders sit above inventory: inventory never imports them)."""

    external_id: str
    status: str
    fulfillment_channel: str
    purchased_at: datetime
    lines: Any


class OrderLineLike(Protocol):
    pk: Any
    external_id: str
    sku: str
    channel_product_id: str
    quantity: int


LINE_REF_PREFIX = "order-line:"
# `allocate_line(warehouse=KEEP)`: leave the warehouse orders decided earlier as it is.
KEEP: Any = object()
FINAL_STATES = (AllocationState.SHIPPED, AllocationState.RELEASED)


def line_ref(line: OrderLineLike) -> str:
    """How inventory names an order line it holds stock for."""
    return f"{LINE_REF_PREFIX}{line.pk}"


def candidate_warehouses(*, tenant_id: int) -> list[Warehouse]:
    """Where a line no route has decided may be served from: active own and third-party warehouses, own first."""
    return list(
        Warehouse.objects.filter(tenant_id=tenant_id, active=True)
        .exclude(kind=WarehouseKind.FBA)
        .order_by("kind", "pk")
    )


def _components(product: Product, units: int) -> list[tuple[Product, int]]:
    if not product.is_bundle:
        return [(product, units)]
    return [(part.component, part.quantity * units) for part in product.components.select_related("component")]


@dataclass
class AllocationContext:
    """One call's bookkeeping (the orders ingest keeps one for a page, from its stock lock to its allocation):
    the products whose units a release freed (their backorders are served before it returns), the channel
    SKUs it has resolved, and the allocations whose state changed (told to the apps above in one batch when
    the call ends: `_finish`)."""

    tenant_id: int
    product_ids: set[int]
    resolved: dict[tuple[int, str, str], Resolved | None] = field(default_factory=dict)
    changes: dict[str, str] = field(default_factory=dict)

    def resolve(self, store: Store, sku: str, channel_product_id: str) -> Resolved | None:
        key = (store.pk, sku, channel_product_id)
        if key not in self.resolved:
            self.resolved[key] = mapping_resolve(store=store, sku=sku, channel_product_id=channel_product_id)
        return self.resolved[key]

    def prime(self, store: Store, pairs: Iterable[tuple[str, str]]) -> None:
        """Resolve these (channel SKU, channel product id) pairs of the store at once (two queries)."""
        missing = {pair for pair in pairs if (store.pk, *pair) not in self.resolved}
        if missing:
            for (sku, product_id), resolved in mappings_resolve(store=store, pairs=missing).items():
                self.resolved[(store.pk, sku, product_id)] = resolved


def stock_lock(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Lock the stock levels a change of these products may touch — with every product that shares a kit with
    them, since the backorders a release serves may be kits — in primary-key order, before any of them
    changes (a level outside this set, reached through a second kit, is locked when it changes). Two
    transactions that need some of the same levels then queue on the first one they share instead of each
    holding what the other waits for (no deadlock between concurrent ingests, shipments and receipts).
    Levels are still changed by conditional UPDATEs; this lock decides nothing."""
    if not connection.features.has_select_for_update:
        return  # SQLite: one writer at a time already, nothing to order
    ids = set(product_ids)
    if not ids:
        return
    kits = BundleComponent.objects.filter(tenant_id=tenant_id, component_id__in=ids).values("bundle_id")
    siblings = (
        BundleComponent.objects.filter(tenant_id=tenant_id)
        .filter(Q(bundle_id__in=ids) | Q(bundle_id__in=kits))
        .values("component_id")
    )
    list(  # one statement: the rows are locked as they are read, in pk order
        StockLevel.objects.filter(tenant_id=tenant_id)
        .filter(Q(product_id__in=ids) | Q(product_id__in=siblings))
        .exclude(warehouse__kind=WarehouseKind.FBA)
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )


def stock_lock_for(
    *,
    store: Store,
    line_refs: Iterable[str] = (),
    skus: Iterable[tuple[str, str]] = (),
    freed: AllocationContext | None = None,
) -> AllocationContext:
    """`stock_lock` for what these lines hold now and what these (channel SKU, channel product id) pairs
    resolve to. Callers that lock orders, lines or requests take this first: stock levels are always locked
    before the rows of the orders above them. Returns the context that holds the SKUs it resolved (pass it
    on to `allocate_orders`)."""
    freed = freed or AllocationContext(store.tenant_id, set())
    if not connection.features.has_select_for_update:
        return freed  # SQLite: one writer at a time already, nothing to order
    products: set[int] = set()
    refs = list(line_refs)
    if refs:
        for product_id, held_id in LineAllocation.objects.filter(
            tenant_id=store.tenant_id, line_ref__in=refs
        ).values_list("product_id", "reservations__product_id"):
            products.update(pk for pk in (product_id, held_id) if pk is not None)
    pairs = set(skus)
    freed.prime(store, pairs)
    for sku, channel_product_id in pairs:
        resolved = freed.resolve(store, sku, channel_product_id)
        if resolved is not None:
            products.add(resolved.product.pk)
    stock_lock(tenant_id=store.tenant_id, product_ids=products)
    return freed


def _lock_for_lines(store: Store, lines: Iterable[OrderLineLike], freed: AllocationContext) -> None:
    lines = list(lines)
    stock_lock_for(
        store=store,
        line_refs=[line_ref(line) for line in lines],
        skus=[(line.sku, line.channel_product_id) for line in lines],
        freed=freed,
    )


def _remaining(allocation: LineAllocation) -> int:
    """Channel units of the line still to ship."""
    return max(0, allocation.quantity - allocation.shipped_quantity)


def _needs(allocation: LineAllocation) -> dict[int, tuple[Product, int]]:
    """Product pk → (product, units) the line must hold now."""
    if allocation.product is None:
        return {}
    units = _remaining(allocation) * allocation.multiplier
    return {component.pk: (component, quantity) for component, quantity in _components(allocation.product, units)}


def _held(allocation: LineAllocation) -> list[Reservation]:
    if allocation.pk is None:
        return []
    return list(allocation.reservations.select_related("product", "warehouse").order_by("product_id", "warehouse_id"))


def _give_back(reservation: Reservation, quantity: int, reference: str, freed: AllocationContext) -> None:
    """Release `quantity` of what a reservation holds (RELEASE movement; the row shrinks or goes)."""
    if quantity <= 0:
        return
    stock_move(
        product=reservation.product,
        warehouse=reservation.warehouse,
        kind=MovementKind.RELEASE,
        reserved_delta=-quantity,
        reference=reference,
    )
    _shrink(reservation, quantity)
    freed.product_ids.add(reservation.product_id)


def _shrink(reservation: Reservation, quantity: int) -> None:
    if quantity >= reservation.quantity:
        reservation.delete()
    else:
        Reservation.objects.filter(pk=reservation.pk).update(quantity=F("quantity") - quantity)
        reservation.quantity -= quantity


def _release_all(allocation: LineAllocation, freed: AllocationContext) -> None:
    for reservation in _held(allocation):
        _give_back(reservation, reservation.quantity, allocation.reference, freed)


def _reserve_all(
    allocation: LineAllocation,
    warehouse: Warehouse,
    parts: list[tuple[Product, int]],
    holding: frozenset[int] = frozenset(),
) -> bool:
    """Reserve every (product, units) in `warehouse` for the line, all or nothing (a savepoint undoes a
    partial bundle); `holding`: the products the line already holds there (their rows grow). False when the
    warehouse is short of any of them, inactive or Amazon's."""
    if not warehouse.active or warehouse.read_only:
        return False
    try:
        with transaction.atomic():
            for product, quantity in sorted(parts, key=lambda pair: pair[0].pk):
                if quantity <= 0:
                    continue
                if not stock_reserve(
                    product=product, warehouse=warehouse, quantity=quantity, reference=allocation.reference
                ):
                    raise InsufficientStock(product.sku)
                if product.pk in holding:
                    Reservation.objects.filter(allocation=allocation, product=product, warehouse=warehouse).update(
                        quantity=F("quantity") + quantity
                    )
                else:
                    Reservation.objects.create(
                        tenant_id=allocation.tenant_id,
                        allocation=allocation,
                        product=product,
                        warehouse=warehouse,
                        quantity=quantity,
                    )
    except InsufficientStock:
        return False
    return True


def _reconcile(allocation: LineAllocation, freed: AllocationContext) -> bool:
    """Make what the line holds equal what it needs, in the warehouse that serves it: release any excess or
    anything held elsewhere, reserve the shortfall (all or nothing). True when it now holds all it needs;
    False (backordered) when the warehouse is short — it keeps what it holds there, so it is served first
    when stock arrives. An undecided line with a shortfall moves, whole, to the first warehouse that holds
    everything it needs."""
    needs = _needs(allocation)
    held = _held(allocation)
    decided = allocation.warehouse
    if decided is not None:
        where: Warehouse | None = decided
    else:
        holding = {reservation.warehouse_id for reservation in held}
        where = held[0].warehouse if len(holding) == 1 else None
    holds: dict[int, int] = {}  # product pk → units kept where it is served
    for reservation in held:
        serving = where is not None and reservation.warehouse_id == where.pk
        wanted = needs[reservation.product_id][1] if serving and reservation.product_id in needs else 0
        if reservation.quantity > wanted:
            _give_back(reservation, reservation.quantity - wanted, allocation.reference, freed)
        if serving:
            holds[reservation.product_id] = min(reservation.quantity, wanted)
    shortfall = [
        (product, units - holds.get(pk, 0)) for pk, (product, units) in needs.items() if units > holds.get(pk, 0)
    ]
    if not shortfall:
        return True
    kept = frozenset(pk for pk, units in holds.items() if units > 0)
    if where is not None and _reserve_all(allocation, where, shortfall, kept):
        return True
    if decided is not None:
        return False
    # No route decided: any warehouse that holds the whole line may serve it.
    whole = [(product, units) for product, units in needs.values() if units > 0]
    for warehouse in candidate_warehouses(tenant_id=allocation.tenant_id):
        if where is not None and warehouse.pk == where.pk:
            continue
        if _reserve_all(allocation, warehouse, whole):
            for reservation in held:
                if reservation.warehouse_id != warehouse.pk and reservation.pk is not None:
                    remaining = Reservation.objects.filter(pk=reservation.pk).values_list("quantity", flat=True).first()
                    if remaining:
                        reservation.quantity = remaining
                        _give_back(reservation, remaining, allocation.reference, freed)
            return True
    return False


def _take(allocation: LineAllocation, channel_units: int) -> int:
    """Ship `channel_units` of the line from what it holds: each product's share leaves on hand and reserved
    (SHIPMENT movements), never more than is held. Returns the channel units counted as shipped."""
    units = min(channel_units, _remaining(allocation))
    if units <= 0:
        return 0
    if allocation.product is not None:
        wanted = {
            component.pk: quantity
            for component, quantity in _components(allocation.product, units * allocation.multiplier)
        }
        for reservation in _held(allocation):
            quantity = min(reservation.quantity, wanted.get(reservation.product_id, 0))
            if quantity <= 0:
                continue
            stock_move(
                product=reservation.product,
                warehouse=reservation.warehouse,
                kind=MovementKind.SHIPMENT,
                on_hand_delta=-quantity,
                reserved_delta=-quantity,
                reference=allocation.reference,
            )
            _shrink(reservation, quantity)
            wanted[reservation.product_id] -= quantity
            allocation.shipped_from = reservation.warehouse
    allocation.shipped_quantity += units
    return units


def _resolve(allocation: LineAllocation, freed: AllocationContext) -> bool:
    """Find the line's master product and multiplier if it has none yet. False: the SKU is unmapped."""
    if allocation.product is not None:
        return True
    resolved = freed.resolve(allocation.store, allocation.channel_sku, allocation.channel_product_id)
    if resolved is None:
        return False
    allocation.product, allocation.multiplier = resolved.product, resolved.multiplier
    return True


def _advance(allocation: LineAllocation, *, status: str, freed: AllocationContext) -> None:
    """The state machine of one allocation, given its order's normalised status; saves and tells orders."""
    before = allocation.state
    if status == OrderStatus.CANCELLED:
        _release_all(allocation, freed)
        if before != AllocationState.SHIPPED:
            allocation.state = AllocationState.SHIPPED if allocation.shipped_quantity else AllocationState.RELEASED
    elif before in FINAL_STATES:
        pass  # final: a shipped or released line holds nothing, whatever the channel says later
    elif status == OrderStatus.SHIPPED:
        # The channel shipped it: what the line holds leaves the warehouse. A line that held nothing (unmapped,
        # backordered) was shipped before ACORN held stock for it: nothing of ours moves.
        _resolve(allocation, freed)
        _take(allocation, _remaining(allocation))
        _release_all(allocation, freed)
        allocation.shipped_quantity = max(allocation.shipped_quantity, allocation.quantity)
        allocation.state = AllocationState.SHIPPED
    elif status == OrderStatus.PENDING_PAYMENT and before in ("", AllocationState.WAITING_PAYMENT):
        allocation.state = AllocationState.WAITING_PAYMENT
    elif status == OrderStatus.PENDING_PAYMENT and before == AllocationState.UNMAPPED:
        pass  # not paid: it reserves nothing, mapped or not
    elif not _resolve(allocation, freed):
        _release_all(allocation, freed)
        allocation.state = AllocationState.UNMAPPED
    else:
        if allocation.pk is None:
            allocation.save()
        if _remaining(allocation) == 0:
            _release_all(allocation, freed)
            allocation.state = AllocationState.SHIPPED
        elif _reconcile(allocation, freed):
            allocation.state = AllocationState.RESERVED
        else:
            allocation.state = AllocationState.BACKORDERED
            if before != AllocationState.BACKORDERED:
                _alert_backorder(allocation)
    if allocation.product is not None:
        allocation.units = allocation.quantity * allocation.multiplier
    if allocation.state:
        allocation.updated_at = timezone.now()
        allocation.save()
        if allocation.state != before:
            freed.changes[allocation.line_ref] = allocation.state


def _alert_backorder(allocation: LineAllocation, *, checked: bool = False) -> None:
    """One alert when a product starts having orders it cannot serve (not one per order), naming the
    warehouse that is short when a route decided it."""
    from django.urls import reverse

    product = allocation.product
    if product is None:
        return
    waiting = LineAllocation.objects.filter(product=product, state=AllocationState.BACKORDERED).exclude(
        pk=allocation.pk
    )
    if not checked and waiting.exists():
        return
    if allocation.warehouse is not None:
        body = message(
            gettext_noop(
                "%(reference)s from %(store)s ships from %(warehouse)s, which does not hold enough; it waits until "
                "stock arrives there (or route the order to another warehouse)."
            ),
            reference=allocation.reference,
            store=allocation.store.name,
            warehouse=allocation.warehouse.name,
        )
    else:
        body = message(
            gettext_noop("%(reference)s from %(store)s could not be reserved; it waits until stock arrives."),
            reference=allocation.reference,
            store=allocation.store.name,
        )
    notify(
        tenant=allocation.store.tenant,
        kind="backorder",
        title=message(gettext_noop("%(sku)s is out of stock for new orders"), sku=product.sku),
        body=body,
        link=reverse("inventory:product-list") + f"?q={product.sku}",
    )


def _alert_backorders(backordered: list[tuple[LineAllocation, str]]) -> None:
    """`_alert_backorder` for a batch: one alert per product that starts having orders it cannot serve (the
    first of its lines in the batch names it), none when the product already had backorders."""
    fresh = [allocation for allocation, before in backordered if before != AllocationState.BACKORDERED]
    if not fresh:
        return
    products = {allocation.product_id for allocation in fresh}
    waiting = set(
        LineAllocation.objects.filter(
            tenant_id=fresh[0].tenant_id, state=AllocationState.BACKORDERED, product_id__in=products
        )
        .exclude(pk__in=[allocation.pk for allocation, _before in backordered])
        .values_list("product_id", flat=True)
    )
    for allocation in fresh:
        if allocation.product_id not in waiting:
            waiting.add(allocation.product_id)
            _alert_backorder(allocation, checked=True)


# --- what orders call -----------------------------------------------------------------------------------------


def _prepare(
    store: Store, order: OrderLike, line: OrderLineLike, allocation: LineAllocation | None, warehouse: Any
) -> LineAllocation:
    """The line's allocation (new, or the locked row) with what the order says of the line now; not saved."""
    if allocation is None:
        allocation = LineAllocation(tenant_id=store.tenant_id, line_ref=line_ref(line), store=store)
    allocation.store = store
    if (allocation.channel_sku, allocation.channel_product_id) != (line.sku, line.channel_product_id):
        allocation.product = None  # another product (or pack size) now: resolved again, what it held is released
    allocation.reference = _reference(order, line)
    allocation.channel_sku, allocation.channel_product_id = line.sku, line.channel_product_id
    allocation.quantity = line.quantity
    allocation.waiting_since = order.purchased_at
    if warehouse is not KEEP and allocation.state not in FINAL_STATES:
        allocation.warehouse = warehouse
    return allocation


def _reference(order: OrderLike, line: OrderLineLike) -> str:
    """How movements and alerts name the line to a person."""
    return f"order {order.external_id} line {line.external_id}"[:200]


def _locked_allocations(tenant_id: int, refs: list[str]) -> dict[str, LineAllocation]:
    """The allocations of these lines, locked (one statement)."""
    if not refs:
        return {}
    return {
        allocation.line_ref: allocation
        for allocation in LineAllocation.objects.select_for_update(of=("self",))
        .select_related("product", "warehouse")
        .filter(tenant_id=tenant_id, line_ref__in=refs)
        .order_by("pk")
    }


def _allocate(
    store: Store, order: OrderLike, line: OrderLineLike, *, warehouse: Warehouse | Any | None, freed: AllocationContext
) -> LineAllocation | None:
    if order.fulfillment_channel != FulfillmentChannel.MERCHANT:
        return None
    known = _locked_allocations(store.tenant_id, [line_ref(line)])
    allocation = _prepare(store, order, line, known.get(line_ref(line)), warehouse)
    _advance(allocation, status=order.status, freed=freed)
    return allocation


def _reserve_paid(
    store: Store, order: OrderLike, line: OrderLineLike, warehouse: Warehouse | Any | None
) -> LineAllocation | None:
    """`reserve_paid_line` for this line: the allocation, now RESERVED, or None (nothing written)."""
    return reserve_paid_line(
        store=store,
        order_status=order.status,
        purchased_at=order.purchased_at,
        reference=_reference(order, line),
        ref=line_ref(line),
        sku=line.sku,
        channel_product_id=line.channel_product_id,
        quantity=line.quantity,
        warehouse=None if warehouse is KEEP else warehouse,
        keep_warehouse=warehouse is KEEP,
    )


def allocate_line(
    *, store: Store, order: OrderLike, line: OrderLineLike, warehouse: Warehouse | Any | None = KEEP
) -> LineAllocation | None:
    """Bring one merchant-fulfilled line's stock in step with its order (see the module docstring): paid →
    reserved (or backordered), cancelled → released, shipped → shipped; an edited quantity moves only the
    difference. `warehouse` is where orders decided it is served from (None: undecided; KEEP: as before).
    Idempotent; FBA lines hold nothing of ours."""
    if order.fulfillment_channel != FulfillmentChannel.MERCHANT:
        return None
    reserved = _reserve_paid(store, order, line, warehouse)
    if reserved is not None:  # the common case, in one statement
        allocations_changed(tenant_id=store.tenant_id, changes={reserved.line_ref: reserved.state})
        return reserved
    freed = AllocationContext(store.tenant_id, set())
    _lock_for_lines(store, [line], freed)
    allocation = _allocate(store, order, line, warehouse=warehouse, freed=freed)
    _finish(freed)
    return allocation


def allocate_orders(
    *,
    store: Store,
    orders: Iterable[OrderLike],
    warehouses: Mapping[Any, Warehouse | None] | None = None,
    lines: Mapping[Any, Sequence[OrderLineLike]] | None = None,
    locked: AllocationContext | None = None,
) -> None:
    """Called by the orders ingest inside its transaction: every merchant line of these orders, each served
    from `warehouses[order.pk]` when given (orders' decision), else from where it was. `lines`: the orders'
    lines by order pk when the caller has them (else they are read per order). `locked`: the context of a
    `stock_lock_for` the caller already took for these lines (the ingest locks a page before its orders).

    A page costs a bounded number of statements, whatever its size (`_advance_batch`): lines that hold
    nothing yet (new, waiting for payment or a mapping) are decided together — one read of the levels they
    may take from, one conditional UPDATE of those levels, the allocations, reservations and movements
    written in bulk. Lines that already hold stock (edits, cancellations, shipments of reserved lines) go
    through `_advance` one by one, as before, in their place in the page: the batch of lines before such a
    line is decided first, so page order decides who gets short stock as it does line by line."""
    freed = locked or AllocationContext(store.tenant_id, set())
    merchant = [order for order in orders if order.fulfillment_channel == FulfillmentChannel.MERCHANT]
    if lines is None:
        work = [(order, list(order.lines.all().order_by("pk"))) for order in merchant]
    else:
        work = [
            (order, sorted(lines.get(getattr(order, "pk", None), []), key=lambda line: line.pk)) for order in merchant
        ]
    every_line = [line for _order, order_lines in work for line in order_lines]
    if len(every_line) == 1:  # one paid line (a webhook, a console action): one statement when stock is free
        order, (line,) = next((order, order_lines) for order, order_lines in work if order_lines)
        pk = getattr(order, "pk", None)
        reserved = _reserve_paid(
            store, order, line, warehouses[pk] if warehouses is not None and pk in warehouses else KEEP
        )
        if reserved is not None:
            freed.changes[reserved.line_ref] = reserved.state
            _finish(freed)
            return
    if locked is None:
        _lock_for_lines(store, every_line, freed)
    freed.prime(store, [(line.sku, line.channel_product_id) for line in every_line])
    known = _locked_allocations(store.tenant_id, [line_ref(line) for line in every_line])
    batch: list[tuple[LineAllocation, str]] = []
    for order, order_lines in work:
        pk = getattr(order, "pk", None)
        warehouse = warehouses[pk] if warehouses is not None and pk in warehouses else KEEP
        for line in order_lines:
            allocation = _prepare(store, order, line, known.get(line_ref(line)), warehouse)
            if _holds_nothing(allocation):
                batch.append((allocation, order.status))
            else:
                # Page order decides who gets short stock: the lines before this one take theirs first.
                _advance_batch(batch, freed)
                batch = []
                _advance(allocation, status=order.status, freed=freed)
    _advance_batch(batch, freed)
    _finish(freed)


def _pk(line: OrderLineLike) -> Any:
    return line.pk


def _holds_nothing(allocation: LineAllocation) -> bool:
    """New, or in a state that holds no stock (the module docstring): nothing to release or move."""
    return allocation.pk is None or allocation.state in (
        "",
        AllocationState.WAITING_PAYMENT,
        AllocationState.UNMAPPED,
        *FINAL_STATES,
    )


class _Stale(Exception):
    """A level no longer holds what the plan read (it cannot while the levels are locked): decide line by line."""


def _advance_batch(batch: list[tuple[LineAllocation, str]], freed: AllocationContext) -> None:
    """`_advance` for allocations that hold nothing, all at once (same states, same reservations, same
    movements as one by one, in the same order): the lines that need stock are planned against one read of
    the levels (locked by `stock_lock_for`), and the levels move by one conditional UPDATE that the database
    refuses if any level could not take its share — then the whole batch is decided line by line instead."""
    if not batch:
        return
    befores = [allocation.state for allocation, _status in batch]
    wanting: list[LineAllocation] = []
    for allocation, status in batch:
        before = allocation.state
        if status == OrderStatus.CANCELLED:
            if before != AllocationState.SHIPPED:
                allocation.state = AllocationState.SHIPPED if allocation.shipped_quantity else AllocationState.RELEASED
        elif before in FINAL_STATES:
            pass
        elif status == OrderStatus.SHIPPED:
            _resolve(allocation, freed)  # shipped before ACORN held stock for it: nothing of ours moves
            allocation.shipped_quantity = max(allocation.shipped_quantity, allocation.quantity)
            allocation.state = AllocationState.SHIPPED
        elif status == OrderStatus.PENDING_PAYMENT and before in ("", AllocationState.WAITING_PAYMENT):
            allocation.state = AllocationState.WAITING_PAYMENT
        elif status == OrderStatus.PENDING_PAYMENT and before == AllocationState.UNMAPPED:
            pass
        elif not _resolve(allocation, freed):
            allocation.state = AllocationState.UNMAPPED
        elif _remaining(allocation) == 0:
            allocation.state = AllocationState.SHIPPED
        else:
            wanting.append(allocation)
    planned, levels = _plan(wanting, freed.tenant_id)
    try:
        with transaction.atomic():
            _take_levels(planned, levels)
    except _Stale:
        planned = {}
    stale = {id(allocation) for allocation in wanting} - set(planned)
    decided = [(allocation, before) for (allocation, _status), before in zip(batch, befores, strict=True)]
    decided = [(allocation, before) for allocation, before in decided if id(allocation) not in stale]
    reservations: list[Reservation] = []
    backordered: list[tuple[LineAllocation, str]] = []
    for allocation, before in decided:
        if id(allocation) not in planned:
            continue
        where, parts = planned[id(allocation)]
        if where is None:
            allocation.state = AllocationState.BACKORDERED
            backordered.append((allocation, before))
            continue
        allocation.state = AllocationState.RESERVED
        reservations.extend(
            Reservation(
                tenant_id=allocation.tenant_id, allocation=allocation, product=product, warehouse=where, quantity=units
            )
            for product, units in parts
        )
    now = timezone.now()
    for allocation, _before in decided:
        if allocation.product is not None:
            allocation.units = allocation.quantity * allocation.multiplier
        allocation.updated_at = now
    new = [allocation for allocation, _before in decided if allocation.pk is None]
    known = [allocation for allocation, _before in decided if allocation.pk is not None]
    LineAllocation.objects.bulk_create(new)
    LineAllocation.objects.bulk_update(known, _ALLOCATION_FIELDS)
    _alert_backorders(backordered)
    Reservation.objects.bulk_create(reservations)  # takes each allocation's pk, known since its bulk_create
    StockMovement.objects.bulk_create(
        StockMovement(
            tenant_id=reservation.tenant_id,
            product=reservation.product,
            warehouse=reservation.warehouse,
            kind=MovementKind.RESERVATION,
            reserved_delta=reservation.quantity,
            reference=reservation.allocation.reference[:200],
        )
        for reservation in reservations
    )
    stock_changed(tenant_id=freed.tenant_id, product_ids={reservation.product_id for reservation in reservations})
    for allocation, before in decided:
        if allocation.state != before:
            freed.changes[allocation.line_ref] = allocation.state
    for allocation, status in batch:  # the plan went stale: one by one
        if id(allocation) in stale:
            _advance(allocation, status=status, freed=freed)


_ALLOCATION_FIELDS = [
    "store",
    "reference",
    "channel_sku",
    "channel_product_id",
    "quantity",
    "waiting_since",
    "state",
    "product",
    "units",
    "multiplier",
    "shipped_quantity",
    "warehouse",
    "updated_at",
]


_Plan = dict[int, tuple[Warehouse | None, list[tuple[Product, int]]]]


def _plan(wanting: list[LineAllocation], tenant_id: int) -> tuple[_Plan, dict[tuple[int, int], int]]:
    """Where each line that needs stock takes it, in order, against one read of the levels: its decided
    warehouse, or (undecided) the first candidate that holds the whole line; (None, parts) when none can —
    it waits, holding nothing (a bundle is served all or nothing). Also returns the levels read ((product,
    warehouse) → level pk)."""
    if not wanting:
        return {}, {}
    bundles = {allocation.product.pk for allocation in wanting if allocation.product and allocation.product.is_bundle}
    parts_of: dict[int, list[tuple[Product, int]]] = {}
    for part in BundleComponent.objects.filter(tenant_id=tenant_id, bundle_id__in=bundles).select_related("component"):
        parts_of.setdefault(part.bundle_id, []).append((part.component, part.quantity))
    candidates = candidate_warehouses(tenant_id=tenant_id) if any(a.warehouse is None for a in wanting) else []
    needs: dict[int, list[tuple[Product, int]]] = {}
    for allocation in wanting:
        product = allocation.product
        assert product is not None  # resolved before it is planned
        units = _remaining(allocation) * allocation.multiplier
        merged: dict[int, tuple[Product, int]] = {}
        for component, quantity in parts_of.get(product.pk, []) if product.is_bundle else [(product, 1)]:
            merged[component.pk] = (component, quantity * units)  # as _needs: one row per component
        needs[id(allocation)] = [pair for pair in merged.values() if pair[1] > 0]
    product_ids = {product.pk for parts in needs.values() for product, _units in parts}
    warehouse_ids = {w.pk for w in candidates} | {a.warehouse_id for a in wanting if a.warehouse_id is not None}
    free: dict[tuple[int, int], int] = {}
    levels: dict[tuple[int, int], int] = {}
    for pk, product_id, warehouse_id, on_hand, reserved in StockLevel.objects.filter(
        tenant_id=tenant_id, product_id__in=product_ids, warehouse_id__in=warehouse_ids
    ).values_list("pk", "product_id", "warehouse_id", "on_hand", "reserved"):
        free[(product_id, warehouse_id)] = on_hand - reserved
        levels[(product_id, warehouse_id)] = pk
    planned: _Plan = {}
    for allocation in wanting:
        parts = needs[id(allocation)]
        options = [allocation.warehouse] if allocation.warehouse is not None else candidates
        chosen = None
        for warehouse in options:
            if not warehouse.active or warehouse.read_only:
                continue
            if all(free.get((product.pk, warehouse.pk), 0) >= units for product, units in parts):
                chosen = warehouse
                break
        if chosen is not None:
            for product, units in parts:
                free[(product.pk, chosen.pk)] -= units
        planned[id(allocation)] = (chosen, parts)
    return planned, levels


def _take_levels(planned: _Plan, levels: dict[tuple[int, int], int]) -> None:
    """Move the levels by what the plan reserves: one conditional UPDATE (a level that cannot take its share
    is not updated, and the CHECK constraints refuse overselling); raises _Stale unless every level took it."""
    deltas: dict[int, int] = {}
    for where, parts in planned.values():
        if where is None:
            continue
        for product, units in parts:
            pk = levels[(product.pk, where.pk)]
            deltas[pk] = deltas.get(pk, 0) + units
    if not deltas:
        return
    delta = Case(*(When(pk=pk, then=Value(units)) for pk, units in deltas.items()), output_field=IntegerField())
    try:
        moved = StockLevel.objects.filter(pk__in=list(deltas), on_hand__gte=F("reserved") + delta).update(
            reserved=F("reserved") + delta, updated_at=timezone.now()
        )
    except IntegrityError:
        raise _Stale from None
    if moved != len(deltas):
        raise _Stale


def allocations_drop(*, tenant_id: int, line_refs: Iterable[str]) -> int:
    """Order lines the channel removed: what they held is released and their allocations deleted (the
    movements keep the history). Backorders of the freed products are served. Returns how many went."""
    refs = list(line_refs)
    if not refs:
        return 0
    freed = AllocationContext(tenant_id, set())
    stock_lock(
        tenant_id=tenant_id,
        product_ids=Reservation.objects.filter(tenant_id=tenant_id, allocation__line_ref__in=refs).values_list(
            "product_id", flat=True
        ),
    )
    dropped = 0
    for allocation in (
        LineAllocation.objects.select_for_update(of=("self",))
        .filter(tenant_id=tenant_id, line_ref__in=refs)
        .order_by("pk")
    ):
        _release_all(allocation, freed)
        allocation.delete()
        dropped += 1
    _finish(freed)
    return dropped


def allocation_ship(*, tenant_id: int, line_ref: str, quantity: int) -> LineAllocation | None:
    """A parcel with `quantity` channel units of the line left: they take what the line holds for them
    (never more), and the line is SHIPPED once every unit has gone. Call it in the transaction that records
    the parcel. None when the line holds nothing of ours (FBA)."""
    stock_lock(
        tenant_id=tenant_id,
        product_ids=Reservation.objects.filter(tenant_id=tenant_id, allocation__line_ref=line_ref).values_list(
            "product_id", flat=True
        ),
    )
    allocation = (
        LineAllocation.objects.select_for_update(of=("self",))
        .select_related("product", "warehouse", "store")
        .filter(tenant_id=tenant_id, line_ref=line_ref)
        .first()
    )
    if allocation is None or allocation.state in FINAL_STATES:
        return allocation
    freed = AllocationContext(tenant_id, set())
    before = allocation.state
    _take(allocation, quantity)
    if _remaining(allocation) == 0:
        _release_all(allocation, freed)
        allocation.state = AllocationState.SHIPPED
    elif allocation.state in (AllocationState.RESERVED, AllocationState.BACKORDERED):
        allocation.state = AllocationState.RESERVED if _reconcile(allocation, freed) else AllocationState.BACKORDERED
    allocation.updated_at = timezone.now()
    allocation.save()
    if allocation.state != before:
        freed.changes[allocation.line_ref] = allocation.state
    _finish(freed)
    return allocation


# --- serving lines that wait ------------------------------------------------------------------------------------


def _retry(waiting: QuerySet[LineAllocation], freed: AllocationContext) -> int:
    reserved = 0
    for allocation in (
        waiting.select_for_update(of=("self",))
        .select_related("store", "product", "warehouse")
        .order_by("waiting_since", "pk")
    ):
        # Waiting lines belong to paid, open orders (a cancellation or shipment would have moved them on).
        _advance(allocation, status=OrderStatus.PAID_UNSHIPPED, freed=freed)
        reserved += int(allocation.state == AllocationState.RESERVED)
    return reserved


def _lock_for_waiting(store: Store, waiting: QuerySet[LineAllocation], freed: AllocationContext) -> None:
    rows = list(waiting.values_list("line_ref", "channel_sku", "channel_product_id"))
    stock_lock_for(
        store=store,
        line_refs=[ref for ref, _sku, _product_id in rows],
        skus=[(sku, product_id) for _ref, sku, product_id in rows],
        freed=freed,
    )


def _serve_freed(freed: AllocationContext) -> int:
    """Released units serve the oldest backordered lines of those products (and of bundles using them).
    Ends: a round frees units only when a line moved whole to another warehouse, and that line is served."""
    reserved = 0
    while freed.product_ids:
        product_ids = set(freed.product_ids)
        freed.product_ids.clear()
        reserved += _retry(_backordered_for(freed.tenant_id, product_ids), freed)
    return reserved


def _finish(freed: AllocationContext) -> int:
    """End of a call: serve what it freed, then tell the apps above which allocations changed state (one
    batch). Returns how many waiting lines were reserved."""
    reserved = _serve_freed(freed)
    changes, freed.changes = freed.changes, {}
    allocations_changed(tenant_id=freed.tenant_id, changes=changes)
    return reserved


def _backordered_for(tenant_id: int, product_ids: set[int]) -> QuerySet[LineAllocation]:
    bundles = BundleComponent.objects.filter(tenant_id=tenant_id, component_id__in=product_ids).values("bundle_id")
    return LineAllocation.objects.filter(tenant_id=tenant_id, state=AllocationState.BACKORDERED).filter(
        Q(product_id__in=product_ids) | Q(product__in=bundles)
    )


def mapping_reresolve(*, store: Store) -> int:
    """Lines of the store waiting for a mapping (or for stock) are tried again, oldest order first.
    Returns how many now hold stock."""
    freed = AllocationContext(store.tenant_id, set())
    waiting = LineAllocation.objects.filter(
        store=store, state__in=[AllocationState.UNMAPPED, AllocationState.BACKORDERED]
    )
    _lock_for_waiting(store, waiting, freed)
    reserved = _retry(waiting, freed)
    return reserved + _finish(freed)


def stock_reresolve(*, product: Product) -> int:
    """Stock of `product` arrived: its backordered lines (and those of bundles using it) are tried again."""
    stock_lock(tenant_id=product.tenant_id, product_ids=[product.pk])
    freed = AllocationContext(product.tenant_id, {product.pk})
    return _finish(freed)


def sku_reresolve(*, tenant_id: int, sku: str) -> int:
    """A master product now has this SKU: unmapped lines whose channel SKU is exactly it resolve to it."""
    freed = AllocationContext(tenant_id, set())
    waiting = LineAllocation.objects.filter(tenant_id=tenant_id, state=AllocationState.UNMAPPED, channel_sku=sku)
    for store in Store.objects.filter(pk__in=waiting.values("store_id")):
        _lock_for_waiting(store, waiting.filter(store=store), freed)
    reserved = _retry(waiting, freed)
    return reserved + _finish(freed)


# --- reads ------------------------------------------------------------------------------------------------------


def allocation_served_from(*, tenant_id: int, line_refs: Iterable[str]) -> Warehouse | None:
    """The warehouse these lines' goods left from (returns go back there): where the last shipment took them,
    else the warehouse that serves them. None when nothing of ours is known."""
    allocations = list(
        LineAllocation.objects.filter(tenant_id=tenant_id, line_ref__in=list(line_refs))
        .select_related("shipped_from", "warehouse")
        .order_by("pk")
    )
    for allocation in allocations:
        if allocation.shipped_from is not None:
            return allocation.shipped_from
    for allocation in allocations:
        if allocation.warehouse is not None:
            return allocation.warehouse
    return None
