"""Tagging and the tenant's classification rules, applied when a refund or return arrives and on re-run.

Tagging order for a refund (a person's tag, tag_source="person", is never overwritten):

1. code — `tag_for_code` of the refund's reason code with its store's platform (then the reason codes of the
   returns linked to it: Amazon's Finances refunds carry none, the returns reports do);
2. keyword — `tag_from_text` of the customer comment, then the channel's reason text, then the linked returns'
   comments;
3. rule — the first enabled rule (by position) whose conditions all hold sets its tag, if it has one.

Rule conditions (empty = any): amount range in the reporting currency (a refund with no reporting amount
does not match an amount condition), channel SKUs (any refund line's SKU or its product's SKU, any linked
return's SKU), ASINs (any linked return's ASIN), stores, marketplaces, channels (the store's platform),
reason codes (the refund's or a linked return's; Amazon's MFN "CR-" prefix is ignored on both sides), reason
tags (the tag from steps 1 and 2 or a person's), keywords in the buyer's words (the refund's customer comment and
its returns' comments; same normalisation and word boundaries as refunds.reasons).

Rule actions: set the tag (tag_source="rule"), the category and the ledger account, raise the approvals a
pending console request needs (the approvals work computes the policy band and takes the larger of the two,
see `rule_for`), flag for customer service. `matched_rule` records the rule. When a refund is classified
again, what an earlier rule set (category, ledger account, flag) is cleared first, so a changed rule set
gives the same result as a fresh arrival. Approvals already required are never lowered here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record, snapshot
from acorn.tenancy.models import Tenant
from channels.models import Store
from refunds.models import (
    ClassificationRule,
    ReasonTag,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundStatus,
    Return,
    TagSource,
)
from refunds.reasons import keyword_pattern, normalise, tag_for_code, tag_from_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHUNK_SIZE = 500
PREVIEW_DAYS = 90
PREVIEW_ROWS = 50

_SEPARATORS = re.compile(r"[\n,;]+")


# --- parsing the stored condition lists ---------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """'A-1, B-2\\nC-3' → ['A-1', 'B-2', 'C-3']: values separated by new lines, commas or semicolons, trimmed,
    each once, in order."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(text or ""):
        value = part.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def code_key(code: str) -> str:
    """A reason code as rules compare it: upper case, dashes and spaces as underscores, no MFN "CR_" prefix."""
    key = re.sub(r"[\s\-]+", "_", (code or "").strip()).upper()
    return key[3:] if key.startswith("CR_") else key


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its condition lists parsed once (rules are checked against many refunds)."""

    rule: ClassificationRule
    amount_min: Decimal | None
    amount_max: Decimal | None
    skus: frozenset[str]
    asins: frozenset[str]
    store_ids: frozenset[int]
    marketplaces: frozenset[str]
    channels: frozenset[str]
    reason_codes: frozenset[str]
    tags: frozenset[str]
    keywords: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, rule: ClassificationRule, *, store_ids: Iterable[int] | None = None) -> CompiledRule:
        """Parse `rule`; `store_ids` replaces its stored stores (a draft whose M2M is not saved)."""
        if store_ids is None:
            store_ids = [store.pk for store in rule.stores.all()] if rule.pk else []
        return cls(
            rule=rule,
            amount_min=rule.amount_min,
            amount_max=rule.amount_max,
            skus=frozenset(value.casefold() for value in split_values(rule.skus)),
            asins=frozenset(value.upper() for value in split_values(rule.asins)),
            store_ids=frozenset(store_ids),
            marketplaces=frozenset(value.upper() for value in split_values(rule.marketplaces)),
            channels=frozenset(value.lower() for value in split_values(rule.channels)),
            reason_codes=frozenset(code_key(value) for value in split_values(rule.reason_codes)),
            tags=frozenset(split_values(rule.tags)),
            keywords=tuple(keyword_pattern(value) for value in split_values(rule.keywords)),
        )

    @property
    def needs_details(self) -> bool:
        """True if matching needs the refund's lines or returns."""
        return bool(self.skus or self.asins or self.reason_codes or self.keywords)

    def matches(self, facts: RefundFacts) -> bool:
        """True if every filled condition holds for the refund."""
        refund = facts.refund
        if self.amount_min is not None or self.amount_max is not None:
            if refund.reporting_amount is None:
                return False
            if self.amount_min is not None and refund.reporting_amount < self.amount_min:
                return False
            if self.amount_max is not None and refund.reporting_amount > self.amount_max:
                return False
        if self.store_ids and refund.store_id not in self.store_ids:
            return False
        if self.marketplaces and (refund.marketplace or "").upper() not in self.marketplaces:
            return False
        if self.channels and facts.platform not in self.channels:
            return False
        if self.tags and facts.tag not in self.tags:
            return False
        if self.reason_codes and not self.reason_codes.intersection(facts.codes):
            return False
        if self.skus and not self.skus.intersection(facts.skus):
            return False
        if self.asins and not self.asins.intersection(facts.asins):
            return False
        if self.keywords:
            text = facts.comment_text
            if not text or not any(pattern.search(text) for pattern in self.keywords):
                return False
        return True


