"""Writes of channel statements: import (idempotent, all or nothing), re-categorise, company rules.

`settlement_import` takes a header and a stream of lines (an adapter's DTOs), and in ONE transaction writes
the settlement and its lines in chunks (constant memory whatever the statement's size), links every line
to ACORN's order by the channel's order id (one look-up per chunk), and reconciles. A statement already
imported for the store (same statement id) is not written again: the result says `created=False`. A line
that cannot be read aborts the whole import (`SettlementImportError` names its line and field), so nothing
of a bad file is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from acorn.audit.services import audit_record
from acorn.money import quantize_amount, validate_currency_code
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Tenant
from channels.adapters.base import SettlementHeader
from channels.adapters.base import SettlementLine as LineRecord
from channels.marketplaces import marketplace_by_domain, marketplace_code
from channels.models import Store
from finance.profit.other_costs import other_costs_from_settlements
from finance.profit.triggers import profit_due
from finance.settlements.categories import Categoriser
from finance.settlements.models import (
    Category,
    CategoryRule,
    CategorySource,
    Settlement,
    SettlementKind,
    SettlementLine,
)
from finance.settlements.reconciliation import settlement_reconcile
from finance.settlements.selectors import settlement_category_totals, settlement_unmatched_order_ids
from orders.models import Order

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHUNK = 5000


class SettlementImportError(Exception):
    """A statement that cannot be imported; the message names the line and the field. Nothing was written."""

    def __init__(self, message: str, *, line: int | None = None, field_name: str = "") -> None:
        super().__init__(message)
        self.line, self.field_name = line, field_name


@dataclass
class ImportResult:
    settlement: Settlement
    created: bool
    categories: dict[str, Decimal] = field(default_factory=dict)
    unmatched_orders: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The command line contract's object (DESIGN.md: import_settlement); amounts as decimal strings."""
        settlement = self.settlement
        return {
            "settlement_id": settlement.external_id,
            "store_id": settlement.store_id,
            "currency": settlement.currency,
            "total": str(quantize_amount(settlement.total_amount, settlement.currency)),
            "lines": settlement.line_count,
            "created": self.created,
            "categories": {
                category: str(quantize_amount(amount, settlement.currency))
                for category, amount in sorted(self.categories.items())
            },
            "matched_orders": settlement.matched_order_count,
            "unmatched_orders": self.unmatched_orders,
            "balanced": settlement.balanced,
        }


def _marketplace(name: str) -> str:
    """ACORN's marketplace code from what a statement prints ("Amazon.de", "amazon.co.jp", "DE"), or ""."""
    if not name:
        return ""
    found = marketplace_by_domain(name.strip().lower())
    if found is not None:
        return found.code
    try:
        return marketplace_code(name.strip())
    except (KeyError, ValueError):
        return ""


