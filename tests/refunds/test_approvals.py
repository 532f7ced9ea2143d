"""Refund requests and their approval (refunds.approvals): the policy's bands, who may approve, the
requester rule, two different people, reject with a reason, what an order still allows, audit and
notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from orders.models import Order, OrderLine
from refunds import approvals
from refunds.models import Approval, ClassificationRule, Refund, RefundStatus
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def make_order(
    store: Store,
    *,
    external_id: str = "1001",
    currency: str = "USD",
    fulfillment_channel: str = "merchant",
    status: str = "shipped",
) -> Order:
    """An order of two lines: A 2 x 100 (+20 tax), B 1 x 50 (+5 tax); shipping 10; total 285."""
    now = timezone.now() - timedelta(days=3)
    order = Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=external_id,
        marketplace="US",
        purchased_at=now,
        channel_updated_at=now,
        status=status,
        raw_status=status,
        fulfillment_channel=fulfillment_channel,
        currency=currency,
        item_amount=Decimal("250"),
        shipping_amount=Decimal("10"),
        tax_amount=Decimal("25"),
        total_amount=Decimal("285"),
    )
    for line_id, sku, quantity, price, tax in (("11", "SKU-A", 2, "100", "20"), ("12", "SKU-B", 1, "50", "5")):
        OrderLine.objects.create(
            tenant=store.tenant,
            order=order,
            external_id=line_id,
            sku=sku,
            quantity=quantity,
            currency=currency,
            unit_price_amount=Decimal(price),
            item_amount=Decimal(price) * quantity,
            tax_amount=Decimal(tax),
        )
    return order


@pytest.fixture
def usd_tenant(tenant: Tenant) -> Tenant:
    tenant.reporting_currency = "USD"
    tenant.save(update_fields=["reporting_currency"])
    return tenant


@pytest.fixture
def shop(usd_tenant: Tenant) -> Store:
    return StoreFactory(tenant=usd_tenant, platform="shopify", name="Shop", marketplaces=[])


@pytest.fixture
def order(shop: Store) -> Order:
    with tenant_scope(shop.tenant):
        return make_order(shop)


@pytest.fixture
def people(usd_tenant: Tenant, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {
        role: make_member(usd_tenant, role, f"{role}@alpha.example")
        for role in (Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT)
    }


def _lines(order: Order, **units: int) -> list[tuple[OrderLine, int]]:
    by_sku = {line.sku: line for line in order.lines.all()}
    return [(by_sku[sku.replace("_", "-")], quantity) for sku, quantity in units.items()]


def _request(order: Order, member: Membership, *, shipping: bool = False, **units: int) -> Refund:
    return approvals.refund_request(
        order=order, lines=_lines(order, **units), shipping=shipping, note="Broken on arrival", restock=False,
        actor=member.user,
    )  # fmt: skip


def _policy(tenant: Tenant, one: str, two: str, roles: list[str] | None = None) -> None:
    approvals.policy_update(
        tenant=tenant,
        one_approval_from=Decimal(one),
        two_approvals_from=Decimal(two),
        approver_roles=roles or approvals.approver_roles_possible(),
        actor=None,
    )


def test_the_policy_is_created_with_defaults_and_every_approving_role(usd_tenant: Tenant) -> None:
    with tenant_scope(usd_tenant):
        policy = approvals.policy_get(tenant=usd_tenant)
        again = approvals.policy_get(tenant=usd_tenant)
    assert policy.pk == again.pk
    assert (policy.one_approval_from, policy.two_approvals_from) == (Decimal("50"), Decimal("500"))
    assert sorted(policy.approver_roles) == ["admin", "finance", "owner"]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(Decimal("49.99"), 0), (Decimal("50"), 1), (Decimal("499.99"), 1), (Decimal("500"), 2), (None, 2)],
)
def test_bands_by_reporting_amount_and_no_rate_is_the_highest(
    usd_tenant: Tenant, amount: Decimal | None, expected: int
) -> None:
    with tenant_scope(usd_tenant):
        policy = approvals.policy_get(tenant=usd_tenant)
    assert approvals.approvals_for_amount(policy=policy, reporting_amount=amount) == expected


def test_policy_update_validates_and_is_audited(usd_tenant: Tenant, people: dict[str, Membership]) -> None:
    with tenant_scope(usd_tenant):
        with pytest.raises(ValidationError) as error:
            approvals.policy_update(
                tenant=usd_tenant,
                one_approval_from=Decimal("100"),
                two_approvals_from=Decimal("10"),
                approver_roles=["operator"],
                actor=people["owner"].user,
            )
        assert set(error.value.message_dict) == {"two_approvals_from", "approver_roles"}
        approvals.policy_update(
            tenant=usd_tenant,
            one_approval_from=Decimal("10"),
            two_approvals_from=Decimal("100"),
            approver_roles=["finance"],
            actor=people["owner"].user,
        )
        event = AuditEvent.objects.get(action="refunds.approval_policy_changed")
    assert event.after["approver_roles"] == ["finance"] and event.before["one_approval_from"] == "50.0000"


def test_a_small_request_needs_no_approval_and_is_queued_at_once(
    order: Order, people: dict[str, Membership], enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: B's one unit is 50 + 5 tax = 55 USD; the policy starts one approval at 100
    with tenant_scope(order.tenant):
        _policy(order.tenant, "100", "500")
        # when
        with django_capture_on_commit_callbacks(execute=True):
            refund = _request(order, people["support"], SKU_B=1)
        # then
        refund.refresh_from_db()
        assert refund.status == RefundStatus.APPROVED and refund.approvals_required == 0
        assert (refund.amount, refund.currency, refund.principal_amount, refund.tax_amount) == (
            Decimal("55"),
            "USD",
            Decimal("-50"),
            Decimal("-5"),
        )
        assert refund.reporting_amount == Decimal("55") and refund.origin == "console"
        assert set(
            AuditEvent.objects.filter(object_type="refunds.refund", object_id=str(refund.pk)).values_list(
                "action", flat=True
            )
        ) == {
            "refunds.refund_requested",
            "refunds.refund_approved",
        }
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("refunds.execute_refund", {"tenant_id": order.tenant_id, "refund_id": refund.pk})
    ]


def test_two_approvals_come_from_two_people_never_the_requester(
    order: Order, people: dict[str, Membership], enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: everything from 100 needs two approvals; the owner asks for 2 x A (220 USD)
    with tenant_scope(order.tenant):
        _policy(order.tenant, "10", "100")
        refund = _request(order, people["owner"], SKU_A=2)
        assert (refund.status, refund.approvals_required, refund.amount) == ("pending_approval", 2, Decimal("220"))
        # approvers were told
        assert Notification.objects.filter(kind="refund_approval", recipient=people["finance"].user).exists()

        # the requester cannot approve their own refund
        with pytest.raises(PermissionDenied, match="someone else"):
            approvals.refund_approve(refund=refund, actor=people["owner"].user)
        # finance approves: one of two, nothing is executed yet
        with django_capture_on_commit_callbacks(execute=True):
            approvals.refund_approve(refund=refund, actor=people["finance"].user)
        refund.refresh_from_db()
        assert refund.status == RefundStatus.PENDING_APPROVAL and not enqueued
        # the same person cannot give the second approval
        with pytest.raises(PermissionDenied, match="someone else"):
            approvals.refund_approve(refund=refund, actor=people["finance"].user)
        # a second, different approver completes it: APPROVED, queued once, requester told
        with django_capture_on_commit_callbacks(execute=True):
            approvals.refund_approve(refund=refund, actor=people["admin"].user, via="admin")
        refund.refresh_from_db()
        assert refund.status == RefundStatus.APPROVED
        assert Approval.objects.filter(refund=refund).count() == 2
        assert Notification.objects.filter(recipient=people["owner"].user, title__contains="approved").count() == 1
        # nothing more to approve
        with pytest.raises(PermissionDenied, match="not waiting"):
            approvals.refund_approve(refund=refund, actor=people["owner"].user)
    assert [task.name for task, _ in enqueued if task.name.startswith("refunds.")] == ["refunds.execute_refund"]


@pytest.mark.parametrize(
    ("role", "may_request", "may_approve"),
    [
        (Role.OWNER, True, True),
        (Role.ADMIN, True, True),
        (Role.FINANCE, False, True),
        (Role.OPERATOR, True, False),
        (Role.SUPPORT, True, False),
    ],
)
def test_roles_request_and_approve(
    order: Order, people: dict[str, Membership], role: str, may_request: bool, may_approve: bool
) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1", "1000")
        if may_request:
            _request(order, people[role], SKU_B=1)
        else:
            with pytest.raises(PermissionDenied):
                _request(order, people[role], SKU_B=1)
        other = people[Role.OPERATOR if role != Role.OPERATOR else Role.SUPPORT]
        refund = _request(order, other, SKU_A=1)
        if may_approve:
            approvals.refund_approve(refund=refund, actor=people[role].user)
            refund.refresh_from_db()
            assert refund.status == RefundStatus.APPROVED
        else:
            with pytest.raises(PermissionDenied, match="role"):
                approvals.refund_approve(refund=refund, actor=people[role].user)


def test_the_policy_can_narrow_who_approves(order: Order, people: dict[str, Membership]) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1", "1000", roles=["finance"])
        refund = _request(order, people["operator"], SKU_B=1)
        with pytest.raises(PermissionDenied, match="policy"):
            approvals.refund_approve(refund=refund, actor=people["admin"].user)
        approvals.refund_approve(refund=refund, actor=people["finance"].user)


def test_reject_needs_a_reason_and_tells_the_requester(order: Order, people: dict[str, Membership]) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1", "1000")
        refund = _request(order, people["support"], SKU_B=1)
        with pytest.raises(ValidationError):
            approvals.refund_reject(refund=refund, actor=people["finance"].user, reason="  ")
        approvals.refund_reject(refund=refund, actor=people["finance"].user, reason="Buyer kept the item")
        refund.refresh_from_db()
        assert refund.status == RefundStatus.REJECTED
        note = Notification.objects.get(recipient=people["support"].user, title__contains="rejected")
        assert note.body == "Buyer kept the item"
        assert AuditEvent.objects.filter(action="refunds.refund_rejected", object_id=str(refund.pk)).exists()
        with pytest.raises(PermissionDenied):
            approvals.refund_approve(refund=refund, actor=people["admin"].user)


def test_quantities_and_the_order_total_are_never_exceeded(order: Order, people: dict[str, Membership]) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1", "1000")
        # given: a pending request for one A
        _request(order, people["operator"], SKU_A=1)
        # when / then: two more A are more than is left, and the error names the line
        with pytest.raises(ValidationError) as error:
            _request(order, people["operator"], SKU_A=2)
        assert "SKU-A: only 1 of 2 units" in error.value.messages[0]
        # the rest of the order, shipping included, fits exactly once
        rest = _request(order, people["operator"], shipping=True, SKU_A=1, SKU_B=1)
        assert rest.amount == Decimal("285") - Decimal("110")
        with pytest.raises(ValidationError, match="shipping"):
            _request(order, people["operator"], shipping=True)
        # a rejected request gives its units back
        approvals.refund_reject(refund=rest, actor=people["finance"].user, reason="duplicate")
        assert _request(order, people["operator"], SKU_B=1).amount == Decimal("55")


def test_fba_orders_are_refused_with_a_clear_message(usd_tenant: Tenant, people: dict[str, Membership]) -> None:
    store = StoreFactory(tenant=usd_tenant, platform="amazon")
    with tenant_scope(usd_tenant):
        order = make_order(store, fulfillment_channel="fba")
        with pytest.raises(ValidationError, match="Seller Central"):
            _request(order, people["owner"], SKU_A=1)
        assert not Refund.objects.exists()


def test_no_rate_to_the_reporting_currency_means_two_approvals(
    usd_tenant: Tenant, shop: Store, people: dict[str, Membership]
) -> None:
    with tenant_scope(usd_tenant):
        _policy(usd_tenant, "1000", "5000")
        order = make_order(shop, currency="XOF", external_id="2002")
        refund = _request(order, people["operator"], SKU_B=1)
    assert refund.reporting_amount is None and refund.approvals_required == 2


def test_a_matching_rule_raises_the_approvals(order: Order, people: dict[str, Membership]) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1000", "5000")
        ClassificationRule.objects.create(tenant=order.tenant, name="Kettles", skus="SKU-B", require_approvals=1)
        small = _request(order, people["operator"], SKU_B=1)
        other = _request(order, people["operator"], SKU_A=1)
    assert small.approvals_required == 1 and small.status == RefundStatus.PENDING_APPROVAL
    assert small.matched_rule is not None and small.matched_rule.name == "Kettles"
    assert other.approvals_required == 0 and other.status == RefundStatus.APPROVED


def test_cancel_by_the_requester_only_while_pending(order: Order, people: dict[str, Membership]) -> None:
    with tenant_scope(order.tenant):
        _policy(order.tenant, "1", "1000")
        refund = _request(order, people["support"], SKU_B=1)
        with pytest.raises(PermissionDenied):
            approvals.refund_cancel(refund=refund, actor=people["operator"].user)
        approvals.refund_cancel(refund=refund, actor=people["support"].user)
        refund.refresh_from_db()
        assert refund.status == RefundStatus.CANCELLED
        with pytest.raises(ValidationError):
            approvals.refund_cancel(refund=refund, actor=people["support"].user)


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_count_once_each_on_postgresql(
    usd_tenant: Tenant, people: dict[str, Membership], enqueued: EnqueuedTasks
) -> None:
    """Two approvers at the same moment: both recorded, the refund approved and queued exactly once."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    shop = StoreFactory(tenant=usd_tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(usd_tenant):
        _policy(usd_tenant, "1", "2")
        order = make_order(shop)
        refund = _request(order, people["operator"], SKU_A=1)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def approve(member: Membership) -> None:
        try:
            with tenant_scope(usd_tenant):
                barrier.wait()
                approvals.refund_approve(refund=Refund.objects.get(pk=refund.pk), actor=member.user)
                results.append("ok")
        except PermissionDenied as error:
            results.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(people[role],)) for role in ("finance", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tenant_scope(usd_tenant):
        refund.refresh_from_db()
        assert results == ["ok", "ok"]
        assert refund.status == RefundStatus.APPROVED
        assert AuditEvent.objects.filter(action="refunds.refund_approved", object_id=str(refund.pk)).count() == 1
    assert [task.name for task, _ in enqueued if task.name.startswith("refunds.")] == ["refunds.execute_refund"]


def test_orders_the_channel_cannot_refund_from_acorn_are_explained(usd_tenant: Tenant) -> None:
    amazon = StoreFactory(tenant=usd_tenant, platform="amazon")
    shopify = StoreFactory(tenant=usd_tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(usd_tenant):
        unshipped = make_order(amazon, status="paid_unshipped")
        cancelled = make_order(amazon, external_id="1002", status="cancelled")
        foreign = make_order(shopify, external_id="1003")
        foreign.presentment_currency = "EUR"
        foreign.save(update_fields=["presentment_currency"])
        shipped = make_order(amazon, external_id="1004")
        assert "has not shipped" in approvals.request_refusal(order=unshipped)
        assert "cancelled" in approvals.request_refusal(order=cancelled)
        assert "Shopify's admin" in approvals.request_refusal(order=foreign)
        assert approvals.request_refusal(order=shipped) == ""
