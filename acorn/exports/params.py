"""An export job's filters as JSON: a frozen filters dataclass (OrderFilters, RefundFilters) to plain values and
back, by its field types (dates as ISO days, Decimals as exact strings). Unknown keys are ignored, so a job
queued before a filter was renamed still runs."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")


def filters_to_params(filters: Any) -> dict[str, Any]:
    """The dataclass's fields as JSON-ready values."""
    params: dict[str, Any] = {}
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if isinstance(value, date | Decimal):
            value = value.isoformat() if isinstance(value, date) else str(value)
        params[field.name] = value
    return params


def _parse(kind: Any, value: Any) -> Any:
    if value is None or value == "":
        return value
    options = (
        typing.get_args(kind)
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union
        else (kind,)
    )
    if date in options:
        return date.fromisoformat(value)
    if Decimal in options:
        return Decimal(value)
    return value


def filters_from_params(cls: type[T], params: typing.Mapping[str, Any]) -> T:
    """The dataclass `cls` back from `filters_to_params`."""
    hints = typing.get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {name: _parse(hints[name], value) for name, value in params.items() if name in names}
    return cls(**values)
