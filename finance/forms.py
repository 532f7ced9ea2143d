"""Forms of the finance console: list filters, "map this type" and the settlement file upload. Forms only
validate; views call the services."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.models import Platform, Store
from finance.exports.models import DateFormat, ExportFormat
from finance.ledger.models import Account, AccountType, JournalSource, JournalStatus, LedgerRole
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


# --- the ledger: accounts, mapping, journals, periods ------------------------------------------------------------


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (what <input type="month"> sends); cleans to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM, e.g. 2026-11.")}

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = str(value or "").strip()
        if not text:
            return None
        match = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return date(int(match.group(1)), int(match.group(2)), 1)


class AccountForm(forms.Form):
    """An account of the chart. Names and codes are checked against the company's other accounts by the service."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("As QuickBooks knows it; a sub-account is written “Parent:Sub”."),
    )
    code = forms.CharField(
        label=_("Code"), max_length=20, required=False, help_text=_("As Xero knows it: at most 10 characters.")
    )
    account_type = forms.ChoiceField(label=_("Type"), choices=AccountType.choices)
    tax_rate = forms.CharField(
        label=_("Tax rate"),
        max_length=60,
        initial="Tax Exempt",
        help_text=_("Xero's tax rate name for its lines, e.g. “Tax Exempt” or “20% (VAT on Income)”."),
    )
    platform = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Platform.choices]
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive account takes no new lines: what is mapped to it goes to suspense."),
    )


def _account_choices(accounts: Iterable[Account]) -> list[tuple[str, str]]:
    return [(str(account.pk), str(account)) for account in accounts]


class ChannelMappingForm(forms.Form):
    """One select per ledger role: the account the channel's lines of that role go to."""

    def __init__(self, *args: Any, accounts: list[Account], current: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", gettext("Suspense (not mapped)")), *_account_choices(accounts)]
        for role, label in LedgerRole.choices:
            if role == LedgerRole.SUSPENSE:
                continue
            self.fields[role] = forms.TypedChoiceField(
                label=label, required=False, choices=choices, coerce=int, empty_value=None
            )
            self.initial[role] = current.get(role, "")


class MappingOverrideForm(forms.Form):
    """An override of the channel's mapping for one store and / or marketplace."""

    role = forms.ChoiceField(
        label=_("Role"), choices=[(value, label) for value, label in LedgerRole.choices if value != "suspense"]
    )
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    account = forms.TypedChoiceField(label=_("Account"), coerce=int)

    def __init__(
        self,
        *args: Any,
        accounts: list[Account],
        stores: list[tuple[int, str]],
        marketplaces: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("Any store")), *stores]  # type: ignore[attr-defined]
        self.fields["marketplace"].choices = [("", _("Any marketplace")), *[(code, code) for code in marketplaces]]  # type: ignore[attr-defined]
        self.fields["account"].choices = [("", _("Choose an account…")), *_account_choices(accounts)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("store") is None and not data.get("marketplace"):
            raise forms.ValidationError(
                _("Choose a store or a marketplace: the channel's own mapping is in the table above.")
            )
        return data


class JournalFilterForm(forms.Form):
    period = MonthField(label=_("Period"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *JournalStatus.choices])
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("All")), *JournalSource.choices])

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """The selector's keyword arguments (none when the form is unbound or invalid)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "period": data.get("period"),
            "status": data.get("status") or "",
            "store_id": data.get("store"),
            "source": data.get("source") or "",
        }


class PeriodForm(forms.Form):
    """Close a month (or, with `confirm`, reopen one)."""

    month = MonthField(label=_("Month"))


class PeriodReopenForm(PeriodForm):
    confirm = forms.BooleanField(
        label=_("I understand that journals can be dated in this month again."),
        error_messages={"required": _("Tick the box to confirm reopening the month.")},
    )


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
