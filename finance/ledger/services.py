"""Writes of the ledger: the one writer of journal lines, journals from channel statements, locking and
closed periods.

`journal_write` is the only code that creates `JournalLine` rows (tests/test_architecture.py holds this): it
quantises every amount to the currency's minor unit, drops zero lines, refuses an entry that does not sum to
zero or that falls in a closed month, and records the exchange rate to the tenant's reporting currency of the
entry's date (acorn.fx) with its date and source.

`settlement_journals` turns one statement into its journals (finance notes §2.3): an Amazon settlement is split
by the calendar month (UTC) of its lines' posted dates; every part but the last balances through the
carried-forward account, the last carries the carried-forward balance back and the deposit to the bank
(clearing) account; lines without a posted date belong to the last part. A Shopify payout and a WooCommerce
monthly statement are one journal each. Lines are summed per (role, store, marketplace); a role nobody mapped
goes to suspense. A statement whose lines do not add up to its total puts the difference on suspense, said so
in the line's description. Building again replaces the statement's drafts; once any of its journals is
locked (exported or posted), the change becomes one adjustment journal, dated today in the first open month,
that moves exactly the difference per account. A new journal whose month is already closed is dated on the
first day of the first open month (its narration says so); a draft in a month closed since is not rewritten
(ClosedPeriodError: reopen the month first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record, snapshot
from acorn.fx.services import rate_on
from acorn.money import quantize_amount
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.ledger.chart import SUSPENSE, MappingTable, chart_ensure, mapping_table
from finance.ledger.models import (
    Account,
    AccountMapping,
    ClosedPeriod,
    JournalEntry,
    JournalLine,
    JournalSource,
    JournalStatus,
    LedgerRole,
)
from finance.ledger.selectors import (
    account_code_taken,
    account_in_journals,
    account_in_locked_journals,
    account_mapping_platforms,
    account_name_taken,
    settlements_with_journals,
)
from finance.settlements.models import Settlement, SettlementKind, SettlementLine

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NUMBER_MAX = 21
_PREFIX = {
    SettlementKind.AMAZON_SETTLEMENT: "AMZ",
    SettlementKind.SHOPIFY_PAYOUT: "SHP",
    SettlementKind.WOOCOMMERCE_STATEMENT: "WOO",
}
_SOURCE = {
    SettlementKind.AMAZON_SETTLEMENT: JournalSource.SETTLEMENT,
    SettlementKind.SHOPIFY_PAYOUT: JournalSource.PAYOUT,
    SettlementKind.WOOCOMMERCE_STATEMENT: JournalSource.STATEMENT,
}


class UnbalancedJournalError(ValueError):
    """The lines of a journal do not sum to zero; nothing was written."""


class ClosedPeriodError(ValidationError):
    """The journal's month is closed; nothing was written."""


@dataclass(frozen=True)
class LineDraft:
    account: Account
    role: str
    amount: Decimal
    description: str = ""
    store_id: int | None = None
    marketplace: str = ""


def month_of(day: date) -> date:
    return day.replace(day=1)


def period_is_closed(*, tenant: Tenant, month: date) -> bool:
    return ClosedPeriod.objects.filter(tenant=tenant, month=month_of(month)).exists()


def first_open_period(*, tenant: Tenant, on: date) -> date:
    """The first month on or after `on`'s that is not closed."""
    month = month_of(on)
    closed = set(ClosedPeriod.objects.filter(tenant=tenant, month__gte=month).values_list("month", flat=True))
    while month in closed:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return month


