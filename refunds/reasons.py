"""The reason taxonomy: channel reason codes → ReasonTag, and tags read from a buyer's words.

(Placeholder interface; filled in by the reasons work.)"""

from __future__ import annotations


def tag_for_code(platform: str, code: str) -> str | None:
    """The ReasonTag value a channel's reason code means, or None when the code is unknown or says nothing."""
    return None


def tag_from_text(text: str) -> str | None:
    """The ReasonTag value a buyer's comment points to (keywords in en, zh, de, fr, es, it, ja), or None."""
    return None
