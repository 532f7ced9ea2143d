"""The rule editor in the console: who may read and change rules, the form's messages, the preview (which
saves nothing), ordering, switching, deleting, re-running — and another company's rules and refunds."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from refunds.models import ClassificationRule, ReasonTag, Refund
from tests.factories import StoreFactory
from tests.refunds.test_rules import make_refund, make_rule

pytestmark = pytest.mark.django_db
LIST_URL = reverse("refunds:rule-list")
CREATE_URL = reverse("refunds:rule-create")
RERUN_URL = reverse("refunds:rule-rerun")
Clients = Callable[[Membership], Client]


@pytest.fixture
def store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Amazon US", platform="amazon")


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Quality problems",
        "enabled": "on",
        "amount_min": "",
        "amount_max": "",
        "marketplaces": "",
        "skus": "",
        "asins": "",
        "reason_codes": "",
        "keywords": "",
        "set_tag": "",
        "set_category": "Quality",
        "set_ledger_account": "",
        "require_approvals": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- roles -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "can_edit"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.FINANCE, False), (Role.OPERATOR, False), (Role.SUPPORT, False)],
)
def test_everyone_reads_the_rules_only_owner_and_admin_change_them(
    role: str, can_edit: bool, tenant: Tenant, make_member: Callable[..., Membership], client_for: Clients
) -> None:
    # given
    with tenant_scope(tenant):
        rule = make_rule(tenant, name="Big refunds", set_category="Big")
    client = client_for(make_member(tenant, role))

    # when / then: the list
    page = client.get(LIST_URL)
    assert page.status_code == 200
    assert "Big refunds" in page.content.decode()
    assert (reverse("refunds:rule-edit", args=[rule.pk]) in page.content.decode()) is can_edit

    # and every change
    expected = (200, 302) if can_edit else (403,)
    assert client.get(CREATE_URL).status_code in expected
    assert client.get(reverse("refunds:rule-edit", args=[rule.pk])).status_code in expected
    assert client.post(CREATE_URL, _form(name="New")).status_code in expected
    assert client.post(reverse("refunds:rule-move", args=[rule.pk]), {"direction": "up"}).status_code in expected
    assert client.post(reverse("refunds:rule-enabled", args=[rule.pk]), {"enabled": "0"}).status_code in expected
    assert client.post(RERUN_URL, {"since": "90"}).status_code in expected
    assert client.post(reverse("refunds:rule-delete", args=[rule.pk])).status_code in expected
    with tenant_scope(tenant):
        assert ClassificationRule.objects.filter(pk=rule.pk).exists() is not can_edit
        assert ClassificationRule.objects.filter(name="New").exists() is can_edit


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(LIST_URL)
    assert response.status_code == 302 and "login" in response["Location"]


# --- list, create, edit ----------------------------------------------------------------------------------------


def test_empty_state_then_create_edit_and_see_it_listed(owner_client: Client, tenant: Tenant, store: Store) -> None:
    # given: no rules
    assert "No rules yet" in owner_client.get(LIST_URL).content.decode()

    # when: a rule is added
    response = owner_client.post(
        CREATE_URL,
        _form(
            name="Big German refunds",
            amount_min="200",
            marketplaces="de, uk",
            stores=[store.pk],
            channels=["amazon"],
            tags=["defective", "damaged"],
            skus="SKU-1, SKU-2\nSKU-3",
            asins="b000000001",
            reason_codes="cr-defective\nUNWANTED_ITEM",
            keywords="kaputt\nbroken",
            set_tag=ReasonTag.DEFECTIVE,
            require_approvals="2",
            flag_for_service="on",
        ),
    )

    # then
    assert response.status_code == 302 and response["Location"] == LIST_URL
    with tenant_scope(tenant):
        rule = ClassificationRule.objects.get()
        assert rule.marketplaces == "DE, UK"
        assert rule.asins == "B000000001"
        assert rule.skus == "SKU-1\nSKU-2\nSKU-3"
        assert rule.reason_codes == "DEFECTIVE\nUNWANTED_ITEM"
        assert rule.channels == "amazon" and rule.tags == "defective, damaged"
        assert rule.require_approvals == 2 and rule.flag_for_service
        assert list(rule.stores.all()) == [store]
        assert AuditEvent.objects.filter(action="refunds.rule_created", object_id=str(rule.pk)).exists()
    page = owner_client.get(LIST_URL).content.decode()
    assert "Big German refunds" in page and "added" in page
    assert f'href="{LIST_URL}" aria-current="page"' in page  # the refunds section's "Rules" tab
    assert "Defective / quality" in page  # tags by their names

    # when: it is edited (the form shows what is stored)
    edit_url = reverse("refunds:rule-edit", args=[rule.pk])
    form_page = owner_client.get(edit_url).content.decode()
    assert "SKU-1\nSKU-2\nSKU-3" in form_page
    assert 'value="amazon" id="id_channels_0" checked' in form_page
    assert 'value="shopify" id="id_channels_1">' in form_page
    assert 'value="defective" id="id_tags_0" checked' in form_page
    assert f'value="{store.pk}" id="id_stores_0" checked' in form_page
    response = owner_client.post(edit_url, _form(name="Renamed", set_category="Other"))
    assert response.status_code == 302
    with tenant_scope(tenant):
        rule.refresh_from_db()
        assert (rule.name, rule.set_category, rule.marketplaces, list(rule.stores.all())) == (
            "Renamed",
            "Other",
            "",
            [],
        )
        event = AuditEvent.objects.get(action="refunds.rule_updated")
        assert event.before["name"] == "Big German refunds" and event.after["name"] == "Renamed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_min": "500", "amount_max": "100"}, "must not be less than"),
        ({"amount_min": "-1"}, "cannot be negative"),
        ({"asins": "B000000001, NOTANASIN"}, "ASINs: “NOTANASIN” is not an ASIN"),
        ({"marketplaces": "US, XX"}, "Marketplaces: “XX” is not a marketplace code"),
        ({"reason_codes": "DEFECTIVE\nBROKEN_THING"}, "Reason codes: “BROKEN_THING” is not an Amazon or Shopify"),
        ({"skus": "x" * 201}, "SKUs: "),
        ({"keywords": "*"}, "Keywords: a keyword needs at least one letter"),
        ({"set_category": ""}, "Choose at least one action"),
        ({"name": ""}, "This field is required"),
        ({"tags": ["not-a-tag"]}, "Select a valid choice"),
    ],
)
def test_validation_messages_name_the_field(
    owner_client: Client, tenant: Tenant, changes: dict[str, Any], message: str
) -> None:
    response = owner_client.post(CREATE_URL, _form(**changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_scope(tenant):
        assert not ClassificationRule.objects.exists()


def test_pages_render_in_chinese(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        rule = make_rule(tenant, set_category="x")
    owner_client.post("/i18n/setlang/", {"language": "zh-hans", "next": LIST_URL})
    for url in (LIST_URL, CREATE_URL, reverse("refunds:rule-edit", args=[rule.pk])):
        response = owner_client.get(url)
        assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode(), url


# --- preview ---------------------------------------------------------------------------------------------------


def test_preview_shows_the_matching_refunds_under_the_form_without_saving(
    owner_client: Client, tenant: Tenant, store: Store
) -> None:
    # given
    with tenant_scope(tenant):
        hit = make_refund(tenant, store, order_external_id="111-HIT", customer_comment="Stopped working")
        make_refund(tenant, store, order_external_id="222-MISS", customer_comment="Too small")
        rule = make_rule(tenant, name="Stored", keywords="small", set_category="Size")
        audit_before = AuditEvent.objects.count()

    # when: a new draft is previewed (no action chosen yet: fine for a preview)
    response = owner_client.post(CREATE_URL, _form(keywords="stopped working", set_category="", preview="1"))

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "111-HIT" in page and "222-MISS" not in page
    assert "would match 1 refund" in page
    with tenant_scope(tenant):
        assert ClassificationRule.objects.count() == 1
        hit.refresh_from_db()
        assert hit.category == "" and hit.matched_rule_id is None

    # when: an edit is previewed
    response = owner_client.post(
        reverse("refunds:rule-edit", args=[rule.pk]), _form(name="Changed", keywords="", set_category="Y", preview="1")
    )
    page = response.content.decode()
    assert "111-HIT" in page and "222-MISS" in page
    with tenant_scope(tenant):
        rule.refresh_from_db()
        assert (rule.name, rule.keywords) == ("Stored", "small")  # unchanged
        assert AuditEvent.objects.count() == audit_before


def test_preview_with_no_match_says_so(owner_client: Client) -> None:
    response = owner_client.post(CREATE_URL, _form(keywords="nothing like this", preview="1"))
    assert "No refund of the last 90 days matches" in response.content.decode()


# --- order, switch, delete, re-run -----------------------------------------------------------------------------


def test_move_enable_delete_and_rerun(owner_client: Client, tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        first = make_rule(tenant, name="first", position=1, set_category="First")
        second = make_rule(tenant, name="second", position=2, set_category="Second")
        refund = make_refund(tenant, store)

    owner_client.post(reverse("refunds:rule-move", args=[second.pk]), {"direction": "up"})
    owner_client.post(reverse("refunds:rule-enabled", args=[second.pk]), {"enabled": "0"})
    response = owner_client.post(RERUN_URL, {"since": "all"}, follow=True)

    assert "Rules applied again to 1 refunds" in response.content.decode()
    with tenant_scope(tenant):
        assert [r.name for r in ClassificationRule.objects.order_by("position")] == ["second", "first"]
        refund.refresh_from_db()
        assert refund.category == "First"  # the second is first but off

    owner_client.post(reverse("refunds:rule-delete", args=[first.pk]))
    with tenant_scope(tenant):
        assert list(ClassificationRule.objects.values_list("name", flat=True)) == ["second"]
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "refunds.rules_reordered",
        "refunds.rule_disabled",
        "refunds.rules_rerun",
        "refunds.rule_deleted",
    } <= actions


def test_rerun_refuses_an_unknown_scope(owner_client: Client) -> None:
    response = owner_client.post(RERUN_URL, {"since": "forever"}, follow=True)
    assert "Choose which refunds" in response.content.decode()


# --- other tenants ---------------------------------------------------------------------------------------------


def test_another_tenants_rule_answers_404_and_stays_untouched(
    tenant: Tenant, other_owner: Membership, client_for: Clients
) -> None:
    with tenant_scope(tenant):
        rule = make_rule(tenant, name="Theirs", set_category="x", position=1)
        make_rule(tenant, name="Second", set_category="y", position=2)
    client = client_for(other_owner)

    assert client.get(reverse("refunds:rule-edit", args=[rule.pk])).status_code == 404
    assert client.post(reverse("refunds:rule-edit", args=[rule.pk]), _form(name="Hijacked")).status_code == 404
    assert client.post(reverse("refunds:rule-delete", args=[rule.pk])).status_code == 404
    assert client.post(reverse("refunds:rule-move", args=[rule.pk]), {"direction": "down"}).status_code == 404
    assert client.post(reverse("refunds:rule-enabled", args=[rule.pk]), {"enabled": "0"}).status_code == 404
    assert "Theirs" not in client.get(LIST_URL).content.decode()

    with tenant_scope(tenant):
        rule.refresh_from_db()
        assert (rule.name, rule.enabled, rule.position) == ("Theirs", True, 1)


def test_another_tenants_preview_never_shows_our_refunds_nor_takes_our_stores(
    tenant: Tenant, store: Store, other_owner: Membership, client_for: Clients
) -> None:
    with tenant_scope(tenant):
        make_refund(tenant, store, order_external_id="ALPHA-ORDER", customer_comment="broken")
        make_refund(tenant, store, order_external_id="ALPHA-OTHER", customer_comment="")
    client = client_for(other_owner)

    everything = client.post(CREATE_URL, _form(preview="1")).content.decode()
    by_words = client.post(CREATE_URL, _form(keywords="broken", preview="1")).content.decode()
    with_our_store = client.post(CREATE_URL, _form(stores=[store.pk], preview="1"))

    assert "ALPHA-" not in everything and "No refund of the last 90 days" in everything
    assert "ALPHA-" not in by_words
    assert with_our_store.status_code == 400 and "ALPHA-" not in with_our_store.content.decode()


def test_another_tenants_rerun_leaves_our_refunds_alone(
    tenant: Tenant, store: Store, other_owner: Membership, client_for: Clients
) -> None:
    with tenant_scope(tenant):
        refund = make_refund(tenant, store, customer_comment="broken")
    with tenant_scope(other_owner.tenant):
        make_rule(other_owner.tenant, set_category="Beta")

    client_for(other_owner).post(RERUN_URL, {"since": "all"})

    with tenant_scope(tenant):
        refund.refresh_from_db()
        assert refund.category == "" and Refund.objects.get().tag == ""


def test_amounts_in_the_list(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        make_rule(tenant, name="Mid", amount_min=Decimal("50"), amount_max=Decimal("500"), set_category="x")
    page = owner_client.get(LIST_URL).content.decode()
    assert "50" in page and "500" in page and "Mid" in page
