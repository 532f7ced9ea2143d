"""Order edits move stock exactly: a changed quantity reserves or releases only the difference, a removed
line gives back what it held, shipping takes what the line holds now (parcel by parcel, never more), bundles
stay all or nothing, pack multipliers count, and units that free up serve the oldest backorder at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services
from inventory.allocation import line_ref
from inventory.catalogue import bundle_set_components, product_save, warehouse_save
from inventory.models import (
    AllocationState,
    LineAllocation,
    MovementKind,
    Product,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from orders.models import OrderLine
from orders.shipments import shipment_record
from tests.factories import StoreFactory
from tests.inventory.channel_orders import ChannelBook

pytestmark = pytest.mark.django_db


def _setup(tenant: Tenant, on_hand: int = 10, *, platform: str = "shopify") -> tuple[ChannelBook, Product, Warehouse]:
    store = StoreFactory(tenant=tenant, platform=platform, name=f"{platform} shop", seller_id=f"{platform}-1")
    warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
    product = product_save(tenant=tenant, sku="MUG", name="Mug")
    if on_hand:
        services.stock_receive(product=product, warehouse=warehouse, quantity=on_hand, reference="PO-1")
    return ChannelBook(store), product, warehouse


def _level(product: Product, warehouse: Warehouse | None = None) -> tuple[int, int]:
    levels = StockLevel.objects.filter(product=product)
    if warehouse is not None:
        levels = levels.filter(warehouse=warehouse)
    level = levels.get()
    return level.on_hand, level.reserved


def _allocation(book: ChannelBook, n: int, line_id: str) -> LineAllocation:
    return LineAllocation.objects.get(line_ref=line_ref(book.line(n, line_id)))


def _sound(tenant: Tenant) -> None:
    """The ledger equals the levels, and every level's reserved is what the open lines hold there."""
    assert services.levels_match_ledger(tenant_id=tenant.pk) == []
    for level in StockLevel.objects.filter(tenant=tenant):
        held = sum(
            Reservation.objects.filter(product=level.product, warehouse=level.warehouse).values_list(
                "quantity", flat=True
            )
        )
        assert level.reserved == held, level.product.sku


def _ship(book: ChannelBook, n: int, tracking: str, lines: dict[str, int] | None = None) -> None:
    order = book.stored(n)
    parcel = {book.line(n, line_id).pk: units for line_id, units in lines.items()} if lines else None
    shipment_record(
        order=order,
        carrier="UPS",
        tracking_number=tracking,
        shipped_at=order.purchased_at,
        source="manual",
        lines=parcel,
    )


@pytest.mark.parametrize(("ordered", "edited", "after_ship"), [(3, 1, (9, 0)), (1, 3, (7, 0)), (2, 2, (8, 0))])
def test_an_edited_quantity_reserves_only_the_difference_and_ships_what_the_line_holds_now(
    tenant: Tenant, ordered: int, edited: int, after_ship: tuple[int, int]
) -> None:
    with tenant_scope(tenant):
        # given: a paid line holds its mugs
        book, mug, _warehouse = _setup(tenant)
        book.send(book.order(1, ("L1", "MUG", ordered)))
        assert _level(mug) == (10, ordered)
        # when: the channel edits the quantity
        book.send(book.edit(1, lines=(("L1", "MUG", edited),)))
        # then: only the difference moved
        assert _level(mug) == (10, edited)
        moves = StockMovement.objects.filter(product=mug).exclude(kind=MovementKind.RECEIPT)
        assert sum(moves.values_list("reserved_delta", flat=True)) == edited
        assert moves.count() == (1 if ordered == edited else 2)
        # when: the channel ships it
        book.send(book.edit(1, status="shipped"))
        # then: the units of the line as it is now left the shelf, no more, no less
        assert _level(mug) == after_ship
        assert _allocation(book, 1, "L1").state == AllocationState.SHIPPED
        _sound(tenant)