@dataclass
class RefundFacts:
    """What rules look at, gathered once per refund (lines and returns read only when a rule needs them)."""

    refund: Refund
    platform: str
    tag: str
    skus: frozenset[str] = frozenset()
    asins: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    comments: tuple[str, ...] = ()

    @cached_property
    def comment_text(self) -> str:
        return normalise(" \n ".join(comment for comment in self.comments if comment))


def _prefetched(refund: Refund, name: str) -> bool:
    return name in getattr(refund, "_prefetched_objects_cache", {})


def _lines(refund: Refund) -> list[RefundLine]:
    if refund.pk is None:
        return []
    if _prefetched(refund, "lines"):
        return list(refund.lines.all())
    return list(refund.lines.select_related("product").order_by("pk"))


def _returns(refund: Refund) -> list[Return]:
    if refund.pk is None:
        return []
    return list(refund.returns.all())


def _facts(refund: Refund, *, tag: str) -> RefundFacts:
    lines, returns = _lines(refund), _returns(refund)
    skus = {line.sku.casefold() for line in lines if line.sku}
    skus |= {line.product.sku.casefold() for line in lines if line.product_id and line.product is not None}
    skus |= {record.sku.casefold() for record in returns if record.sku}
    return RefundFacts(
        refund=refund,
        platform=refund.store.platform,
        tag=tag,
        skus=frozenset(skus),
        asins=frozenset(record.asin.upper() for record in returns if record.asin),
        codes=frozenset(code_key(code) for code in [refund.reason_code, *(r.reason_code for r in returns)] if code),
        comments=(refund.customer_comment, *(record.customer_comment for record in returns)),
    )


def _source_tag(refund: Refund) -> tuple[str, str]:
    """(tag, tag_source) from the person, the reason codes or the buyer's words — before any rule."""
    if refund.tag_source == TagSource.PERSON:
        return refund.tag, TagSource.PERSON
    platform = refund.store.platform
    returns = _returns(refund)
    for code in [refund.reason_code, *(record.reason_code for record in returns)]:
        tag = tag_for_code(platform, code) if code else None
        if tag:
            return tag, TagSource.CODE
    for text in [refund.customer_comment, refund.reason_text, *(record.customer_comment for record in returns)]:
        tag = tag_from_text(text) if text else None
        if tag:
            return tag, TagSource.KEYWORD
    return "", TagSource.NONE


def _stored_source_tag(refund: Refund) -> str:
    """The pre-rule tag, without re-reading the buyer's words when the stored one already is pre-rule."""
    if refund.tag_source in (TagSource.PERSON, TagSource.CODE, TagSource.KEYWORD):
        return refund.tag
    return _source_tag(refund)[0]


# --- the rules ----------------------------------------------------------------------------------------------


def compiled_rules(*, tenant_id: int) -> list[CompiledRule]:
    """The tenant's enabled rules, in the order they are tried, parsed."""
    rules = (
        ClassificationRule.objects.filter(tenant_id=tenant_id, enabled=True)
        .prefetch_related("stores")
        .order_by("position", "pk")
    )
    return [CompiledRule.of(rule) for rule in rules]


def _first_match(facts: RefundFacts, rules: Sequence[CompiledRule]) -> ClassificationRule | None:
    for compiled in rules:
        if compiled.matches(facts):
            return compiled.rule
    return None


def rule_for(refund: Refund, *, rules: Sequence[CompiledRule] | None = None) -> ClassificationRule | None:
    """The first enabled rule whose conditions hold for the refund (None: no rule). Reads only.

    For the approvals work: a console request needs max(policy band, rule.require_approvals) approvals."""
    candidates = compiled_rules(tenant_id=refund.tenant_id) if rules is None else rules
    if not candidates:
        return None
    return _first_match(_facts(refund, tag=_stored_source_tag(refund)), candidates)


