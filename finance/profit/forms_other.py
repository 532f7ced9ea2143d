"""Forms of the costs that belong to no order: the list's filters, a cost entered by hand, the advertising
report upload, and the profit settings (spreading, fulfilment rates per warehouse). Forms only validate; the
views call finance.profit.other_costs / ad_reports."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.forms import CsvImportForm
from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, currency_choices
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE
from channels.models import Store
from finance.profit.models import OtherCostKind, OtherCostSource
from finance.profit.other_costs import ManualCost, RateEntry
from inventory.models import Product, Warehouse

_DATE = forms.DateInput(attrs={"type": "date"})


def _marketplace_choices() -> list[tuple[str, Any]]:
    return [("", _("None")), *[(code, f"{code} · {entry.domain}") for code, entry in AMAZON_MARKETPLACE_TABLE.items()]]


class OtherCostFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *OtherCostKind.choices])
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("All")), *OtherCostSource.choices])
    day_from = forms.DateField(label=_("From"), required=False, widget=_DATE)
    day_until = forms.DateField(label=_("Until"), required=False, widget=_DATE)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("day_from"), data.get("day_until")
        if start and end and start > end:
            self.add_error("day_until", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The selector's keyword arguments (none when the form is unbound or invalid)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "kind": data.get("kind") or "",
            "store_id": data.get("store"),
            "source": data.get("source") or "",
            "day_from": data.get("day_from"),
            "day_until": data.get("day_until"),
        }


class OtherCostForm(forms.Form):
    """A cost of no order entered by hand: a cost as a positive amount, a reimbursement as money received."""

    kind = forms.ChoiceField(label=_("Kind"), choices=OtherCostKind.choices)
    day = forms.DateField(label=_("Day"), widget=_DATE)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        min_value=Decimal("0.0001"),
        help_text=_("A cost as a positive number (it is counted as money paid); a reimbursement is money received."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False, choices=_marketplace_choices)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def __init__(self, *args: Any, stores: QuerySet[Store], products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["store"].empty_label = _("Whole company")  # type: ignore[attr-defined]
        self.fields["product"].empty_label = _("No product")  # type: ignore[attr-defined]

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if day > (timezone.now() + timedelta(days=1)).date():
            raise forms.ValidationError(_("This day is in the future."))
        return day

    def entry(self) -> ManualCost:
        data = self.cleaned_data
        return ManualCost(
            kind=data["kind"],
            day=data["day"],
            amount=data["amount"],
            currency=data["currency"],
            description=data.get("description") or "",
            store=data.get("store"),
            marketplace=data.get("marketplace") or "",
            product=data.get("product"),
        )


class AdReportUploadForm(CsvImportForm):
    file_help_text = _(
        "An Amazon Ads advertised product report (CSV or XLSX, time unit Daily) or ACORN's template: "
        "date, sku, spend, currency, campaign."
    )

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    currency = forms.ChoiceField(
        label=_("Currency"),
        required=False,
        choices=lambda: [("", _("As the report says")), *currency_choices()],
        help_text=_("Only needed when the report has no currency column."),
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]
        self.fields["file"].label = _("Report file")
        self.order_fields(["store", "file", "currency"])


class ProfitSettingsForm(forms.Form):
    spread_unassigned_costs = forms.BooleanField(
        label=_("Spread costs of no order over SKUs by units sold"),
        required=False,
        help_text=_(
            "Off: storage, subscription, advertising without a SKU and other costs of no order stay their own "
            "“not assigned to a SKU” line. On: each is shared among the SKUs sold in the same store that day."
        ),
    )


class FulfilmentRateForm(forms.Form):
    """One warehouse's rate: leave both amounts empty for none."""

    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    per_order = forms.DecimalField(
        label=_("Per order"),
        required=False,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
    )
    per_unit = forms.DecimalField(
        label=_("Per unit"),
        required=False,
        min_value=Decimal(0),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
    )

    def __init__(self, *args: Any, warehouse: Warehouse, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warehouse = warehouse

    def entry(self) -> RateEntry:
        data = self.cleaned_data
        return RateEntry(
            warehouse=self.warehouse,
            currency=data["currency"],
            per_order=data.get("per_order"),
            per_unit=data.get("per_unit"),
        )
