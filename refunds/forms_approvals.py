"""Forms of the refund request, approval, policy and restock pages. Forms only validate; refunds.approvals
and refunds.restock write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Role
from inventory.models import Warehouse
from refunds.approvals import RefundableLine, approver_roles_possible


class RefundRequestForm(forms.Form):
    """One units field per order line that can still be refunded (`line_<pk>`), shipping, restock, a note."""

    shipping = forms.BooleanField(
        label=_("Refund the shipping too"),
        required=False,
        help_text=_("What is left of the shipping the buyer paid (Amazon: of the chosen items)."),
    )
    restock = forms.BooleanField(
        label=_("The goods came back: put them back in sellable stock"),
        required=False,
        help_text=_("Only tick this if you have the items; a refund alone never adds stock."),
    )
    note = forms.CharField(
        label=_("Why"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Approvers and the audit trail see this."),
    )

    def __init__(
        self, *args: Any, lines: list[RefundableLine], shipping_refundable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not shipping_refundable:
            # No shipping paid (or all of it given back): the option would only ever fail.
            del self.fields["shipping"]
        self.line_fields: list[str] = []
        self.lines = {entry.line.pk: entry for entry in lines}
        for entry in lines:
            name = f"line_{entry.line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{entry.line.sku} {entry.line.title}".strip()[:120],
                min_value=0,
                max_value=entry.remaining,
                initial=0,
                required=False,
                disabled=entry.remaining == 0,
                help_text=_("%(left)d of %(ordered)d can still be refunded.")
                % {"left": entry.remaining, "ordered": entry.line.quantity},
            )
            self.line_fields.append(name)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("shipping") and not any(data.get(name) for name in self.line_fields):
            if "shipping" in self.fields:
                raise forms.ValidationError(_("Choose at least one unit to refund, or the shipping."))
            raise forms.ValidationError(_("Choose at least one unit to refund."))
        return data

    def chosen_lines(self) -> list[tuple[Any, int]]:
        """(order line, units) for the lines with units."""
        return [
            (self.lines[int(name.removeprefix("line_"))].line, self.cleaned_data[name])
            for name in self.line_fields
            if self.cleaned_data.get(name)
        ]


class RefundRejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ApprovalPolicyForm(forms.Form):
    one_approval_from = forms.DecimalField(
        label=_("One approval from"), min_value=Decimal(0), max_digits=16, decimal_places=2
    )
    two_approvals_from = forms.DecimalField(
        label=_("Two approvals from"), min_value=Decimal(0), max_digits=16, decimal_places=2
    )
    approver_roles = forms.MultipleChoiceField(
        label=_("Roles that approve"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Role.choices)
        field = self.fields["approver_roles"]
        field.choices = [(role, labels[role]) for role in approver_roles_possible()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        one, two = data.get("one_approval_from"), data.get("two_approvals_from")
        if one is not None and two is not None and two < one:
            self.add_error("two_approvals_from", _("Two approvals must start at or above the one-approval amount."))
        return data


class RestockForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.none())
    sellable = forms.IntegerField(label=_("Units back to sellable stock"), min_value=0, initial=0)
    damaged = forms.IntegerField(label=_("Units to damaged / unsellable"), min_value=0, initial=0)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, warehouses: list[Warehouse], quantity: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quantity = quantity
        field = self.fields["warehouse"]
        field.queryset = Warehouse.objects.filter(pk__in=[w.pk for w in warehouses])  # type: ignore[attr-defined]
        if warehouses:
            field.initial = warehouses[0].pk
        self.fields["sellable"].initial = quantity

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sellable, damaged = data.get("sellable"), data.get("damaged")
        if sellable is not None and damaged is not None and sellable + damaged > self.quantity:
            self.add_error(
                "sellable",
                _("Only %(quantity)d units were returned; %(total)d is too many.")
                % {"quantity": self.quantity, "total": sellable + damaged},
            )
        return data
