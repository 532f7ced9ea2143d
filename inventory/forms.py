"""Forms of the inventory pages. Forms only validate; services change stock."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import MovementKind, Warehouse


class _WarehouseForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.none())

    def __init__(self, *args: Any, warehouses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses  # type: ignore[attr-defined]


class ReceiveForm(_WarehouseForm):
    quantity = forms.IntegerField(label=_("Quantity received"), min_value=1, max_value=1_000_000)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False, help_text=_("e.g. PO-2026-031"))


class AdjustForm(_WarehouseForm):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (MovementKind.ADJUSTMENT, MovementKind.ADJUSTMENT.label),
            (MovementKind.DAMAGED, MovementKind.DAMAGED.label),
            (MovementKind.RETURN_TO_STOCK, MovementKind.RETURN_TO_STOCK.label),
        ],
    )
    delta = forms.IntegerField(
        label=_("Change"), min_value=-1_000_000, max_value=1_000_000, help_text=_("Negative to take stock out.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
