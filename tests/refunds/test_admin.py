"""Refunds in the Django admin: tenant staff see their tenant's refunds only, approve and reject with the same
services as the console (requester rule, two people, roles, a reason to reject), and change nothing else."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from refunds import approvals
from refunds.models import Approval, ApprovalPolicy, Refund, RefundStatus
from tests.factories import StoreFactory
from tests.refunds.test_approvals import make_order

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:refunds_refund_changelist"


@pytest.fixture
def people(tenant: Tenant, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {
        role: make_member(tenant, role, f"{role}@alpha.example")
        for role in (Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT)
    }


@pytest.fixture
def pending(tenant: Tenant, people: dict[str, Membership]) -> Refund:
    """A refund requested by the operator that needs two approvals."""
    store = StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])
    with tenant_scope(tenant):
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(0), two_approvals_from=Decimal(0),
            approver_roles=approvals.approver_roles_possible(), actor=None,
        )  # fmt: skip
        order = make_order(store, currency="CNY")
        return approvals.refund_request(
            order=order, lines=[(order.lines.get(sku="SKU-B"), 1)], shipping=False, note="broken", restock=False,
            actor=people["operator"].user,
        )  # fmt: skip


def _act(client: Client, action: str, refunds: list[Refund], **extra: str) -> object:
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [str(r.pk) for r in refunds], **extra}, follow=True
    )


def test_pending_filter_lists_the_tenants_requests(
    pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    response = client_for(people["finance"]).get(reverse(CHANGELIST), {"approval": "pending"})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [pending]


def test_approve_action_needs_two_different_people_and_never_the_requester(
    tenant: Tenant, pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    # the operator requested it and cannot even reach the admin
    assert client_for(people["operator"]).get(reverse(CHANGELIST)).status_code in (302, 403)
    finance = client_for(people["finance"])
    response = _act(finance, "approve_selected", [pending])
    assert "1 of 2; another person must approve it too" in response.content.decode()
    # the same person again: refused with the reason, nothing recorded
    response = _act(finance, "approve_selected", [pending])
    assert "someone else" in response.content.decode()
    with tenant_scope(tenant):
        assert Approval.objects.filter(refund=pending).count() == 1
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.PENDING_APPROVAL
    response = _act(client_for(people["admin"]), "approve_selected", [pending])
    assert f"Refund for order {pending.order_external_id} approved" in response.content.decode()
    with tenant_scope(tenant):
        refund = Refund.objects.get(pk=pending.pk)
        assert refund.status == RefundStatus.APPROVED
        assert set(Approval.objects.filter(refund=refund).values_list("via", flat=True)) == {"admin"}
        assert AuditEvent.objects.filter(action="refunds.refund_approval_given", object_id=str(refund.pk)).count() == 2


def test_reject_action_asks_for_a_reason(
    tenant: Tenant, pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    client = client_for(people["owner"])
    page = _act(client, "reject_selected", [pending])
    assert "Reject refunds" in page.content.decode() and 'name="reason"' in page.content.decode()
    empty = _act(client, "reject_selected", [pending], apply="1", reason=" ")
    assert "Say why" in empty.content.decode()
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.PENDING_APPROVAL
    done = _act(client, "reject_selected", [pending], apply="1", reason="Buyer kept it")
    assert f"Refund for order {pending.order_external_id} rejected" in done.content.decode()
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.REJECTED
        assert Approval.objects.get(refund=pending).reason == "Buyer kept it"


def test_nobody_edits_money_in_the_admin(
    tenant: Tenant, pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    client = client_for(people["owner"])
    url = reverse("admin:refunds_refund_change", args=[pending.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"amount": "1", "status": "approved"})
    with tenant_scope(tenant):
        refund = Refund.objects.get(pk=pending.pk)
        assert (refund.amount, refund.status) == (pending.amount, RefundStatus.PENDING_APPROVAL)


def test_another_tenants_staff_cannot_see_or_act_on_the_refund(
    pending: Refund,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
    tenant: Tenant,
) -> None:
    stranger = client_for(make_member(other_tenant, Role.OWNER, "boss@beta.example"))
    listing = stranger.get(reverse(CHANGELIST))
    assert listing.status_code == 200 and list(listing.context["cl"].queryset) == []
    assert stranger.get(reverse("admin:refunds_refund_change", args=[pending.pk])).status_code == 404
    _act(stranger, "approve_selected", [pending])
    _act(stranger, "reject_selected", [pending], apply="1", reason="mine now")
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.PENDING_APPROVAL
        assert not Approval.objects.filter(refund=pending).exists()


def _page(refund: Refund) -> str:
    return reverse("admin:refunds_refund_change", args=[refund.pk])


def test_the_refund_page_shows_the_request_and_approves_with_the_console_rules(
    tenant: Tenant, pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    finance, admin_ = client_for(people["finance"]), client_for(people["admin"])
    # the list says how far the approvals are and what the requester wrote
    listing = finance.get(reverse(CHANGELIST)).content.decode()
    assert "0 of 2" in listing and "broken" in listing
    # the page shows the lines, the history and the buttons
    page = finance.get(_page(pending)).content.decode()
    assert "SKU-B" in page and "Approvals: 0 of 2." in page
    assert reverse("admin:refunds_refund_approve", args=[pending.pk]) in page
    assert 'name="reason"' in page
    # a GET decides nothing
    assert finance.get(reverse("admin:refunds_refund_approve", args=[pending.pk])).status_code == 403
    # when: finance approves on the page
    answer = finance.post(reverse("admin:refunds_refund_approve", args=[pending.pk]), follow=True).content.decode()
    assert "Approval recorded for order" in answer and "1 of 2" in answer
    # then: the same person is told why they cannot decide again, and no button is offered
    again = finance.get(_page(pending)).content.decode()
    assert "someone else" in again and reverse("admin:refunds_refund_approve", args=[pending.pk]) not in again
    refused = finance.post(reverse("admin:refunds_refund_approve", args=[pending.pk]), follow=True).content.decode()
    assert "someone else" in refused
    with tenant_scope(tenant):
        assert Approval.objects.filter(refund=pending).count() == 1
    # and a second person completes it
    done = admin_.post(reverse("admin:refunds_refund_approve", args=[pending.pk]), follow=True).content.decode()
    assert "approved; it is sent to the channel now" in done
    with tenant_scope(tenant):
        refund = Refund.objects.get(pk=pending.pk)
        assert refund.status == RefundStatus.APPROVED
        assert list(Approval.objects.filter(refund=refund).values_list("via", flat=True)) == ["admin", "admin"]


def test_the_refund_page_rejects_with_a_reason_only(
    tenant: Tenant, pending: Refund, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    owner = client_for(people["owner"])
    url = reverse("admin:refunds_refund_reject", args=[pending.pk])
    assert "Say why" in owner.post(url, {"reason": "  "}, follow=True).content.decode()
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.PENDING_APPROVAL
    answer = owner.post(url, {"reason": "Buyer kept it"}, follow=True).content.decode()
    assert "rejected; the requester is told why" in answer
    with tenant_scope(tenant):
        assert Refund.objects.get(pk=pending.pk).status == RefundStatus.REJECTED
        assert Approval.objects.get(refund=pending).reason == "Buyer kept it"
    # a decided refund offers no buttons any more
    assert url not in owner.get(_page(pending)).content.decode()


def test_the_refund_page_buttons_refuse_another_tenants_staff(
    pending: Refund,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
    tenant: Tenant,
) -> None:
    stranger = client_for(make_member(other_tenant, Role.OWNER, "boss@beta.example"))
    assert stranger.post(reverse("admin:refunds_refund_approve", args=[pending.pk])).status_code == 404
    assert stranger.post(reverse("admin:refunds_refund_reject", args=[pending.pk]), {"reason": "x"}).status_code == 404
    with tenant_scope(tenant):
        assert not Approval.objects.filter(refund=pending).exists()


def test_the_policy_is_edited_by_owners_through_the_service(
    tenant: Tenant, people: dict[str, Membership], client_for: Callable[[Membership], Client]
) -> None:
    with tenant_scope(tenant):
        policy = approvals.policy_get(tenant=tenant)
    url = reverse("admin:refunds_approvalpolicy_change", args=[policy.pk])
    finance = client_for(people["finance"]).post(
        url, {"one_approval_from": "1", "two_approvals_from": "2", "approver_roles": ["finance"]}
    )
    assert finance.status_code == 403
    bad = client_for(people["owner"]).post(
        url, {"one_approval_from": "100", "two_approvals_from": "10", "approver_roles": ["finance"]}
    )
    assert bad.status_code == 200 and "at or above" in bad.content.decode()
    client_for(people["owner"]).post(
        url, {"one_approval_from": "10", "two_approvals_from": "100", "approver_roles": ["finance"]}
    )
    with tenant_scope(tenant):
        policy = ApprovalPolicy.objects.get(pk=policy.pk)
        assert (policy.one_approval_from, policy.approver_roles) == (Decimal("10"), ["finance"])
        assert AuditEvent.objects.filter(action="refunds.approval_policy_changed").exists()