@transaction.atomic
def journal_write(
    *,
    tenant: Tenant,
    number: str,
    day: date,
    source: str,
    currency: str,
    narration: str,
    lines: Iterable[LineDraft],
    settlement: Settlement | None = None,
    store: Store | None = None,
    part: int = 1,
    parts: int = 1,
    reason: str = "",
    actor: User | None = None,
) -> JournalEntry:
    """Write one balanced journal entry and its lines (the only writer of lines). Raises UnbalancedJournalError
    or ClosedPeriodError, writing nothing."""
    if len(number) > NUMBER_MAX:
        raise ValueError(f"journal number {number!r} is longer than {NUMBER_MAX} characters")
    if period_is_closed(tenant=tenant, month=day):
        raise ClosedPeriodError(
            _("%(month)s is closed: no new journals can be dated in it.") % {"month": day.strftime("%Y-%m")}
        )
    kept = [(draft, amount) for draft in lines if (amount := quantize_amount(draft.amount, currency)) != 0]
    total = sum((amount for _draft, amount in kept), Decimal(0))
    if total != 0:
        raise UnbalancedJournalError(f"journal {number} does not balance: its lines sum to {total} {currency}")
    found = rate_on(currency, tenant.reporting_currency, day)
    entry = JournalEntry.objects.create(
        tenant=tenant,
        number=number,
        date=day,
        period=month_of(day),
        source=source,
        settlement=settlement,
        store=store,
        part=part,
        parts=parts,
        narration=narration[:255],
        currency=currency,
        reporting_currency=tenant.reporting_currency,
        exchange_rate=found[0] if found else None,
        rate_date=found[1] if found else None,
        rate_source=found[2] if found else "",
        reason=reason[:255],
        line_count=len(kept),
        debit_amount=sum((amount for _draft, amount in kept if amount > 0), Decimal(0)),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                tenant=tenant,
                entry=entry,
                line_number=number_,
                account=draft.account,
                role=draft.role,
                amount=amount,
                description=draft.description[:255],
                store_id=draft.store_id,
                marketplace=draft.marketplace,
            )
            for number_, (draft, amount) in enumerate(kept, start=1)
        ]
    )
    return entry


# --- statements → journals -------------------------------------------------------------------------------------


def journal_number(settlement: Settlement, part: int = 1, parts: int = 1) -> str:
    """Stable and at most 21 characters: "AMZ-12948507001", "AMZ-12948507001-2" for the second of two parts."""
    prefix = _PREFIX[SettlementKind(settlement.kind)]
    identity = settlement.external_id
    if settlement.kind == SettlementKind.WOOCOMMERCE_STATEMENT:  # "2026-11" is only unique within its store
        identity = f"{settlement.store_id}-{identity.replace('-', '')}"
    suffix = f"-{part}" if parts > 1 else ""
    room = NUMBER_MAX - len(prefix) - 1 - len(suffix)
    return f"{prefix}-{identity[-room:]}{suffix}"


@dataclass
class _Part:
    month: date
    last_day: date
    sums: dict[tuple[str, int | None, str], Decimal]


def _parts(settlement: Settlement) -> list[_Part]:
    """The statement's lines summed per month of posting and (role, store, marketplace), oldest month first;
    undated lines join the last month (the statement's end when nothing is dated)."""
    end_day = settlement.period_end.astimezone(UTC).date()
    rows = (
        SettlementLine.objects.filter(tenant_id=settlement.tenant_id, settlement=settlement)
        .values_list("category", "marketplace", "posted_at", "amount")
        .iterator(chunk_size=5000)
    )
    by_month: dict[date | None, dict[tuple[str, int | None, str], Decimal]] = defaultdict(dict)
    last_day: dict[date, date] = {}
    for category, marketplace, posted_at, amount in rows:
        day = posted_at.astimezone(UTC).date() if posted_at is not None else None
        month = month_of(day) if day is not None else None
        if day is not None and month is not None:
            last_day[month] = max(last_day.get(month, day), day)
        line_key: tuple[str, int | None, str] = (category, settlement.store_id, marketplace)
        sums = by_month[month]
        sums[line_key] = sums.get(line_key, Decimal(0)) + amount
    undated = by_month.pop(None, {})
    months = sorted(month for month in by_month if month is not None) or [month_of(end_day)]
    parts = [_Part(month, last_day.get(month, end_day), dict(by_month.get(month, {}))) for month in months]
    for undated_key, amount in undated.items():
        parts[-1].sums[undated_key] = parts[-1].sums.get(undated_key, Decimal(0)) + amount
    return parts


