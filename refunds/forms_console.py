"""Forms of the refunds console pages (lists, tag override, mark reviewed). Forms only validate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import Platform
from refunds.models import ReasonTag, RefundOrigin, RefundStatus, ReturnSource, ReturnStatus
from refunds.review import reason_label
from refunds.selectors import ANY_REASON, UNTAGGED

_DATE = forms.DateInput(attrs={"type": "date"})


def _tag_choices() -> list[tuple[str, Any]]:
    return [("", _("All")), *ReasonTag.choices, (UNTAGGED, _("Not tagged yet"))]


def _check_dates(form: forms.Form, data: dict[str, Any]) -> None:
    start, end = data.get("date_from"), data.get("date_to")
    if start and end and start > end:
        form.add_error("date_to", _("The end date is before the start date."))


class RefundFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("An order number with or without “#”, or its start; a channel or master SKU in any case."),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *RefundStatus.choices])
    tag = forms.ChoiceField(label=_("Reason tag"), required=False, choices=_tag_choices)
    platform = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("All")), *Platform.choices])
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    sku = forms.CharField(
        label=_("SKU"), required=False, max_length=200, help_text=_("A channel SKU or master SKU, exactly.")
    )
    amount_min = forms.DecimalField(label=_("Amount from"), required=False, min_value=Decimal(0), max_digits=16)
    amount_max = forms.DecimalField(label=_("Amount up to"), required=False, min_value=Decimal(0), max_digits=16)
    date_from = forms.DateField(label=_("Refunded from"), required=False, widget=_DATE)
    date_to = forms.DateField(label=_("Refunded until"), required=False, widget=_DATE)
    origin = forms.ChoiceField(label=_("Origin"), required=False, choices=[("", _("All")), *RefundOrigin.choices])
    needs_review = forms.BooleanField(label=_("Only those flagged for review"), required=False)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], reporting_currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
        # Amounts compare in the reporting currency: the label says which.
        for name, label in (("amount_min", _("Amount from")), ("amount_max", _("Amount up to"))):
            self.fields[name].label = f"{label} ({reporting_currency})"
            self.fields[name].help_text = _("In the reporting currency; refunds without an exchange rate are left out.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The upper amount is below the lower amount."))
        _check_dates(self, data)
        return data


class ReturnFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *ReturnStatus.choices])
    tag = forms.ChoiceField(label=_("Reason tag"), required=False, choices=_tag_choices)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("All")), *ReturnSource.choices])
    review_reason = forms.ChoiceField(label=_("Needs review"), required=False)
    sku = forms.CharField(
        label=_("SKU"), required=False, max_length=200, help_text=_("A channel SKU or master SKU, exactly.")
    )
    date_from = forms.DateField(label=_("Returned from"), required=False, widget=_DATE)
    date_to = forms.DateField(label=_("Returned until"), required=False, widget=_DATE)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], review_reasons: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
        self.fields["review_reason"].choices = [  # type: ignore[attr-defined]
            ("", _("All")),
            (ANY_REASON, _("Any reason")),
            *[(code, reason_label(code)) for code in review_reasons],
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_dates(self, data)
        return data


class TagOverrideForm(forms.Form):
    # No tag is preselected on an untagged refund: a person must choose one.
    tag = forms.ChoiceField(label=_("Reason tag"), choices=[("", _("Choose a tag…")), *ReasonTag.choices])


class ReviewMarkForm(forms.Form):
    reason = forms.CharField(max_length=40, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
