"""Forms of the shipment pages. Forms only validate; orders.shipments records.

The record form has one quantity field per line still to ship (named `line_<pk>`), pre-filled with what is
left, so recording the whole rest of an order is three fields and a click.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.forms import CsvImportForm
from orders.models import ConfirmationState
from orders.shipments import FIELD_MAX, LineToShip

# Carriers sellers ship with most (a suggestion list; any carrier may be typed).
CARRIER_SUGGESTIONS = (
    "UPS", "USPS", "FedEx", "DHL", "DHL eCommerce", "Royal Mail", "Evri", "DPD", "GLS", "Deutsche Post",
    "Colissimo", "La Poste", "Canada Post", "Japan Post", "Yamato Transport", "Sagawa Express", "China Post",
    "YunExpress", "Yanwen", "4PX", "Cainiao", "SF Express",
)  # fmt: skip


class ShipmentForm(forms.Form):
    carrier = forms.CharField(
        label=_("Carrier"), max_length=FIELD_MAX, widget=forms.TextInput(attrs={"list": "carrier-suggestions"})
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"), max_length=FIELD_MAX, widget=forms.TextInput(attrs={"spellcheck": "false"})
    )
    ship_method = forms.CharField(
        label=_("Ship method"), max_length=FIELD_MAX, required=False, help_text=_("e.g. Standard, Expedited.")
    )
    shipped_at = forms.DateTimeField(
        label=_("Shipped"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(
        self, *args: Any, lines: list[LineToShip], purchased_at: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now().replace(second=0, microsecond=0)
        self.fields["shipped_at"].initial = now
        # Typed and shown in the company's zone (the middleware activates it); stored in UTC.
        self.fields["shipped_at"].help_text = _("Time zone: %(zone)s.") % {"zone": timezone.get_current_timezone_name()}
        # The browser's picker offers only possible days (the service refuses the rest with a message: a ship
        # date ahead of now, as 2099, or before the purchase).
        attrs = self.fields["shipped_at"].widget.attrs
        attrs["max"] = timezone.localtime(now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        if purchased_at is not None:
            attrs["min"] = timezone.localtime(purchased_at).strftime("%Y-%m-%dT%H:%M")
        self.line_fields: list[str] = []
        for entry in lines:
            if not entry.remaining:
                continue
            name = f"line_{entry.line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{entry.line.sku} {entry.line.title}".strip()[:120],
                min_value=0,
                max_value=entry.remaining,
                initial=entry.remaining,
                help_text=_("%(left)d of %(ordered)d left to ship.")
                % {"left": entry.remaining, "ordered": entry.line.quantity},
            )
            self.line_fields.append(name)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.line_fields and not any(data.get(name) for name in self.line_fields) and not self.errors:
            raise forms.ValidationError(_("Put at least one unit in the parcel."))
        return data

    def parcel_lines(self) -> dict[int, int]:
        """OrderLine pk → units, for the lines with units in the parcel."""
        return {
            int(name.removeprefix("line_")): self.cleaned_data[name]
            for name in self.line_fields
            if self.cleaned_data.get(name)
        }


class ShipmentImportForm(CsvImportForm):
    file_help_text = _(
        "Columns: order_id, carrier, tracking_number, ship_date, and optionally ship_method, sku, quantity. "
        "UTF-8 (Excel: “CSV UTF-8”)."
    )


ATTENTION = "attention"
STATE_FILTERS: dict[str, tuple[str, ...]] = {
    ATTENTION: (ConfirmationState.PENDING, ConfirmationState.SUBMITTED, ConfirmationState.FAILED),
    ConfirmationState.PENDING: (ConfirmationState.PENDING,),
    ConfirmationState.SUBMITTED: (ConfirmationState.SUBMITTED,),
    ConfirmationState.FAILED: (ConfirmationState.FAILED,),
    ConfirmationState.CONFIRMED: (ConfirmationState.CONFIRMED,),
    ConfirmationState.NOT_NEEDED: (ConfirmationState.NOT_NEEDED,),
    "all": (),
}


class ShipmentFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Confirmation"),
        required=False,
        choices=[
            (ATTENTION, _("Not confirmed yet (waiting, submitted, failed)")),
            *ConfirmationState.choices,
            ("all", _("All")),
        ],
    )

    def states(self) -> tuple[str, ...]:
        state = (self.cleaned_data.get("state") if self.is_valid() else "") or ATTENTION
        return STATE_FILTERS[state]