def _describe(role: str, marketplace: str) -> str:
    label = str(LedgerRole(role).label) if role in LedgerRole.values else role
    return f"{label} ({marketplace})" if marketplace else label


def _drafts(settlement: Settlement, table: MappingTable) -> list[tuple[_Part, list[LineDraft]]]:
    """Every part's lines, balanced: the statement's categories (credit what the seller earned, debit what it
    paid), carried forward between parts, the deposit on the bank account in the last part."""
    platform, store_id = settlement.platform, settlement.store_id
    parts = _parts(settlement)
    carried = Decimal(0)
    built: list[tuple[_Part, list[LineDraft]]] = []
    for index, part in enumerate(parts):
        drafts: list[LineDraft] = []
        earned = Decimal(0)
        for (role, store, marketplace), amount in sorted(part.sums.items(), key=lambda item: (item[0][0], item[0][2])):
            account, mapped = table.account_for(role=role, platform=platform, store_id=store, marketplace=marketplace)
            description = _describe(role, marketplace)
            if not mapped:
                description = _("%(line)s — not mapped to an account") % {"line": description}
            drafts.append(LineDraft(account, role, -amount, description, store, marketplace))
            earned += amount
        if index < len(parts) - 1:
            account, _mapped = table.account_for(
                role=LedgerRole.CARRIED_FORWARD, platform=platform, store_id=store_id, marketplace=""
            )
            drafts.append(
                LineDraft(account, LedgerRole.CARRIED_FORWARD, earned, _("Carried forward to the next month"), store_id)
            )
            carried += earned
        else:
            if carried:
                account, _mapped = table.account_for(
                    role=LedgerRole.CARRIED_FORWARD, platform=platform, store_id=store_id, marketplace=""
                )
                drafts.append(
                    LineDraft(
                        account,
                        LedgerRole.CARRIED_FORWARD,
                        -carried,
                        _("Carried forward from earlier months"),
                        store_id,
                    )
                )
            bank, _mapped = table.account_for(
                role=LedgerRole.BANK, platform=platform, store_id=store_id, marketplace=""
            )
            drafts.append(LineDraft(bank, LedgerRole.BANK, settlement.total_amount, _("Deposit"), store_id))
            difference = settlement.total_amount - carried - earned
            if difference:
                drafts.append(
                    LineDraft(
                        table.suspense,
                        LedgerRole.SUSPENSE,
                        -difference,
                        _("The statement's lines do not add up to its total: difference"),
                        store_id,
                    )
                )
        built.append((part, drafts))
    return built


def _narration(settlement: Settlement, part: int, parts: int) -> str:
    store = settlement.store.name
    what = {
        SettlementKind.AMAZON_SETTLEMENT: _("Amazon settlement %(id)s"),
        SettlementKind.SHOPIFY_PAYOUT: _("Shopify Payments payout %(id)s"),
        SettlementKind.WOOCOMMERCE_STATEMENT: _("WooCommerce statement %(id)s"),
    }[SettlementKind(settlement.kind)] % {"id": settlement.external_id}
    if parts > 1:
        return _("%(what)s, %(store)s, part %(part)s of %(parts)s") % {
            "what": what,
            "store": store,
            "part": part,
            "parts": parts,
        }
    return f"{what}, {store}"


def _final_day(settlement: Settlement, part: _Part) -> date:
    """The last part is dated on the deposit (or the statement's end) when that is in its month, else on the
    last day it has lines: a journal stays in the month whose figures it holds."""
    for moment in (settlement.deposit_date, settlement.period_end):
        if moment is not None:
            day = moment.astimezone(UTC).date()
            if month_of(day) == part.month:
                return day
    return part.last_day