_CLASSIFIED_FIELDS = [
    "tag",
    "tag_source",
    "category",
    "ledger_account",
    "flagged_for_service",
    "matched_rule",
    "approvals_required",
]


def classify_refund(refund: Refund, *, rules: Sequence[CompiledRule] | None = None, save: bool = True) -> set[str]:
    """Tag the refund (code → keyword, never over a person's tag) and apply the first matching rule.
    Saves the changed fields (unless `save` is false or the refund is not saved yet); returns their names."""
    candidates = compiled_rules(tenant_id=refund.tenant_id) if rules is None else rules
    before = {
        name: getattr(refund, name if name != "matched_rule" else "matched_rule_id") for name in _CLASSIFIED_FIELDS
    }
    tag, source = _source_tag(refund)
    rule = _first_match(_facts(refund, tag=tag), candidates) if candidates else None
    if refund.matched_rule_id is not None:  # what an earlier rule decided is decided again
        refund.category, refund.ledger_account, refund.flagged_for_service = "", "", False
    if rule is not None:
        if rule.set_tag and source != TagSource.PERSON:
            tag, source = rule.set_tag, TagSource.RULE
        if rule.set_category:
            refund.category = rule.set_category
        if rule.set_ledger_account:
            refund.ledger_account = rule.set_ledger_account
        if rule.flag_for_service:
            refund.flagged_for_service = True
        if (
            rule.require_approvals is not None
            and refund.origin == RefundOrigin.CONSOLE
            and refund.status == RefundStatus.PENDING_APPROVAL
        ):
            refund.approvals_required = max(refund.approvals_required, rule.require_approvals)
    refund.tag, refund.tag_source = tag, source
    refund.matched_rule = rule
    changed = {
        name
        for name in _CLASSIFIED_FIELDS
        if getattr(refund, name if name != "matched_rule" else "matched_rule_id") != before[name]
    }
    if changed and save and refund.pk is not None:
        refund.updated_at = timezone.now()
        refund.save(update_fields=[*sorted(changed), "updated_at"])
    return changed


def classify_return(record: Return) -> set[str]:
    """Tag the return from its reason code, else from the customer's comment (never over a person's tag).
    Saves the changed fields (when the return is saved); returns their names."""
    if record.tag_source == TagSource.PERSON:
        return set()
    before = (record.tag, record.tag_source)
    tag = tag_for_code(record.store.platform, record.reason_code) if record.reason_code else None
    source = TagSource.CODE
    if not tag:
        tag = tag_from_text(record.customer_comment) if record.customer_comment else None
        source = TagSource.KEYWORD
    record.tag, record.tag_source = (tag, source) if tag else ("", TagSource.NONE)
    if (record.tag, record.tag_source) == before:
        return set()
    if record.pk is not None:
        record.updated_at = timezone.now()
        record.save(update_fields=["tag", "tag_source", "updated_at"])
    return {"tag", "tag_source"}


# --- re-run and preview -------------------------------------------------------------------------------------


def _refunds_for_rules(*, tenant: Tenant) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(tenant=tenant)
        .select_related("store")
        .prefetch_related(
            Prefetch("lines", queryset=RefundLine.objects.select_related("product").order_by("pk")),
            Prefetch("returns", queryset=Return.objects.order_by("pk")),
        )
    )


@dataclass(frozen=True)
class RerunCounts:
    examined: int
    changed: int
    tags_changed: int
    matched: int

    def as_dict(self) -> dict[str, int]:
        return {
            "examined": self.examined,
            "changed": self.changed,
            "tags_changed": self.tags_changed,
            "matched": self.matched,
        }


def rules_rerun(*, tenant: Tenant, since: datetime | None = None, actor: User | None) -> RerunCounts:
    """Classify the tenant's refunds again (refunded at or after `since`; all when None) with the current rules,
    never over a person's tag. Reads in chunks; saves each changed refund; audits the run with its counts."""
    rules = compiled_rules(tenant_id=tenant.pk)
    refunds = _refunds_for_rules(tenant=tenant).order_by("pk")
    if since is not None:
        refunds = refunds.filter(refunded_at__gte=since)
    examined = changed = tags_changed = matched = 0
    for refund in refunds.iterator(chunk_size=CHUNK_SIZE):
        examined += 1
        fields = classify_refund(refund, rules=rules)  # one UPDATE when something changed
        changed += bool(fields)
        tags_changed += "tag" in fields
        matched += refund.matched_rule_id is not None
    counts = RerunCounts(examined=examined, changed=changed, tags_changed=tags_changed, matched=matched)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.rules_rerun",
        after={"since": since.isoformat() if since else None, **counts.as_dict()},
    )
    return counts


