"""What refunds tells the apps above it (finance's P&L), without importing them: a registry those apps fill
in their AppConfig.ready() (DESIGN.md; never Django signals for domain logic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RefundsMoneyChangedListener(Protocol):
    def __call__(self, *, tenant_id: int, refund_ids: Sequence[int]) -> None: ...


_LISTENERS: list[RefundsMoneyChangedListener] = []


def register_refunds_money_changed_listener(listener: RefundsMoneyChangedListener) -> None:
    """Call `listener` whenever refunds arrived, succeeded or had a return decided (registering the same
    listener again changes nothing)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def refunds_money_changed(*, tenant_id: int, refund_ids: Sequence[int]) -> None:
    """These refunds' money or returns changed: every listener runs now, inside the caller's transaction."""
    ids = [pk for pk in refund_ids if pk]
    if not ids:
        return
    for listener in _LISTENERS:
        listener(tenant_id=tenant_id, refund_ids=ids)
