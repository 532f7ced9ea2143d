"""Forms of the costs pages. Forms only validate; finance.profit.costs writes.

Products and warehouses are chosen from the signed-in tenant's own (the querysets come from the view), so an
SKU or id of another company is simply not a valid choice.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.forms import CsvImportForm
from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, currency_choices
from finance.profit.costs_import import CSV_COLUMNS, MAX_UNITS
from inventory.forms_mappings import MasterSkuField
from inventory.models import Product, Warehouse


class CostSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("SKU or name")

    def query(self) -> str:
        return self.cleaned_data.get("q", "").strip() if self.is_valid() else ""


def _amount_field(label: Any, *, required: bool, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        help_text=help_text,
        error_messages={"min_value": gettext_lazy("Enter an amount of 0 or more.")},
    )


class CostReceiptForm(forms.Form):
    product = MasterSkuField()
    warehouse = forms.ModelChoiceField(
        label=gettext_lazy("Warehouse"),
        queryset=Warehouse.objects.none(),
        required=False,
        empty_label=gettext_lazy("All warehouses"),
        help_text=gettext_lazy("Leave “All warehouses” for a cost that holds wherever the product is."),
    )
    received = forms.DateField(
        label=gettext_lazy("Received"),
        help_text=gettext_lazy("The day the goods arrived (YYYY-MM-DD); the cost counts from the start of it, UTC."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Units"),
        min_value=1,
        max_value=MAX_UNITS,
        error_messages={"min_value": gettext_lazy("Enter a whole number of units above 0.")},
    )
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), choices=currency_choices)
    unit_cost = _amount_field(gettext_lazy("Unit cost"), required=True)
    freight = _amount_field(
        gettext_lazy("Freight"), required=False, help_text=gettext_lazy("For all the units of this receipt.")
    )
    duty = _amount_field(
        gettext_lazy("Duty"), required=False, help_text=gettext_lazy("For all the units of this receipt.")
    )
    other = _amount_field(
        gettext_lazy("Other landed costs"),
        required=False,
        help_text=gettext_lazy("Inspection, insurance, customs broker… for all the units of this receipt."),
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Purchase order, invoice or shipment."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, products: QuerySet[Product], warehouses: QuerySet[Warehouse], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["warehouse"].queryset = warehouses  # type: ignore[attr-defined]

    def clean_received(self) -> Any:
        day = self.cleaned_data["received"]
        if day > timezone.now().astimezone(UTC).date():
            raise forms.ValidationError(_("The day is in the future."))
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("freight", "duty", "other"):
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = Decimal(0)
        return cleaned


class CostImportForm(CsvImportForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].label = _("CSV or XLSX file")
        self.fields["file"].help_text = _(
            "CSV (UTF-8 or GB18030) or an XLSX workbook (first sheet). Columns: %(columns)s."
        ) % {"columns": ", ".join(CSV_COLUMNS)}
