"""Forms of the inventory pages. Forms only validate; services change stock."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from acorn.money import currency_in_use
from inventory.models import MovementKind, Product, Warehouse, WarehouseKind


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


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "unit_cost_amount",
            "unit_cost_currency",
            "weight_grams",
            "low_stock_threshold",
            "active",
        ]
        help_texts = {
            "sku": _("Your own stock-keeping code; channel SKUs are mapped onto it."),
            "low_stock_threshold": _("Alert when available stock falls to this many units. Empty: no alert."),
        }

    def clean_unit_cost_currency(self) -> str:
        code = str(self.cleaned_data["unit_cost_currency"]).strip().upper()
        stored = self.initial.get("unit_cost_currency") or (
            self.instance.unit_cost_currency if self.instance.pk else ""
        )
        kept = bool(stored) and code == stored
        if not kept and not currency_in_use(code):
            # A product saved long ago may keep a withdrawn code; a new choice must be a currency in use.
            raise forms.ValidationError(_("%(code)s is not a currency in use."), params={"code": code})
        return code

    def clean_unit_cost_amount(self) -> Any:
        amount = self.cleaned_data["unit_cost_amount"]
        if amount is not None and amount < 0:
            raise forms.ValidationError(_("A cost cannot be negative."))
        return amount


class ComponentForm(forms.Form):
    component = forms.ModelChoiceField(label=_("Component"), queryset=Product.objects.none(), required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000, required=False)

    def __init__(self, *args: Any, products: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["component"].queryset = products  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("component") is not None and not data.get("quantity"):
            self.add_error("quantity", _("How many of it does one bundle take?"))
        return data


ComponentFormSet = forms.formset_factory(ComponentForm, extra=3, max_num=50, validate_max=True)


class WarehouseForm(forms.ModelForm):
    class Meta:
        model = Warehouse
        fields = ["name", "kind", "country", "active"]
        help_texts = {"country": _("Two letters, e.g. CN, US, DE.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [  # type: ignore[attr-defined]
            (WarehouseKind.OWN, WarehouseKind.OWN.label),
            (WarehouseKind.THIRD_PARTY, WarehouseKind.THIRD_PARTY.label),
        ]

    def clean_country(self) -> str:
        country = str(self.cleaned_data["country"]).strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. CN."))
        return country