@transaction.atomic
def settlement_journals(*, settlement: Settlement, actor: User | None = None) -> list[JournalEntry]:
    """Build (or rebuild) the statement's journals. A draft that would come out the same is kept as it is; a
    part already exported or posted is never touched: what changed in it goes into one adjustment journal.
    Returns the journals written now (none when nothing changed)."""
    tenant = settlement.tenant
    built = _drafts(settlement, mapping_table(tenant=tenant))
    count = len(built)
    existing = list(JournalEntry.objects.select_for_update().filter(tenant=tenant, settlement=settlement))
    parts = {entry.part: entry for entry in existing if entry.source != JournalSource.ADJUSTMENT}
    locked_parts = {number for number, entry in parts.items() if entry.locked}
    if locked_parts and len(parts) != count:
        # The months themselves moved (lines re-dated): everything is corrected at once by the adjustment.
        locked_parts = set(range(1, count + 1))
    drafts_kept = {number: entry for number, entry in parts.items() if not entry.locked and entry.parts == count}
    # Drafts of another shape (the number of parts changed) and an adjustment not sent yet are rebuilt.
    kept = {entry.pk for entry in drafts_kept.values()}
    stale = [entry.pk for entry in existing if not entry.locked and entry.pk not in kept]
    JournalEntry.objects.filter(tenant=tenant, pk__in=stale, locked_at__isnull=True).delete()
    written = []
    for index, (part, drafts) in enumerate(built, start=1):
        if index in locked_parts:
            continue
        day = part.last_day if index < count else _final_day(settlement, part)
        narration = _narration(settlement, index, count)
        if period_is_closed(tenant=tenant, month=day):
            # The month was closed before the statement's journal was made: it goes to the first open month.
            moved = first_open_period(tenant=tenant, on=day)
            narration = _("%(narration)s (dated in %(open)s: %(closed)s is closed)") % {
                "narration": narration,
                "open": moved.strftime("%Y-%m"),
                "closed": day.strftime("%Y-%m"),
            }
            day = moved
        number = journal_number(settlement, index, count)
        current = drafts_kept.get(index)
        if current is not None:
            if _same(current, number, day, drafts):
                continue
            if period_is_closed(tenant=tenant, month=current.period):
                # A draft already in a month that has since closed is not rewritten: reopen the month first.
                raise ClosedPeriodError(
                    _("%(month)s is closed: no new journals can be dated in it.")
                    % {"month": current.period.strftime("%Y-%m")}
                )
            JournalEntry.objects.filter(tenant=tenant, pk=current.pk).delete()
        written.append(
            journal_write(
                tenant=tenant,
                number=number,
                day=day,
                source=_SOURCE[SettlementKind(settlement.kind)],
                currency=settlement.currency,
                narration=narration,
                lines=drafts,
                settlement=settlement,
                store=settlement.store,
                part=index,
                parts=count,
                actor=actor,
            )
        )
    if locked_parts:
        wanted = [
            draft for index, (_part, drafts) in enumerate(built, start=1) if index in locked_parts for draft in drafts
        ]
        adjustment = _adjustment(settlement, wanted, actor)
        if adjustment is not None:
            written.append(adjustment)
    return written


def _same(entry: JournalEntry, number: str, day: date, drafts: Sequence[LineDraft]) -> bool:
    """Whether the draft entry already says exactly this: the same number, date, rate to the reporting currency
    (a rate loaded since, or a new reporting currency, refreshes a draft) and lines."""
    if entry.number != number or entry.date != day:
        return False
    tenant = entry.tenant
    found = rate_on(entry.currency, tenant.reporting_currency, day)
    rate = (found[0], found[1], found[2]) if found else (None, None, "")
    if (
        entry.reporting_currency != tenant.reporting_currency
        or (
            entry.exchange_rate,
            entry.rate_date,
            entry.rate_source,
        )
        != rate
    ):
        return False
    wanted = [
        (draft.account.pk, draft.role, amount, draft.description[:255], draft.store_id, draft.marketplace)
        for draft in drafts
        if (amount := quantize_amount(draft.amount, entry.currency)) != 0
    ]
    have = [
        (line.account_id, line.role, line.amount, line.description, line.store_id, line.marketplace)
        for line in JournalLine.objects.filter(tenant_id=entry.tenant_id, entry=entry).order_by("line_number")
    ]
    return have == wanted


def _key(account_id: int, role: str, store_id: int | None, marketplace: str) -> tuple[int, str, int | None, str]:
    return (account_id, role, store_id, marketplace)


