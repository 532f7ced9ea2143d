"""The finance console: settlements list and page, map-this-type, unclassified types, not yet settled, the
dashboard card; both languages, permissions and another tenant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import SettlementLine as SettlementLineRecord
from channels.models import Store
from finance import views
from finance.settlements.models import (
    Category,
    CategoryRule,
    DeferredTransaction,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from finance.settlements.selectors import settlement_month_split
from tests.factories import StoreFactory
from tests.finance.console_data import UNKNOWN_FEE, import_statement, line, make_order

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA")


@pytest.fixture
def settlement(tenant: Tenant, store: Store) -> Settlement:
    """A statement that crosses a month end: order 111-1 known and as expected, 111-2 unknown, one unknown fee."""
    with tenant_scope(tenant):
        make_order(store, "111-1", "25.00", shipping="4.99")
        return import_statement(store)


def _chinese(client: Client) -> Client:
    client.cookies["django_language"] = "zh-hans"
    return client


def _page(client: Client, url: str, language: str = "en") -> str:
    if language == "zh-hans":
        _chinese(client)
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    assert f'lang="{language}"' in body
    return body


# --- settlements list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Has differences", "Settlements", "Deposit date"]), ("zh-hans", ["有差异", "结算", "到账日期"])],
)
def test_the_list_shows_each_statement_with_its_status(
    owner_client: Client, settlement: Settlement, language: str, words: list[str]
) -> None:
    body = _page(owner_client, reverse("finance:settlement-list"), language)
    assert "12948507001" in body and "Amazon NA" in body
    deposit_day = "2026-11-10" if language == "en" else "2026年11月10日"
    assert "31.22 USD" in body and deposit_day in body  # total and deposit date
    assert reverse("finance:settlement-detail", args=[settlement.pk]) in body
    for word in words:
        assert word in body


def test_finance_home_and_the_navigation_open_the_settlements(owner_client: Client) -> None:
    response = owner_client.get("/app/finance/")
    assert response.status_code == 302 and response["Location"] == reverse("finance:settlement-list")
    dashboard = owner_client.get(reverse("console:dashboard")).content.decode()
    assert f'href="{reverse("finance:settlement-list")}"' in dashboard


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Amazon settlements and Shopify Payments payouts arrive with each store"),
        ("zh-hans", "WooCommerce"),
    ],
)
def test_an_empty_list_says_how_settlements_arrive(
    owner_client: Client, store: Store, language: str, text: str
) -> None:
    body = _page(owner_client, reverse("finance:settlement-list"), language)
    assert text in body and 'id="settlement-table"' not in body
    if language == "zh-hans":
        assert "还没有结算" in body


def test_without_stores_the_list_points_to_connecting_one(owner_client: Client) -> None:
    body = _page(owner_client, reverse("finance:settlement-list"))
    assert "Connect a store to see its settlements here." in body


def test_the_upload_link_shows_only_when_the_upload_page_exists(owner_client: Client, store: Store) -> None:
    body = _page(owner_client, reverse("finance:settlement-list"))
    try:
        upload = reverse("finance:settlement-upload")
    except NoReverseMatch:  # until the upload view is merged
        assert "Upload a settlement file" not in body
    else:
        assert upload in body and "Upload a settlement file" in body


def test_filters_narrow_the_list(owner_client: Client, tenant: Tenant, store: Store, settlement: Settlement) -> None:
    with tenant_scope(tenant):
        other_store = StoreFactory(tenant=tenant, name="Amazon EU")
        unbalanced = import_statement(other_store, settlement_id="EU-2", total="1.00")
    assert unbalanced.status == SettlementStatus.UNBALANCED
    url = reverse("finance:settlement-list")

    def listed(query: dict[str, str]) -> set[str]:
        body = owner_client.get(url, query).content.decode()
        return {name for name in ("12948507001", "EU-2") if f">{name}</a>" in body}

    assert listed({}) == {"12948507001", "EU-2"}
    assert listed({"status": "unbalanced"}) == {"EU-2"}
    assert listed({"status": "has_differences"}) == {"12948507001"}
    assert listed({"store": str(store.pk)}) == {"12948507001"}
    assert listed({"kind": "shopify_payout"}) == set()
    assert listed({"deposited_from": "2026-11-10", "deposited_until": "2026-11-10"}) == {"12948507001", "EU-2"}
    assert listed({"deposited_from": "2026-11-11"}) == set()
    assert listed({"deposited_until": "2026-11-09"}) == set()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"deposited_from": "2026-11-10", "deposited_until": "2026-11-01"}, "The end date is before the start date."),
        ({"deposited_from": "10/11/2026x"}, "Enter a valid date."),
        ({"status": "paid"}, "Select a valid choice."),
        ({"store": "999999"}, "Select a valid choice."),
    ],
)
def test_invalid_filters_say_what_is_wrong(
    owner_client: Client, settlement: Settlement, query: dict[str, str], message: str
) -> None:
    body = owner_client.get(reverse("finance:settlement-list"), query).content.decode()
    assert message in body and "invalid-feedback" in body


def test_the_list_pages_by_keyset(
    owner_client: Client, tenant: Tenant, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 2)
    with tenant_scope(tenant):
        for n in range(3):
            import_statement(store, settlement_id=f"S-{n}", total="31.22")
    url = reverse("finance:settlement-list")
    first = owner_client.get(url).context
    assert len(first["page"].object_list) == 2 and first["page"].has_next
    second = owner_client.get(url, {"cursor": first["page"].next_cursor}).context
    seen = [s.external_id for s in first["page"].object_list] + [s.external_id for s in second["page"].object_list]
    assert sorted(seen) == ["S-0", "S-1", "S-2"] and not second["page"].has_next


# --- the settlement page --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Category totals", "Month split", "Orders ACORN never imported", "Unclassified lines", "Difference"]),
        ("zh-hans", ["分类合计", "按月拆分", "ACORN 从未导入的订单", "未分类的行", "差额"]),
    ],
)
def test_the_settlement_page_shows_totals_split_unknown_orders_and_unclassified(
    owner_client: Client, settlement: Settlement, language: str, words: list[str]
) -> None:
    body = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]), language)
    for word in words:
        assert word in body
    months = ("2026-10", "2026-11") if language == "en" else ("2026年10月", "2026年11月")
    assert months[0] in body and months[1] in body  # the month split's columns
    assert "<code>111-2</code>" in body  # the order ACORN never imported is listed
    assert UNKNOWN_FEE in body and 'action="/app/finance/unclassified/map/"' in body
    assert "31.22 USD" in body


def test_the_month_split_books_each_line_in_its_posted_month(tenant: Tenant, settlement: Settlement) -> None:
    with tenant_scope(tenant):
        parts = settlement_month_split(settlement=settlement)
    assert [part.month for part in parts] == [date(2026, 10, 1), date(2026, 11, 1)]
    october, november = parts
    assert october.total == Decimal("23.02") and october.lines == 6
    assert october.categories[Category.SALES] == Decimal("25.00")
    # the line without a posted date belongs to the month the statement ends in
    assert november.total == Decimal("8.20") and november.lines == 3
    assert november.categories[Category.UNCLASSIFIED] == Decimal("-0.30")
    assert october.total + november.total == settlement.lines_amount


def test_lines_by_order_show_the_difference_against_what_acorn_expected(
    owner_client: Client, tenant: Tenant, store: Store
) -> None:
    with tenant_scope(tenant):
        make_order(store, "111-1", "27.00", shipping="4.99")  # expected 31.99, settled 29.99
        settlement = import_statement(store)
    response = owner_client.get(reverse("finance:settlement-detail", args=[settlement.pk]), {"group": "order"})
    rows = {row.order_external_id: row for row in response.context["group_rows"]}
    assert rows["111-1"].reconciliation.difference == Decimal("-2.00")
    assert rows["111-2"].reconciliation.expected is None  # unknown to ACORN: no expectation, no difference
    assert rows[""].reconciliation is None and rows[""].lines == 2  # account-level lines
    body = response.content.decode()
    assert "-2.00" in body and "not in ACORN" in body


@pytest.mark.parametrize(
    ("group", "present", "absent"),
    [
        ("sku", ["<code>MUG</code>", "<code>CUP</code>"], []),
        ("type", ["Storage Fee", "FBAPerUnitFulfillmentFee"], []),
        ("lines", ["Principal", "Storage Fee"], []),
        ("bogus", ["111-1"], []),
    ],
)
def test_lines_by_sku_type_or_one_by_one(
    owner_client: Client, settlement: Settlement, group: str, present: list[str], absent: list[str]
) -> None:
    body = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]) + f"?group={group}")
    for text in present:
        assert text in body


def test_the_lines_of_one_order(owner_client: Client, settlement: Settlement) -> None:
    url = reverse("finance:settlement-detail", args=[settlement.pk])
    page = owner_client.get(url, {"group": "lines", "order": "111-2"}).context["line_page"]
    assert [line.line_number for line in page.object_list] == [8]


def test_an_unbalanced_statement_says_why(owner_client: Client, tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = import_statement(store, total="30.00")
    body = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]))
    assert "the lines add up to 31.22 USD, but the statement's total is 30.00 USD" in body
    assert "a difference of 1.22 USD" in body
    chinese = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]), "zh-hans")
    assert "不平衡" in chinese and "31.22" in chinese


def test_an_empty_statement_renders(owner_client: Client, tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = import_statement(store, total="0", lines=[])
    for language in ("en", "zh-hans"):
        body = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]), language)
        assert "12948507001" in body


# --- map this type --------------------------------------------------------------------------------------


def _map(client: Client, category: str = Category.SELLER_FEES, **override: str) -> object:
    data = {
        "platform": "amazon",
        "transaction_type": "other-transaction",
        "amount_type": "other-transaction",
        "amount_description": UNKNOWN_FEE,
        "category": category,
        "next": "/app/finance/unclassified/",
        **override,
    }
    return client.post(reverse("finance:category-map"), data, follow=True)


@pytest.mark.parametrize("role", [Role.OWNER, Role.FINANCE])
def test_mapping_a_type_recategorises_its_lines(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor, role: str
) -> None:
    client = client_for(make_member(tenant, role))
    response = _map(client)
    body = response.content.decode()
    assert "1 line re-categorised" in body
    with tenant_scope(tenant):
        line = SettlementLine.objects.get(settlement=settlement, line_number=10)
        assert line.category == Category.SELLER_FEES and line.rule is not None
        settlement.refresh_from_db()
        assert settlement.unclassified_count == 0
        assert CategoryRule.objects.filter(tenant=tenant).count() == 1


def test_mapping_from_the_settlement_page_returns_there_in_chinese(
    owner_client: Client, tenant: Tenant, settlement: Settlement
) -> None:
    detail = reverse("finance:settlement-detail", args=[settlement.pk])
    _chinese(owner_client)
    response = _map(owner_client, next=detail)
    assert response.redirect_chain[-1][0] == detail
    assert "重新分类了 1 行" in response.content.decode()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"category": Category.UNCLASSIFIED}, "Select a valid choice."),
        ({"category": ""}, "This field is required."),
        ({"transaction_type": "", "amount_type": "", "amount_description": ""}, "nothing to map"),
        ({"platform": "ebay"}, "Select a valid choice."),
    ],
)
def test_a_bad_mapping_is_refused_and_changes_nothing(
    owner_client: Client, tenant: Tenant, settlement: Settlement, override: dict[str, str], message: str
) -> None:
    body = _map(owner_client, **override).content.decode()
    assert "The type was not mapped" in body and message in body
    with tenant_scope(tenant):
        assert not CategoryRule.objects.exists()
        assert SettlementLine.objects.get(settlement=settlement, line_number=10).category == Category.UNCLASSIFIED


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.SUPPORT])
def test_only_finance_managers_map_types(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor, role: str
) -> None:
    client = client_for(make_member(tenant, role))
    assert _map(client).status_code == 403
    with tenant_scope(tenant):
        assert not CategoryRule.objects.exists()


def test_admin_sees_the_types_but_no_map_button(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, Role.ADMIN))
    body = _page(client, reverse("finance:unclassified-list"))
    assert UNKNOWN_FEE in body and "finance/unclassified/map/" not in body


def test_another_tenants_mapping_does_not_touch_our_lines(
    tenant: Tenant, settlement: Settlement, other_owner: Membership, client_for: ClientFor
) -> None:
    _map(client_for(other_owner))
    with tenant_scope(tenant):
        assert SettlementLine.objects.get(settlement=settlement, line_number=10).category == Category.UNCLASSIFIED
        assert not CategoryRule.objects.filter(tenant=tenant).exists()


# --- unclassified types across the tenant ---------------------------------------------------------------


@pytest.mark.parametrize(("language", "title"), [("en", "Unclassified types"), ("zh-hans", "未分类的类型")])
def test_unclassified_types_list_each_type_with_lines_and_money_per_currency(
    owner_client: Client, tenant: Tenant, store: Store, settlement: Settlement, language: str, title: str
) -> None:
    with tenant_scope(tenant):
        eu = StoreFactory(tenant=tenant, name="Amazon EU")
        import_statement(eu, settlement_id="EU-1", currency="EUR")
    body = _page(owner_client, reverse("finance:unclassified-list"), language)
    assert title in body and UNKNOWN_FEE in body
    assert "-0.30 EUR" in body and "-0.30 USD" in body  # never summed across currencies
    row = owner_client.get(reverse("finance:unclassified-list")).context["rows"][0]["row"]
    assert (row.lines, row.settlements, row.platform) == (2, 2, "amazon")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_unclassified_types(owner_client: Client, language: str) -> None:
    body = _page(owner_client, reverse("finance:unclassified-list"), language)
    assert 'id="unclassified-table"' not in body
    assert ("Every settlement line has a category." if language == "en" else "每一行结算都有分类") in body


# --- not yet settled ------------------------------------------------------------------------------------


@pytest.fixture
def unpaid_order(tenant: Tenant, store: Store, settlement: Settlement) -> str:
    with tenant_scope(tenant):
        make_order(store, "222-OLD", "40.00", days_ago=45)
        make_order(store, "333-NEW", "40.00", days_ago=10)  # too recent to expect a settlement
        make_order(store, "111-9", "40.00", days_ago=45)
        import_statement(
            store, settlement_id="PAYS-111-9", total="40", lines=[_principal("111-9", "40.00")]
        )  # paid: not listed
    return "222-OLD"


def _principal(order_id: str, amount: str) -> SettlementLineRecord:
    return line(2, "Order", "ItemPrice", "Principal", amount, order_id)


@pytest.mark.parametrize(("language", "title"), [("en", "Not yet settled"), ("zh-hans", "尚未结算")])
def test_not_yet_settled_lists_old_shipped_orders_no_statement_paid(
    owner_client: Client, unpaid_order: str, language: str, title: str
) -> None:
    body = _page(owner_client, reverse("finance:not-yet-settled"), language)
    assert title in body and unpaid_order in body
    assert "333-NEW" not in body and "111-9" not in body and "40.00 USD" in body


def test_not_yet_settled_filters_by_store_and_exports(owner_client: Client, tenant: Tenant, unpaid_order: str) -> None:
    with tenant_scope(tenant):
        other = StoreFactory(tenant=tenant, name="Other")
    url = reverse("finance:not-yet-settled")
    assert unpaid_order not in owner_client.get(url, {"store": other.pk}).content.decode()
    assert "Select a valid choice." in owner_client.get(url, {"store": "x"}).content.decode()
    response = owner_client.get(reverse("finance:not-yet-settled-export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Order id,Store,Marketplace,Purchased (UTC)")
    assert len(lines) == 2 and lines[1].startswith(f"{unpaid_order},Amazon NA,") and lines[1].endswith(",40.00,40.00")
    assert owner_client.get(reverse("finance:not-yet-settled-export"), {"store": "x"}).status_code == 400


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_nothing_waiting_for_a_settlement(owner_client: Client, store: Store, language: str) -> None:
    body = _page(owner_client, reverse("finance:not-yet-settled"), language)
    assert 'id="not-yet-settled-table"' not in body


# --- dashboard card -------------------------------------------------------------------------------------


def test_the_dashboard_card_counts_what_needs_attention(
    owner_client: Client, tenant: Tenant, store: Store, settlement: Settlement
) -> None:
    with tenant_scope(tenant):
        import_statement(store, settlement_id="BAD", total="1")
    body = _page(owner_client, reverse("console:dashboard"))
    assert 'id="finance-card"' in body
    assert '<span data-testid="finance-unbalanced">1</span>' in body
    assert '<span data-testid="finance-differences">1</span>' in body
    assert '<span data-testid="finance-unclassified">2</span>' in body
    assert reverse("finance:settlement-detail", args=[settlement.pk]) in body
    assert 'id="finance-card"' in _page(owner_client, reverse("console:dashboard"), "zh-hans")


def test_the_dashboard_card_without_settlements(owner_client: Client) -> None:
    body = _page(owner_client, reverse("console:dashboard"))
    assert 'id="finance-card"' in body and "No settlements yet." in body


# --- permissions and other tenants ----------------------------------------------------------------------


def _finance_urls(settlement: Settlement) -> list[str]:
    return [
        "/app/finance/",
        reverse("finance:settlement-list"),
        reverse("finance:settlement-detail", args=[settlement.pk]),
        reverse("finance:settlement-export", args=[settlement.pk, "csv"]),
        reverse("finance:settlement-export", args=[settlement.pk, "xlsx"]),
        reverse("finance:unclassified-list"),
        reverse("finance:not-yet-settled"),
        reverse("finance:not-yet-settled-export"),
    ]


def test_support_gets_403_everywhere_and_no_finance_on_the_dashboard(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, Role.SUPPORT))
    for url in _finance_urls(settlement):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("finance:category-map")).status_code == 403
    dashboard = _page(client, reverse("console:dashboard"))
    assert 'id="finance-card"' not in dashboard and "/app/finance/" not in dashboard


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ADMIN])
def test_finance_and_admin_open_every_page(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor, role: str
) -> None:
    client = client_for(make_member(tenant, role))
    for url in _finance_urls(settlement):
        assert client.get(url).status_code in (200, 302), url


def test_an_operator_cannot_export(
    tenant: Tenant, settlement: Settlement, make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, Role.OPERATOR))
    assert client.get(reverse("finance:settlement-export", args=[settlement.pk, "csv"])).status_code == 403


def test_another_tenant_gets_404_for_every_settlement_url(
    settlement: Settlement, other_owner: Membership, client_for: ClientFor
) -> None:
    client = client_for(other_owner)
    for url in _finance_urls(settlement):
        if str(settlement.pk) in url:
            assert client.get(url).status_code == 404, url
    body = client.get(reverse("finance:settlement-list")).content.decode()
    assert "12948507001" not in body
    assert "111-2" not in client.get(reverse("finance:unclassified-list")).content.decode()
    assert UNKNOWN_FEE not in client.get(reverse("finance:unclassified-list")).content.decode()
    assert "12948507001" not in client.get(reverse("console:dashboard")).content.decode()


def test_a_long_list_of_unknown_orders_shows_the_first_and_counts_the_rest(
    owner_client: Client, tenant: Tenant, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "UNMATCHED_SHOWN", 1)
    with tenant_scope(tenant):
        settlement = import_statement(store)  # 111-1 and 111-2, neither imported
    body = _page(owner_client, reverse("finance:settlement-detail", args=[settlement.pk]))
    assert "<code>111-1</code>" in body and "<code>111-2</code>" not in body and "and 1 more" in body


def test_not_yet_settled_pages_by_keyset(
    owner_client: Client, unpaid_order: str, tenant: Tenant, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 1)
    with tenant_scope(tenant):
        make_order(store, "444-OLDER", "5.00", days_ago=60)
    url = reverse("finance:not-yet-settled")
    first = owner_client.get(url).context["page"]
    second = owner_client.get(url, {"cursor": first.next_cursor}).context["page"]
    assert [o.external_id for o in first.object_list + second.object_list] == ["444-OLDER", unpaid_order]
    assert not second.has_next


def test_the_list_shows_money_pending_with_amazon_per_store_and_only_the_companys(
    tenant: Tenant, other_tenant: Tenant, store: Store, owner_client: Client
) -> None:
    other_store = StoreFactory(tenant=other_tenant, name="Beta Amazon")
    now = timezone.now()
    for owner_store, amount in ((store, "41.50"), (other_store, "999.00")):
        DeferredTransaction.objects.create(
            tenant=owner_store.tenant,
            store=owner_store,
            transaction_id=f"T-{owner_store.pk}",
            status=DeferredTransaction.Status.DEFERRED,
            order_external_id="111-9",
            posted_at=now,
            releases_at=now + timedelta(days=5),
            currency="USD",
            amount=Decimal(amount),
        )
    body = _page(owner_client, reverse("finance:settlement-list"))
    card = body[body.index('id="pending-with-amazon"') :]
    assert "Pending with Amazon" in card and "41.50 USD" in card and "Amazon NA" in card
    assert "999.00" not in body and "Beta Amazon" not in body
    assert "亚马逊暂扣款项" in _page(owner_client, reverse("finance:settlement-list"), "zh-hans")
