from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import OrderStatus, StockProblem


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Order id"), required=False, max_length=100)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *OrderStatus.choices])
    stock = forms.ChoiceField(
        label=_("Stock"), required=False, choices=[("", _("All")), *StockProblem.choices, ("any", _("Any problem"))]
    )

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
