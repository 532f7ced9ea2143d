"""The review queue: what lands in each section, "mark reviewed" (audited), roles and other tenants."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from refunds import review
from tests.factories import StoreFactory
from tests.refunds.test_console import make_refund, make_return, shipped_order

pytestmark = pytest.mark.django_db
URL = "/app/refunds/review/"


def _section(tenant: Tenant, key: str) -> set[str]:
    with tenant_scope(tenant):
        return set(review.section_rows(tenant=tenant, key=key).values_list("external_id", flat=True))


def test_an_fba_return_without_tracking_needs_review_not_processing(tenant: Tenant, owner: Membership) -> None:
    # given: an FBA return the sync flagged because it came back without carrier tracking
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        flagged = make_return(store, 1, review_reason="no_tracking", tracking_number="", carrier="")
        make_return(store, 2)  # with tracking: nothing to check
    # then
    assert _section(tenant, "returns") == {"RET-00001"}
    # when: a person marks it reviewed
    with tenant_scope(tenant):
        review.mark_reviewed(tenant=tenant, record=flagged, reason="no_tracking", actor=owner.user, note="ok")
        event = AuditEvent.objects.get(action="refunds.return.reviewed")
    # then: it leaves the queue, the reason stays on record, and who / when / note are audited
    assert _section(tenant, "returns") == set()
    flagged.refresh_from_db()
    assert flagged.review_reason == "no_tracking" and flagged.reviewed_by == owner.user
    assert event.before is not None and event.before["reviewed_reason"] == ""
    assert event.after is not None and event.after["reviewed_reason"] == "no_tracking" and event.after["note"] == "ok"
    # and: a new, different reason opens it again
    with tenant_scope(tenant):
        flagged.review_reason = "wrong_item_returned"
        flagged.save(update_fields=["review_reason"])
    assert _section(tenant, "returns") == {"RET-00001"}


def test_refunded_but_not_returned_after_the_window(tenant: Tenant, settings: Any) -> None:
    settings.ACORN_REFUND_RETURN_WINDOW_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        orders = {n: shipped_order(store, n) for n in range(1, 9)}
        make_refund(store, 1, order=orders[1], refunded_at=old)  # nothing came back: in the queue
        make_refund(store, 2, order=orders[2], refunded_at=timezone.now() - timedelta(days=5))  # still in window
        linked = make_refund(store, 3, order=orders[3], refunded_at=old)
        make_return(store, 3, order=orders[3], refund=linked)  # returned and linked
        make_refund(store, 4, order=orders[4], refunded_at=old)
        make_return(store, 4, order=orders[4])  # a return of the same order and SKU, not linked yet
        make_refund(store, 5, order=orders[5], refunded_at=old, lines=[("SKU-9", 1)])
        make_return(store, 5, order=orders[5])  # a return of another SKU: the refunded one did not come back
        make_refund(store, 6, order=orders[6], refunded_at=old, lines=[], shipping_amount=-5, principal_amount=0)
        make_refund(store, 7, refunded_at=old)  # order not imported yet: not known to be shipped
        make_refund(store, 8, order=orders[8], refunded_at=old, status="rejected", origin="console")
        make_refund(store, 9, refunded_at=old, lines=[])
    # then
    assert _section(tenant, review.NOT_RETURNED) == {"R-00001", "R-00005"}
    # a longer window moves the first one out
    settings.ACORN_REFUND_RETURN_WINDOW_DAYS = 60
    assert _section(tenant, review.NOT_RETURNED) == set()


def test_refund_without_lines_counts_any_return_of_its_order(tenant: Tenant) -> None:
    old = timezone.now() - timedelta(days=40)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_refund(store, 1, order=shipped_order(store, 1), refunded_at=old, lines=[])
        make_refund(store, 2, order=shipped_order(store, 2), refunded_at=old, lines=[])
        make_return(store, 2, sku="ANY-SKU")
    assert _section(tenant, review.NOT_RETURNED) == {"R-00001"}


def test_returned_but_not_refunded_after_the_grace_days(tenant: Tenant) -> None:
    now = timezone.now()
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_return(store, 1, received_at=now - timedelta(days=5))  # no refund at all
        make_return(store, 2, received_at=now - timedelta(days=1))  # within the grace days
        make_return(store, 3, received_at=now - timedelta(days=5))
        make_refund(store, 3)  # a refund of its order and SKU
        make_return(store, 4, received_at=now - timedelta(days=5))
        make_refund(store, 4, lines=[("OTHER-SKU", 1)])  # a refund of another SKU only
        make_return(store, 5, received_at=now - timedelta(days=5))
        make_refund(store, 5, lines=[])  # a whole-order refund without lines
        make_return(store, 6, received_at=now - timedelta(days=5))
        make_refund(store, 6, status="rejected", origin="console")  # a rejected request refunds nothing
        make_return(store, 7, status="declined", received_at=now - timedelta(days=5))
        make_return(store, 8, status="requested", returned_at=now - timedelta(days=9))  # not received yet
        make_return(store, 9, status="received", returned_at=now - timedelta(days=9))  # received, no date
    assert _section(tenant, review.NOT_REFUNDED) == {"RET-00001", "RET-00004", "RET-00006", "RET-00009"}


def test_flagged_refunds_and_reviewing_them(tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        flagged = make_refund(store, 1, review_reason="exceeds_order")
        make_refund(store, 2)
    assert _section(tenant, "refunds") == {"R-00001"}
    with tenant_scope(tenant):
        with pytest.raises(ValidationError):
            review.mark_reviewed(tenant=tenant, record=flagged, reason="no_tracking", actor=owner.user)
        review.mark_reviewed(tenant=tenant, record=flagged, reason="exceeds_order", actor=owner.user)
    assert _section(tenant, "refunds") == set()


def test_queue_page_sections_counts_and_mark_reviewed(
    tenant: Tenant, owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    # given: one row in every section
    old = timezone.now() - timedelta(days=40)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_return(store, 1, review_reason="no_tracking", tracking_number="")
        make_refund(store, 1)  # so that return is refunded: it is in one section only
        not_returned = make_refund(store, 2, order=shipped_order(store, 2), refunded_at=old)
        make_return(store, 3, received_at=old)
        make_refund(store, 4, review_reason="exceeds_order")
    client = client_for(owner)
    # when: opening the queue
    page = client.get(URL).content.decode()
    # then: the counts of all sections, the first section open
    for key in ("returns", "not_returned", "not_refunded", "refunds"):
        assert re.search(rf'data-section-count="{key}">1<', page), key
    assert "RET-00001" in page and "R-00002" not in page
    section = client.get(URL, {"section": "not_returned"}).content.decode()
    assert "R-00002" in section and "Refunded, not returned" in section and "30 days" in section
    # when: marking the refund reviewed from the queue
    back = f"{URL}?section=not_returned"
    response = client.post(
        f"/app/refunds/{not_returned.pk}/reviewed/", {"reason": "not_returned", "next": back, "note": "kept by buyer"}
    )
    # then: back to the same section, now without it
    assert response.status_code == 302 and response["Location"] == back
    after = client.get(back).content.decode()
    assert "Refund R-00002 marked reviewed." in after and "<code>R-00002</code>" not in after
    with tenant_scope(tenant):
        not_returned.refresh_from_db()
        assert AuditEvent.objects.filter(action="refunds.refund.reviewed", actor=owner.user).count() == 1
    assert not_returned.reviewed_reason == "not_returned"
    # an unsafe "next" falls back to the refund's page
    response = client.post(
        f"/app/refunds/{not_returned.pk}/reviewed/", {"reason": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/app/refunds/{not_returned.pk}/"


def test_review_from_the_detail_pages(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        refund = make_refund(store, 1, review_reason="exceeds_order")
        record = make_return(store, 1, review_reason="no_tracking", tracking_number="")
    page = owner_client.get(f"/app/refunds/{refund.pk}/").content.decode()
    assert "Refunds add up to more than the order" in page and "Mark reviewed" in page
    owner_client.post(f"/app/refunds/{refund.pk}/reviewed/", {"reason": "exceeds_order"})
    page = owner_client.get(f"/app/refunds/{refund.pk}/").content.decode()
    assert "Mark reviewed" not in page and "reviewed by owner@alpha.example" in page
    page = owner_client.get(f"/app/refunds/returns/{record.pk}/").content.decode()
    assert "FBA return without carrier tracking" in page
    owner_client.post(f"/app/refunds/returns/{record.pk}/reviewed/", {"reason": "no_tracking"})
    assert "Mark reviewed" not in owner_client.get(f"/app/refunds/returns/{record.pk}/").content.decode()


def test_empty_queue(owner_client: Client) -> None:
    page = owner_client.get(URL).content.decode()
    assert "Nothing to review here." in page


def test_queue_costs_the_same_queries_whatever_it_shows(owner_client: Client, tenant: Tenant) -> None:
    old = timezone.now() - timedelta(days=40)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        for n in range(2):
            make_refund(store, n, order=shipped_order(store, n), refunded_at=old)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(URL, {"section": "not_returned"})
    with tenant_scope(tenant):
        for n in range(2, 30):
            make_refund(store, n, order=shipped_order(store, n), refunded_at=old)
    with CaptureQueriesContext(connection) as many:
        page = owner_client.get(URL, {"section": "not_returned"}).content.decode()
    assert page.count("Mark reviewed") == 30
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("role", "may_review"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True), (Role.SUPPORT, True), (Role.FINANCE, False)],
)
def test_roles_on_the_queue(
    role: str,
    may_review: bool,
    tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        refund = make_refund(store, 1, review_reason="exceeds_order")
        record = make_return(store, 1, review_reason="no_tracking", tracking_number="")
    client = client_for(make_member(tenant, role))
    page = client.get(URL).content.decode()
    assert "RET-00001" in page and ("Mark reviewed" in page) is may_review
    expected = 302 if may_review else 403
    assert client.post(f"/app/refunds/{refund.pk}/reviewed/", {"reason": "exceeds_order"}).status_code == expected
    assert client.post(f"/app/refunds/returns/{record.pk}/reviewed/", {"reason": "no_tracking"}).status_code == expected


def test_other_tenant_neither_sees_nor_reviews_ours(
    tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    old = timezone.now() - timedelta(days=40)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_return(store, 1, review_reason="no_tracking", tracking_number="")
        refund = make_refund(store, 2, order=shipped_order(store, 2), refunded_at=old, review_reason="exceeds_order")
        record = make_return(store, 3, received_at=old)
    client = client_for(other_owner)
    for key in ("returns", "not_returned", "not_refunded", "refunds"):
        page = client.get(URL, {"section": key}).content.decode()
        assert re.search(rf'data-section-count="{key}">0<', page), key
        assert "RET-0000" not in page and "R-00002" not in page
    assert client.post(f"/app/refunds/{refund.pk}/reviewed/", {"reason": "exceeds_order"}).status_code == 404
    assert client.post(f"/app/refunds/returns/{record.pk}/reviewed/", {"reason": "not_refunded"}).status_code == 404
    with tenant_scope(tenant):
        refund.refresh_from_db()
        record.refresh_from_db()
    assert refund.reviewed_at is None and record.reviewed_at is None
