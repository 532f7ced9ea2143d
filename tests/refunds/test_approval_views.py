"""Console pages of refund requests and approvals: the request form on an order, the approval queue, the
approval panel on the refund page, the policy page, the retry button and the restock form on a return —
validation, empty states, roles, and another tenant's objects answering 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory import services as stock
from inventory.catalogue import product_save, warehouse_save
from inventory.models import StockLevel
from orders.models import Order
from refunds import approvals
from refunds.models import Refund, RefundStatus, RestockState, Return
from tests.factories import StoreFactory
from tests.refunds.test_approvals import make_order

pytestmark = pytest.mark.django_db

ROLES = (Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT)


@pytest.fixture
def people(tenant: Tenant, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {role: make_member(tenant, role, f"{role}@alpha.example") for role in ROLES}


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, platform="woocommerce", name="Woo", marketplaces=[])


@pytest.fixture
def order(shop: Store) -> Order:
    with tenant_scope(shop.tenant):
        approvals.policy_update(
            tenant=shop.tenant, one_approval_from=Decimal(0), two_approvals_from=Decimal(1000),
            approver_roles=approvals.approver_roles_possible(), actor=None,
        )  # fmt: skip
        return make_order(shop, currency="CNY")


@pytest.fixture
def stranger(other_tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable) -> Client:
    return client_for(make_member(other_tenant, Role.OWNER, "boss@beta.example"))


def _request(order: Order, member: Membership, units: int = 1, sku: str = "SKU-B") -> Refund:
    with tenant_scope(order.tenant):
        return approvals.refund_request(
            order=order, lines=[(order.lines.get(sku=sku), units)], shipping=False, note="broken",
            restock=False, actor=member.user,
        )  # fmt: skip


# --- the request form -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [(r, r != Role.FINANCE) for r in ROLES])
def test_who_may_open_the_request_form(
    order: Order, people: dict[str, Membership], client_for: Callable, role: str, allowed: bool
) -> None:
    response = client_for(people[role]).get(reverse("refunds:refund-request", kwargs={"order_pk": order.pk}))
    assert response.status_code == (200 if allowed else 403)


def test_the_shipping_is_offered_only_while_some_is_left_to_refund(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    # given an order with 10 of shipping: the form offers it
    client = client_for(people["support"])
    url = reverse("refunds:refund-request", kwargs={"order_pk": order.pk})
    assert 'name="shipping"' in client.get(url).content.decode()
    # when its shipping has all been refunded
    with tenant_scope(tenant):
        line_b = order.lines.get(sku="SKU-B")
        approvals.refund_request(
            order=order, lines=[(line_b, 1)], shipping=True, note="late", restock=False, actor=people["owner"].user
        )
    # then the form no longer offers it
    assert 'name="shipping"' not in client.get(url).content.decode()


def test_a_zero_shipping_order_offers_no_shipping_refund(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    # given an order with free shipping
    with tenant_scope(tenant):
        Order.objects.filter(pk=order.pk).update(shipping_amount=Decimal(0), total_amount=Decimal(275))
        line_a = order.lines.get(sku="SKU-A")
    client = client_for(people["support"])
    url = reverse("refunds:refund-request", kwargs={"order_pk": order.pk})
    # when the request form opens
    page = client.get(url).content.decode()
    # then "Refund the shipping too" is not offered, and nothing chosen asks for units only
    assert 'name="shipping"' not in page and "Refund the shipping too" not in page
    empty = client.post(url, {f"line_{line_a.pk}": "0", "tag": "damaged", "note": "x"}).content.decode()
    assert "Choose at least one unit to refund, or an amount." in empty and "or the shipping" not in empty
    # a shipping value posted anyway is ignored: the units are refunded, no shipping
    response = client.post(url, {f"line_{line_a.pk}": "1", "tag": "damaged", "note": "Lid broken", "shipping": "on"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert Refund.objects.get().shipping_amount == 0


def test_support_requests_a_refund_and_it_waits_for_approval(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    client = client_for(people["support"])
    url = reverse("refunds:refund-request", kwargs={"order_pk": order.pk})
    with tenant_scope(tenant):
        line_a, line_b = order.lines.get(sku="SKU-A"), order.lines.get(sku="SKU-B")
    # nothing chosen: a message, no refund
    empty = client.post(url, {f"line_{line_a.pk}": "0", f"line_{line_b.pk}": "0", "tag": "damaged", "note": "x"})
    assert empty.status_code == 400 and "Choose at least one unit" in empty.content.decode()
    # too many units: the field says how many are left
    many = client.post(url, {f"line_{line_a.pk}": "3", f"line_{line_b.pk}": "0", "tag": "damaged", "note": "x"})
    assert many.status_code == 400
    # no reason
    silent = client.post(url, {f"line_{line_a.pk}": "1", f"line_{line_b.pk}": "0", "tag": "damaged", "note": ""})
    assert silent.status_code == 400
    with tenant_scope(tenant):
        assert not Refund.objects.exists()
    response = client.post(
        url,
        {
            f"line_{line_a.pk}": "1",
            f"line_{line_b.pk}": "0",
            "tag": "damaged",
            "note": "Lid broken",
            "shipping": "on",
        },
    )
    assert response.status_code == 302
    with tenant_scope(tenant):
        refund = Refund.objects.get()
        assert (refund.status, refund.amount, refund.requested_by) == (
            RefundStatus.PENDING_APPROVAL,
            Decimal("120.00"),
            people["support"].user,
        )
    # the refund page shows the approval panel: the requester sees no buttons, finance does
    detail = reverse("refunds:refund-detail", kwargs={"refund_pk": refund.pk})
    own = client.get(detail).content.decode()
    assert 'id="approval-panel"' in own and "refund-approve" not in own
    assert reverse("refunds:refund-approve", kwargs={"refund_pk": refund.pk}) not in own
    page = client_for(people["finance"]).get(detail).content.decode()
    assert reverse("refunds:refund-approve", kwargs={"refund_pk": refund.pk}) in page


def test_an_fba_order_shows_why_it_cannot_be_refunded_here(
    tenant: Tenant, people: dict[str, Membership], client_for: Callable
) -> None:
    store = StoreFactory(tenant=tenant, platform="amazon")
    with tenant_scope(tenant):
        fba = make_order(store, fulfillment_channel="fba", currency="CNY")
    url = reverse("refunds:refund-request", kwargs={"order_pk": fba.pk})
    page = client_for(people["owner"]).get(url).content.decode()
    assert 'id="refund-refusal"' in page and "Seller Central" in page
    with tenant_scope(tenant):
        line = fba.lines.first()
        assert line is not None
    refused = client_for(people["owner"]).post(url, {f"line_{line.pk}": "1", "note": "x"})
    assert refused.status_code == 400
    with tenant_scope(tenant):
        assert not Refund.objects.exists()


def test_another_tenant_cannot_request_on_the_order(order: Order, stranger: Client) -> None:
    url = reverse("refunds:refund-request", kwargs={"order_pk": order.pk})
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"note": "x"}).status_code == 404


# --- the approval queue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.OWNER, Role.ADMIN, Role.FINANCE)) for r in ROLES])
def test_the_queue_is_for_approvers(
    people: dict[str, Membership], client_for: Callable, role: str, allowed: bool
) -> None:
    response = client_for(people[role]).get(reverse("refunds:approval-queue"))
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        assert "Nothing waiting" in response.content.decode()


def test_queue_shows_own_requests_without_buttons_and_approves_others(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    mine = _request(order, people["admin"])
    theirs = _request(order, people["support"], sku="SKU-A")
    client = client_for(people["admin"])
    page = client.get(reverse("refunds:approval-queue")).content.decode()
    assert reverse("refunds:refund-approve", kwargs={"refund_pk": theirs.pk}) in page
    assert reverse("refunds:refund-approve", kwargs={"refund_pk": mine.pk}) not in page
    assert "someone else must approve it" in page
    # approving one's own by posting anyway is refused with the reason
    refused = client.post(reverse("refunds:refund-approve", kwargs={"refund_pk": mine.pk}), follow=True)
    assert "someone else must approve it" in refused.content.decode()
    client.post(reverse("refunds:refund-approve", kwargs={"refund_pk": theirs.pk}))
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=theirs.pk).status == RefundStatus.APPROVED
        assert Refund.objects.get(pk=mine.pk).status == RefundStatus.PENDING_APPROVAL


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPPORT])
def test_operators_and_support_cannot_approve_or_reject(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable, role: str
) -> None:
    refund = _request(order, people["owner"])
    client = client_for(people[role])
    assert client.post(reverse("refunds:refund-approve", kwargs={"refund_pk": refund.pk})).status_code == 403
    reject = reverse("refunds:refund-reject", kwargs={"refund_pk": refund.pk})
    assert client.post(reject, {"reason": "no"}).status_code == 403
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PENDING_APPROVAL


def test_finance_rejects_only_with_a_reason(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    refund = _request(order, people["support"])
    client = client_for(people["finance"])
    url = reverse("refunds:refund-reject", kwargs={"refund_pk": refund.pk})
    assert "Say why" in client.post(url, {"reason": ""}, follow=True).content.decode()
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PENDING_APPROVAL
    client.post(url, {"reason": "Outside the return window"})
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REJECTED


def test_another_tenant_cannot_decide_cancel_or_retry(
    tenant: Tenant, order: Order, people: dict[str, Membership], stranger: Client
) -> None:
    refund = _request(order, people["support"])
    for name in ("refund-approve", "refund-reject", "refund-cancel", "refund-retry"):
        response = stranger.post(reverse(f"refunds:{name}", kwargs={"refund_pk": refund.pk}), {"reason": "x"})
        assert response.status_code == 404, name
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PENDING_APPROVAL


def test_the_requester_cancels_a_waiting_request(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    refund = _request(order, people["support"])
    client_for(people["support"]).post(reverse("refunds:refund-cancel", kwargs={"refund_pk": refund.pk}))
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.CANCELLED


def test_a_failed_refund_is_retried_by_a_person(
    tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    refund = _request(order, people["support"])
    with tenant_scope(tenant):
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.FAILED, attempts=6, last_error="WooCommerce refused the refund: no gateway"
        )
    detail = client_for(people["finance"]).get(reverse("refunds:refund-detail", kwargs={"refund_pk": refund.pk}))
    page = detail.content.decode()
    assert "no gateway" in page and reverse("refunds:refund-retry", kwargs={"refund_pk": refund.pk}) in page
    assert (
        client_for(people["operator"])
        .post(reverse("refunds:refund-retry", kwargs={"refund_pk": refund.pk}))
        .status_code
        == 403
    )
    client_for(people["finance"]).post(reverse("refunds:refund-retry", kwargs={"refund_pk": refund.pk}))
    with tenant_scope(tenant):
        refund.refresh_from_db()
        assert (refund.status, refund.attempts) == (RefundStatus.APPROVED, 0)


# --- the policy page --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.OWNER, Role.ADMIN)) for r in ROLES])
def test_the_policy_page_is_for_owners_and_admins(
    people: dict[str, Membership], client_for: Callable, role: str, allowed: bool
) -> None:
    assert client_for(people[role]).get(reverse("refunds:approval-policy")).status_code == (200 if allowed else 403)


def test_the_policy_page_validates_and_saves(
    tenant: Tenant, people: dict[str, Membership], client_for: Callable
) -> None:
    client = client_for(people["admin"])
    url = reverse("refunds:approval-policy")
    bad = client.post(url, {"one_approval_from": "300", "two_approvals_from": "100", "approver_roles": ["owner"]})
    assert bad.status_code == 400 and "at or above" in bad.content.decode()
    none = client.post(url, {"one_approval_from": "1", "two_approvals_from": "2"})
    assert none.status_code == 400
    good = client.post(
        url, {"one_approval_from": "100", "two_approvals_from": "800", "approver_roles": ["finance", "owner"]}
    )
    assert good.status_code == 302
    with tenant_scope(tenant):
        policy = approvals.policy_get(tenant=tenant)
    assert (policy.one_approval_from, policy.two_approvals_from) == (Decimal("100"), Decimal("800"))
    assert policy.approver_roles == ["owner", "finance"]


def test_pages_render_in_chinese(people: dict[str, Membership], client_for: Callable, order: Order) -> None:
    client = client_for(people["owner"])
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    for url in (
        reverse("refunds:approval-queue"),
        reverse("refunds:approval-policy"),
        reverse("refunds:refund-request", kwargs={"order_pk": order.pk}),
    ):
        response = client.get(url)
        assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode().lower()


def test_the_queue_paginates(tenant: Tenant, shop: Store, people: dict[str, Membership], client_for: Callable) -> None:
    with tenant_scope(tenant):
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(0), two_approvals_from=Decimal(1000),
            approver_roles=approvals.approver_roles_possible(), actor=None,
        )  # fmt: skip
    for number in range(27):
        with tenant_scope(tenant):
            order = make_order(shop, external_id=f"P{number}", currency="CNY")
        _request(order, people["support"])
    client = client_for(people["finance"])
    first = client.get(reverse("refunds:approval-queue"))
    assert len(first.context["rows"]) == 25
    assert len(client.get(reverse("refunds:approval-queue"), {"page": 2}).context["rows"]) == 2


# --- restock ----------------------------------------------------------------------------------------------


@pytest.fixture
def received(tenant: Tenant) -> Return:
    store = StoreFactory(tenant=tenant, platform="amazon")
    with tenant_scope(tenant):
        warehouse_save(tenant=tenant, name="Shenzhen", kind="own")
        product_save(tenant=tenant, sku="SKU-A", name="Kettle")
        return Return.objects.create(
            tenant=tenant, store=store, order_external_id="111-1", external_id="R-1", source="amazon_mfn",
            fulfillment_channel="merchant", sku="SKU-A", quantity=2, status="received",
            returned_at=timezone.now() - timedelta(days=1),
        )  # fmt: skip


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.OWNER, Role.ADMIN, Role.OPERATOR)) for r in ROLES])
def test_who_may_restock(
    received: Return, people: dict[str, Membership], client_for: Callable, role: str, allowed: bool
) -> None:
    url = reverse("refunds:return-restock", kwargs={"return_pk": received.pk})
    assert client_for(people[role]).get(url).status_code == (200 if allowed else 403)


def test_restock_form_books_units_once(
    tenant: Tenant, received: Return, people: dict[str, Membership], client_for: Callable
) -> None:
    client = client_for(people["operator"])
    url = reverse("refunds:return-restock", kwargs={"return_pk": received.pk})
    with tenant_scope(tenant):
        warehouse = stock.Warehouse.objects.get(name="Shenzhen")
    too_many = client.post(url, {"warehouse": warehouse.pk, "sellable": "2", "damaged": "1"})
    assert too_many.status_code == 400 and "too many" in too_many.content.decode()
    assert client.post(url, {"warehouse": warehouse.pk, "sellable": "1", "damaged": "1"}).status_code == 302
    with tenant_scope(tenant):
        received.refresh_from_db()
        assert received.restock_state == RestockState.DAMAGED
        level = StockLevel.objects.get(warehouse=warehouse)
        assert (level.on_hand, level.unfulfillable) == (1, 1)
    again = client.post(url, {"warehouse": warehouse.pk, "sellable": "1", "damaged": "0"})
    assert again.status_code == 400 and "already been handled" in again.content.decode()
    # the return page shows the decision
    detail = client.get(reverse("refunds:return-detail", kwargs={"return_pk": received.pk})).content.decode()
    assert 'id="restock-panel"' in detail and "1 sellable, 1 damaged" in detail


def test_another_tenant_cannot_restock(tenant: Tenant, received: Return, stranger: Client) -> None:
    url = reverse("refunds:return-restock", kwargs={"return_pk": received.pk})
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"sellable": "2", "damaged": "0"}).status_code == 404
    with tenant_scope(tenant):
        received.refresh_from_db()
        assert received.restock_state == RestockState.PENDING


# --- the order page's refunds and returns ----------------------------------------------------------------


def test_the_order_page_lists_its_refunds_and_offers_a_refund_only_while_something_is_left(
    order: Order, people: dict[str, Membership], client_for: Callable, stranger: Client
) -> None:
    owner = client_for(people[Role.OWNER])
    page_url = reverse("orders:order-detail", args=[order.pk])
    request_url = reverse("refunds:refund-request", args=[order.pk])
    # nothing refunded yet: the button, no list
    page = owner.get(page_url).content.decode()
    assert request_url in page and "No refund or return on this order yet." in page
    # a request waiting for approval reads as waiting, and the rest can still be requested
    waiting = _request(order, people[Role.OPERATOR])
    page = owner.get(page_url).content.decode()
    assert "Waiting for approval" in page and request_url in page
    assert reverse("refunds:refund-detail", args=[waiting.pk]) in page
    # every unit and the shipping taken: no button any more, and it says why
    with tenant_scope(order.tenant):
        approvals.refund_request(
            order=order, lines=[(order.lines.get(sku="SKU-A"), 2)], shipping=True, note="all", restock=False,
            actor=people[Role.OPERATOR].user,
        )  # fmt: skip
    page = owner.get(page_url).content.decode()
    assert request_url not in page and "Everything on this order is refunded or waiting in a request." in page
    # finance reads the list but is not offered requests; another company sees no order at all
    finance = client_for(people[Role.FINANCE]).get(page_url).content.decode()
    assert "Refunds and returns" in finance and request_url not in finance
    assert stranger.get(page_url).status_code == 404
