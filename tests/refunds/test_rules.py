"""Classification: the tagging order (person → code → keyword → rule), rule conditions and actions, re-running
the rules and the preview of a draft rule (which saves nothing), and the rule services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import Product
from refunds import rules
from refunds.models import (
    ClassificationRule,
    ReasonTag,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundStatus,
    Return,
    ReturnSource,
    ReturnStatus,
    TagSource,
)
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
_numbers = count(1)


def make_refund(tenant: Tenant, store: Store, **changes: Any) -> Refund:
    """A channel refund of 20 USD (20 in the reporting currency), made a day ago."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "tenant": tenant,
        "store": store,
        "order_external_id": f"ORDER-{n}",
        "external_id": f"R-{n}",
        "dedupe_key": f"R-{n}",
        "origin": RefundOrigin.CHANNEL,
        "status": RefundStatus.SUCCEEDED,
        "currency": "USD",
        "amount": Decimal("20"),
        "reporting_currency": "USD",
        "reporting_amount": Decimal("20"),
        "refunded_at": timezone.now() - timedelta(days=1),
        "marketplace": "US",
    }
    values.update(changes)
    return Refund.objects.create(**values)


def make_return(tenant: Tenant, store: Store, refund: Refund | None = None, **changes: Any) -> Return:
    n = next(_numbers)
    values: dict[str, Any] = {
        "tenant": tenant,
        "store": store,
        "refund": refund,
        "order_external_id": refund.order_external_id if refund else f"ORDER-{n}",
        "external_id": f"RET-{n}",
        "source": ReturnSource.AMAZON_FBA,
        "sku": "SKU-R",
        "quantity": 1,
        "status": ReturnStatus.RECEIVED,
        "returned_at": timezone.now() - timedelta(days=1),
    }
    values.update(changes)
    return Return.objects.create(**values)


def make_rule(tenant: Tenant, *, stores: tuple[Store, ...] = (), **changes: Any) -> ClassificationRule:
    values: dict[str, Any] = {"tenant": tenant, "name": "A rule", "position": next(_numbers)}
    values.update(changes)
    rule = ClassificationRule.objects.create(**values)
    rule.stores.set(stores)
    return rule


def store_of(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant)


@pytest.fixture
def store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Amazon US", platform="amazon")


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Shopify EU", platform="shopify", marketplaces=[])


# --- tagging order ---------------------------------------------------------------------------------------------


