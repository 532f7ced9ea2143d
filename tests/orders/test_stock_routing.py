"""Stock is reserved where it will ship from: an order's lines hold their stock in the warehouse of the target
its route names, that warehouse takes the shipment and gets the goods back; a route that changes before the
order is sent moves the stock (or backorders the order when the new warehouse is short); a third-party
warehouse that holds none of a SKU is never sent the order. The HTTP legs run against the simulator's
warehouse in test_stock_routing_e2e.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import ledger, services
from inventory.allocation import line_ref
from inventory.catalogue import product_save, warehouse_save
from inventory.models import AllocationState, LineAllocation, Product, Reservation, StockLevel, Warehouse
from orders.fulfilment import services as fulfilment
from orders.models import FulfillmentRequest, FulfillmentRoute, FulfillmentTarget
from orders.shipments import shipment_record
from orders.stock import order_warehouses
from refunds import restock
from refunds.models import RestockState, Return
from tests.factories import StoreFactory
from tests.inventory.channel_orders import ChannelBook

pytestmark = pytest.mark.django_db


def _warehouses(tenant: Tenant) -> tuple[Warehouse, Warehouse]:
    shenzhen = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
    los_angeles = warehouse_save(tenant=tenant, name="Los Angeles 3PL", kind="third_party", country="US", active=True)
    return shenzhen, los_angeles


def _product(sku: str, tenant: Tenant, **stock: tuple[Warehouse, int]) -> Product:
    product = product_save(tenant=tenant, sku=sku, name=sku.title())
    for warehouse, quantity in stock.values():
        services.stock_receive(product=product, warehouse=warehouse, quantity=quantity, reference="PO-1")
    return product


def _targets(
    tenant: Tenant, shenzhen: Warehouse, los_angeles: Warehouse
) -> tuple[FulfillmentTarget, FulfillmentTarget]:
    """US buyers to the Los Angeles 3PL, everything else to the Shenzhen pick list (as the demo does)."""
    la, _secret = fulfilment.fulfilment_target_create(
        tenant=tenant, name="Los Angeles 3PL (files)", kind="csv", warehouse=los_angeles, active=True
    )
    sz, _secret = fulfilment.fulfilment_target_create(
        tenant=tenant, name="Shenzhen pick list", kind="pick_list", warehouse=shenzhen, active=True
    )
    fulfilment.fulfilment_route_create(tenant=tenant, target=la, countries=["US"])
    fulfilment.fulfilment_route_create(tenant=tenant, target=sz)
    return la, sz


def _held(product: Product) -> dict[str, int]:
    """Where the product's units are reserved: warehouse name → units."""
    return {
        level.warehouse.name: level.reserved
        for level in StockLevel.objects.filter(product=product).select_related("warehouse")
        if level.reserved
    }


def _on_hand(product: Product) -> dict[str, int]:
    return {
        level.warehouse.name: level.on_hand
        for level in StockLevel.objects.filter(product=product).select_related("warehouse")
    }


def _allocation(book: ChannelBook, n: int, line_id: str = "L1") -> LineAllocation:
    return LineAllocation.objects.select_related("warehouse").get(line_ref=line_ref(book.line(n, line_id)))


def _target_of(book: ChannelBook, n: int) -> str | None:
    request = FulfillmentRequest.objects.filter(order=book.stored(n)).select_related("target").first()
    return request.target.name if request is not None else None


def _ship(book: ChannelBook, n: int, tracking: str, lines: dict[str, int] | None = None) -> None:
    order = book.stored(n)
    parcel = {book.line(n, line_id).pk: units for line_id, units in lines.items()} if lines else None
    shipment_record(
        order=order, carrier="UPS", tracking_number=tracking, shipped_at=order.purchased_at, source="warehouse",
        lines=parcel,
    )  # fmt: skip


