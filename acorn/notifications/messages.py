"""Sentences stored to be read later, in the reader's language.

A notification is written by a worker (whose language is the site default) and read by people in English or
Chinese. So a notice keeps what it says as a message id (marked with `gettext_noop`, so makemessages finds it)
and its parameters, and is rendered with `gettext` when a person reads it (`Notification.title_text`). The
plain text rendered at write time is kept beside it, for email subjects, search and old rows.

    notify(..., title=message(gettext_noop("%(sku)s is low on stock"), sku=product.sku), ...)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from acorn.dates import format_day, format_moment


def _plain(value: Any) -> Any:
    """A parameter as JSON keeps it: numbers and text as they are, a message as its msgid and parameters (so a
    name such as "Orders" / "订单" is rendered in the reader's language too), a day or a moment tagged as such
    (written in the reader's style when read), anything else as its text."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Message):
        return value.stored()
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return {"moment": value.isoformat()}
    if isinstance(value, date):
        return {"day": value.isoformat()}
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class Message:
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The sentence in the active language (message parameters rendered in it as well)."""
        text = gettext(self.msgid)
        return text % {name: _rendered(value) for name, value in self.params.items()} if self.params else text

    def __str__(self) -> str:
        return self.render()

    def stored(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": dict(self.params)}


def _rendered(value: Any) -> Any:
    """A stored parameter for the sentence: a stored message rendered in the active language, a day or a moment
    written in the reader's style (and a moment in the active time zone, acorn.dates), else as it is."""
    if isinstance(value, Mapping):
        if "msgid" in value:
            return Message(value["msgid"], value.get("params") or {}).render()
        if "day" in value:
            return format_day(date.fromisoformat(value["day"]))
        if "moment" in value:
            return format_moment(datetime.fromisoformat(value["moment"]))
    return value


def message(msgid: str, **params: Any) -> Message:
    """A sentence (its msgid marked with gettext_noop) with its parameters, rendered when read."""
    return Message(msgid, {name: _plain(value) for name, value in params.items()})


Text = str | Message | Sequence[Message]


def text_parts(text: Text) -> list[Message] | None:
    """The messages of a notification's title or body (None: plain text, kept as written)."""
    if isinstance(text, str):
        return None
    if isinstance(text, Message):
        return [text]
    return list(text)


def render_stored(parts: Sequence[Mapping[str, Any]], separator: str = " ") -> str:
    """Stored messages rendered in the active language, joined by `separator` (a body's lines by a line
    break); a message whose parameters no longer fit its translation falls back to the English text."""
    rendered = []
    for part in parts:
        msgid, params = part.get("msgid", ""), part.get("params") or {}
        try:
            rendered.append(Message(msgid, params).render())
        except (KeyError, TypeError, ValueError):
            rendered.append(msgid % {name: _rendered(value) for name, value in params.items()} if params else msgid)
    return separator.join(rendered)
