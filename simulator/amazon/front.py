"""All routes of the Amazon front, for the server's router."""

from __future__ import annotations

from simulator.amazon import (
    consent,
    feeds,
    finances,
    finances_v0,
    inventory,
    listings,
    lwa,
    orders,
    reports,
    sellers,
)
from simulator.amazon.common import AmazonContext
from simulator.http import Route


def routes(context: AmazonContext) -> list[Route]:
    """Every Amazon route, for the server's router."""
    return [
        *lwa.routes(context),
        *consent.routes(context),
        *orders.routes(context),
        *finances.routes(context),
        *finances_v0.routes(context),
        *inventory.routes(context),
        *reports.routes(context),
        *feeds.routes(context),
        *listings.routes(context),
        *sellers.routes(context),
    ]