def _chunks(items: Iterable[LineRecord], size: int) -> Iterator[list[LineRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# SettlementLine's columns in the order _LineWriter builds its rows (every concrete field but the id).
_LINE_FIELDS = (
    "tenant_id", "settlement_id", "line_number", "transaction_type", "amount_type", "amount_description",
    "category", "category_source", "rule_id", "amount", "posted_at", "order_external_id", "order_id",
    "refund_id", "adjustment_id", "shipment_id", "merchant_order_id", "order_item_code", "sku", "quantity",
    "marketplace", "marketplace_name", "fulfillment_id",
)  # fmt: skip


class _LineWriter:
    """Categorises, links to ACORN's orders and writes lines chunk by chunk, keeping only the running totals in
    memory. PostgreSQL: one COPY per chunk (a million-line file imports in constant memory at several times
    the speed of bulk_create); other databases: bulk_create. Orders are looked up per chunk, one query."""

    def __init__(self, settlement: Settlement, categoriser: Categoriser) -> None:
        self.settlement = settlement
        self.categoriser = categoriser
        self.count = 0
        self.total = Decimal(0)
        self.unclassified = 0
        self.by_category: dict[str, Decimal] = {}
        self.marketplaces: dict[str, str] = {}
        self.copy = connection.vendor == "postgresql"

    def _orders(self, records: list[LineRecord]) -> dict[str, int]:
        """Channel order id → ACORN order pk, for the orders of the store the chunk names."""
        ids = {record.order_id[:100] for record in records if record.order_id}
        if not ids:
            return {}
        found = Order.objects.filter(store_id=self.settlement.store_id, external_id__in=ids)
        return dict(found.values_list("external_id", "pk"))

    def _marketplace(self, name: str) -> str:
        code = self.marketplaces.get(name)
        if code is None:
            code = self.marketplaces[name] = _marketplace(name)
        return code

    def write(self, records: list[LineRecord]) -> None:
        settlement, currency = self.settlement, self.settlement.currency
        orders = self._orders(records)
        rows: list[tuple[Any, ...]] = []
        for record in records:
            decision = self.categoriser.decide(record.transaction_type, record.amount_type, record.amount_description)
            amount = quantize_amount(record.amount, currency)
            order_external_id = record.order_id[:100]
            rows.append(
                (
                    settlement.tenant_id,
                    settlement.pk,
                    record.line_number,
                    record.transaction_type[:60],
                    record.amount_type[:60],
                    record.amount_description[:100],
                    decision.category,
                    CategorySource.RULE if decision.rule_id else CategorySource.DEFAULT,
                    decision.rule_id,
                    amount,
                    record.posted_at,
                    order_external_id,
                    orders.get(order_external_id) if order_external_id else None,
                    None,
                    record.adjustment_id[:100],
                    record.shipment_id[:100],
                    record.merchant_order_id[:100],
                    record.order_item_code[:100],
                    record.sku[:200],
                    record.quantity,
                    self._marketplace(record.marketplace_name),
                    record.marketplace_name[:60],
                    record.fulfillment_id[:10],
                )
            )
            self.count += 1
            self.total += amount
            self.by_category[decision.category] = self.by_category.get(decision.category, Decimal(0)) + amount
            if decision.category == Category.UNCLASSIFIED:
                self.unclassified += 1
        if self.copy:
            _copy_lines(rows)
        else:
            SettlementLine.objects.bulk_create(
                [SettlementLine(**dict(zip(_LINE_FIELDS, row, strict=True))) for row in rows], batch_size=1000
            )


def _copy_lines(rows: list[tuple[Any, ...]]) -> None:
    """COPY rows (in _LINE_FIELDS order) into the settlement line table (PostgreSQL, psycopg 3)."""
    quote = connection.ops.quote_name
    meta = SettlementLine._meta
    column_of = {field.attname: str(field.column) for field in meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in _LINE_FIELDS)
    with connection.cursor() as cursor, cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def settlement_import(
    *,
    store: Store,
    kind: str,
    source: str,
    header: SettlementHeader,
    lines: Iterable[LineRecord],
    source_reference: str = "",
    document_sha256: str = "",
    actor: User | None = None,
    after_lines: Callable[[Settlement], None] | None = None,
) -> ImportResult:
    """Import one statement of a store in one transaction; idempotent on (store, statement id).

    `lines` may be a generator: it is read once, in chunks. `after_lines(settlement)` runs inside the
    transaction once the lines are written and linked to orders (a platform links refunds there). Raises
    SettlementImportError (nothing written) when the header or a line is unusable.
    """
    if not header.settlement_id:
        raise SettlementImportError("The statement has no id.", field_name="settlement-id")
    try:
        validate_currency_code(header.currency)
    except Exception:
        raise SettlementImportError(
            f"Currency {header.currency!r} is not an ISO 4217 code.", field_name="currency"
        ) from None
    if header.end < header.start:
        raise SettlementImportError("The statement ends before it starts.", field_name="settlement-end-date")
    existing = Settlement.objects.filter(store=store, external_id=header.settlement_id).first()
    if existing is not None:
        return ImportResult(settlement=existing, created=False, **_summary(existing))
    with transaction.atomic():
        settlement = Settlement.objects.create(
            tenant_id=store.tenant_id,
            store=store,
            kind=kind,
            external_id=header.settlement_id[:100],
            source=source,
            source_reference=source_reference[:255],
            document_sha256=document_sha256,
            currency=header.currency,
            period_start=header.start,
            period_end=header.end,
            deposit_date=header.deposit_date,
            vendor_status=header.vendor_status[:30],
            total_amount=quantize_amount(header.total_amount, header.currency),
            imported_by=actor if actor is not None and actor.is_authenticated else None,
        )
        rules = CategoryRule.objects.filter(tenant_id=store.tenant_id, platform=store.platform)
        writer = _LineWriter(settlement, Categoriser(platform=store.platform, rules=rules))
        for chunk in _chunks(lines, CHUNK):
            writer.write(chunk)
        settlement.line_count = writer.count
        settlement.lines_amount = writer.total
        settlement.unclassified_count = writer.unclassified
        settlement.save(update_fields=["line_count", "lines_amount", "unclassified_count"])
        if after_lines is not None:
            after_lines(settlement)
        settlement_reconcile(settlement=settlement)
        statement_journals_due(tenant_id=store.tenant_id, settlement_ids=[settlement.pk])
        other_costs_from_settlements(tenant=store.tenant, settlement_ids=[settlement.pk])
        audit_record(
            tenant=store.tenant,
            actor=actor if actor is not None and actor.is_authenticated else None,
            action="settlement.imported",
            target=settlement,
            after={
                "store": store.pk,
                "kind": kind,
                "source": source,
                "lines": writer.count,
                "total": str(settlement.total_amount),
                "currency": settlement.currency,
            },
        )
    return ImportResult(settlement=settlement, created=True, **_summary(settlement))


def _summary(settlement: Settlement) -> dict[str, Any]:
    return {
        "categories": settlement_category_totals(settlement=settlement),
        "unmatched_orders": settlement_unmatched_order_ids(settlement=settlement),
    }


# --- company rules ---------------------------------------------------------------------------------------


@transaction.atomic
def category_rule_set(
    *,
    tenant: Tenant,
    platform: str,
    transaction_type: str,
    amount_type: str,
    amount_description: str,
    category: str,
    actor: User | None,
) -> tuple[CategoryRule, int]:
    """Map a vendor type to a category for the company ("map this type"), then re-categorise every line of
    that type which a person did not set by hand. Returns the rule and how many lines changed."""
    if category not in Category.values or category == Category.UNCLASSIFIED:
        raise ValueError(f"Not a category a type can be mapped to: {category!r}")
    parts = (transaction_type.strip(), amount_type.strip(), amount_description.strip())
    rule = (
        CategoryRule.objects.filter(tenant=tenant, platform=platform)
        .filter(transaction_type__iexact=parts[0], amount_type__iexact=parts[1], amount_description__iexact=parts[2])
        .first()
    )
    before = rule.category if rule else None
    if rule is None:
        rule = CategoryRule(
            tenant=tenant,
            platform=platform,
            transaction_type=parts[0],
            amount_type=parts[1],
            amount_description=parts[2],
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
    rule.category = category
    rule.full_clean()
    rule.save()
    changed = settlement_lines_recategorise(tenant=tenant, platform=platform)
    audit_record(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action="settlement.category_rule_set",
        target=rule,
        before={"category": before} if before else None,
        after={"type": str(rule), "category": category, "lines_changed": changed},
    )
    return rule, changed


def statement_journals_due(*, tenant_id: int, settlement_ids: Iterable[int]) -> None:
    """The statements' figures changed (imported, re-categorised, rebuilt): build their journals once the
    transaction commits (finance.ledger makes drafts, or an adjustment for what was already sent), and
    refresh the P&L of their orders."""
    ids = sorted(set(settlement_ids))
    if ids:
        enqueue_on_commit("finance.build_statement_journals", robust=True, tenant_id=tenant_id, settlement_ids=ids)
        profit_due(tenant_id=tenant_id, settlement_ids=ids)  # the orders' fees and refunds are settled now


def settlement_lines_recategorise(*, tenant: Tenant, platform: str, settlement: Settlement | None = None) -> int:
    """Decide again every line of the platform's statements whose category came from a rule or the default
    mapping (not split from an order), one UPDATE per distinct vendor type; reconcile what changed."""
    rules = list(CategoryRule.objects.filter(tenant=tenant, platform=platform))
    categoriser = Categoriser(platform=platform, rules=rules)
    lines = SettlementLine.objects.filter(
        tenant=tenant, settlement__kind__in=_kinds_of(platform), category_source__in=_redecidable()
    )
    if settlement is not None:
        lines = lines.filter(settlement=settlement)
    types = lines.values_list("transaction_type", "amount_type", "amount_description").distinct().order_by()
    changed = 0
    touched: set[int] = set()
    for transaction_type, amount_type, description in types:
        decision = categoriser.decide(transaction_type, amount_type, description)
        same_type = lines.filter(
            transaction_type=transaction_type, amount_type=amount_type, amount_description=description
        )
        differing = same_type.exclude(category=decision.category, rule_id=decision.rule_id)
        ids = set(differing.values_list("settlement_id", flat=True).distinct())
        if not ids:
            continue
        changed += differing.update(
            category=decision.category,
            rule_id=decision.rule_id,
            category_source=CategorySource.RULE if decision.rule_id else CategorySource.DEFAULT,
        )
        touched |= ids
    for touched_settlement in Settlement.objects.filter(pk__in=touched).order_by("pk"):
        touched_settlement.unclassified_count = touched_settlement.lines.filter(category=Category.UNCLASSIFIED).count()
        touched_settlement.save(update_fields=["unclassified_count"])
        settlement_reconcile(settlement=touched_settlement)
    statement_journals_due(tenant_id=tenant.pk, settlement_ids=touched)
    other_costs_from_settlements(tenant=tenant, settlement_ids=touched)
    return changed


def _kinds_of(platform: str) -> list[str]:
    return [kind for kind in SettlementKind.values if Settlement(kind=kind).platform == platform]


def _redecidable() -> list[str]:
    return [CategorySource.DEFAULT, CategorySource.RULE]
