"""Forms of the fulfilment pages: targets, routing rules, the problems filter. Forms only validate."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from channels.models import Store
from inventory.models import Warehouse
from orders.models import FulfillmentTarget, FulfillmentTargetKind

_SEPARATORS = re.compile(r"[\s,;]+")


def split_values(text: str) -> list[str]:
    """'US, ca  DE' → ['US', 'ca', 'DE']; one SKU per line or separated by commas."""
    return [part for part in _SEPARATORS.split(text or "") if part]


class FulfillmentTargetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("e.g. Los Angeles 3PL"))
    kind = forms.ChoiceField(label=_("How orders reach it"), choices=FulfillmentTargetKind.choices)
    warehouse = forms.ModelChoiceField(
        label=_("Ships from warehouse"),
        queryset=Warehouse.objects.none(),
        required=False,
        help_text=_("The stock this warehouse holds, for your records."),
    )
    endpoint_url = forms.URLField(
        label=_("Order endpoint (HTTPS)"),
        required=False,
        assume_scheme="https",
        help_text=_(
            "Warehouse API only: where ACORN posts each signed order, e.g. https://wms.example.com/acorn/orders"
        ),
    )
    active = forms.BooleanField(
        label=_("Active"), required=False, initial=True, help_text=_("An inactive target receives no new orders.")
    )

    def __init__(self, *args: Any, warehouses: QuerySet[Warehouse], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("kind") == FulfillmentTargetKind.HTTPS
            and not data.get("endpoint_url")
            and "endpoint_url" not in self.errors
        ):
            self.add_error("endpoint_url", _("A warehouse API needs the address ACORN sends orders to."))
        return data


class FulfillmentRouteForm(forms.Form):
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=Store.objects.none(), required=False, empty_label=_("Any store")
    )
    countries = forms.CharField(
        label=_("Buyer countries"),
        required=False,
        max_length=500,
        help_text=_("Two-letter codes separated by commas, e.g. US, CA. Empty: any country."),
    )
    skus = forms.CharField(
        label=_("Channel SKUs"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The rule matches an order with any of these SKUs, one per line. Empty: any SKU."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=0,
        max_value=100_000,
        help_text=_("Rules of all targets are tried in order of position; the first that matches wins."),
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]

    def clean_countries(self) -> list[str]:
        return [code.upper() for code in split_values(self.cleaned_data.get("countries") or "")]

    def clean_skus(self) -> list[str]:
        return [line.strip() for line in re.split(r"[\n,]+", self.cleaned_data.get("skus") or "") if line.strip()]


class ProblemFilterForm(forms.Form):
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("failed", _("Sending failed")),
            ("cancel", _("Cancels to settle")),
            ("no_route", _("No route")),
            ("stock", _("Waiting for stock")),
        ],
    )
    target = forms.ModelChoiceField(
        label=_("Target"), queryset=FulfillmentTarget.objects.none(), required=False, empty_label=_("All targets")
    )

    def __init__(self, *args: Any, targets: QuerySet[FulfillmentTarget], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets  # type: ignore[attr-defined]