def _adjustment(settlement: Settlement, wanted: Sequence[LineDraft], actor: User | None) -> JournalEntry | None:
    """One journal moving what the locked parts should say now minus what they and the locked adjustments
    said, in the first open month (today when this month is open)."""
    tenant = settlement.tenant
    have: dict[tuple[int, str, int | None, str], Decimal] = defaultdict(Decimal)
    for line in JournalLine.objects.filter(tenant=tenant, entry__settlement=settlement, entry__locked_at__isnull=False):
        have[_key(line.account_id, line.role, line.store_id, line.marketplace)] += line.amount
    want: dict[tuple[int, str, int | None, str], Decimal] = defaultdict(Decimal)
    accounts: dict[int, Account] = {}
    for draft in wanted:
        key = _key(draft.account.pk, draft.role, draft.store_id, draft.marketplace)
        want[key] += quantize_amount(draft.amount, settlement.currency)
        accounts[draft.account.pk] = draft.account
    missing = {key[0] for key in have if key[0] not in accounts}
    accounts.update({account.pk: account for account in Account.objects.filter(tenant=tenant, pk__in=missing)})
    moves = [
        LineDraft(
            accounts[key[0]],
            key[1],
            want.get(key, Decimal(0)) - have.get(key, Decimal(0)),
            _("Adjustment: %(line)s") % {"line": _describe(key[1], key[3])},
            key[2],
            key[3],
        )
        for key in sorted(set(have) | set(want), key=lambda key: (key[1], key[0], key[3], key[2] or 0))
    ]
    moves = [move for move in moves if move.amount]
    if not moves:
        return None
    today = timezone.now().date()
    opened = first_open_period(tenant=tenant, on=today)
    day = today if opened == month_of(today) else opened
    sequence = (
        JournalEntry.objects.filter(tenant=tenant, settlement=settlement, source=JournalSource.ADJUSTMENT).aggregate(
            highest=Max("part")
        )["highest"]
        or 0
    ) + 1
    prefix = f"ADJ{sequence}-"
    return journal_write(
        tenant=tenant,
        number=f"{prefix}{settlement.external_id[-(NUMBER_MAX - len(prefix)) :]}",
        day=day,
        source=JournalSource.ADJUSTMENT,
        currency=settlement.currency,
        narration=_("Adjustment to %(what)s") % {"what": _narration(settlement, 1, 1)},
        lines=moves,
        settlement=settlement,
        store=settlement.store,
        part=sequence,
        parts=sequence,
        reason=_("The statement's journals changed after they were exported or posted."),
        actor=actor,
    )


# --- locking and periods ---------------------------------------------------------------------------------------


def journals_lock(*, entries: Iterable[JournalEntry], status: str) -> int:
    """Mark the entries exported or posted (a posted one stays posted when exported again); locked for good."""
    if status not in (JournalStatus.EXPORTED, JournalStatus.POSTED):
        raise ValueError(f"cannot lock as {status!r}")
    now = timezone.now()
    count = 0
    for entry in entries:
        new_status = JournalStatus.POSTED if JournalStatus.POSTED in (status, entry.status) else status
        changed = JournalEntry.objects.filter(tenant_id=entry.tenant_id, pk=entry.pk).update(
            status=new_status, locked_at=entry.locked_at or now
        )
        entry.status, entry.locked_at = new_status, entry.locked_at or now
        count += changed
    return count


@transaction.atomic
def period_close(*, tenant: Tenant, month: date, actor: User | None) -> ClosedPeriod:
    """Close a month: no journal is dated in it any more (a later change lands in the first open month). Audited."""
    closed, _created = ClosedPeriod.objects.get_or_create(
        tenant=tenant,
        month=month_of(month),
        defaults={"closed_by": actor if actor and actor.is_authenticated else None},
    )
    audit_record(
        tenant=tenant, actor=actor, action="finance.period_closed", target=closed, after={"month": str(closed)}
    )
    return closed


