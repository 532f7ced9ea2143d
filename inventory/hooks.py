"""What inventory tells the apps above it, without importing them (DESIGN.md: a lower app that must let an
upper one react exposes an explicit registry that the upper app fills in its AppConfig.ready(); never Django
signals for domain logic). Inventory does not know orders: an allocation carries a reference string
("order-line:123") and whoever owns the reference listens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class AllocationListener(Protocol):
    def __call__(self, *, tenant_id: int, changes: Mapping[str, str]) -> None: ...


_ALLOCATION_LISTENERS: list[AllocationListener] = []


def register_allocation_listener(listener: AllocationListener) -> None:
    """Call `listener` whenever allocations change state. Registering the same listener again changes
    nothing (AppConfig.ready() may run more than once in tests)."""
    if listener not in _ALLOCATION_LISTENERS:
        _ALLOCATION_LISTENERS.append(listener)


def allocations_changed(*, tenant_id: int, changes: Mapping[str, str]) -> None:
    """Allocations changed state: `changes` maps each one's line reference to its new AllocationState value,
    for a whole page or operation at once (a listener keeps its rows in a few statements, not a few per line).
    Every listener runs now, inside the caller's transaction, in the order they registered; an exception
    propagates and rolls the change back."""
    if not changes:
        return
    for listener in _ALLOCATION_LISTENERS:
        listener(tenant_id=tenant_id, changes=changes)


class LineTitleProvider(Protocol):
    def __call__(self, *, tenant_id: int, line_refs: list[str]) -> dict[str, str]: ...


_LINE_TITLE_PROVIDERS: list[LineTitleProvider] = []


def register_line_title_provider(provider: LineTitleProvider) -> None:
    """Let the app that owns order lines say what the buyer saw them as (the listing's title), so that a master
    product made from an unmapped channel SKU starts with that name. Registering twice changes nothing."""
    if provider not in _LINE_TITLE_PROVIDERS:
        _LINE_TITLE_PROVIDERS.append(provider)


def line_titles(*, tenant_id: int, line_refs: list[str]) -> dict[str, str]:
    """Line reference → its title, from every provider (the first non-empty one wins); {} when none knows."""
    titles: dict[str, str] = {}
    if not line_refs:
        return titles
    for provider in _LINE_TITLE_PROVIDERS:
        for ref, title in provider(tenant_id=tenant_id, line_refs=line_refs).items():
            if title and ref not in titles:
                titles[ref] = title
    return titles
