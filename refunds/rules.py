"""Tagging and the tenant's classification rules, applied when a refund or return arrives and on re-run.

(Placeholder interface; filled in by the rules work.)"""

from __future__ import annotations

from refunds.models import Refund, Return


def classify_refund(refund: Refund) -> None:
    """Tag the refund (code → keyword, never over a person's tag) and apply the first matching rule.
    Saves the changed fields."""


def classify_return(record: Return) -> None:
    """Tag the return from its reason code, else from the customer's comment (never over a person's tag)."""