@transaction.atomic
def period_reopen(*, tenant: Tenant, month: date, actor: User | None) -> None:
    """Open a closed month again (the owner's decision, audited); journals already locked stay locked."""
    closed = ClosedPeriod.objects.filter(tenant=tenant, month=month_of(month)).first()
    if closed is None:
        return
    audit_record(
        tenant=tenant, actor=actor, action="finance.period_reopened", target=closed, before={"month": str(closed)}
    )
    closed.delete()


# --- the chart and the mapping, as finance edits them in the console --------------------------------------------

# Xero's Accounts API: "Customer defined alpha numeric account code e.g 200 or SALES (max length = 10)"
# (xero-python, accounting Account.code). QuickBooks matches on the name; a sub-account is "Parent:Sub".
XERO_CODE_MAX = 10
_ACCOUNT_FIELDS = ["name", "code", "account_type", "tax_rate", "platform", "active"]


class AccountInUseError(ValidationError):
    """The account cannot be deleted (it is in a locked journal, mapped, or one of the default chart's)."""


def _account_errors(*, tenant: Tenant, account: Account) -> dict[str, list[str]]:
    """What is wrong with the account's name and code, per field (empty when nothing)."""
    errors: dict[str, list[str]] = defaultdict(list)
    name = account.name
    if not name:
        errors["name"].append(_("Enter a name."))
    elif any(not segment.strip() or segment != segment.strip() for segment in name.split(":")):
        errors["name"].append(
            _("Each part of a “Parent:Sub” name needs text, without spaces around the colon: “%(name)s”.")
            % {"name": name}
        )
    elif any(char in name for char in "\t\r\n"):
        errors["name"].append(_("The name cannot contain tabs or line breaks."))
    elif account_name_taken(tenant=tenant, name=name, exclude_pk=account.pk):
        errors["name"].append(_("Another account is already called “%(name)s”.") % {"name": name})
    code = account.code
    if len(code) > XERO_CODE_MAX:
        errors["code"].append(
            _("Xero takes account codes of at most %(max)d characters; “%(code)s” has %(length)d.")
            % {"max": XERO_CODE_MAX, "code": code, "length": len(code)}
        )
    elif any(char.isspace() for char in code):
        errors["code"].append(_("An account code cannot contain spaces."))
    elif account_code_taken(tenant=tenant, code=code, exclude_pk=account.pk):
        errors["code"].append(_("Another account already has the code “%(code)s”.") % {"code": code})
    if not account.tax_rate.strip():
        errors["tax_rate"].append(_("Xero needs a tax rate on every line: enter one, e.g. “Tax Exempt”."))
    return dict(errors)


def _enqueue_rebuild(*, tenant: Tenant, platform: str, store_id: int | None = None) -> None:
    """Rebuild the channel's journals after the commit: a tenant may have many statements."""
    enqueue_on_commit("finance.rebuild_channel_journals", tenant_id=tenant.pk, platform=platform, store_id=store_id)


@transaction.atomic
def account_create(
    *,
    tenant: Tenant,
    name: str,
    code: str,
    account_type: str,
    tax_rate: str,
    platform: str,
    actor: User | None,
) -> Account:
    """Add an account to the chart (audited). Raises ValidationError per field."""
    account = Account(
        tenant=tenant,
        name=name.strip(),
        code=code.strip(),
        account_type=account_type,
        tax_rate=tax_rate.strip(),
        platform=platform,
    )
    errors = _account_errors(tenant=tenant, account=account)
    if errors:
        raise ValidationError(errors)
    account.full_clean()
    account.save()
    audit_record(
        tenant=tenant, actor=actor, action="finance.account_created", target=account,
        after=snapshot(account, _ACCOUNT_FIELDS),
    )  # fmt: skip
    return account