def test_a_routed_order_reserves_ships_and_is_restocked_where_its_route_sends_it(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: kettles in both warehouses; US orders go to Los Angeles, the rest to Shenzhen
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 5))
        _targets(tenant, shenzhen, los_angeles)
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        # when: a US buyer and a German buyer each order 2
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"), book.order(2, ("L1", "KETTLE", 2), country="DE"))
        # then: each reserves where it ships from, and each is queued to that warehouse's target
        assert _held(kettle) == {"Los Angeles 3PL": 2, "Shenzhen": 2}
        assert _allocation(book, 1).warehouse == los_angeles and _target_of(book, 1) == "Los Angeles 3PL (files)"
        assert _allocation(book, 2).warehouse == shenzhen and _target_of(book, 2) == "Shenzhen pick list"
        assert order_warehouses(orders=[book.stored(1), book.stored(2)]) == {
            book.stored(1).pk: los_angeles,
            book.stored(2).pk: shenzhen,
        }
        # when: Los Angeles ships the US order
        _ship(book, 1, "1ZLA")
        # then: Los Angeles' shelf lost 2 kettles, Shenzhen's did not
        assert _on_hand(kettle) == {"Shenzhen": 10, "Los Angeles 3PL": 3}
        assert _held(kettle) == {"Shenzhen": 2}
        assert _allocation(book, 1).shipped_from == los_angeles
        # when: one comes back, received sellable
        record = Return.objects.create(
            tenant=tenant, store=book.store, order=book.stored(1), order_external_id=book.external_id(1),
            external_id="R-1", source="shopify", fulfillment_channel="merchant", sku="KETTLE", quantity=1,
            status="received", disposition="SELLABLE", returned_at=timezone.now() - timedelta(hours=2),
        )  # fmt: skip
        assert restock.return_restock_by_disposition(record=record) == RestockState.SELLABLE
        # then: it goes back to Los Angeles, which shipped it, and the console offers Los Angeles first
        assert _on_hand(kettle) == {"Shenzhen": 10, "Los Angeles 3PL": 4}
        assert restock.restock_warehouses(tenant_id=tenant.pk, first=restock.return_shipped_from(record=record))[0] == (
            los_angeles
        )
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_refund_with_goods_back_restocks_the_warehouse_that_shipped(
    tenant: Tenant, make_member: Callable[..., Membership]
) -> None:
    from refunds import approvals
    from refunds.execution import _Outcome, _settle
    from refunds.models import RefundStatus

    requester = make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant):
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 5))
        _targets(tenant, shenzhen, los_angeles)
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"))
        _ship(book, 1, "1ZLA")
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(10**6), two_approvals_from=Decimal(10**6),
            approver_roles=["owner"], actor=None,
        )  # fmt: skip
        refund = approvals.refund_request(
            order=book.stored(1), lines=[(book.line(1, "L1"), 1)], shipping=False, note="came back", restock=True,
            actor=requester.user,
        )  # fmt: skip
        refund.status = RefundStatus.EXECUTING
        refund.save(update_fields=["status"])
        _settle(refund.pk, _Outcome("succeeded", channel_refund_id="9001"))
        assert _on_hand(kettle) == {"Shenzhen": 10, "Los Angeles 3PL": 4}


def test_a_warehouse_that_holds_none_of_the_sku_backorders_the_order_and_is_not_sent_it(
    tenant: Tenant, owner: Membership, owner_client: Client
) -> None:
    with tenant_scope(tenant):
        # given: teapots only in Shenzhen; US orders go to Los Angeles
        shenzhen, los_angeles = _warehouses(tenant)
        teapot = _product("TEAPOT", tenant, a=(shenzhen, 10))
        _targets(tenant, shenzhen, los_angeles)
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        # when: a US buyer orders one
        book.send(book.order(1, ("L1", "TEAPOT", 1), country="US"))
        # then: nothing is taken from Shenzhen's shelf for it, Los Angeles is not sent it, the order is flagged and
        # the alert says which warehouse is short
        allocation = _allocation(book, 1)
        assert allocation.state == AllocationState.BACKORDERED and allocation.warehouse == los_angeles
        assert _held(teapot) == {} and _target_of(book, 1) is None
        assert book.stored(1).stock_problem == "backordered"
        alert = Notification.objects.get(kind="backorder")
        assert "Los Angeles 3PL" in alert.body
        page = owner_client.get(f"/app/orders/{book.stored(1).pk}/").content.decode()
        assert "Short at Los Angeles 3PL" in page
        # when: Los Angeles receives teapots
        services.stock_receive(product=teapot, warehouse=los_angeles, quantity=3, reference="PO-LA")
        # then: the order holds one there and goes to Los Angeles
        assert _held(teapot) == {"Los Angeles 3PL": 1}
        assert _allocation(book, 1).state == AllocationState.RESERVED
        assert _target_of(book, 1) == "Los Angeles 3PL (files)"


