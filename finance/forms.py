"""Forms of the finance console: list filters, "map this type" and the settlement file upload. Forms only
validate; views call the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.models import Platform, Store
from finance.exports.models import DateFormat, ExportFormat
from finance.settlements.models import Category, CategoryRule, Settlement, SettlementKind, SettlementStatus

_DATE = forms.DateInput(attrs={"type": "date"})


class SettlementFilterForm(forms.Form):
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *SettlementStatus.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *SettlementKind.choices])
    deposited_from = forms.DateField(label=_("Deposited from"), required=False, widget=_DATE)
    deposited_until = forms.DateField(label=_("Deposited until"), required=False, widget=_DATE)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("deposited_from"), data.get("deposited_until")
        if start and end and start > end:
            self.add_error("deposited_until", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The selector's keyword arguments (none when the form is unbound or invalid)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "store_id": data.get("store"),
            "status": data.get("status") or "",
            "kind": data.get("kind") or "",
            "deposited_from": data.get("deposited_from"),
            "deposited_until": data.get("deposited_until"),
        }


class StoreFilterForm(forms.Form):
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]

    def store_id(self) -> int | None:
        return self.cleaned_data.get("store") if self.is_bound and self.is_valid() else None


def _mappable_categories() -> list[tuple[str, Any]]:
    return [("", _("Choose a category…")), *[c for c in Category.choices if c[0] != Category.UNCLASSIFIED]]


def _length(name: str) -> int:
    return int(getattr(CategoryRule._meta.get_field(name), "max_length", 0) or 0)


class CategoryMapForm(forms.Form):
    """ "Map this type": the vendor type (as the statement printed it) and the category it belongs to."""

    platform = forms.ChoiceField(choices=Platform.choices, widget=forms.HiddenInput)
    transaction_type = forms.CharField(
        required=False, strip=False, max_length=_length("transaction_type"), widget=forms.HiddenInput
    )
    amount_type = forms.CharField(
        required=False, strip=False, max_length=_length("amount_type"), widget=forms.HiddenInput
    )
    amount_description = forms.CharField(
        required=False, strip=False, max_length=_length("amount_description"), widget=forms.HiddenInput
    )
    category = forms.ChoiceField(label=_("Category"), choices=_mappable_categories)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        names = ("transaction_type", "amount_type", "amount_description")
        parts = [str(data.get(name) or "").strip() for name in names]
        if not any(parts) and not self.errors:
            raise forms.ValidationError(_("The type to map has no name: nothing to map."))
        return data


# A settlement V2 file of a busy store runs to hundreds of thousands of lines; gzip it above this.
SETTLEMENT_FILE_MAX_BYTES = 200 * 1024 * 1024


class SettlementUploadForm(forms.Form):
    """A settlement V2 flat file downloaded from Seller Central, for one of the company's Amazon stores."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    file = forms.FileField(
        label=_("Settlement file"),
        help_text=_(
            "The flat file (V2) from Seller Central, Reports → Payments → All statements: tab-separated, "
            "plain or gzip, any marketplace's number and date format."
        ),
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > SETTLEMENT_FILE_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(mb)d MB; compress it with gzip.")
                % {"mb": SETTLEMENT_FILE_MAX_BYTES // 2**20}
            )
        return upload


# --- Journal exports ---------------------------------------------------------------------------------------------

JOURNAL_EXPORT_STATEMENTS_SHOWN = 300


class JournalExportForm(forms.Form):
    """An export of journals: the format, the scope (a statement, a month, a store; together they narrow it) and how
    dates and tracking are written."""

    format = forms.ChoiceField(label=_("Format"), choices=ExportFormat.choices)
    settlement = forms.ModelChoiceField(
        label=_("Statement"), queryset=Settlement.objects.none(), required=False, empty_label=_("Any statement")
    )
    month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text=_("The journals dated in this month."),
    )
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=Store.objects.none(), required=False, empty_label=_("All stores")
    )
    date_format = forms.ChoiceField(
        label=_("Date format"),
        choices=DateFormat.choices,
        required=False,
        help_text=_(
            "QuickBooks Online: MM/DD/YYYY for US companies, DD/MM/YYYY elsewhere. Xero: DD/MM/YYYY. "
            "QuickBooks Desktop always takes MM/DD/YYYY."
        ),
    )
    tracking = forms.BooleanField(
        label=_("Store and marketplace as class / location (QuickBooks) or tracking (Xero)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], settlements: QuerySet[Settlement], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]
        self.fields["settlement"].queryset = settlements  # type: ignore[attr-defined]
        self.fields["settlement"].label_from_instance = (  # type: ignore[attr-defined]
            lambda statement: f"{statement.external_id} · {statement.store.name} · {statement.get_kind_display()}"
        )

    def clean_month(self) -> date | None:
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError(_("Enter a month such as 2026-11.")) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(name) for name in ("settlement", "month", "store")):
            raise forms.ValidationError(_("Choose a statement, a month or a store to export."))
        return data