@dataclass(frozen=True)
class PreviewRow:
    refund: Refund
    tag_before: str
    tag_after: str
    category_before: str
    category_after: str

    @property
    def tag_changes(self) -> bool:
        return self.tag_before != self.tag_after

    @property
    def tag_after_label(self) -> str:
        return str(ReasonTag(self.tag_after).label) if self.tag_after in ReasonTag.values else self.tag_after

    @property
    def category_changes(self) -> bool:
        return self.category_before != self.category_after


@dataclass
class RulePreview:
    """Which refunds of the last `days` days a draft rule matches (the newest `rows`), and what it would change."""

    days: int
    examined: int = 0
    count: int = 0
    tag_changes: int = 0
    category_changes: int = 0
    rows: list[PreviewRow] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


def _preview_queryset(*, tenant: Tenant, compiled: CompiledRule, since: datetime) -> QuerySet[Refund]:
    """Narrowed in SQL by what SQL can check cheaply; the rest is checked in Python."""
    refunds = _refunds_for_rules(tenant=tenant).filter(refunded_at__gte=since)
    if compiled.store_ids:
        refunds = refunds.filter(store_id__in=compiled.store_ids)
    if compiled.channels:
        refunds = refunds.filter(store__platform__in=compiled.channels)
    if compiled.marketplaces:
        query = Q()
        for code in compiled.marketplaces:
            query |= Q(marketplace__iexact=code)
        refunds = refunds.filter(query)
    if compiled.amount_min is not None or compiled.amount_max is not None:
        refunds = refunds.filter(reporting_amount__isnull=False)
        if compiled.amount_min is not None:
            refunds = refunds.filter(reporting_amount__gte=compiled.amount_min)
        if compiled.amount_max is not None:
            refunds = refunds.filter(reporting_amount__lte=compiled.amount_max)
    return refunds.order_by("-refunded_at", "-pk")


def rule_preview(
    *,
    tenant: Tenant,
    rule: ClassificationRule,
    stores: Iterable[Store] = (),
    days: int = PREVIEW_DAYS,
    limit: int = PREVIEW_ROWS,
    now: datetime | None = None,
) -> RulePreview:
    """The refunds of the last `days` days that the draft `rule` (unsaved, its stores passed as `stores`) would
    match, on its own, newest first: count, the first `limit` rows, and how many would change tag or category.
    Saves nothing."""
    store_list = list(stores)
    if any(store.tenant_id != tenant.pk for store in store_list):
        raise ValidationError(_("This store belongs to another company."))
    compiled = CompiledRule.of(rule, store_ids=[store.pk for store in store_list])
    since = (now or timezone.now()) - timedelta(days=days)
    preview = RulePreview(days=days)
    for refund in _preview_queryset(tenant=tenant, compiled=compiled, since=since).iterator(chunk_size=CHUNK_SIZE):
        preview.examined += 1
        if not compiled.matches(_facts(refund, tag=_stored_source_tag(refund))):
            continue
        preview.count += 1
        tag_after = refund.tag
        if rule.set_tag and refund.tag_source != TagSource.PERSON:
            tag_after = rule.set_tag
        category_after = rule.set_category or refund.category
        row = PreviewRow(refund, refund.tag, tag_after, refund.category, category_after)
        preview.tag_changes += row.tag_changes
        preview.category_changes += row.category_changes
        if len(preview.rows) < limit:
            preview.rows.append(row)
    return preview


# --- editing the rules --------------------------------------------------------------------------------------

_RULE_FIELDS = [
    "name",
    "position",
    "enabled",
    "amount_min",
    "amount_max",
    "skus",
    "asins",
    "marketplaces",
    "channels",
    "reason_codes",
    "tags",
    "keywords",
    "set_tag",
    "set_category",
    "set_ledger_account",
    "require_approvals",
    "flag_for_service",
]


