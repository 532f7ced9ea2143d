"""The sharing rule form. It only validates; `inventory.sharing.sharing_rule_update` saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from inventory.models import PushState, Warehouse


class SharingRuleForm(forms.Form):
    share_percent = forms.IntegerField(
        label=_("Share of available (%)"),
        min_value=0,
        max_value=100,
        initial=100,
        help_text=_("The part of the free stock this store may sell, after the safety buffer."),
        error_messages={
            "min_value": _("Share between 0 and 100 percent."),
            "max_value": _("Share between 0 and 100 percent."),
        },
    )
    safety_buffer = forms.IntegerField(
        label=_("Safety buffer (units)"),
        min_value=0,
        max_value=1_000_000,
        initial=0,
        help_text=_("Units held back from this store before the share is taken."),
        error_messages={"min_value": _("The safety buffer cannot be negative.")},
    )
    max_listed = forms.IntegerField(
        label=_("Maximum listed"),
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text=_("Never show more than this per listing. Empty: no maximum."),
        error_messages={"min_value": _("The maximum cannot be negative.")},
    )
    warehouses = forms.ModelMultipleChoiceField(
        label=_("Warehouses"),
        queryset=Warehouse.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The stock this store sells from. None chosen: every active own and third-party warehouse."),
    )
    push_enabled = forms.BooleanField(
        label=_("Push quantities to the channel"),
        required=False,
        help_text=_("Off: ACORN shows what each listing should show but changes nothing on the channel."),
    )

    def __init__(self, *args: Any, warehouses: QuerySet[Warehouse], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouses"].queryset = warehouses  # type: ignore[attr-defined]


class ListingFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=[("", _("All states")), *PushState.choices], required=False)
