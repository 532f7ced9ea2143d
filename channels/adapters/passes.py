"""Reading a shop's refunds or returns order by order, one vendor call per page.

Shops (Shopify, WooCommerce) have no listing of refunds or returns by time: a refund or a return updates its
order, so a pass lists the orders updated in the window (a page at a time, keeping in the page token the ids
of those that have refunds or returns) and then reads each of them, one call per engine page, so that a
failed call is retried alone and rate limits apply per call. The newest order time listed is how far the
pass got: it rides on the pass's last page as `Page.newest` (the refunds' and returns' own times are older
than their orders' updates, so the engine could not tell from them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from channels.adapters.base import Page


def _decode(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        state = json.loads(token)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def order_by_order_page(
    list_orders: Callable[[str | None], Page[Any]],
    read_order: Callable[[Any], Page[Any]],
    page_token: str | None,
) -> Page[Any]:
    """One call of the pass: list a page of orders updated in the window (`list_orders(cursor)`, whose items
    are the orders to read and whose `newest` is the newest order time listed), or read the next of those
    orders (`read_order(item)`)."""
    state = _decode(page_token)
    queue: list[Any] = list(state.get("q") or [])
    newest = datetime.fromisoformat(state["n"]) if state.get("n") else None
    listing_done = bool(state.get("d"))
    cursor = state.get("c") or None
    if queue:
        page = read_order(queue.pop(0))
        items: tuple[Any, ...] = page.items
        bad = page.bad_records
        rate = page.rate_limit
    else:
        listed = list_orders(cursor)
        queue = [list(item) if isinstance(item, tuple) else item for item in listed.items]
        if listed.newest is not None and (newest is None or listed.newest > newest):
            newest = listed.newest
        cursor, listing_done = listed.next_token, not listed.next_token
        items, bad, rate = (), listed.bad_records, listed.rate_limit
    following = None
    if queue or not listing_done:
        following = {"q": queue, "c": cursor, "d": listing_done, "n": newest.isoformat() if newest else None}
    return Page(
        items=items,
        bad_records=bad,
        next_token=json.dumps(following, separators=(",", ":")) if following else None,
        rate_limit=rate,
        # The engine takes the high-water mark from the last page of a pass: only that one needs it.
        newest=newest if following is None else None,
    )