@transaction.atomic
def account_update(
    *,
    tenant: Tenant,
    account: Account,
    name: str,
    code: str,
    account_type: str,
    tax_rate: str,
    platform: str,
    active: bool,
    actor: User | None,
) -> Account:
    """Change an account (audited). Journals keep pointing at it, so a rename shows in every export from now on;
    deactivating it sends its roles to suspense, so the channels mapped to it rebuild their journals."""
    if account.tenant_id != tenant.pk:
        raise ValueError("the account belongs to another tenant")
    if account.key == SUSPENSE.key and not active:
        raise ValidationError({"active": [_("The suspense account catches what nobody mapped: it stays active.")]})
    before = snapshot(account, _ACCOUNT_FIELDS)
    was_active = account.active
    account.name, account.code, account.tax_rate = name.strip(), code.strip(), tax_rate.strip()
    account.account_type, account.platform, account.active = account_type, platform, active
    errors = _account_errors(tenant=tenant, account=account)
    if errors:
        account.refresh_from_db()
        raise ValidationError(errors)
    account.full_clean()
    account.save(update_fields=_ACCOUNT_FIELDS)
    audit_record(
        tenant=tenant, actor=actor, action="finance.account_changed", target=account, before=before,
        after=snapshot(account, _ACCOUNT_FIELDS),
    )  # fmt: skip
    if was_active != active:
        for mapped_platform in account_mapping_platforms(tenant=tenant, account=account):
            _enqueue_rebuild(tenant=tenant, platform=mapped_platform)
    return account


@transaction.atomic
def account_delete(*, tenant: Tenant, account: Account, actor: User | None) -> None:
    """Delete an account a person added and nothing uses (audited). Raises AccountInUseError otherwise: an
    account in an exported or posted journal stays for good (deactivate it instead)."""
    if account.tenant_id != tenant.pk:
        raise ValueError("the account belongs to another tenant")
    if account.key:
        raise AccountInUseError(
            _("“%(name)s” is one of the default accounts ACORN keeps: deactivate it instead.") % {"name": account.name}
        )
    if account_in_locked_journals(tenant=tenant, account=account):
        raise AccountInUseError(
            _("“%(name)s” is in journals that were exported or posted: deactivate it instead.") % {"name": account.name}
        )
    if AccountMapping.objects.filter(tenant=tenant, account=account).exists():
        raise AccountInUseError(
            _("“%(name)s” is still mapped: map its roles to another account first.") % {"name": account.name}
        )
    if account_in_journals(tenant=tenant, account=account):
        raise AccountInUseError(
            _("“%(name)s” is in draft journals: build their statements' journals again first, or deactivate it.")
            % {"name": account.name}
        )
    audit_record(
        tenant=tenant, actor=actor, action="finance.account_deleted", target=account,
        before=snapshot(account, _ACCOUNT_FIELDS),
    )  # fmt: skip
    account.delete()


def _check_account(tenant: Tenant, account: Account | None) -> None:
    if account is not None and account.tenant_id != tenant.pk:
        raise ValueError("the account belongs to another tenant")


@transaction.atomic
def channel_mapping_update(
    *, tenant: Tenant, platform: str, accounts: Mapping[str, Account | None], actor: User | None
) -> int:
    """Set the channel-wide account of each role given (None: not mapped, so suspense). Audited; when anything
    changed, the channel's journals are rebuilt after the commit. Returns how many roles changed."""
    chart_ensure(tenant=tenant)
    current = {
        mapping.role: mapping
        # Ordered by pk: the model's ordering joins the (nullable) store, which PostgreSQL cannot lock.
        for mapping in AccountMapping.objects.select_for_update()
        .filter(tenant=tenant, platform=platform, store__isnull=True, marketplace="")
        .order_by("pk")
    }
    before: dict[str, int | None] = {}
    after: dict[str, int | None] = {}
    for role, account in accounts.items():
        if role not in LedgerRole.values:
            raise ValueError(f"unknown ledger role {role!r}")
        _check_account(tenant, account)
        mapping = current.get(role)
        old = mapping.account_id if mapping is not None else None
        new = account.pk if account is not None else None
        if old == new:
            continue
        before[role], after[role] = old, new
        if account is None and mapping is not None:
            mapping.delete()
        elif mapping is None and account is not None:
            AccountMapping.objects.create(tenant=tenant, role=role, platform=platform, account=account)
        elif mapping is not None and account is not None:
            mapping.account = account
            mapping.save(update_fields=["account"])
    if after:
        audit_record(
            tenant=tenant, actor=actor, action="finance.account_mapping_changed", target=None,
            before={"platform": platform, "roles": before}, after={"platform": platform, "roles": after},
        )  # fmt: skip
        _enqueue_rebuild(tenant=tenant, platform=platform)
    return len(after)