def test_a_new_rule_moves_what_waiting_orders_hold_or_backorders_them_when_the_new_warehouse_is_short(
    tenant: Tenant,
) -> None:
    with tenant_scope(tenant):
        # given: no routing rules yet: two US orders hold kettles in Shenzhen (own warehouses first)
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 3))
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"), book.order(2, ("L1", "KETTLE", 2), country="US"))
        assert _held(kettle) == {"Shenzhen": 4}
        # when: the seller routes US orders to Los Angeles (3 kettles there)
        _targets(tenant, shenzhen, los_angeles)
        # then: the older order moved to Los Angeles; the newer one does not fit there: it is backordered at Los
        # Angeles, and Shenzhen holds nothing for either
        assert _held(kettle) == {"Los Angeles 3PL": 2}
        assert (_allocation(book, 1).state, _allocation(book, 1).warehouse) == (AllocationState.RESERVED, los_angeles)
        assert (_allocation(book, 2).state, _allocation(book, 2).warehouse) == (
            AllocationState.BACKORDERED,
            los_angeles,
        )
        assert book.stored(2).stock_problem == "backordered"
        # when: the waiting orders are routed: only the whole one goes, to Los Angeles
        assert fulfilment.fulfilment_route_waiting(tenant=tenant) == 1
        assert _target_of(book, 1) == "Los Angeles 3PL (files)" and _target_of(book, 2) is None
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_queueing_after_rules_changed_behind_its_back_moves_the_stock_first(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: an order holding its kettles in Shenzhen, and rules that now send US orders to Los Angeles,
        # written without telling anyone (an import, an admin edit)
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 5))
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"))
        la, _secret = fulfilment.fulfilment_target_create(
            tenant=tenant, name="LA", kind="pick_list", warehouse=los_angeles, active=True
        )
        FulfillmentRoute.objects.create(tenant=tenant, target=la, position=1, countries=["US"])
        assert _held(kettle) == {"Shenzhen": 2}
        # when: waiting orders are routed
        assert fulfilment.fulfilment_route_waiting(tenant=tenant) == 1
        # then: the stock moved to the warehouse that will ship it before the order was queued there
        assert _held(kettle) == {"Los Angeles 3PL": 2} and _target_of(book, 1) == "LA"
        assert Reservation.objects.get().warehouse == los_angeles


def test_an_order_already_sent_stays_with_its_warehouse_when_the_rules_change(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 5))
        la, _sz = _targets(tenant, shenzhen, los_angeles)
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"))
        assert _target_of(book, 1) == la.name
        # when: US orders go to Shenzhen from now on, and the order is edited afterwards
        us_rule = FulfillmentRoute.objects.get(target=la)
        fulfilment.fulfilment_route_delete(tenant=tenant, route=us_rule)
        book.send(book.edit(1, lines=(("L1", "KETTLE", 3),)))
        # then: Los Angeles has the order, so Los Angeles keeps holding its (now 3) kettles
        assert _held(kettle) == {"Los Angeles 3PL": 3}


def test_another_companys_rules_and_warehouses_decide_nothing_for_mine(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        their_shenzhen, their_la = _warehouses(other_tenant)
        _product("KETTLE", other_tenant, a=(their_la, 5))
        _targets(other_tenant, their_shenzhen, their_la)
    with tenant_scope(tenant):
        shenzhen = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 4))
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"))
        assert _held(kettle) == {"Shenzhen": 2} and _allocation(book, 1).warehouse is None
        assert order_warehouses(orders=[book.stored(1)]) == {book.stored(1).pk: None}
    with tenant_scope(other_tenant):
        assert sum(StockLevel.objects.values_list("reserved", flat=True)) == 0


def test_a_line_that_held_stock_in_two_warehouses_keeps_only_what_it_needs_where_it_now_ships_from(
    tenant: Tenant,
) -> None:
    with tenant_scope(tenant):
        # given: a line of 2 kettles holding 2 in Shenzhen and, from before routing existed, 1 more in Los Angeles
        shenzhen, los_angeles = _warehouses(tenant)
        kettle = _product("KETTLE", tenant, a=(shenzhen, 10), b=(los_angeles, 5))
        book = ChannelBook(StoreFactory(tenant=tenant, platform="shopify", name="Shop", seller_id="shop-1"))
        book.send(book.order(1, ("L1", "KETTLE", 2), country="US"))
        allocation = _allocation(book, 1)
        assert ledger.stock_reserve(product=kettle, warehouse=los_angeles, quantity=1, reference="legacy")
        Reservation.objects.create(
            tenant=tenant, allocation=allocation, product=kettle, warehouse=los_angeles, quantity=1
        )
        assert _held(kettle) == {"Shenzhen": 2, "Los Angeles 3PL": 1}
        # when: US orders are routed to Shenzhen
        target, _secret = fulfilment.fulfilment_target_create(
            tenant=tenant, name="SZ", kind="pick_list", warehouse=shenzhen, active=True
        )
        fulfilment.fulfilment_route_create(tenant=tenant, target=target, countries=["US"])
        # then: it holds its 2 in Shenzhen and nothing else
        assert _held(kettle) == {"Shenzhen": 2}
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []
