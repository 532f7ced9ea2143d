"""The default chart of accounts and which account a role goes to.

The default chart follows what A2X and Link My Books create for a seller (finance notes §2.2): per channel a
sales, shipping, promotions and refunds revenue account, fee and advertising expenses, reimbursements as
other income, the sales tax the seller collected and owes (a liability, never revenue), the tax the
marketplace collected and paid itself (its own liability account, which nets to zero), reserved balances
and a carried-forward balance (assets), and the clearing "bank" the deposit lands in; one suspense account
for anything nobody mapped. Names and codes are the seller's to change; `chart_ensure` only adds what is
missing, so it never undoes an edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from acorn.tenancy.models import Tenant
from channels.models import Platform
from finance.ledger.models import Account, AccountMapping, AccountType, LedgerRole


@dataclass(frozen=True)
class DefaultAccount:
    key: str
    name: str
    code: str
    account_type: str
    platform: str
    roles: tuple[str, ...]


R = LedgerRole
_REVENUE, _OTHER, _EXPENSE = AccountType.REVENUE, AccountType.OTHER_INCOME, AccountType.EXPENSE
_ASSET, _BANK, _LIABILITY = AccountType.CURRENT_ASSET, AccountType.BANK, AccountType.CURRENT_LIABILITY

SUSPENSE = DefaultAccount("suspense", "ACORN Suspense", "ACN900", _ASSET, "", (R.SUSPENSE, R.UNCLASSIFIED))


def _channel(platform: str, label: str, prefix: str, *, amazon: bool = False) -> list[DefaultAccount]:
    key = platform
    accounts = [
        DefaultAccount(f"{key}_sales", f"{label} Sales", f"{prefix}100", _REVENUE, platform, (R.SALES,)),
        DefaultAccount(
            f"{key}_shipping", f"{label} Shipping Income", f"{prefix}110", _REVENUE, platform, (R.SHIPPING_INCOME,)
        ),
        DefaultAccount(f"{key}_promotions", f"{label} Promotions", f"{prefix}120", _REVENUE, platform, (R.PROMOTIONS,)),
        DefaultAccount(f"{key}_refunds", f"{label} Refunds", f"{prefix}130", _REVENUE, platform, (R.REFUNDS,)),
        DefaultAccount(
            f"{key}_reimbursements",
            f"{label} Reimbursements",
            f"{prefix}140",
            _OTHER,
            platform,
            (R.REIMBURSEMENTS,),
        ),
        DefaultAccount(f"{key}_fees", f"{label} Seller Fees", f"{prefix}200", _EXPENSE, platform, (R.SELLER_FEES,)),
        DefaultAccount(
            f"{key}_advertising", f"{label} Advertising", f"{prefix}230", _EXPENSE, platform, (R.ADVERTISING,)
        ),
        DefaultAccount(
            f"{key}_tax", f"{label} Sales Tax Collected", f"{prefix}300", _LIABILITY, platform, (R.TAX_COLLECTED,)
        ),
        DefaultAccount(f"{key}_reserve", f"{label} Reserved Balances", f"{prefix}400", _ASSET, platform, (R.RESERVE,)),
        DefaultAccount(
            f"{key}_carried_forward",
            f"{label} Carried Forward Balance",
            f"{prefix}410",
            _ASSET,
            platform,
            (R.CARRIED_FORWARD,),
        ),
        DefaultAccount(f"{key}_clearing", f"{label} Clearing", f"{prefix}500", _BANK, platform, (R.BANK,)),
    ]
    if amazon:
        accounts += [
            DefaultAccount(f"{key}_fba_fees", f"{label} FBA Fees", f"{prefix}210", _EXPENSE, platform, (R.FBA_FEES,)),
            DefaultAccount(
                f"{key}_storage", f"{label} Storage Fees", f"{prefix}220", _EXPENSE, platform, (R.STORAGE_FEES,)
            ),
            DefaultAccount(
                f"{key}_tax_withheld",
                f"{label} Marketplace Tax Withheld",
                f"{prefix}310",
                _LIABILITY,
                platform,
                (R.TAX_WITHHELD,),
            ),
        ]
    else:
        # No FBA, storage or marketplace-withheld tax on a shop of one's own: should a rule put a line there,
        # it lands on the nearest account (fees; the tax liability), never on revenue.
        fees = next(account for account in accounts if account.key == f"{key}_fees")
        tax = next(account for account in accounts if account.key == f"{key}_tax")
        accounts = [
            account
            if account not in (fees, tax)
            else DefaultAccount(
                account.key,
                account.name,
                account.code,
                account.account_type,
                platform,
                account.roles + ((R.FBA_FEES, R.STORAGE_FEES) if account is fees else (R.TAX_WITHHELD,)),
            )
            for account in accounts
        ]
    return accounts


DEFAULT_CHART: tuple[DefaultAccount, ...] = (
    *_channel(Platform.AMAZON, "Amazon", "AMZ", amazon=True),
    *_channel(Platform.SHOPIFY, "Shopify", "SHP"),
    *_channel(Platform.WOOCOMMERCE, "WooCommerce", "WOO"),
    SUSPENSE,
)


def chart_ensure(*, tenant: Tenant) -> None:
    """Create the default accounts and the channel-wide mappings that do not exist yet (idempotent; an account a
    person renamed keeps its new name, a mapping a person changed stays changed)."""
    existing = dict(Account.objects.filter(tenant=tenant).exclude(key="").values_list("key", "pk"))
    if len(existing) >= len(DEFAULT_CHART) and AccountMapping.objects.filter(tenant=tenant).exists():
        return
    try:
        with transaction.atomic():
            for default in DEFAULT_CHART:
                if default.key not in existing:
                    account = Account.objects.create(
                        tenant=tenant,
                        key=default.key,
                        name=_free_name(tenant, default.name),
                        code=_free_code(tenant, default.code),
                        account_type=default.account_type,
                        platform=default.platform,
                    )
                    existing[default.key] = account.pk
            mapped = set(
                AccountMapping.objects.filter(tenant=tenant, store__isnull=True, marketplace="").values_list(
                    "platform", "role"
                )
            )
            for default in DEFAULT_CHART:
                platforms = [default.platform] if default.platform else list(Platform.values)
                for platform in platforms:
                    for role in default.roles:
                        if (platform, role) not in mapped:
                            AccountMapping.objects.create(
                                tenant=tenant, role=role, platform=platform, account_id=existing[default.key]
                            )
                            mapped.add((platform, role))
    except IntegrityError:  # another request set the chart up meanwhile
        return


def _free_name(tenant: Tenant, name: str) -> str:
    """The name, or "name (ACORN)" when the seller already has an account of that name."""
    taken = Account.objects.filter(tenant=tenant, name=name).exists()
    return f"{name} (ACORN)"[:100] if taken else name


def _free_code(tenant: Tenant, code: str) -> str:
    return "" if Account.objects.filter(tenant=tenant, code=code).exists() else code


@dataclass
class MappingTable:
    """A tenant's mappings loaded with one query; `account_for` picks the most specific one, else suspense."""

    by_key: dict[tuple[str, str, int | None, str], Account]
    suspense: Account

    def account_for(self, *, role: str, platform: str, store_id: int | None, marketplace: str) -> tuple[Account, bool]:
        """(account, mapped): the account of the most specific mapping, or suspense (mapped False)."""
        for store, market in ((store_id, marketplace), (store_id, ""), (None, marketplace), (None, "")):
            found = self.by_key.get((role, platform, store, market))
            if found is not None and found.active:
                return found, True
        return self.suspense, False


def mapping_table(*, tenant: Tenant) -> MappingTable:
    chart_ensure(tenant=tenant)
    rows = AccountMapping.objects.filter(tenant=tenant).select_related("account")
    by_key = {(row.role, row.platform, row.store_id, row.marketplace): row.account for row in rows}
    suspense = Account.objects.get(tenant=tenant, key=SUSPENSE.key)
    return MappingTable(by_key=by_key, suspense=suspense)