def test_the_reason_code_comes_before_the_buyers_words(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        # given: a code saying damaged and a comment saying too small
        refund = make_refund(tenant, store, reason_code="CR-DAMAGED_BY_CARRIER", customer_comment="Way too small")

        # when
        changed = rules.classify_refund(refund)

        # then
        refund.refresh_from_db()
        assert (refund.tag, refund.tag_source) == (ReasonTag.DAMAGED, TagSource.CODE)
        assert {"tag", "tag_source"} <= changed


def test_a_code_that_says_nothing_leaves_it_to_the_comment_then_the_reason_text(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        by_comment = make_refund(tenant, store, reason_code="NO_REASON_GIVEN", customer_comment="Kam zu spät an")
        by_reason = make_refund(tenant, store, reason_text="Item arrived damaged")
        nothing = make_refund(tenant, store, reason_text="Return received")

        for refund in (by_comment, by_reason, nothing):
            rules.classify_refund(refund)
            refund.refresh_from_db()

        assert (by_comment.tag, by_comment.tag_source) == (ReasonTag.ARRIVED_LATE, TagSource.KEYWORD)
        assert (by_reason.tag, by_reason.tag_source) == (ReasonTag.DAMAGED, TagSource.KEYWORD)
        assert (nothing.tag, nothing.tag_source) == ("", "")


def test_a_linked_returns_code_and_comment_count_for_the_refund(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        # given: an Amazon Finances refund (no reason) and its FBA return (which has one)
        refund = make_refund(tenant, store)
        make_return(tenant, store, refund, reason_code="MISSING_PARTS", customer_comment="")

        rules.classify_refund(refund)

        refund.refresh_from_db()
        assert (refund.tag, refund.tag_source) == (ReasonTag.MISSING_PARTS, TagSource.CODE)


def test_a_persons_tag_is_never_overwritten_not_even_by_a_rule(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        make_rule(tenant, set_tag=ReasonTag.OTHER, set_category="Everything")
        refund = make_refund(
            tenant,
            store,
            reason_code="DEFECTIVE",
            tag=ReasonTag.WRONG_ITEM,
            tag_source=TagSource.PERSON,
        )

        rules.classify_refund(refund)

        refund.refresh_from_db()
        assert (refund.tag, refund.tag_source) == (ReasonTag.WRONG_ITEM, TagSource.PERSON)
        assert refund.category == "Everything"  # the rule's other actions still apply


def test_a_rules_tag_replaces_the_code_and_keyword_tag(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        rule = make_rule(tenant, keywords="burning smell", set_tag=ReasonTag.DEFECTIVE)
        refund = make_refund(tenant, store, customer_comment="Changed my mind, also a burning smell")

        rules.classify_refund(refund)

        refund.refresh_from_db()
        assert (refund.tag, refund.tag_source, refund.matched_rule_id) == (ReasonTag.DEFECTIVE, TagSource.RULE, rule.pk)


def test_classify_return_by_code_then_keyword_and_never_over_a_person(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        by_code = make_return(tenant, store, reason_code="CR-UNWANTED_ITEM", customer_comment="broken")
        by_words = make_return(tenant, store, reason_code="NO_REASON_GIVEN", customer_comment="用了两天就坏了")
        by_person = make_return(
            tenant, store, reason_code="DEFECTIVE", tag=ReasonTag.OTHER, tag_source=TagSource.PERSON
        )

        assert rules.classify_return(by_code) == {"tag", "tag_source"}
        rules.classify_return(by_words)
        assert rules.classify_return(by_person) == set()
        assert rules.classify_return(by_code) == set()  # twice: nothing changes

        for record in (by_code, by_words, by_person):
            record.refresh_from_db()
        assert (by_code.tag, by_code.tag_source) == (ReasonTag.NO_LONGER_NEEDED, TagSource.CODE)
        assert (by_words.tag, by_words.tag_source) == (ReasonTag.DEFECTIVE, TagSource.KEYWORD)
        assert (by_person.tag, by_person.tag_source) == (ReasonTag.OTHER, TagSource.PERSON)


# --- conditions ------------------------------------------------------------------------------------------------


def _matches(refund: Refund, **conditions: Any) -> bool:
    stores = conditions.pop("stores", ())
    rule = make_rule(refund.tenant, stores=stores, set_category="hit", **conditions)
    try:
        return rules.rule_for(refund) == rule
    finally:
        rule.delete()


def test_amount_range_in_the_reporting_currency(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        refund = make_refund(tenant, store, currency="EUR", amount=Decimal("90"), reporting_amount=Decimal("700"))
        unknown = make_refund(tenant, store, reporting_amount=None)

        assert _matches(refund, amount_min=Decimal("700"))
        assert _matches(refund, amount_min=Decimal("500"), amount_max=Decimal("700"))
        assert not _matches(refund, amount_min=Decimal("700.01"))
        assert not _matches(refund, amount_max=Decimal("699.99"))
        assert not _matches(unknown, amount_max=Decimal("1000"))  # no rate known: no amount condition holds
        assert _matches(unknown)  # an empty condition matches anything


def test_skus_asins_and_reason_codes_of_lines_and_returns(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        product = Product.objects.create(tenant=tenant, sku="MASTER-1", name="Charger")
        refund = make_refund(tenant, store, reason_code="")
        RefundLine.objects.create(tenant=tenant, refund=refund, sku="CH-SKU-1", product=product, quantity=1)
        make_return(tenant, store, refund, sku="CH-SKU-1", asin="B000000001", reason_code="CR-DEFECTIVE")

        assert _matches(refund, skus="OTHER\nch-sku-1")  # channel SKU, any case
        assert _matches(refund, skus="MASTER-1")  # the product's SKU
        assert not _matches(refund, skus="OTHER")
        assert _matches(refund, asins="b000000001, B000000002")
        assert not _matches(refund, asins="B000000002")
        assert _matches(refund, reason_codes="DEFECTIVE")  # the MFN "CR-" prefix is ignored
        assert not _matches(refund, reason_codes="UNWANTED_ITEM")


def test_store_marketplace_channel_and_tag(tenant: Tenant, store: Store, shop: Store) -> None:
    with tenant_scope(tenant):
        refund = make_refund(tenant, store, marketplace="DE", reason_code="DEFECTIVE")
        rules.classify_refund(refund)

        assert _matches(refund, stores=(store,))
        assert not _matches(refund, stores=(shop,))
        assert _matches(refund, marketplaces="UK, DE")
        assert not _matches(refund, marketplaces="US")
        assert _matches(refund, channels="amazon")
        assert not _matches(refund, channels="shopify, woocommerce")
        assert _matches(refund, tags="defective, damaged")
        assert not _matches(refund, tags="wrong_item")


@pytest.mark.parametrize(
    ("keywords", "matches"),
    [
        ("defectueux", True),  # accents and case do not matter
        ("DÉFECTUEUX", True),
        ("défect*", True),  # a stem
        ("defect", False),  # a whole word only without *
        ("cassé, zerbrochen", False),
        ("", True),
    ],
)
def test_keywords_in_the_buyers_words(tenant: Tenant, store: Store, keywords: str, matches: bool) -> None:
    with tenant_scope(tenant):
        refund = make_refund(tenant, store, customer_comment="Produit Défectueux dès le début")
        assert _matches(refund, keywords=keywords) is matches


def test_a_keyword_condition_does_not_match_a_refund_without_words(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        refund = make_refund(tenant, store, customer_comment="")
        assert not _matches(refund, keywords="broken")


def test_the_first_enabled_matching_rule_by_position_wins(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        make_rule(tenant, name="off", position=1, enabled=False, set_category="Disabled")
        make_rule(tenant, name="big", position=2, amount_min=Decimal("100"), set_category="Big")
        second = make_rule(tenant, name="amazon", position=3, channels="amazon", set_category="Amazon")
        make_rule(tenant, name="all", position=4, set_category="All")
        refund = make_refund(tenant, store)

        rules.classify_refund(refund)

        refund.refresh_from_db()
        assert (refund.category, refund.matched_rule_id) == ("Amazon", second.pk)


# --- actions ---------------------------------------------------------------------------------------------------


def test_actions_set_category_ledger_account_and_flag(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        rule = make_rule(
            tenant,
            reason_codes="DEFECTIVE",
            set_category="Quality",
            set_ledger_account="4010 Refunds - quality",
            flag_for_service=True,
        )
        refund = make_refund(tenant, store, reason_code="DEFECTIVE")

        rules.classify_refund(refund)

        refund.refresh_from_db()
        assert refund.category == "Quality"
        assert refund.ledger_account == "4010 Refunds - quality"
        assert refund.flagged_for_service is True
        assert refund.matched_rule_id == rule.pk


def test_approvals_are_raised_for_pending_console_requests_only_and_never_lowered(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        make_rule(tenant, require_approvals=2)
        pending = make_refund(
            tenant, store, origin=RefundOrigin.CONSOLE, status=RefundStatus.PENDING_APPROVAL, approvals_required=1
        )
        channel = make_refund(tenant, store)
        for refund in (pending, channel):
            rules.classify_refund(refund)
            refund.refresh_from_db()
        assert pending.approvals_required == 2
        assert channel.approvals_required == 0

        ClassificationRule.objects.filter(tenant=tenant).update(require_approvals=0)
        rules.classify_refund(pending)
        pending.refresh_from_db()
        assert pending.approvals_required == 2  # the policy band may need it: never lowered here


def test_rule_for_reads_only(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        rule = make_rule(tenant, require_approvals=2, set_category="Big")
        refund = make_refund(tenant, store, origin=RefundOrigin.CONSOLE, status=RefundStatus.PENDING_APPROVAL)

        assert rules.rule_for(refund) == rule

        refund.refresh_from_db()
        assert (refund.category, refund.matched_rule_id, refund.approvals_required) == ("", None, 0)


def test_what_an_earlier_rule_set_is_decided_again(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        rule = make_rule(tenant, keywords="broken", set_category="Quality", set_tag=ReasonTag.DEFECTIVE)
        refund = make_refund(tenant, store, customer_comment="broken")
        rules.classify_refund(refund)

        rule.keywords = "shattered"
        rule.save(update_fields=["keywords"])
        changed = rules.classify_refund(refund)

        refund.refresh_from_db()
        assert (refund.category, refund.matched_rule_id) == ("", None)
        assert (refund.tag, refund.tag_source) == (ReasonTag.DEFECTIVE, TagSource.KEYWORD)
        assert {"category", "matched_rule", "tag_source"} <= changed


# --- re-run ----------------------------------------------------------------------------------------------------


def test_rerun_applies_the_rules_to_existing_refunds_audits_and_is_idempotent(
    tenant: Tenant, owner: Membership, store: Store
) -> None:
    with tenant_scope(tenant):
        # given: refunds that arrived before the rule existed, one tagged by a person, one long ago
        refunds = [make_refund(tenant, store, customer_comment="Stopped working") for _ in range(5)]
        person = make_refund(tenant, store, customer_comment="Stopped working", tag="other", tag_source="person")
        old = make_refund(
            tenant, store, customer_comment="Stopped working", refunded_at=timezone.now() - timedelta(days=400)
        )
        make_rule(tenant, keywords="stopped working", set_tag=ReasonTag.DEFECTIVE, set_category="Quality")

        # when
        counts = rules.rules_rerun(tenant=tenant, since=timezone.now() - timedelta(days=90), actor=owner.user)

        # then
        assert counts.as_dict() == {"examined": 6, "changed": 6, "tags_changed": 5, "matched": 6}
        for refund in refunds:
            refund.refresh_from_db()
            assert (refund.tag, refund.tag_source, refund.category) == ("defective", "rule", "Quality")
        person.refresh_from_db()
        assert (person.tag, person.tag_source, person.category) == ("other", "person", "Quality")
        old.refresh_from_db()
        assert old.category == ""
        event = AuditEvent.objects.get(tenant=tenant, action="refunds.rules_rerun")
        assert event.after["changed"] == 6 and event.actor_id == owner.user_id

        # and again: nothing changes
        again = rules.rules_rerun(tenant=tenant, since=None, actor=owner.user)
        assert (again.examined, again.changed) == (7, 1)  # only the old one, now in scope


def test_rerun_touches_only_its_tenant(tenant: Tenant, other_tenant: Tenant, owner: Membership, store: Store) -> None:
    other_store = store_of(other_tenant)
    with tenant_scope(other_tenant):
        theirs = make_refund(other_tenant, other_store, customer_comment="broken")
    with tenant_scope(tenant):
        make_rule(tenant, set_category="Ours")
        counts = rules.rules_rerun(tenant=tenant, actor=owner.user)
    assert counts.examined == 0
    with tenant_scope(other_tenant):
        theirs.refresh_from_db()
        assert theirs.category == ""


def test_rerun_reads_in_bounded_queries(
    tenant: Tenant, owner: Membership, store: Store, django_assert_max_num_queries: Any
) -> None:
    with tenant_scope(tenant):
        for _ in range(30):
            refund = make_refund(tenant, store, reason_code="DEFECTIVE", tag="defective", tag_source="code")
            RefundLine.objects.create(tenant=tenant, refund=refund, sku="S", quantity=1)
        make_rule(tenant, skus="NOT-THIS-ONE", set_category="x")
        # nothing changes, so only reads: rules, then refunds with their lines and returns in chunks
        with django_assert_max_num_queries(12):
            counts = rules.rules_rerun(tenant=tenant, actor=owner.user)
        assert (counts.examined, counts.changed) == (30, 0)


# --- preview ---------------------------------------------------------------------------------------------------


def test_preview_lists_the_last_90_days_matches_and_saves_nothing(tenant: Tenant, store: Store, shop: Store) -> None:
    with tenant_scope(tenant):
        # given
        hits = [make_refund(tenant, store, customer_comment="arrived broken") for _ in range(3)]
        make_refund(tenant, shop, customer_comment="arrived broken")  # another store
        make_refund(tenant, store, customer_comment="too small")  # other words
        make_refund(tenant, store, customer_comment="broken", refunded_at=timezone.now() - timedelta(days=91))
        person = make_refund(tenant, store, customer_comment="broken", tag="other", tag_source="person")
        rules.classify_refund(hits[0])
        draft = ClassificationRule(
            tenant=tenant, name="Draft", keywords="broken", set_tag=ReasonTag.DAMAGED, set_category="Transit"
        )
        rules_before = ClassificationRule.objects.count()
        audit_before = AuditEvent.objects.count()

        # when
        preview = rules.rule_preview(tenant=tenant, rule=draft, stores=[store], limit=2)

        # then
        assert preview.count == 4 and preview.days == 90
        assert len(preview.rows) == 2 and preview.more == 2
        assert preview.tag_changes == 3  # the person's tag stays
        assert preview.category_changes == 4
        assert {row.refund.pk for row in preview.rows} <= {*(h.pk for h in hits), person.pk}
        assert ClassificationRule.objects.count() == rules_before and draft.pk is None
        assert AuditEvent.objects.count() == audit_before
        hits[0].refresh_from_db()
        assert hits[0].category == "" and hits[0].tag == ReasonTag.DEFECTIVE


def test_preview_with_amount_and_channel_conditions(tenant: Tenant, store: Store, shop: Store) -> None:
    with tenant_scope(tenant):
        make_refund(tenant, store, reporting_amount=Decimal("800"))
        big_shop = make_refund(tenant, shop, reporting_amount=Decimal("900"))
        make_refund(tenant, shop, reporting_amount=Decimal("10"))
        make_refund(tenant, shop, reporting_amount=None)
        draft = ClassificationRule(tenant=tenant, name="Draft", amount_min=Decimal("500"), channels="shopify")

        preview = rules.rule_preview(tenant=tenant, rule=draft)

        assert [row.refund.pk for row in preview.rows] == [big_shop.pk]


def test_preview_never_shows_another_tenants_refunds(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    other_store = store_of(other_tenant)
    with tenant_scope(other_tenant):
        make_refund(other_tenant, other_store, customer_comment="broken")
    with tenant_scope(tenant):
        draft = ClassificationRule(tenant=tenant, name="Draft", keywords="broken")
        assert rules.rule_preview(tenant=tenant, rule=draft).count == 0
        with pytest.raises(ValidationError):
            rules.rule_preview(tenant=tenant, rule=draft, stores=[other_store])


# --- editing the rules -----------------------------------------------------------------------------------------


def test_rule_save_creates_last_updates_and_audits_before_and_after(
    tenant: Tenant, owner: Membership, store: Store
) -> None:
    with tenant_scope(tenant):
        first = make_rule(tenant, position=7)
        rule = rules.rule_save(
            tenant=tenant,
            rule=ClassificationRule(name="Big refunds", amount_min=Decimal("200"), require_approvals=2),
            stores=[store],
            actor=owner.user,
        )
        assert rule.position == first.position + 1
        assert list(rule.stores.all()) == [store]
        created = AuditEvent.objects.get(action="refunds.rule_created", object_id=str(rule.pk))
        assert created.after["stores"] == [store.pk] and created.after["require_approvals"] == 2

        rule.amount_min = Decimal("300")
        rules.rule_save(tenant=tenant, rule=rule, stores=[], actor=owner.user)
        updated = AuditEvent.objects.get(action="refunds.rule_updated", object_id=str(rule.pk))
        assert updated.before["amount_min"] == "200.0000" and updated.before["stores"] == [store.pk]
        assert updated.after["amount_min"] == "300" and updated.after["stores"] == []


def test_rule_save_refuses_another_tenants_store(tenant: Tenant, other_tenant: Tenant, owner: Membership) -> None:
    other_store = store_of(other_tenant)
    with tenant_scope(tenant), pytest.raises(ValidationError):
        rules.rule_save(tenant=tenant, rule=ClassificationRule(name="x"), stores=[other_store], actor=owner.user)


def test_move_enable_and_delete_are_audited(tenant: Tenant, owner: Membership, store: Store) -> None:
    with tenant_scope(tenant):
        a, b, c = (make_rule(tenant, name=name, position=i) for i, name in enumerate("abc", start=1))
        rules.rule_move(tenant=tenant, rule=c, offset=-1, actor=owner.user)
        assert [rule.name for rule in rules.rule_list(tenant=tenant)] == ["a", "c", "b"]
        rules.rule_move(tenant=tenant, rule=a, offset=-1, actor=owner.user)  # already first: nothing to do
        assert AuditEvent.objects.filter(action="refunds.rules_reordered").count() == 1

        rules.rule_enabled_set(tenant=tenant, rule=b, enabled=False, actor=owner.user)
        b.refresh_from_db()
        assert b.enabled is False
        assert AuditEvent.objects.get(action="refunds.rule_disabled").before == {"enabled": True}

        refund = make_refund(tenant, store)
        rules.classify_refund(refund)
        rules.rule_delete(tenant=tenant, rule=a, actor=owner.user)
        refund.refresh_from_db()
        assert refund.matched_rule_id is None
        assert AuditEvent.objects.get(action="refunds.rule_deleted").before["name"] == "a"
