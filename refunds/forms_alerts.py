"""Forms of the refund-rate console: alert filters, the acknowledgement note, the refund-rate table's choices
and the threshold editor (the tenant default and overrides per SKU, category or store)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.tenancy.models import ProductCategory
from channels.models import Platform, Store
from inventory.models import Product
from refunds.alerts import ALL_STORES
from refunds.models import AlertStatus, RefundRateThreshold, ThresholdScope
from refunds.rates import ORDER_DATE, REFUND_DATE, WINDOWS

ALL_CHANNELS = ALL_STORES
STATUS_TABS = [
    (AlertStatus.OPEN.value, AlertStatus.OPEN.label),
    (AlertStatus.ACKNOWLEDGED.value, AlertStatus.ACKNOWLEDGED.label),
    (AlertStatus.RESOLVED.value, AlertStatus.RESOLVED.label),
    ("all", gettext_lazy("All")),
]
BASIS_CHOICES = [(REFUND_DATE, gettext_lazy("By refund date")), (ORDER_DATE, gettext_lazy("By order date"))]
WINDOW_CHOICES = [(str(days), gettext_lazy("%(days)s days") % {"days": days}) for days in WINDOWS]
SORT_CHOICES = [
    ("-rate", gettext_lazy("Highest rate first")),
    ("rate", gettext_lazy("Lowest rate first")),
    ("-sold", gettext_lazy("Most units sold first")),
    ("-refunded", gettext_lazy("Most units refunded first")),
]


def _store_choices(stores: list[Store]) -> list[tuple[str, str]]:
    return [(str(store.pk), store.name) for store in stores]


class AlertFilterForm(forms.Form):
    """The alerts page's filters: status tab, store ("all" = the alerts across every channel) and SKU."""

    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=STATUS_TABS)
    store = forms.ChoiceField(label=gettext_lazy("Store"), required=False)
    sku = forms.CharField(label=gettext_lazy("SKU"), required=False, max_length=100)

    def __init__(self, *args: Any, stores: list[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["store"]).choices = [
            ("", _("Any")),
            (ALL_CHANNELS, _("All channels together")),
            *_store_choices(stores),
        ]


class AlertAcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What was found or done, for the team (for example: supplier batch replaced)."),
        error_messages={"required": gettext_lazy("Write a note: what was found or done about this alert.")},
    )

    def clean_note(self) -> str:
        note = str(self.cleaned_data["note"]).strip()
        if not note:
            raise forms.ValidationError(_("Write a note: what was found or done about this alert."))
        return note


class RateFilterForm(forms.Form):
    """The refund-rate table: window, basis, store / channel and the order of the rows."""

    window = forms.TypedChoiceField(
        label=gettext_lazy("Window"), required=False, choices=WINDOW_CHOICES, coerce=int, empty_value=None, initial="30"
    )
    basis = forms.ChoiceField(label=gettext_lazy("Count refunds"), required=False, choices=BASIS_CHOICES)
    store = forms.TypedChoiceField(label=gettext_lazy("Store"), required=False, coerce=int, empty_value=None)
    platform = forms.ChoiceField(
        label=gettext_lazy("Channel"), required=False, choices=[("", gettext_lazy("All")), *Platform.choices]
    )
    sort = forms.ChoiceField(label=gettext_lazy("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, stores: list[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["store"]).choices = [("", _("All stores")), *_store_choices(stores)]

    def values(self) -> dict[str, Any]:
        """The chosen values, or the defaults (30 days by refund date, highest rate first) when invalid."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "window": data.get("window") or 30,
            "basis": data.get("basis") or REFUND_DATE,
            "store": data.get("store"),
            "platform": data.get("platform") or "",
            "sort": data.get("sort") or "-rate",
        }


class TrendFilterForm(forms.Form):
    """The SKU page: window and basis of the trend chart and the breakdowns."""

    window = forms.TypedChoiceField(
        label=gettext_lazy("Window"), required=False, choices=WINDOW_CHOICES, coerce=int, empty_value=None, initial="30"
    )
    basis = forms.ChoiceField(label=gettext_lazy("Count refunds"), required=False, choices=BASIS_CHOICES)

    def values(self) -> tuple[int, str]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return data.get("window") or 30, data.get("basis") or REFUND_DATE


class DefaultThresholdForm(forms.ModelForm):
    """The company default: applies to every SKU no override covers."""

    window_days = forms.TypedChoiceField(label=gettext_lazy("Over the last"), choices=WINDOW_CHOICES, coerce=int)

    class Meta:
        model = RefundRateThreshold
        fields = ["rate_percent", "window_days", "min_units_sold", "enabled"]
        help_texts = {
            "rate_percent": gettext_lazy(
                "For example 8: alert when more than 8 percent of the units sold were refunded."
            ),
            "min_units_sold": gettext_lazy("Fewer sales than this never alert: one refund of two sales is noise."),
        }

    def clean_rate_percent(self) -> Any:
        rate = self.cleaned_data.get("rate_percent")
        if rate is not None and not (0 < rate <= 100):
            raise forms.ValidationError(_("Enter a rate above 0 and at most 100 percent."))
        return rate


class ThresholdForm(DefaultThresholdForm):
    """An override for one SKU, a product category or one store."""

    scope = forms.ChoiceField(
        label=gettext_lazy("Applies to"),
        choices=[(value, label) for value, label in ThresholdScope.choices if value != ThresholdScope.DEFAULT],
    )
    product = forms.ModelChoiceField(label=gettext_lazy("SKU"), queryset=Product.objects.none(), required=False)
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=Store.objects.none(), required=False)
    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        required=False,
        choices=[("", "---------"), *ProductCategory.choices],
        help_text=gettext_lazy(
            "Products carry no category: a category threshold applies when it is your company's main category "
            "(Settings → Company), in place of the default."
        ),
    )

    class Meta(DefaultThresholdForm.Meta):
        fields = ["scope", "product", "category", "store", "rate_percent", "window_days", "min_units_sold", "enabled"]

    def __init__(self, *args: Any, products: Any, stores: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product_field = cast(forms.ModelChoiceField, self.fields["product"])
        store_field = cast(forms.ModelChoiceField, self.fields["store"])
        product_field.queryset, product_field.empty_label = products, _("Choose a SKU")
        store_field.queryset, store_field.empty_label = stores, _("Choose a store")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        scope = data.get("scope")
        if scope == ThresholdScope.PRODUCT and not data.get("product"):
            self.add_error("product", _("Choose the SKU this threshold is for."))
        if scope == ThresholdScope.STORE and not data.get("store"):
            self.add_error("store", _("Choose the store this threshold is for."))
        if scope == ThresholdScope.CATEGORY and not data.get("category"):
            self.add_error("category", _("Choose the product category this threshold is for."))
        # Only the chosen target is kept: a SKU override does not also name a store.
        if scope != ThresholdScope.PRODUCT:
            data["product"] = None
        if scope != ThresholdScope.STORE:
            data["store"] = None
        if scope != ThresholdScope.CATEGORY:
            data["category"] = ""
        return data


def product_choices(*, tenant: Any) -> Any:
    """The tenant's products for the SKU override select."""
    return Product.objects.filter(tenant=tenant).order_by("sku")
