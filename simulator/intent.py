"""What the simulator meant when it wrote a buyer's comment or a refund reason: the reason tag, as a plain string.

A reverse index over the simulator's own text tables — the Amazon customer comments (by kind of reason), the
Shopify return notes (by ReturnReason) and refund notes (by kind), the WooCommerce refund reasons — from each
sentence to the taxonomy slug it was written for. The slugs equal the values of ``refunds.models.ReasonTag``
(the simulator does not import the domain apps). None: the sentence names no reason ("Return received",
"Order cancelled", an empty note).

Used by tests and benchmarks to check that ACORN's tagging comes out as the simulator intended.
"""

from __future__ import annotations

from functools import cache

from simulator.returns_data import _COMMENTS
from simulator.shopify.catalogue import CUSTOMER_NOTES, REFUND_NOTES
from simulator.woocommerce.catalogue import FULL_REFUND_REASON, REFUND_REASONS

DEFECTIVE = "defective"
WRONG_ITEM = "wrong_item"
DAMAGED = "damaged"
NOT_AS_DESCRIBED = "not_as_described"
SIZE_FIT = "size_fit"
NO_LONGER_NEEDED = "no_longer_needed"
ARRIVED_LATE = "arrived_late"
MISSING_PARTS = "missing_parts"
UNAUTHORISED = "unauthorised"
OTHER = "other"

# Amazon customer comments: kind of reason (returns_data._COMMENTS) → tag. "wrong_item" comments are written
# for ORDERED_WRONG_ITEM and NOT_COMPATIBLE (wrong model, does not fit my phone), "switched" ones for
# SWITCHEROO (a different product arrived); "price" (found it cheaper) is buyer's remorse.
AMAZON_COMMENT_KINDS: dict[str, str | None] = {
    "broken": DEFECTIVE,
    "quality": DEFECTIVE,
    "described": NOT_AS_DESCRIBED,
    "damaged": DAMAGED,
    "missing": MISSING_PARTS,
    "unwanted": NO_LONGER_NEEDED,
    "price": NO_LONGER_NEEDED,
    "wrong_item": WRONG_ITEM,
    "switched": WRONG_ITEM,
    "late": ARRIVED_LATE,
}
# Shopify return line notes, by ReturnReason. The OTHER notes are all accidental double orders.
SHOPIFY_NOTE_REASONS: dict[str, str | None] = {
    "SIZE_TOO_SMALL": SIZE_FIT,
    "SIZE_TOO_LARGE": SIZE_FIT,
    "UNWANTED": NO_LONGER_NEEDED,
    "STYLE": NO_LONGER_NEEDED,
    "NOT_AS_DESCRIBED": NOT_AS_DESCRIBED,
    "COLOR": NOT_AS_DESCRIBED,
    "WRONG_ITEM": WRONG_ITEM,
    "DEFECTIVE": DEFECTIVE,
    "OTHER": NO_LONGER_NEEDED,
    "UNKNOWN": None,
}
# Shopify refund notes, by kind: a return's refund and a cancellation's say nothing about why; goodwill is
# for late delivery (except a bare price adjustment); a lost parcel is a transit problem.
SHOPIFY_REFUND_NOTE_KINDS: dict[str, str | None] = {
    "return": None,
    "goodwill": ARRIVED_LATE,
    "lost": DAMAGED,
    "cancel": None,
}
SENTENCE_OVERRIDES: dict[str, str | None] = {"Price adjustment": None}
# WooCommerce refund reasons are listed per language in the same order of meaning: the customer cancelled,
# the item arrived damaged, the return was received, the wrong size was ordered (not every language has all).
WOOCOMMERCE_REASON_POSITIONS: tuple[str | None, ...] = (NO_LONGER_NEEDED, DAMAGED, None, SIZE_FIT)


class IntentConflict(ValueError):
    """The same sentence was written for two different tags: the index cannot say which was meant."""


def _add(index: dict[str, str | None], text: str, tag: str | None) -> None:
    key = text.strip()
    if not key:
        return
    tag = SENTENCE_OVERRIDES.get(key, tag)
    if key in index and index[key] != tag:
        raise IntentConflict(f"{key!r}: {index[key]} or {tag}")
    index[key] = tag


@cache
def intent_index() -> dict[str, str | None]:
    """Every sentence of the simulator's comment and reason tables → the tag it was written for (or None)."""
    index: dict[str, str | None] = {}
    for kind, by_language in _COMMENTS.items():
        for sentences in by_language.values():
            for sentence in sentences:
                _add(index, sentence, AMAZON_COMMENT_KINDS[kind])
    for reason, notes in CUSTOMER_NOTES.items():
        for note in notes.values():
            _add(index, note, SHOPIFY_NOTE_REASONS[reason])
    for kind, notes_of_kind in REFUND_NOTES.items():
        for note in notes_of_kind:
            _add(index, note, SHOPIFY_REFUND_NOTE_KINDS[kind])
    for reasons in REFUND_REASONS.values():
        for position, reason in enumerate(reasons):
            _add(index, reason, WOOCOMMERCE_REASON_POSITIONS[position])
    _add(index, FULL_REFUND_REASON, None)
    return index


def intended_tag(text: str) -> str | None:
    """The taxonomy slug the simulator meant when it wrote `text` (None: no reason, or not a simulator text)."""
    return intent_index().get((text or "").strip())


def simulator_texts() -> list[str]:
    """Every sentence the simulator writes as a comment, note or refund reason (for coverage tests)."""
    return list(intent_index())
