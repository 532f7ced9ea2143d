"""Forms of the refund request, approval, policy and restock pages. Forms only validate; refunds.approvals
and refunds.restock write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Role
from inventory.models import Warehouse
from refunds.approvals import RefundableLine, amount_error, approver_roles_possible
from refunds.models import ReasonTag


class RefundRequestForm(forms.Form):
    """Per order line that can still be refunded: units (`line_<pk>`) and, where the channel takes one, an amount
    (`amount_<pk>`: less than the units are worth, or with no units a price adjustment); a goodwill amount on
    the whole order; shipping, the reason tag, restock, a note. Amounts are in the order's currency."""

    tag = forms.ChoiceField(
        label=_("Reason tag"),
        choices=(),
        help_text=_("Counted in the refund-rate reports and matched by the classification rules."),
    )
    goodwill = forms.DecimalField(
        label=_("Goodwill amount on the order"),
        required=False,
        max_digits=16,
        decimal_places=4,
        widget=forms.TextInput,
        help_text=_("Money given back on the order as a whole, with no item returned."),
    )
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
        self,
        *args: Any,
        lines: list[RefundableLine],
        shipping_refundable: bool = True,
        currency: str = "",
        line_amounts: bool = True,
        order_amounts: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        tag = self.fields["tag"]
        tag.choices = [("", _("Choose a reason")), *ReasonTag.choices]  # type: ignore[attr-defined]
        if not shipping_refundable:
            # No shipping paid (or all of it given back): the option would only ever fail.
            del self.fields["shipping"]
        if not order_amounts:
            del self.fields["goodwill"]  # the channel refunds amounts only against an item (the page says so)
        else:
            self.fields["goodwill"].widget.attrs.update({"inputmode": "decimal", "placeholder": currency})
        self.line_fields: list[str] = []
        self.amount_fields: dict[str, str] = {}  # line field → its amount field
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
            if line_amounts:
                amount = f"amount_{entry.line.pk}"
                self.fields[amount] = forms.DecimalField(
                    label=_("Amount for %(sku)s") % {"sku": entry.line.sku},
                    required=False,
                    max_digits=16,
                    decimal_places=4,
                    disabled=entry.value_left <= 0,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": currency}),
                )
                self.amount_fields[name] = amount

    def _check_amount(self, name: str) -> None:
        value = self.cleaned_data.get(name)
        if value is not None and self.currency:
            problem = amount_error(value, self.currency)
            if problem:
                self.add_error(name, problem)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in [*self.amount_fields.values(), "goodwill"]:
            if name in self.fields:
                self._check_amount(name)
        chosen = (
            data.get("shipping")
            or any(data.get(name) for name in self.line_fields)
            or any(data.get(name) is not None for name in self.amount_fields.values())
            or data.get("goodwill") is not None
        )
        if not self.errors and not chosen:
            if "shipping" in self.fields:
                raise forms.ValidationError(_("Choose at least one unit to refund, an amount, or the shipping."))
            raise forms.ValidationError(_("Choose at least one unit to refund, or an amount."))
        return data

    def chosen_lines(self) -> list[tuple[Any, int]]:
        """(order line, units) for the lines with units."""
        return [
            (self.lines[int(name.removeprefix("line_"))].line, self.cleaned_data[name])
            for name in self.line_fields
            if self.cleaned_data.get(name)
        ]

    def chosen_amounts(self) -> dict[int, Decimal]:
        """Order line pk → the amount typed for it (lines with an amount only)."""
        return {
            int(name.removeprefix("amount_")): self.cleaned_data[name]
            for name in self.amount_fields.values()
            if self.cleaned_data.get(name) is not None
        }

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """(units field, amount field or None) per line, for the template."""
        return [
            (self[name], self[self.amount_fields[name]] if name in self.amount_fields else None)
            for name in self.line_fields
        ]

    def other_fields(self) -> list[forms.BoundField]:
        """The fields after the lines table, in their order (goodwill, shipping, reason, restock, note)."""
        per_line = {*self.line_fields, *self.amount_fields.values()}
        order = ["goodwill", "shipping", "tag", "restock", "note"]
        return [self[name] for name in order if name in self.fields and name not in per_line]


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