def rule_values(rule: ClassificationRule, *, store_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """The rule as the audit trail keeps it (stores as ids)."""
    values = snapshot(rule, _RULE_FIELDS)
    if store_ids is None:
        store_ids = [store.pk for store in rule.stores.all()] if rule.pk else []
    values["stores"] = sorted(store_ids)
    return values


def _check_stores(tenant: Tenant, stores: Sequence[Store]) -> None:
    if any(store.tenant_id != tenant.pk for store in stores):
        raise ValidationError({"stores": _("This store belongs to another company.")})


@transaction.atomic
def rule_save(
    *, tenant: Tenant, rule: ClassificationRule, stores: Iterable[Store] = (), actor: User | None
) -> ClassificationRule:
    """Create (last in order) or update the rule with its stores; validated, audited with before/after."""
    store_list = list(stores)
    _check_stores(tenant, store_list)
    before: dict[str, Any] | None = None
    if rule.pk is None:
        rule.tenant = tenant
        last = ClassificationRule.objects.filter(tenant=tenant).order_by("-position").first()
        rule.position = (last.position + 1) if last else 1
    else:
        if rule.tenant_id != tenant.pk:
            raise ValidationError(_("This rule belongs to another company."))
        stored = ClassificationRule.objects.filter(tenant=tenant, pk=rule.pk).first()
        if stored is None:
            raise ValidationError(_("This rule was deleted meanwhile."))
        before = rule_values(stored)
    rule.full_clean(exclude=["tenant", "stores"])
    rule.updated_at = timezone.now()
    created = rule.pk is None
    rule.save()
    rule.stores.set(store_list)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.rule_created" if created else "refunds.rule_updated",
        target=rule,
        before=before,
        after=rule_values(rule, store_ids=[store.pk for store in store_list]),
    )
    return rule


@transaction.atomic
def rule_delete(*, tenant: Tenant, rule: ClassificationRule, actor: User | None) -> None:
    """Delete the rule (refunds it matched keep their tags; their `matched_rule` empties); audited."""
    if rule.tenant_id != tenant.pk:
        raise ValidationError(_("This rule belongs to another company."))
    audit_record(tenant=tenant, actor=actor, action="refunds.rule_deleted", target=rule, before=rule_values(rule))
    rule.delete()


@transaction.atomic
def rule_enabled_set(*, tenant: Tenant, rule: ClassificationRule, enabled: bool, actor: User | None) -> None:
    """Switch the rule on or off; audited."""
    if rule.tenant_id != tenant.pk:
        raise ValidationError(_("This rule belongs to another company."))
    if rule.enabled == enabled:
        return
    before = snapshot(rule, ["enabled"])
    rule.enabled, rule.updated_at = enabled, timezone.now()
    rule.save(update_fields=["enabled", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.rule_enabled" if enabled else "refunds.rule_disabled",
        target=rule,
        before=before,
        after=snapshot(rule, ["enabled"]),
    )


@transaction.atomic
def rule_move(*, tenant: Tenant, rule: ClassificationRule, offset: int, actor: User | None) -> None:
    """Move the rule `offset` places earlier (negative) or later (positive); positions become 1..n; audited."""
    ordered = list(ClassificationRule.objects.filter(tenant=tenant).select_for_update().order_by("position", "pk"))
    index = next((i for i, candidate in enumerate(ordered) if candidate.pk == rule.pk), None)
    if index is None:
        raise ValidationError(_("This rule belongs to another company."))
    before = [candidate.pk for candidate in ordered]
    moved = ordered.pop(index)
    ordered.insert(max(0, min(len(ordered), index + offset)), moved)
    for position, candidate in enumerate(ordered, start=1):
        if candidate.position != position:
            ClassificationRule.objects.filter(tenant=tenant, pk=candidate.pk).update(position=position)
    after = [candidate.pk for candidate in ordered]
    if after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="refunds.rules_reordered",
            target=rule,
            before={"order": before},
            after={"order": after},
        )


def rule_list(*, tenant: Tenant) -> QuerySet[ClassificationRule]:
    """The tenant's rules in the order they are tried, with their stores."""
    return ClassificationRule.objects.filter(tenant=tenant).prefetch_related("stores").order_by("position", "pk")


def rule_get(*, tenant: Tenant, pk: int) -> ClassificationRule | None:
    return ClassificationRule.objects.filter(tenant=tenant, pk=pk).prefetch_related("stores").first()