@transaction.atomic
def account_mapping_set(
    *,
    tenant: Tenant,
    role: str,
    platform: str,
    account: Account,
    store: Store | None,
    marketplace: str,
    actor: User | None,
) -> AccountMapping:
    """Map a role to an account for one store and / or marketplace of a channel (an override of the channel's;
    audited); the journals concerned are rebuilt after the commit."""
    _check_account(tenant, account)
    if store is not None and (store.tenant_id != tenant.pk or store.platform != platform):
        raise ValueError("the store is not one of this tenant's stores on this channel")
    if store is None and not marketplace:
        raise ValidationError(_("An override needs a store or a marketplace; the channel's own mapping is above."))
    mapping, created = AccountMapping.objects.update_or_create(
        tenant=tenant,
        role=role,
        platform=platform,
        store=store,
        marketplace=marketplace,
        defaults={"account": account},
    )
    audit_record(
        tenant=tenant, actor=actor, action="finance.account_mapping_set", target=mapping,
        after={"role": role, "platform": platform, "store": store.pk if store else None,
               "marketplace": marketplace, "account": account.pk, "created": created},
    )  # fmt: skip
    _enqueue_rebuild(tenant=tenant, platform=platform, store_id=store.pk if store else None)
    return mapping


@transaction.atomic
def account_mapping_delete(*, tenant: Tenant, mapping: AccountMapping, actor: User | None) -> None:
    """Remove a mapping (audited): its role falls back to the next most general mapping, else suspense; the
    journals concerned are rebuilt after the commit."""
    if mapping.tenant_id != tenant.pk:
        raise ValueError("the mapping belongs to another tenant")
    audit_record(
        tenant=tenant, actor=actor, action="finance.account_mapping_removed", target=mapping,
        before={"role": mapping.role, "platform": mapping.platform, "store": mapping.store_id,
                "marketplace": mapping.marketplace, "account": mapping.account_id},
    )  # fmt: skip
    platform, store_id = mapping.platform, mapping.store_id
    mapping.delete()
    _enqueue_rebuild(tenant=tenant, platform=platform, store_id=store_id)


@dataclass
class RebuildResult:
    statements: int = 0
    journals: list[str] = field(default_factory=list)
    adjustments: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def channel_journals_rebuild(*, tenant: Tenant, platform: str, store_id: int | None = None) -> RebuildResult:
    """Build again the journals of every statement of the channel (one store's, when given) that has journals,
    one statement per transaction: drafts follow the mapping, a locked journal's change becomes an adjustment.
    A statement whose journal falls in a closed month is left as it was and reported. Safe to run twice."""
    result = RebuildResult()
    for settlement in settlements_with_journals(tenant=tenant, platform=platform, store_id=store_id).iterator():
        try:
            written = settlement_journals(settlement=settlement)
        except ClosedPeriodError as error:
            result.failed[str(settlement)] = " ".join(error.messages)
            continue
        result.statements += 1
        for entry in written:
            target = result.adjustments if entry.source == JournalSource.ADJUSTMENT else result.journals
            target.append(entry.number)
    if result.adjustments or result.failed:
        audit_record(
            tenant=tenant, actor=None, action="finance.journals_rebuilt", target=None,
            after={"platform": platform, "store": store_id, "statements": result.statements,
                   "adjustments": result.adjustments, "failed": result.failed},
        )  # fmt: skip
    return result


@transaction.atomic
def settlement_journals_build(*, settlement: Settlement, actor: User | None) -> list[JournalEntry]:
    """ "Build journals" from the console: settlement_journals, audited with what it wrote."""
    written = settlement_journals(settlement=settlement, actor=actor)
    audit_record(
        tenant=settlement.tenant, actor=actor, action="finance.journals_built", target=settlement,
        after={"journals": [entry.number for entry in written]},
    )  # fmt: skip
    return written
