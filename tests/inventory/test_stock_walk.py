"""A property test of the stock pool, as a seeded random walk (reproducible: a failure names its seed and the
steps that led to it): orders from three channels are created, edited (quantities up and down, lines added and
removed), paid, cancelled, shipped parcel by parcel by hand or all at once by the channel; stock arrives and is
damaged; the routing rules change. After every step the walk checks, against its own book of what happened:

* on hand of every level == receipts + adjustments - what shipments took there (a shipment takes what its
  line held for the parcel, never more), and the levels equal their ledger;
* reserved of every level == the sum of what open lines hold there; every line holds, in one warehouse —
  the one its route names, when a route names one — at most what it still needs, exactly that when RESERVED,
  nothing once cancelled, shipped or removed;
* no stuck units: a backordered line's warehouse really is short of something it needs;
* every channel listing shows what the sharing rule makes of the available units (the channel quantities);
* each order line's stock state and the order's stock flag follow its allocation.

A concurrent variant on PostgreSQL runs walks in parallel against the same products and checks the same
sums at the end (no oversell, no phantom or stuck unit).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory import services
from inventory.allocation import line_ref
from inventory.catalogue import bundle_set_components, product_save, warehouse_save
from inventory.models import (
    AllocationState,
    ChannelListing,
    LineAllocation,
    MovementKind,
    Product,
    Reservation,
    SharingRule,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.sharing import sharing_rule_update
from orders.fulfilment import services as fulfilment
from orders.models import FulfillmentRequest, FulfillmentRoute, FulfillmentTarget, Order, OrderLine
from orders.shipments import shipment_record
from tests.factories import StoreFactory
from tests.inventory.channel_orders import ChannelBook

pytestmark = pytest.mark.django_db

# channel SKU → (master SKU, units per channel unit); master SKU → its components (a kit of 1 mug and 2 lids)
CHANNEL_SKUS = {"MUG": ("MUG", 1), "MUG-2PK": ("MUG", 2), "LID": ("LID", 1), "KIT": ("KIT", 1)}
COMPONENTS = {"MUG": {"MUG": 1}, "LID": {"LID": 1}, "KIT": {"MUG": 1, "LID": 2}}
PLAIN = ("MUG", "LID")
# store platform → (share %, safety buffer, maximum listed, warehouse names fed from; empty = all)
RULES = {
    "amazon": (50, 1, 20, ()),
    "shopify": (100, 2, None, ()),
    "woocommerce": (100, 0, None, ("Shenzhen",)),
}
OPEN = ("paid_unshipped", "pending_payment")


@dataclass
class LineBook:
    sku: str
    quantity: int
    shipped: int = 0


@dataclass
class OrderBook:
    store: int
    n: int
    country: str
    status: str
    lines: dict[str, LineBook] = field(default_factory=dict)

    @property
    def shipped_any(self) -> bool:
        return any(line.shipped for line in self.lines.values())


@dataclass
class Walk:
    """The world the walk drives, and its own book of what should be true."""

    tenant: Tenant
    rng: random.Random
    books: list[ChannelBook]
    warehouses: dict[str, Warehouse]
    products: dict[str, Product]
    targets: dict[str, FulfillmentTarget]
    de_target: str = "Shenzhen"
    orders: dict[tuple[int, int], OrderBook] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)  # line refs of removed lines
    on_hand: Counter[tuple[str, str]] = field(default_factory=Counter)  # (master SKU, warehouse) → expected
    received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (master SKU, warehouse) → receipts
    log: list[str] = field(default_factory=list)
    next_n: int = 0
    next_line: int = 0
    parcels: int = 0

    # -- the steps -----------------------------------------------------------------------------------------------

    def _lines(self, order: OrderBook) -> tuple[tuple[str, str, int], ...]:
        return tuple((line_id, line.sku, line.quantity) for line_id, line in order.lines.items())

    def _send(self, order: OrderBook, **changes: Any) -> None:
        book = self.books[order.store]
        book.send(book.edit(order.n, lines=self._lines(order), status=order.status, **changes))

    def _open_orders(self, *statuses: str) -> list[OrderBook]:
        return [order for order in self.orders.values() if order.status in (statuses or OPEN)]

    def new_order(self) -> str:
        store = self.rng.randrange(len(self.books))
        self.next_n += 1
        order = OrderBook(
            store=store,
            n=self.next_n,
            country=self.rng.choice(["US", "DE", "JP"]),
            status="paid_unshipped" if self.rng.random() < 0.8 else "pending_payment",
        )
        for _ in range(self.rng.randint(1, 2)):
            self.next_line += 1
            order.lines[f"L{self.next_line}"] = LineBook(self.rng.choice(list(CHANNEL_SKUS)), self.rng.randint(1, 4))
        self.orders[(store, order.n)] = order
        book = self.books[store]
        book.send(book.order(order.n, *self._lines(order), status=order.status, country=order.country))
        return f"new order {order.n} {order.country} {order.status} {self._lines(order)}"

    def edit_quantity(self) -> str | None:
        candidates = [
            (order, line_id, line)
            for order in self._open_orders()
            for line_id, line in order.lines.items()
            if line.quantity > line.shipped
        ]
        if not candidates:
            return None
        order, line_id, line = self.rng.choice(candidates)
        before = line.quantity
        line.quantity = self.rng.randint(line.shipped + 1, line.shipped + 5)
        if line.shipped and self.rng.random() < 0.2:
            line.quantity = line.shipped  # cut back to what already left: the line is done
        self._send(order)
        return f"order {order.n} line {line_id} {line.sku}: {before} -> {line.quantity}"

    def add_line(self) -> str | None:
        orders = self._open_orders()
        if not orders:
            return None
        order = self.rng.choice(orders)
        self.next_line += 1
        line_id = f"L{self.next_line}"
        order.lines[line_id] = LineBook(self.rng.choice(list(CHANNEL_SKUS)), self.rng.randint(1, 3))
        self._send(order)
        return f"order {order.n} + line {line_id} {order.lines[line_id]}"

    def remove_line(self) -> str | None:
        candidates = [
            (order, line_id)
            for order in self._open_orders()
            if len(order.lines) > 1
            for line_id, line in order.lines.items()
            if not line.shipped
        ]
        if not candidates:
            return None
        order, line_id = self.rng.choice(candidates)
        self.removed.append(line_ref(self.books[order.store].line(order.n, line_id)))
        del order.lines[line_id]
        self._send(order)
        return f"order {order.n} - line {line_id}"

    def pay(self) -> str | None:
        orders = self._open_orders("pending_payment")
        if not orders:
            return None
        order = self.rng.choice(orders)
        order.status = "paid_unshipped"
        self._send(order)
        return f"order {order.n} paid"

    def cancel(self) -> str | None:
        orders = [order for order in self._open_orders() if not order.shipped_any]
        if not orders:
            return None
        order = self.rng.choice(orders)
        order.status = "cancelled"
        self._send(order)
        return f"order {order.n} cancelled"

    def _taking(self, order: OrderBook, line_id: str, units: int) -> Counter[tuple[str, str]]:
        """What a parcel of `units` of the line should take: its share of what the line holds, no more."""
        line = order.lines[line_id]
        master, multiplier = CHANNEL_SKUS[line.sku]
        units = min(units, line.quantity - line.shipped)
        taken: Counter[tuple[str, str]] = Counter()
        ref = line_ref(self.books[order.store].line(order.n, line_id))
        for product, warehouse, held in Reservation.objects.filter(allocation__line_ref=ref).values_list(
            "product__sku", "warehouse__name", "quantity"
        ):
            taken[(product, warehouse)] += min(held, units * multiplier * COMPONENTS[master][product])
        return taken

    def ship_parcel(self) -> str | None:
        orders = [
            order
            for order in self._open_orders("paid_unshipped")
            if any(line.quantity > line.shipped for line in order.lines.values())
        ]
        if not orders:
            return None
        order = self.rng.choice(orders)
        parcel = {
            line_id: self.rng.randint(1, line.quantity - line.shipped)
            for line_id, line in order.lines.items()
            if line.quantity > line.shipped and self.rng.random() < 0.7
        }
        if not parcel:
            return None
        for line_id, units in parcel.items():
            self.on_hand.subtract(self._taking(order, line_id, units))
        book = self.books[order.store]
        self.parcels += 1
        stored = book.stored(order.n)
        shipment_record(
            order=stored,
            carrier="UPS",
            tracking_number=f"1Z{self.parcels:06d}",
            shipped_at=stored.purchased_at,
            source="manual",
            lines={book.line(order.n, line_id).pk: units for line_id, units in parcel.items()},
        )
        for line_id, units in parcel.items():
            order.lines[line_id].shipped += units
        return f"order {order.n} parcel {parcel}"

    def channel_ships(self) -> str | None:
        orders = self._open_orders("paid_unshipped")
        if not orders:
            return None
        order = self.rng.choice(orders)
        for line_id, line in order.lines.items():
            self.on_hand.subtract(self._taking(order, line_id, line.quantity - line.shipped))
            line.shipped = line.quantity
        order.status = "shipped"
        self._send(order)
        return f"order {order.n} shipped by the channel"

    def receive(self) -> str:
        sku, warehouse = self.rng.choice(PLAIN), self.rng.choice(list(self.warehouses))
        quantity = self.rng.randint(1, 6)
        services.stock_receive(
            product=self.products[sku], warehouse=self.warehouses[warehouse], quantity=quantity, reference="PO"
        )
        self.on_hand[(sku, warehouse)] += quantity
        self.received[(sku, warehouse)] += quantity
        return f"receive {quantity} {sku} @ {warehouse}"

    def damage(self) -> str:
        sku, warehouse = self.rng.choice(PLAIN), self.rng.choice(list(self.warehouses))
        try:
            services.stock_adjust(
                product=self.products[sku],
                warehouse=self.warehouses[warehouse],
                delta=-1,
                kind=MovementKind.DAMAGED,
                reason="broken",
            )
        except ValidationError:
            return f"damage 1 {sku} @ {warehouse}: refused (reserved)"
        self.on_hand[(sku, warehouse)] -= 1
        return f"damage 1 {sku} @ {warehouse}"

    def reroute(self) -> str:
        """German orders switch between the Shenzhen pick list and the Los Angeles 3PL."""
        self.de_target = "Los Angeles 3PL" if self.de_target == "Shenzhen" else "Shenzhen"
        for route in FulfillmentRoute.objects.filter(countries=["DE"]):
            fulfilment.fulfilment_route_delete(tenant=self.tenant, route=route)
        fulfilment.fulfilment_route_create(
            tenant=self.tenant, target=self.targets[self.de_target], countries=["DE"], position=1
        )
        return f"German orders now go to {self.de_target}"

    STEPS: tuple[tuple[str, int], ...] = (
        ("new_order", 6),
        ("edit_quantity", 5),
        ("add_line", 2),
        ("remove_line", 2),
        ("pay", 2),
        ("cancel", 2),
        ("ship_parcel", 3),
        ("channel_ships", 2),
        ("receive", 4),
        ("damage", 1),
        ("reroute", 1),
    )

    def step(self) -> None:
        names = [name for name, _weight in self.STEPS]
        weights = [weight for _name, weight in self.STEPS]
        action: Callable[[], str | None] = getattr(self, self.rng.choices(names, weights)[0])
        done = action()
        if done:
            self.log.append(done)

    # -- what must be true -----------------------------------------------------------------------------------

    def decided(self, order: OrderBook, sent: dict[tuple[int, str], str]) -> str | None:
        """Where the order ships from: the warehouse it was sent to, else what the rules say now."""
        book = self.books[order.store]
        if (book.store.pk, book.external_id(order.n)) in sent:
            return sent[(book.store.pk, book.external_id(order.n))]
        return {"US": "Los Angeles 3PL", "DE": self.de_target}.get(order.country)

    def _levels(self) -> dict[tuple[str, str], StockLevel]:
        return {
            (level.product.sku, level.warehouse.name): level
            for level in StockLevel.objects.filter(tenant=self.tenant).select_related("product", "warehouse")
        }

    def check(self) -> None:
        """Everything the module docstring lists, after one step."""
        levels = self._levels()
        # on hand: receipts and adjustments less what shipments took
        for key in set(levels) | {key for key, units in self.on_hand.items() if units}:
            on_hand = levels[key].on_hand if key in levels else 0
            assert on_hand == self.on_hand[key], f"on hand of {key}: {on_hand}, expected {self.on_hand[key]}"
        self.check_sums(stuck=True)

    def check_sums(self, *, stuck: bool = False) -> None:
        """The ledger, reserved == what lines hold, what each line holds, the flags and channel quantities
        (and, with `stuck`, that no backorder waits for stock its warehouse has)."""
        levels = self._levels()
        free = {key: level.on_hand - level.reserved for key, level in levels.items()}
        assert services.levels_match_ledger(tenant_id=self.tenant.pk) == []
        # reserved: what the lines hold
        held_at: Counter[tuple[str, str]] = Counter()
        for product, warehouse, quantity in Reservation.objects.filter(tenant=self.tenant).values_list(
            "product__sku", "warehouse__name", "quantity"
        ):
            held_at[(product, warehouse)] += quantity
        for key, level in levels.items():
            assert level.reserved == held_at[key], f"reserved of {key}: {level.reserved}, lines hold {held_at[key]}"
        # removed lines hold nothing and are gone
        assert not LineAllocation.objects.filter(line_ref__in=self.removed).exists()
        snapshot = _Snapshot.read(self.tenant)
        lines = 0
        for order in self.orders.values():
            book = self.books[order.store]
            order_key = (book.store.pk, book.external_id(order.n))
            decided = self.decided(order, snapshot.sent)
            problems: set[str] = set()
            for line_id, line in order.lines.items():
                lines += 1
                self._check_line(order, line_id, line, snapshot, order_key, decided, free if stuck else None, problems)
            flag = snapshot.flags[order_key]
            assert flag == ("backordered" if problems else ""), f"order {order.n} flag {flag!r}"
        assert len(snapshot.allocations) == lines
        self._check_listings(levels)

    def _check_line(
        self,
        order: OrderBook,
        line_id: str,
        line: LineBook,
        snapshot: _Snapshot,
        key: tuple[int, str],
        decided: str | None,
        free: dict[tuple[str, str], int] | None,
        problems: set[str],
    ) -> None:
        line_pk, stock_state = snapshot.lines[(*key, line_id)]
        allocation = snapshot.allocations[f"order-line:{line_pk}"]
        where = f"order {order.n} line {line_id} ({line.sku} x{line.quantity}, {line.shipped} shipped)"
        assert stock_state == allocation.state, where
        held: dict[str, int] = {}
        warehouses = set()
        for product, warehouse, quantity in snapshot.held.get(allocation.pk, []):
            held[product] = held.get(product, 0) + quantity
            warehouses.add(warehouse)
        if order.status == "cancelled":
            assert (allocation.state, held) == (AllocationState.RELEASED, {}), where
            return
        if order.status == "shipped" or line.quantity == line.shipped:
            assert (allocation.state, held) == (AllocationState.SHIPPED, {}), where
            return
        if order.status == "pending_payment":
            assert (allocation.state, held) == (AllocationState.WAITING_PAYMENT, {}), where
            return
        master, multiplier = CHANNEL_SKUS[line.sku]
        needs = {
            product: (line.quantity - line.shipped) * multiplier * units
            for product, units in COMPONENTS[master].items()
        }
        assert len(warehouses) <= 1, f"{where} holds in {warehouses}"
        assert all(held.get(product, 0) <= units for product, units in needs.items()), f"{where}: {held} > {needs}"
        assert set(held) <= set(needs), where
        if decided is not None and warehouses:
            assert warehouses == {decided}, f"{where} holds in {warehouses}, ships from {decided}"
        if allocation.state == AllocationState.RESERVED:
            assert held == needs, f"{where} reserved but holds {held} of {needs}"
            return
        assert allocation.state == AllocationState.BACKORDERED, f"{where}: {allocation.state}"
        problems.add("backordered")
        if free is None:
            return
        # no stuck units: where it waits, something it needs really is short
        candidates = [decided] if decided is not None else list(self.warehouses)
        holding = next(iter(warehouses), None)
        for warehouse in candidates:
            have = held if warehouse == holding else {}
            short = [
                product
                for product, units in needs.items()
                if units - have.get(product, 0) > free.get((product, warehouse), 0)
            ]
            assert short, f"{where} waits although {warehouse} has what it needs ({needs}, holding {have})"

    def _check_listings(self, levels: dict[tuple[str, str], StockLevel]) -> None:
        for listing in ChannelListing.objects.filter(tenant=self.tenant).select_related("store", "mapping__product"):
            share, buffer, most, names = RULES[listing.store.platform]
            fed = names or tuple(self.warehouses)
            master = listing.mapping.product.sku

            def available(sku: str, fed: tuple[str, ...] = fed) -> int:
                return sum(
                    max(0, levels[(sku, w)].on_hand - levels[(sku, w)].reserved) for w in fed if (sku, w) in levels
                )

            units = min(available(part) // count for part, count in COMPONENTS[master].items())
            shared = max(0, units - buffer) * share // 100
            listed = shared // listing.mapping.quantity_multiplier
            expected = listed if most is None else min(listed, most)
            assert listing.target_quantity == expected, (
                f"{listing.store.platform} {listing.mapping.channel_sku}: shows {listing.target_quantity}, "
                f"should show {expected}"
            )


@dataclass
class _Snapshot:
    """What the database says about lines, allocations, holdings, order flags and sent orders (one read each)."""

    lines: dict[tuple[int, str, str], tuple[int, str]]  # (store, order id, line id) → (line pk, stock state)
    allocations: dict[str, LineAllocation]  # line ref → allocation
    held: dict[int, list[tuple[str, str, int]]]  # allocation pk → (product, warehouse, units)
    flags: dict[tuple[int, str], str]  # (store, order id) → stock problem
    sent: dict[tuple[int, str], str]  # (store, order id) → the warehouse of the target it was sent to

    @classmethod
    def read(cls, tenant: Tenant) -> _Snapshot:
        held: dict[int, list[tuple[str, str, int]]] = {}
        for allocation_id, product, warehouse, quantity in Reservation.objects.filter(tenant=tenant).values_list(
            "allocation_id", "product__sku", "warehouse__name", "quantity"
        ):
            held.setdefault(allocation_id, []).append((product, warehouse, quantity))
        return cls(
            lines={
                (store, order, line): (pk, state)
                for pk, store, order, line, state in OrderLine.objects.filter(tenant=tenant).values_list(
                    "pk", "order__store_id", "order__external_id", "external_id", "stock_state"
                )
            },
            allocations={
                allocation.line_ref: allocation for allocation in LineAllocation.objects.filter(tenant=tenant)
            },
            held=held,
            flags={
                (store, order): flag
                for store, order, flag in Order.objects.filter(tenant=tenant).values_list(
                    "store_id", "external_id", "stock_problem"
                )
            },
            sent={
                (store, order): warehouse
                for store, order, warehouse in FulfillmentRequest.objects.filter(tenant=tenant).values_list(
                    "order__store_id", "order__external_id", "target__warehouse__name"
                )
            },
        )


def _world(tenant: Tenant, seed: int, stores: list[Store] | None = None) -> Walk:
    """Three channels, two warehouses, mugs, lids and a kit of both; US orders ship from Los Angeles, German
    ones from Shenzhen (until a reroute), Japanese ones from wherever the whole line is."""
    warehouses = {
        "Shenzhen": warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True),
        "Los Angeles 3PL": warehouse_save(
            tenant=tenant, name="Los Angeles 3PL", kind="third_party", country="US", active=True
        ),
    }
    products = {sku: product_save(tenant=tenant, sku=sku, name=sku.title()) for sku in ("MUG", "LID", "KIT")}
    bundle_set_components(product=products["KIT"], components=[(products["MUG"], 1), (products["LID"], 2)])
    targets = {
        name: fulfilment.fulfilment_target_create(
            tenant=tenant, name=f"{name} desk", kind="pick_list", warehouse=warehouse, active=True
        )[0]
        for name, warehouse in warehouses.items()
    }
    fulfilment.fulfilment_route_create(tenant=tenant, target=targets["Los Angeles 3PL"], countries=["US"])
    fulfilment.fulfilment_route_create(tenant=tenant, target=targets["Shenzhen"], countries=["DE"])
    stores = stores or [
        StoreFactory(tenant=tenant, platform=platform, name=f"{platform} store", seller_id=f"{platform}-{seed}")
        for platform in RULES
    ]
    for store in stores:
        for channel_sku, (master, multiplier) in CHANNEL_SKUS.items():
            services.mapping_create(
                store=store, product=products[master], channel_sku=channel_sku, quantity_multiplier=multiplier
            )
        share, buffer, most, names = RULES[store.platform]
        sharing_rule_update(
            tenant=tenant, store=store, actor=None, share_percent=share, safety_buffer=buffer, max_listed=most,
            warehouses=[warehouses[name] for name in names], push_enabled=False,
        )  # fmt: skip
    walk = Walk(
        tenant=tenant,
        rng=random.Random(seed),
        books=[ChannelBook(store, prefix=f"{store.platform[:3].upper()}{seed}") for store in stores],
        warehouses=warehouses,
        products=products,
        targets=targets,
    )
    for sku in PLAIN:
        for name, warehouse in warehouses.items():
            quantity = walk.rng.randint(0, 8)
            if quantity:
                services.stock_receive(product=products[sku], warehouse=warehouse, quantity=quantity, reference="PO-0")
                walk.on_hand[(sku, name)] += quantity
                walk.received[(sku, name)] += quantity
    return walk


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_cancels_and_shipments_leave_no_phantom_or_stuck_unit(
    tenant: Tenant, seed: int, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_scope(tenant):
        with django_capture_on_commit_callbacks(execute=True):
            walk = _world(tenant, seed)
        walk.check()
        for number in range(60):
            with django_capture_on_commit_callbacks(execute=True):  # channel quantities follow after each commit
                walk.step()
            try:
                walk.check()
            except AssertionError as failure:
                steps = "\n".join(f"  {index}: {entry}" for index, entry in enumerate(walk.log))
                raise AssertionError(f"seed {seed}, step {number}: {failure}\n{steps}") from None
        assert len(walk.log) > 40 and walk.parcels > 0
        assert any("shipped by the channel" in entry for entry in walk.log)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_walks_on_one_stock_pool_keep_every_sum(tenant: Tenant) -> None:
    """Six workers, two per channel, edit, cancel, ship and receive at once on the same products."""
    with tenant_scope(tenant):
        stores = [
            StoreFactory(tenant=tenant, platform=platform, name=f"{platform} store", seller_id=f"{platform}-c")
            for platform in RULES
        ]
        walk = _world(tenant, 100, stores)
    walks = [
        Walk(
            tenant=tenant,
            rng=random.Random(200 + index),
            books=[ChannelBook(stores[index % 3], prefix=f"W{index}-")],
            warehouses=walk.warehouses,
            products=walk.products,
            targets=walk.targets,
        )
        for index in range(6)
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(len(walks))

    def worker(mine: Walk) -> None:
        try:
            start.wait()
            with tenant_scope(tenant):
                for _ in range(25):
                    action = mine.rng.choice(
                        ["new_order", "new_order", "edit_quantity", "remove_line", "cancel", "ship_parcel",
                         "channel_ships", "receive"]
                    )  # fmt: skip
                    getattr(mine, action)()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in walks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors[:3]
    with tenant_scope(tenant):
        # every worker kept its own book of receipts and takings: together they are the truth
        combined = Walk(
            tenant=tenant,
            rng=random.Random(0),
            books=walk.books,
            warehouses=walk.warehouses,
            products=walk.products,
            targets=walk.targets,
        )
        combined.on_hand = Counter(walk.on_hand)
        for mine in walks:
            combined.on_hand.update(mine.on_hand)
            combined.removed += mine.removed
            for (_store, n), order in mine.orders.items():
                combined.orders[(len(combined.books), n)] = order
                order.store = len(combined.books)
            combined.books.append(mine.books[0])
        # a receipt that raced a worker's release may have left a backorder its warehouse could now serve:
        # the next stock event serves it; the sums below hold at every moment regardless
        combined.check_sums()
        assert SharingRule.objects.count() == 3
        # on hand is what arrived less what shipments took, and no line's shipments took more than it shipped
        received: Counter[tuple[str, str]] = Counter(walk.received)
        for mine in walks:
            received.update(mine.received)
        shipments = StockMovement.objects.filter(tenant=tenant, kind=MovementKind.SHIPMENT)
        for (sku, warehouse), level in combined._levels().items():
            taken = -sum(shipments.filter(product=level.product, warehouse=level.warehouse).values_list(
                "on_hand_delta", flat=True
            ))  # fmt: skip
            assert level.on_hand == received[(sku, warehouse)] - taken, (sku, warehouse)
        for (_store, _n), order in combined.orders.items():
            for line_id, line in order.lines.items():
                allocation = LineAllocation.objects.get(
                    line_ref=line_ref(combined.books[order.store].line(order.n, line_id))
                )
                master, multiplier = CHANNEL_SKUS[line.sku]
                for sku, per_unit in COMPONENTS[master].items():
                    took = -sum(
                        shipments.filter(reference=allocation.reference, product__sku=sku).values_list(
                            "on_hand_delta", flat=True
                        )
                    )
                    assert took <= line.shipped * multiplier * per_unit, (allocation.reference, sku, took)
