"""Forms of the SKU mapping pages. Forms only validate; inventory.mapping writes.

Stores and products are chosen from the signed-in tenant's own (the querysets come from the view), so an
id or SKU of another company is simply not a valid choice.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from acorn.forms import CsvImportForm
from channels.models import Store
from inventory.mapping import parse_pick
from inventory.mapping_checks import MAX_MULTIPLIER
from inventory.models import Product


class MasterSkuField(forms.ModelChoiceField):
    """A master product typed as its SKU (a select of thousands of products helps nobody)."""

    default_error_messages = {"invalid_choice": _("No product has this SKU.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Master SKU"))
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
        super().__init__(queryset=Product.objects.none(), to_field_name="sku", **kwargs)

    def to_python(self, value: Any) -> Any:
        return super().to_python(value.strip() if isinstance(value, str) else value)


class MappingFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=Store.objects.none(), required=False, empty_label=_("All stores")
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs["placeholder"] = _("Channel SKU, ASIN, master SKU or name")


class _MappingFields(forms.Form):
    channel_sku = forms.CharField(label=_("Channel SKU"), max_length=200, required=False)
    channel_product_id = forms.CharField(
        label=_("Channel product id"),
        max_length=60,
        required=False,
        help_text=_("Shopify variant id or WooCommerce product id; blank for Amazon."),
    )
    asin = forms.CharField(label=_("ASIN"), max_length=20, required=False)
    product = MasterSkuField()
    quantity_multiplier = forms.IntegerField(
        label=_("Units per channel unit"),
        min_value=1,
        max_value=MAX_MULTIPLIER,
        initial=1,
        help_text=_("2 for a two-pack listing."),
    )

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "channel_sku" in self.fields and not data.get("channel_sku") and not data.get("channel_product_id"):
            self.add_error("channel_sku", _("Give the channel SKU, the channel product id, or both."))
        return data


class MappingForm(_MappingFields):
    """Add a mapping: the store, what the channel calls the item, and the master product it is."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    field_order = ["store", "channel_sku", "channel_product_id", "asin", "product", "quantity_multiplier"]

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]


class MappingEditForm(_MappingFields):
    """Change a mapping (its store stays: a mapping is the store's name for a product)."""


class QueueMapForm(MappingForm):
    """Map one SKU of the unmapped queue: the store and channel names come from the queue row."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("store", "channel_sku", "channel_product_id"):
            self.fields[name].widget = forms.HiddenInput()
        del self.fields["asin"]


class MappingImportForm(CsvImportForm):
    file_help_text = _(
        "Columns: store, channel_sku, channel_product_id, asin, master_sku, quantity_multiplier. "
        "UTF-8 (Excel: “CSV UTF-8”) or GB18030."
    )


class UnmappedCreateForm(forms.Form):
    """One row per chosen unmapped channel SKU: `pick_<n>` (which one, hidden), `sku_<n>` and `name_<n>` of the
    master product to make of it."""

    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = count
        for index in range(count):
            self.fields[f"pick_{index}"] = forms.CharField(widget=forms.HiddenInput, max_length=400)
            # Checked by the service with the rest (uniqueness), so that every row's problems show at once.
            self.fields[f"sku_{index}"] = forms.CharField(
                label=_("Master SKU"),
                max_length=100,
                required=False,
                widget=forms.TextInput(attrs={"spellcheck": "false"}),
            )
            self.fields[f"name_{index}"] = forms.CharField(label=_("Name"), max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for index in range(self.count):
            value = data.get(f"pick_{index}")
            if value is not None and parse_pick(value) is None:
                raise forms.ValidationError(_("The list of SKUs was changed; start again from the unmapped SKUs."))
        return data

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"pick_{i}"], self[f"sku_{i}"], self[f"name_{i}"]) for i in range(self.count)]

    def entries(self) -> list[tuple[tuple[int, str, str], str, str]]:
        """((store id, channel SKU, channel product id), SKU, name) per row."""
        data = self.cleaned_data
        result = []
        for index in range(self.count):
            pick = parse_pick(data[f"pick_{index}"])
            assert pick is not None  # clean() refused anything else
            result.append((pick, data[f"sku_{index}"], data[f"name_{index}"]))
        return result
