"""Cost of goods (placeholder until the moving-average module lands): the product's standard cost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from inventory.models import Product


@dataclass(frozen=True)
class UnitCost:
    amount: Decimal
    currency: str
    source: str


def unit_costs_at(
    *, tenant: Any, wanted: Iterable[tuple[int, int | None, datetime]]
) -> dict[tuple[int, int | None, datetime], UnitCost | None]:
    wanted = list(wanted)
    products = {
        pk: (amount, currency)
        for pk, amount, currency in Product.objects.filter(pk__in={w[0] for w in wanted}).values_list(
            "pk", "unit_cost_amount", "unit_cost_currency"
        )
    }
    found: dict[tuple[int, int | None, datetime], UnitCost | None] = {}
    for key in wanted:
        amount, currency = products.get(key[0], (None, ""))
        found[key] = UnitCost(amount, currency, "standard") if amount is not None and currency else None
    return found
