"""Keyset pagination for long lists (orders, refunds): "the next 50 after this row", never OFFSET, so page
1,000 costs what page 1 costs, and a row arriving meanwhile does not shift the pages.

The ordering is one field plus the primary key as tie-breaker, both in the same direction. The cursor is
an opaque, URL-safe token holding the direction and the last (or first) row's values.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

T = TypeVar("T", bound=Model)


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    object_list: list[T]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _encode(direction: str, values: list[Any]) -> str:
    plain = [
        {"t": value.isoformat()}
        if isinstance(value, datetime)
        else {"day": value.isoformat()}
        if isinstance(value, date)
        else value
        for value in values
    ]
    raw = json.dumps({"d": direction, "v": plain}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse(value: Any) -> Any:
    """A cursor value back: a datetime, a date (ordering by a DateField), or the plain JSON value."""
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"]) if "t" in value else date.fromisoformat(value["day"])
    return value


def _decode(cursor: str) -> tuple[str, list[Any]] | None:
    """A cursor someone edited or truncated is treated as no cursor (the first page), never an error."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        direction, values = data["d"], data["v"]
        if direction not in ("n", "p") or not isinstance(values, list) or len(values) != 2:
            return None
        parsed = [_parse(value) for value in values]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return direction, parsed


def _values(row: Model, fields: tuple[str, str]) -> list[Any]:
    return [getattr(row, name) for name in fields]


def keyset_paginate(queryset: QuerySet[T], *, ordering: str, cursor: str | None, per_page: int = 50) -> KeysetPage[T]:
    """One page of `queryset` ordered by `ordering` ("-purchased_at" or "purchased_at") then pk."""
    descending = ordering.startswith("-")
    field = ordering.lstrip("-")
    fields = (field, "pk")
    decoded = _decode(cursor) if cursor else None
    backwards = decoded is not None and decoded[0] == "p"
    # Walking backwards reads the rows before the cursor in reverse order, then flips them.
    reverse = descending != backwards
    order_by = [f"-{field}", "-pk"] if reverse else [field, "pk"]
    rows = queryset.order_by(*order_by)
    if decoded is not None:
        value, pk = decoded[1]
        after = "lt" if reverse else "gt"
        # The first filter is implied by the second; it lets the database start the index range at the
        # cursor instead of reading and dropping every row before it (page 10,000 as cheap as page 2).
        rows = rows.filter(**{f"{field}__{after}e": value}).filter(
            Q(**{f"{field}__{after}": value}) | Q(**{field: value, f"pk__{after}": pk})
        )
    fetched = list(rows[: per_page + 1])
    more = len(fetched) > per_page
    fetched = fetched[:per_page]
    if backwards:
        fetched.reverse()
    if not fetched:
        return KeysetPage([], None, None)
    has_next = more if not backwards else True
    has_previous = (decoded is not None) if not backwards else more
    return KeysetPage(
        object_list=fetched,
        next_cursor=_encode("n", _values(fetched[-1], fields)) if has_next else None,
        previous_cursor=_encode("p", _values(fetched[0], fields)) if has_previous else None,
    )