def test_a_line_the_channel_removed_gives_back_what_it_held_and_serves_a_waiting_order(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: order 1 holds 6 of 10 mugs and a cup; order 2 wants 5 mugs and waits for them
        book, mug, warehouse = _setup(tenant)
        cup = product_save(tenant=tenant, sku="CUP", name="Cup")
        services.stock_receive(product=cup, warehouse=warehouse, quantity=1)
        book.send(book.order(1, ("L1", "MUG", 6), ("L2", "CUP", 1)))
        book.send(book.order(2, ("L3", "MUG", 5)))
        assert _allocation(book, 2, "L3").state == AllocationState.BACKORDERED
        assert book.stored(2).stock_problem == "backordered"
        removed_ref = line_ref(book.line(1, "L1"))
        # when: the channel removes the mug line from order 1
        book.send(book.edit(1, lines=(("L2", "CUP", 1),)))
        # then: its 6 mugs are free again, and order 2 takes its 5 at once
        assert not OrderLine.objects.filter(order__external_id=book.external_id(1), external_id="L1").exists()
        assert not LineAllocation.objects.filter(line_ref=removed_ref).exists()
        assert _level(mug) == (10, 5) and _level(cup) == (1, 1)
        assert _allocation(book, 2, "L3").state == AllocationState.RESERVED
        assert book.stored(2).stock_problem == ""
        _sound(tenant)


def test_a_bigger_quantity_the_warehouse_cannot_hold_backorders_keeps_what_it_held_and_a_receipt_fills_it(
    tenant: Tenant,
) -> None:
    with tenant_scope(tenant):
        # given: 4 mugs, a line holding 3
        book, mug, warehouse = _setup(tenant, on_hand=4)
        book.send(book.order(1, ("L1", "MUG", 3)))
        # when: the buyer raises it to 6
        book.send(book.edit(1, lines=(("L1", "MUG", 6),)))
        # then: it waits for the 3 missing, keeping the 3 it had (a newer order cannot take them)
        allocation = _allocation(book, 1, "L1")
        assert allocation.state == AllocationState.BACKORDERED and _level(mug) == (4, 3)
        book.send(book.order(2, ("L2", "MUG", 1)))
        assert _level(mug) == (4, 4)  # the newer order took the one free mug, not the backordered line's
        # when: 2 more arrive: still one short, nothing more is reserved for the line
        services.stock_receive(product=mug, warehouse=warehouse, quantity=2)
        assert _allocation(book, 1, "L1").state == AllocationState.BACKORDERED and _level(mug) == (6, 4)
        # when: the third arrives
        services.stock_receive(product=mug, warehouse=warehouse, quantity=1)
        assert _allocation(book, 1, "L1").state == AllocationState.RESERVED and _level(mug) == (7, 7)
        _sound(tenant)


def test_bundles_stay_all_or_nothing_and_pack_multipliers_count_when_a_line_grows_and_shrinks(
    tenant: Tenant,
) -> None:
    with tenant_scope(tenant):
        # given: a kit of 1 mug + 2 lids, sold as a 2-pack of kits; 10 mugs and 9 lids
        book, mug, warehouse = _setup(tenant)
        lid = product_save(tenant=tenant, sku="LID", name="Lid")
        services.stock_receive(product=lid, warehouse=warehouse, quantity=9)
        kit = product_save(tenant=tenant, sku="KIT", name="Mug and lids")
        bundle_set_components(product=kit, components=[(mug, 1), (lid, 2)])
        services.mapping_create(store=book.store, product=kit, channel_sku="KIT-2PK", quantity_multiplier=2)
        book.send(book.order(1, ("L1", "KIT-2PK", 1)))
        assert (_level(mug), _level(lid)) == ((10, 2), (9, 4))
        # when: 2 two-packs (4 kits: 8 lids, 9 there): the difference is reserved
        book.send(book.edit(1, lines=(("L1", "KIT-2PK", 2),)))
        assert (_level(mug), _level(lid)) == ((10, 4), (9, 8))
        # when: 3 two-packs (12 lids): not all there, so no extra mug is taken either
        book.send(book.edit(1, lines=(("L1", "KIT-2PK", 3),)))
        assert _allocation(book, 1, "L1").state == AllocationState.BACKORDERED
        assert (_level(mug), _level(lid)) == ((10, 4), (9, 8))
        # when: back to 1 two-pack: it releases down to what one two-pack needs
        book.send(book.edit(1, lines=(("L1", "KIT-2PK", 1),)))
        assert _allocation(book, 1, "L1").state == AllocationState.RESERVED
        assert (_level(mug), _level(lid)) == ((10, 2), (9, 4))
        _sound(tenant)


def test_a_line_whose_sku_changed_gives_back_the_old_product_and_reserves_the_new(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        book, mug, warehouse = _setup(tenant)
        cup = product_save(tenant=tenant, sku="CUP", name="Cup")
        services.stock_receive(product=cup, warehouse=warehouse, quantity=5)
        book.send(book.order(1, ("L1", "MUG", 2)))
        book.send(book.edit(1, lines=(("L1", "CUP", 2),)))
        assert _level(mug) == (10, 0) and _level(cup) == (5, 2)
        assert _allocation(book, 1, "L1").product == cup
        _sound(tenant)


def test_shipping_in_parcels_never_takes_more_than_the_line_holds_even_after_an_edit(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: a line of 4 mugs; one parcel of 1 leaves
        book, mug, _warehouse = _setup(tenant)
        book.send(book.order(1, ("L1", "MUG", 4)))
        _ship(book, 1, "1Z1", {"L1": 1})
        assert _level(mug) == (9, 3)
        # when: the buyer cuts the line to 2 (one shipped, one to go)
        book.send(book.edit(1, lines=(("L1", "MUG", 2),)))
        assert _level(mug) == (9, 1)
        # when: the last parcel leaves, and then the channel says shipped
        _ship(book, 1, "1Z2", {"L1": 1})
        assert _level(mug) == (8, 0) and _allocation(book, 1, "L1").state == AllocationState.SHIPPED
        book.send(book.edit(1, status="shipped"))
        # then: 2 mugs left in all
        assert _level(mug) == (8, 0)
        _sound(tenant)


def test_cancelling_releases_and_the_oldest_backorder_takes_the_units_at_once(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        book, mug, _warehouse = _setup(tenant, on_hand=3)
        book.send(book.order(1, ("L1", "MUG", 3)))
        book.send(book.order(2, ("L2", "MUG", 2)), book.order(3, ("L3", "MUG", 1)))
        assert _allocation(book, 2, "L2").state == AllocationState.BACKORDERED
        book.send(book.edit(1, status="cancelled"))
        assert _allocation(book, 1, "L1").state == AllocationState.RELEASED
        assert _allocation(book, 2, "L2").state == AllocationState.RESERVED  # the older waiting order first
        assert _allocation(book, 3, "L3").state == AllocationState.RESERVED
        assert _level(mug) == (3, 3)
        _sound(tenant)


def test_the_same_edit_twice_moves_nothing(tenant: Tenant, django_capture_on_commit_callbacks: Callable) -> None:
    with tenant_scope(tenant):
        book, mug, _warehouse = _setup(tenant)
        book.send(book.order(1, ("L1", "MUG", 3)))
        edited = book.edit(1, lines=(("L1", "MUG", 5),))
        book.send(edited)
        count = StockMovement.objects.count()
        book.send(edited)
        book.send(edited)
        assert StockMovement.objects.count() == count and _level(mug) == (10, 5)


def test_edits_in_one_company_never_touch_another_companys_stock(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        # given: the other company has a mug line waiting for stock, with the same SKUs and order ids
        their_book, their_mug, _ = _setup(other_tenant, on_hand=1)
        their_book.send(their_book.order(1, ("L1", "MUG", 3)))
        assert _allocation(their_book, 1, "L1").state == AllocationState.BACKORDERED
    with tenant_scope(tenant):
        # when: my order gives back its mugs
        book, mug, _warehouse = _setup(tenant)
        book.send(book.order(1, ("L1", "MUG", 5)))
        book.send(book.edit(1, status="cancelled"))
        assert _level(mug) == (10, 0)
    with tenant_scope(other_tenant):
        # then: their line still waits, their level is as it was
        assert _allocation(their_book, 1, "L1").state == AllocationState.BACKORDERED
        assert _level(their_mug) == (1, 0)
        _sound(other_tenant)
