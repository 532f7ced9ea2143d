"""Models of the finance app: Django reads them from here; each sub-domain keeps its own module."""

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
)

__all__ = [
    "Category",
    "CategoryRule",
    "CategorySource",
    "DeferredTransaction",
    "Settlement",
    "SettlementKind",
    "SettlementLine",
    "SettlementSource",
    "SettlementStatus",
]
