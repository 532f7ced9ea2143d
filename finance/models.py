"""Models of the finance app: Django reads them from here; each sub-domain keeps its own module."""

from finance.exports.models import DateFormat, ExportFormat, JournalExport, JournalExportFile
from finance.ledger.models import (
    Account,
    AccountMapping,
    AccountType,
    ClosedPeriod,
    JournalEntry,
    JournalLine,
    JournalSource,
    JournalStatus,
    LedgerRole,
)
from finance.quickbooks.models import QuickBooksConnection, QuickBooksStatus
from finance.settlements.models import (
    Category,
    CategoryRule,
    CategorySource,
    DeferredTransaction,
    Settlement,
    SettlementKind,
    SettlementLine,
    SettlementSource,
    SettlementStatus,
    SettlementUpload,
)

__all__ = [
    "Account",
    "AccountMapping",
    "AccountType",
    "Category",
    "CategoryRule",
    "CategorySource",
    "ClosedPeriod",
    "DateFormat",
    "DeferredTransaction",
    "ExportFormat",
    "JournalEntry",
    "JournalExport",
    "JournalExportFile",
    "JournalLine",
    "JournalSource",
    "JournalStatus",
    "LedgerRole",
    "QuickBooksConnection",
    "QuickBooksStatus",
    "Settlement",
    "SettlementKind",
    "SettlementLine",
    "SettlementSource",
    "SettlementStatus",
    "SettlementUpload",
]
