"""Forms of the order pages. Forms only validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from acorn.forms import PYTHON_WIDGET_RENDERER
from channels.models import Platform
from orders.models import FulfillmentChannel, OrderStatus, StockProblem
from orders.selectors import ORDER_SORTS


class OrderFilterForm(forms.Form):
    default_renderer = PYTHON_WIDGET_RENDERER  # its selects are drawn on every page of the order list

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_(
            "An order number with or without “#”, or its start; a channel or master SKU in any case; "
            "words from a product title."
        ),
    )
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    platform = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All")), *Platform.choices])
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    country = forms.CharField(label=_("Buyer country"), required=False, max_length=2, help_text=_("e.g. DE"))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices])
    fulfillment = forms.ChoiceField(
        label=_("Fulfilment"), required=False, choices=[("", _("All")), *FulfillmentChannel.choices]
    )
    stock = forms.ChoiceField(
        label=_("Stock"), required=False, choices=[("", _("All")), *StockProblem.choices, ("any", _("Any problem"))]
    )
    money = forms.ChoiceField(
        label=_("Totals"),
        required=False,
        choices=[("", _("All")), ("unexplained", _("Unexplained difference"))],
        help_text=_("Orders whose channel total holds more or less than their lines and adjustments."),
    )
    date_from = forms.DateField(
        label=_("Purchased from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Purchased until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[(key, label) for key, (_field, label) in ORDER_SORTS.items()]
    )

    def __init__(self, *args: Any, stores: list[tuple[int, str]], marketplaces: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
        self.fields["marketplace"].choices = [("", _("All")), *[(code, code) for code in marketplaces]]  # type: ignore[attr-defined]

    def clean_country(self) -> str:
        country = str(self.cleaned_data["country"]).strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. DE."))
        return country

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data
