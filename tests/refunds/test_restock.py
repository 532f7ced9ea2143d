"""Restocking returned units (refunds.restock): by disposition or a person's decision, as stock movements;
damaged units never become sellable; once per return; FBA returns are Amazon's; a console refund marked
"goods came back" restocks after it succeeds, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory import services as stock
from inventory.catalogue import product_save, warehouse_save
from inventory.models import MovementKind, Product, StockLevel, StockMovement, Warehouse
from refunds import restock
from refunds.execution import _Outcome, _settle
from refunds.models import RefundStatus, RestockState, Return
from tests.factories import StoreFactory
from tests.refunds.test_approvals import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, platform="amazon")


@pytest.fixture
def goods(tenant: Tenant) -> tuple[Product, Warehouse]:
    with tenant_scope(tenant):
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own")
        product = product_save(tenant=tenant, sku="SKU-A", name="Kettle")
        stock.stock_receive(product=product, warehouse=warehouse, quantity=10, reference="PO-1")
    return product, warehouse


def _return(
    store: Store, *, disposition: str = "", status: str = "received", source: str = "amazon_mfn", **extra: Any
) -> Return:
    return Return.objects.create(
        tenant=store.tenant,
        store=store,
        order_external_id="111-1",
        external_id=f"R-{Return.objects.count() + 1}",
        source=source,
        fulfillment_channel="fba" if source == "amazon_fba" else "merchant",
        sku="SKU-A",
        quantity=3,
        status=status,
        disposition=disposition,
        returned_at=timezone.now() - timedelta(days=2),
        **extra,
    )


def _level(product: Product, warehouse: Warehouse) -> tuple[int, int, int]:
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    return level.on_hand, level.reserved, level.unfulfillable


def test_a_sellable_return_goes_back_to_sellable_stock_once(
    tenant: Tenant, store: Store, goods: tuple[Product, Warehouse]
) -> None:
    product, warehouse = goods
    with tenant_scope(tenant):
        record = _return(store, disposition="SELLABLE")
        assert restock.return_restock_by_disposition(record=record) == RestockState.SELLABLE
        assert _level(product, warehouse) == (13, 0, 0)
        # twice changes nothing
        record.refresh_from_db()
        assert restock.return_restock_by_disposition(record=record) == RestockState.SELLABLE
        assert _level(product, warehouse) == (13, 0, 0)
        assert record.restocked_sellable == 3 and record.restock_warehouse == warehouse
        assert (
            StockMovement.objects.filter(kind=MovementKind.RETURN_TO_STOCK, reference=f"return:{record.pk}").count()
            == 1
        )
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []


@pytest.mark.parametrize("disposition", ["DEFECTIVE", "CUSTOMER_DAMAGED", "CARRIER_DAMAGED", "DAMAGED"])
def test_damaged_units_are_kept_apart_and_never_sellable(
    tenant: Tenant, store: Store, goods: tuple[Product, Warehouse], disposition: str
) -> None:
    product, warehouse = goods
    with tenant_scope(tenant):
        record = _return(store, disposition=disposition)
        assert restock.return_restock_by_disposition(record=record) == RestockState.DAMAGED
        assert _level(product, warehouse) == (10, 0, 3)
        kinds = list(
            StockMovement.objects.filter(reference=f"return:{record.pk}")
            .order_by("pk")
            .values_list("kind", "on_hand_delta")
        )
        assert kinds == [(MovementKind.RETURN_TO_STOCK, 3), (MovementKind.DAMAGED, -3)]
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []


def test_unknown_disposition_or_not_received_waits_for_a_person(
    tenant: Tenant, store: Store, goods: tuple[Product, Warehouse]
) -> None:
    with tenant_scope(tenant):
        assert restock.return_restock_by_disposition(record=_return(store, disposition="")) == RestockState.PENDING
        unreceived = _return(store, disposition="SELLABLE", status="in_transit")
        assert restock.return_restock_by_disposition(record=unreceived) == RestockState.PENDING
        assert _level(*goods) == (10, 0, 0)


def test_fba_returns_are_amazons_to_restock(tenant: Tenant, store: Store, goods: tuple[Product, Warehouse]) -> None:
    with tenant_scope(tenant):
        record = _return(store, disposition="SELLABLE", source="amazon_fba")
        assert restock.return_restock_by_disposition(record=record) == RestockState.BY_CHANNEL
        with pytest.raises(ValidationError, match="Amazon restocks"):
            restock.return_restock(record=record, warehouse=goods[1], sellable=1, damaged=0, actor=None)
        assert _level(*goods) == (10, 0, 0)


def test_a_persons_split_decision_is_validated_and_audited(
    tenant: Tenant, store: Store, goods: tuple[Product, Warehouse], owner: Membership
) -> None:
    product, warehouse = goods
    with tenant_scope(tenant):
        record = _return(store)
        with pytest.raises(ValidationError) as error:
            restock.return_restock(record=record, warehouse=warehouse, sellable=3, damaged=1, actor=owner.user)
        assert "sellable" in error.value.message_dict
        restock.return_restock(
            record=record, warehouse=warehouse, sellable=2, damaged=1, actor=owner.user, note="box torn"
        )
        record.refresh_from_db()
        assert (record.restock_state, record.restocked_sellable, record.restocked_damaged) == ("damaged", 2, 1)
        assert _level(product, warehouse) == (12, 0, 1)
        event = AuditEvent.objects.get(action="refunds.return_restocked")
        assert event.after["sellable"] == 2 and event.after["note"] == "box torn"
        with pytest.raises(ValidationError, match="already"):
            restock.return_restock(record=record, warehouse=warehouse, sellable=1, damaged=0, actor=owner.user)
        assert _level(product, warehouse) == (12, 0, 1)


def test_an_unmapped_sku_cannot_be_restocked(tenant: Tenant, store: Store, goods: tuple[Product, Warehouse]) -> None:
    with tenant_scope(tenant):
        record = _return(store)
        record.sku = "NOT-MAPPED"
        record.save(update_fields=["sku"])
        with pytest.raises(ValidationError, match="not mapped"):
            restock.return_restock(record=record, warehouse=goods[1], sellable=1, damaged=0, actor=None)
        record.refresh_from_db()
        assert record.restock_state == RestockState.PENDING


def test_a_refund_marked_goods_back_restocks_after_success_once(
    tenant: Tenant, goods: tuple[Product, Warehouse], make_member: Callable[..., Membership]
) -> None:
    from refunds import approvals

    product, warehouse = goods
    shop = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])
    requester = make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant):
        order = make_order(shop, currency="CNY")
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(10**6), two_approvals_from=Decimal(10**6),
            approver_roles=["owner"], actor=None,
        )  # fmt: skip
        line = order.lines.get(sku="SKU-A")
        refund = approvals.refund_request(
            order=order, lines=[(line, 2)], shipping=False, note="came back", restock=True, actor=requester.user
        )
        # nothing moves before the channel has refunded
        assert _level(product, warehouse) == (10, 0, 0)
        refund.status = RefundStatus.EXECUTING
        refund.save(update_fields=["status"])
        _settle(refund.pk, _Outcome("succeeded", channel_refund_id="9001"))
        assert _level(product, warehouse) == (12, 0, 0)
        refund.refresh_from_db()
        assert restock.refund_restock_after_success(refund=refund) == 0  # once per line
        assert _level(product, warehouse) == (12, 0, 0)


def test_the_beat_restocks_received_returns_by_disposition(
    tenant: Tenant, store: Store, goods: tuple[Product, Warehouse], other_tenant: Tenant
) -> None:
    from refunds.tasks import restock_returns_task

    product, warehouse = goods
    with tenant_scope(tenant):
        sellable = _return(store, disposition="SELLABLE")
        fba = _return(store, source="amazon_fba")
        waiting = _return(store, disposition="SELLABLE", status="in_transit")
    assert restock_returns_task() == 2
    assert restock_returns_task() == 0  # twice changes nothing
    with tenant_scope(tenant):
        assert Return.objects.get(pk=sellable.pk).restock_state == RestockState.SELLABLE
        assert Return.objects.get(pk=fba.pk).restock_state == RestockState.BY_CHANNEL
        assert Return.objects.get(pk=waiting.pk).restock_state == RestockState.PENDING
        assert _level(product, warehouse) == (13, 0, 0)
