"""Forms of the Profit pages: the period and filters. Forms only validate; views call the selectors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from finance.profit.selectors import Period

_DATE = forms.DateInput(attrs={"type": "date"})
PRESETS = (("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days")), ("365", _("Last 365 days")))
CUSTOM = "custom"
MAX_DAYS = 731


class ProfitFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False, choices=[*PRESETS, (CUSTOM, _("Custom"))])
    start = forms.DateField(label=_("From"), required=False, widget=_DATE)
    end = forms.DateField(label=_("Until"), required=False, widget=_DATE)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    marketplace = forms.ChoiceField(label=_("Marketplace"), required=False)
    country = forms.ChoiceField(label=_("Buyer country"), required=False)

    def __init__(
        self,
        *args: Any,
        stores: list[tuple[int, str]],
        marketplaces: list[str],
        countries: list[str],
        today: date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
        self.fields["marketplace"].choices = [("", _("All marketplaces")), *[(m, m) for m in marketplaces]]  # type: ignore[attr-defined]
        self.fields["country"].choices = [("", _("All countries")), *[(c, c) for c in countries]]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", _("Choose the first day of the period."))
            if end is None:
                self.add_error("end", _("Choose the last day of the period."))
            if start and end:
                if start > end:
                    self.add_error("end", _("The end date is before the start date."))
                elif (end - start).days + 1 > MAX_DAYS:
                    self.add_error("end", _("A period can be at most %(days)d days long.") % {"days": MAX_DAYS})
                if start > self.today:
                    self.add_error("start", _("The period cannot start in the future."))
        return data

    def chosen_period(self) -> Period:
        """The period asked for; the last 30 days when the form is unbound or invalid."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        filters: dict[str, Any] = {
            "store_id": data.get("store"),
            "marketplace": data.get("marketplace") or "",
            "country": data.get("country") or "",
        }
        if data.get("period") == CUSTOM:
            return Period(start=data["start"], end=data["end"], **filters)
        days = int(data.get("period") or 30)
        return Period(start=self.today - timedelta(days=days - 1), end=self.today, **filters)

    @property
    def filtered(self) -> bool:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return any(data.get(name) for name in ("store", "marketplace", "country"))
