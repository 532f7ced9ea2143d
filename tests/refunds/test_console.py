"""The refunds console: lists with filters and keyset pages, detail pages, a person's tag override,
navigation and the dashboard card; roles and other tenants."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import Product
from orders.models import Order
from orders.services import order_upsert_page
from refunds.models import Refund, RefundLine, Return, TagSource
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
URL = "/app/refunds/"
RETURNS_URL = "/app/refunds/returns/"


def _t0() -> datetime:
    return datetime(2026, 10, 1, 12, tzinfo=UTC)


def make_refund(
    store: Store,
    n: int,
    *,
    lines: Sequence[tuple[str, int]] = (("SKU-1", 1),),
    refunded_at: datetime | None = None,
    order: Order | None = None,
    **fields: Any,
) -> Refund:
    """A channel refund of `n` (external id R-<n>, order 111-<n>) giving 10.00 USD back, with lines."""
    values: dict[str, Any] = {
        "tenant": store.tenant,
        "store": store,
        "order": order,
        "order_external_id": order.external_id if order else f"111-{n:07d}",
        "external_id": f"R-{n:05d}",
        "dedupe_key": f"R-{n:05d}",
        "sources": ["amazon_finances"],
        "origin": "channel",
        "status": "succeeded",
        "currency": "USD",
        "principal_amount": Decimal("-10.00"),
        "commission_amount": Decimal("1.50"),
        "amount": Decimal("10.00"),
        "net_amount": Decimal("-8.50"),
        "reporting_currency": store.tenant.reporting_currency,
        "reporting_amount": Decimal("72.00"),
        "fx_rate": Decimal("7.2"),
        "fx_rate_date": (refunded_at or _t0()).date(),
        "fx_rate_source": "ecb",
        "refunded_at": refunded_at or _t0() + timedelta(minutes=n),
    }
    values.update(fields)
    refund = Refund.objects.create(**values)
    for sku, quantity in lines:
        RefundLine.objects.create(
            tenant=store.tenant,
            refund=refund,
            sku=sku,
            quantity=quantity,
            principal_amount=Decimal("-10.00"),
            amount=Decimal("10.00"),
        )
    return refund


def make_return(store: Store, n: int, *, order: Order | None = None, **fields: Any) -> Return:
    """An FBA customer return of `n` (external id RET-<n>, order 111-<n>), one unit of SKU-1."""
    values: dict[str, Any] = {
        "tenant": store.tenant,
        "store": store,
        "order": order,
        "order_external_id": order.external_id if order else f"111-{n:07d}",
        "external_id": f"RET-{n:05d}",
        "source": "amazon_fba",
        "sku": "SKU-1",
        "quantity": 1,
        "status": "received",
        "returned_at": _t0() + timedelta(minutes=n),
        "carrier": "UPS",
        "tracking_number": f"1Z{n:08d}",
    }
    values.update(fields)
    return Return.objects.create(**values)


def shipped_order(store: Store, n: int) -> Order:
    order_upsert_page(store=store, orders=[make_order(n, status="shipped")])
    return Order.objects.get(store=store, external_id=f"111-{n:07d}")


def _refund_ids(page: str) -> list[str]:
    return re.findall(r"title=\"(R-\d{5})\">R-", page)


def _return_ids(page: str) -> list[str]:
    return re.findall(r"<code>(RET-\d{5})</code>", page)


def _next(page: str) -> str | None:
    found = re.search(r'href="(\?[^"]*cursor=[^"]+)">Next', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _previous(page: str) -> str | None:
    found = re.search(r'href="(\?[^"]*cursor=[^"]+)">Previous', page)
    return found.group(1).replace("&amp;", "&") if found else None


# --- the refund list --------------------------------------------------------------------------------------


def test_keyset_pages_walk_forward_and_back_without_gaps(owner_client: Client, tenant: Tenant) -> None:
    # given: 120 refunds, three at a time sharing a refund time, so the primary key breaks ties
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        for n in range(120):
            make_refund(store, n, refunded_at=_t0() + timedelta(minutes=n // 3))
    # when: following "Next" to the end
    seen: list[str] = []
    pages = []
    url: str | None = URL
    while url:
        page = owner_client.get(url if url.startswith("/") else URL + url).content.decode()
        pages.append(page)
        seen += _refund_ids(page)
        url = _next(page)
    # then: every refund once, newest first, and "Previous" from the last page is the middle page again
    assert len(pages) == 3 and len(seen) == 120 == len(set(seen))
    assert "120 refunds" in pages[0]
    assert seen[0] == "R-00119"
    back = owner_client.get(URL + (_previous(pages[2]) or "")).content.decode()
    assert _refund_ids(back) == _refund_ids(pages[1])
    assert _refund_ids(owner_client.get(URL, {"cursor": "garbage!!"}).content.decode()) == _refund_ids(pages[0])


def test_the_list_costs_the_same_queries_whatever_it_shows(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        for n in range(3):
            make_refund(store, n, lines=[("SKU-1", 1), ("SKU-2", 2)])
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(URL).status_code == 200
    with tenant_scope(tenant):
        for n in range(3, 50):
            make_refund(store, n, lines=[("SKU-1", 1), ("SKU-2", 2)])
    with CaptureQueriesContext(connection) as many:
        assert owner_client.get(URL).status_code == 200
    assert len(many) == len(few)


def test_refund_filters(owner_client: Client, tenant: Tenant) -> None:
    # given: refunds that differ in one respect each
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant, name="Amazon NA")
        shopify = StoreFactory(tenant=tenant, name="Shop", platform="shopify")
        mug = Product.objects.create(tenant=tenant, sku="MASTER-MUG", name="Mug")
        make_refund(amazon, 1, status="pending_approval", origin="console")
        make_refund(amazon, 2, tag="defective", tag_source=TagSource.CODE)
        make_refund(shopify, 3, lines=[("SHOP-SKU", 1)])
        make_refund(amazon, 4, reporting_amount=Decimal("900.00"))
        make_refund(amazon, 5, refunded_at=_t0() + timedelta(days=20))
        make_refund(amazon, 6, review_reason="exceeds_order")
        make_refund(amazon, 7, review_reason="exceeds_order", reviewed_reason="exceeds_order")
        make_refund(amazon, 8, reporting_amount=None, fx_rate=None, fx_rate_date=None)
        line = RefundLine.objects.get(refund__external_id="R-00003")
        line.product = mug
        line.save(update_fields=["product"])
        everything = {f"R-{n:05d}" for n in range(1, 9)}

    def ids(**params: Any) -> set[str]:
        response = owner_client.get(URL, params)
        assert response.status_code == 200
        return set(_refund_ids(response.content.decode()))

    # then
    assert ids() == everything
    assert ids(status="pending_approval") == {"R-00001"}
    assert ids(origin="console") == {"R-00001"}
    assert ids(tag="defective") == {"R-00002"}
    assert "R-00002" not in ids(tag="untagged") and "R-00001" in ids(tag="untagged")
    assert ids(platform="shopify") == {"R-00003"}
    assert ids(store=str(shopify.pk)) == {"R-00003"}
    assert ids(sku="SHOP-SKU") == {"R-00003"}  # the channel SKU of a line
    assert ids(sku="MASTER-MUG") == {"R-00003"}  # the master SKU it maps to
    assert ids(sku="SHOP") == set()  # exact, not a substring
    assert ids(amount_min="500") == {"R-00004"}  # in the reporting currency (CNY)
    assert ids(amount_max="100") == everything - {"R-00004", "R-00008"}  # no rate: out of any amount range
    assert ids(date_from="2026-10-15") == {"R-00005"}
    assert ids(date_to="2026-10-01") == everything - {"R-00005"}
    assert ids(needs_review="on") == {"R-00006"}  # a reviewed reason is closed
    page = owner_client.get(URL).content.decode()
    assert "Amount from (CNY)" in page  # the amount filter says which currency it compares
    assert "no rate" in page


def test_refund_filter_validation_messages(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        make_refund(StoreFactory(tenant=tenant), 1)
    page = owner_client.get(URL, {"date_from": "2026-10-02", "date_to": "2026-10-01"}).content.decode()
    assert "The end date is before the start date." in page
    page = owner_client.get(URL, {"amount_min": "50", "amount_max": "10"}).content.decode()
    assert "The upper amount is below the lower amount." in page
    page = owner_client.get(URL, {"amount_min": "-1"}).content.decode()
    assert "is-invalid" in page
    assert "R-00001" in page  # an invalid filter shows everything, with the error beside the field


def test_empty_states(owner_client: Client, tenant: Tenant) -> None:
    assert "Connect a store to see its refunds here." in owner_client.get(URL).content.decode()
    assert "Connect a store to see its returns here." in owner_client.get(RETURNS_URL).content.decode()
    with tenant_scope(tenant):
        StoreFactory(tenant=tenant)
    assert "No refunds yet." in owner_client.get(URL).content.decode()
    assert "No refunds match these filters." in owner_client.get(URL, {"status": "failed"}).content.decode()
    assert "No returns yet." in owner_client.get(RETURNS_URL).content.decode()


# --- the refund page --------------------------------------------------------------------------------------


def test_refund_page_shows_components_lines_order_returns_and_sources(owner_client: Client, tenant: Tenant) -> None:
    # given: a refund of an imported order with two lines, a linked return and one of the same order
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon NA")
        order = shipped_order(store, 1)
        refund = make_refund(
            store,
            1,
            order=order,
            lines=[("SKU-1", 1), ("SKU-2", 2)],
            sources=["amazon_finances", "amazon_transactions"],
            reason_code="CR-DEFECTIVE",
            customer_comment="Der Griff ist gebrochen",
            tag="defective",
            tag_source=TagSource.KEYWORD,
            category="Quality",
            ledger_account="4010 Refunds",
        )
        linked = make_return(store, 1, order=order, refund=refund)
        same_order = make_return(store, 2, order=order, order_external_id=order.external_id, sku="SKU-2")
    # when
    page = owner_client.get(f"{URL}{refund.pk}/").content.decode()
    # then: every component signed in the refund's currency, the reporting amount with its rate
    assert "-10.00 USD" in page and "1.50 USD" in page and "-8.50 USD" in page
    assert "72.00 CNY" in page and "rate 7.2" in page and "ecb" in page
    assert "SKU-2" in page and "CR-DEFECTIVE" in page and "Der Griff ist gebrochen" in page
    assert f'href="/app/orders/{order.pk}/"' in page
    assert f'href="{RETURNS_URL}{linked.pk}/"' in page and f'href="{RETURNS_URL}{same_order.pk}/"' in page
    assert "Amazon transactions" in page and "4010 Refunds" in page and "Quality" in page
    assert "Customer&#x27;s words" in page or "Customer's words" in page  # the tag's source


def test_refund_page_without_rate_or_order(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        refund = make_refund(StoreFactory(tenant=tenant), 1, lines=[], reporting_amount=None, fx_rate=None)
    page = owner_client.get(f"{URL}{refund.pk}/").content.decode()
    assert "no rate" in page and "order not yet imported" in page
    assert "without item lines" in page and "No return for this order." in page


def test_a_person_overrides_the_tag_and_it_is_audited(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    # given: a refund tagged from the buyer's words, and a customer-service member
    support = make_member(tenant, Role.SUPPORT)
    with tenant_scope(tenant):
        refund = make_refund(StoreFactory(tenant=tenant), 1, tag="size_fit", tag_source=TagSource.KEYWORD)
    client = client_for(support)
    # when
    response = client.post(f"{URL}{refund.pk}/tag/", {"tag": "wrong_item"})
    # then
    assert response.status_code == 302
    with tenant_scope(tenant):
        refund.refresh_from_db()
        assert (refund.tag, refund.tag_source) == ("wrong_item", "person")
        event = AuditEvent.objects.get(action="refunds.refund.tag")
    assert event.actor == support.user and event.object_id == str(refund.pk)
    assert event.before == {"tag": "size_fit", "tag_source": "keyword"}
    assert event.after == {"tag": "wrong_item", "tag_source": "person"}
    page = client.get(f"{URL}{refund.pk}/").content.decode()
    assert "refunds.refund.tag" in page and "size_fit → wrong_item" in page


@pytest.mark.parametrize("role", [Role.OWNER, Role.FINANCE, Role.SUPPORT])
def test_a_console_request_shows_the_approval_panel_and_execution(
    role: str,
    tenant: Tenant,
    owner: Membership,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    with tenant_scope(tenant):
        refund = make_refund(
            StoreFactory(tenant=tenant, platform="shopify"),
            1,
            origin="console",
            status="failed",
            sources=["console"],
            requested_by=owner.user,
            approvals_required=1,
            attempts=3,
            last_error="HTTP 502 from the channel",
            restock=True,
        )
    page = client_for(make_member(tenant, role)).get(f"{URL}{refund.pk}/").content.decode()
    assert 'id="approval-panel"' in page
    assert "HTTP 502 from the channel" in page and "Attempts" in page


def test_tag_override_refuses_an_unknown_tag(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        refund = make_refund(StoreFactory(tenant=tenant), 1)
    response = owner_client.post(f"{URL}{refund.pk}/tag/", {"tag": "lost_in_space"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    with tenant_scope(tenant):
        refund.refresh_from_db()
        assert refund.tag == "" and not AuditEvent.objects.filter(action="refunds.refund.tag").exists()


@pytest.mark.parametrize(
    ("role", "may_tag"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True), (Role.SUPPORT, True), (Role.FINANCE, False)],
)
def test_roles_on_refund_pages(
    role: str,
    may_tag: bool,
    tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    # given
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        refund = make_refund(store, 1)
        record = make_return(store, 1)
    client = client_for(make_member(tenant, role))
    # then: everyone sees the lists, pages and the queue; only those who handle refunds set tags
    for url in (URL, f"{URL}{refund.pk}/", RETURNS_URL, f"{RETURNS_URL}{record.pk}/", f"{URL}review/"):
        assert client.get(url).status_code == 200, url
    detail = client.get(f"{URL}{refund.pk}/").content.decode()
    assert ("Save tag" in detail) is may_tag
    assert client.post(f"{URL}{refund.pk}/tag/", {"tag": "other"}).status_code == (302 if may_tag else 403)
    assert client.post(f"{RETURNS_URL}{record.pk}/tag/", {"tag": "other"}).status_code == (302 if may_tag else 403)


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_other_tenant_sees_nothing_of_ours(
    tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    # given: A's refund and return
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        refund = make_refund(store, 1, review_reason="exceeds_order")
        record = make_return(store, 1, review_reason="no_tracking", tracking_number="")
    client = client_for(other_owner)
    # then: B's lists and queue do not show them, and their pages and actions answer 404
    assert _refund_ids(client.get(URL).content.decode()) == []
    assert _return_ids(client.get(RETURNS_URL).content.decode()) == []
    assert "R-00001" not in client.get(URL, {"needs_review": "on"}).content.decode()
    for url in (f"{URL}{refund.pk}/", f"{RETURNS_URL}{record.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{URL}{refund.pk}/tag/", {"tag": "other"}).status_code == 404
    assert client.post(f"{RETURNS_URL}{record.pk}/tag/", {"tag": "other"}).status_code == 404
    with tenant_scope(tenant):
        refund.refresh_from_db()
        record.refresh_from_db()
    assert refund.tag == "" and record.tag == ""


# --- the return list and page -----------------------------------------------------------------------------


def test_return_filters_and_pages(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant)
        shopify = StoreFactory(tenant=tenant, platform="shopify", name="Shop")
        make_return(amazon, 1, review_reason="no_tracking", tracking_number="", carrier="")
        make_return(amazon, 2, status="requested", source="amazon_mfn")
        make_return(shopify, 3, source="shopify", tag="damaged", tag_source=TagSource.CODE, sku="MUG-RED")
        make_return(amazon, 4, returned_at=_t0() + timedelta(days=10))
        for n in range(5, 60):
            make_return(amazon, n, returned_at=_t0() - timedelta(days=1, minutes=n))

    def ids(**params: Any) -> set[str]:
        response = owner_client.get(RETURNS_URL, params)
        assert response.status_code == 200
        return set(_return_ids(response.content.decode()))

    assert ids(review_reason="no_tracking") == {"RET-00001"} == ids(review_reason="any")
    assert ids(status="requested") == {"RET-00002"}
    assert ids(source="amazon_mfn") == {"RET-00002"}
    assert ids(store=str(shopify.pk)) == {"RET-00003"} == ids(tag="damaged") == ids(sku="MUG-RED")
    assert ids(date_from="2026-10-05") == {"RET-00004"}
    first = owner_client.get(RETURNS_URL).content.decode()
    assert "59 returns" in first and len(_return_ids(first)) == 50
    second = owner_client.get(RETURNS_URL + (_next(first) or "")).content.decode()
    assert len(_return_ids(second)) == 9 and not set(_return_ids(first)) & set(_return_ids(second))


def test_the_return_list_costs_the_same_queries_whatever_it_shows(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        for n in range(3):
            make_return(store, n, review_reason="no_tracking")
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(RETURNS_URL).status_code == 200
    with tenant_scope(tenant):
        for n in range(3, 50):
            make_return(store, n, review_reason="no_tracking", tag="damaged", tag_source=TagSource.CODE)
    with CaptureQueriesContext(connection) as many:
        assert owner_client.get(RETURNS_URL).status_code == 200
    assert len(many) == len(few)


def test_return_page_shows_every_field_and_the_refund(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order = shipped_order(store, 1)
        refund = make_refund(store, 1, order=order)
        record = make_return(
            store,
            1,
            order=order,
            refund=refund,
            disposition="CUSTOMER_DAMAGED",
            fulfillment_center="PHX7",
            license_plate_number="LPNRR123",
            customer_comment="箱子破了",
            reason_code="DAMAGED_BY_CARRIER",
        )
    page = owner_client.get(f"{RETURNS_URL}{record.pk}/").content.decode()
    for text in ("CUSTOMER_DAMAGED", "PHX7", "LPNRR123", "箱子破了", "DAMAGED_BY_CARRIER", "1Z00000001"):
        assert text in page
    assert f'href="{URL}{refund.pk}/"' in page and f'href="/app/orders/{order.pk}/"' in page


def test_a_person_overrides_a_returns_tag(owner_client: Client, owner: Membership, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        record = make_return(StoreFactory(tenant=tenant), 1, tag="other", tag_source=TagSource.CODE)
    assert owner_client.post(f"{RETURNS_URL}{record.pk}/tag/", {"tag": "missing_parts"}).status_code == 302
    with tenant_scope(tenant):
        record.refresh_from_db()
        event = AuditEvent.objects.get(action="refunds.return.tag")
    assert (record.tag, record.tag_source) == ("missing_parts", "person")
    assert event.before == {"tag": "other", "tag_source": "code"} and event.actor == owner.user


# --- navigation and dashboard -----------------------------------------------------------------------------


def test_navigation_and_section_tabs(owner_client: Client) -> None:
    page = owner_client.get(URL).content.decode()
    assert 'href="/app/refunds/"' in page and 'aria-current="page"' in page
    assert 'href="/app/refunds/returns/"' in page and 'href="/app/refunds/review/"' in page
    dashboard = owner_client.get("/app/").content.decode()
    assert 'href="/app/refunds/"' in dashboard


def test_dashboard_card_counts_the_last_30_days(owner_client: Client, tenant: Tenant) -> None:
    now = timezone.now()
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_refund(store, 1, refunded_at=now - timedelta(days=1), reporting_amount=Decimal("72.00"))
        make_refund(store, 2, refunded_at=now - timedelta(days=3), reporting_amount=Decimal("28.50"))
        make_refund(store, 3, refunded_at=now - timedelta(days=2), reporting_amount=None)  # no rate
        make_refund(store, 4, refunded_at=now - timedelta(days=45))  # too old
        make_refund(store, 5, refunded_at=now, status="pending_approval", origin="console")
        make_refund(store, 6, refunded_at=now - timedelta(days=40), review_reason="exceeds_order")
        make_return(store, 1, review_reason="no_tracking", tracking_number="", returned_at=now)
    page = owner_client.get("/app/").content.decode()
    card = page[page.index('id="refunds-card"') :]
    assert '<span class="fs-4" data-testid="refunds-count">3</span>' in card
    assert "refunds in the last 30 days" in card
    assert "100.50 CNY" in card and "1 refund without an exchange rate" in card
    assert "1 request waits for approval" in card
    assert "2 need review" in card


def test_dashboard_card_for_a_new_tenant(owner_client: Client) -> None:
    page = owner_client.get("/app/").content.decode()
    assert 'data-testid="refunds-count">0<' in page and "0 need review" in page


def test_pages_render_in_chinese(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        refund = make_refund(store, 1)
        record = make_return(store, 1)
    owner_client.post("/i18n/setlang/", {"language": "zh-hans", "next": URL})
    for url in (URL, f"{URL}{refund.pk}/", RETURNS_URL, f"{RETURNS_URL}{record.pk}/", f"{URL}review/"):
        response = owner_client.get(url)
        assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode(), url
