"""Forms for connecting stores. Forms only validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from channels.models import AMAZON_REGION_MARKETPLACES, DataPermission, Region, SyncRunStatus


class AmazonConnectForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=100, help_text=_("For example “Amazon US”."))
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, initial=Region.NA)
    marketplaces = forms.MultipleChoiceField(
        label=_("Marketplaces"),
        choices=[
            (Region(region).label, [(code, code) for code in codes])
            for region, codes in AMAZON_REGION_MARKETPLACES.items()
        ],
        widget=forms.CheckboxSelectMultiple,
        initial=["US"],
    )
    permissions = forms.MultipleChoiceField(
        label=_("Data ACORN may read"),
        choices=DataPermission.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=DataPermission.values,
    )
    endpoint = forms.URLField(
        label=_("API endpoint"),
        required=False,
        assume_scheme="http",
        help_text=_("Leave blank for Amazon. Only for the built-in simulator or a test double."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.ACORN_ALLOW_CUSTOM_ENDPOINTS:
            self.fields["endpoint"].initial = settings.ACORN_SIMULATOR_URL
        else:
            del self.fields["endpoint"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        region, marketplaces = cleaned.get("region"), cleaned.get("marketplaces") or []
        if region:
            allowed = AMAZON_REGION_MARKETPLACES[region]
            wrong = [code for code in marketplaces if code not in allowed]
            if wrong:
                self.add_error(
                    "marketplaces",
                    _(
                        "%(wrong)s not in the %(region)s region (%(allowed)s). One authorisation covers one region; "
                        "connect another store for the other region."
                    )
                    % {
                        "wrong": ", ".join(wrong),
                        "region": Region(region).label,
                        "allowed": ", ".join(allowed),
                    },
                )
        return cleaned


class SyncRunFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *SyncRunStatus.choices])
