"""The rule editor's form: conditions as lists a person types, checked with messages that name the field."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.marketplaces import marketplace_code
from channels.models import AMAZON_MARKETPLACES, Platform, Store
from refunds.models import ClassificationRule, ReasonTag
from refunds.reasons import AMAZON_CODES, SHOPIFY_CODES
from refunds.rules import code_key, split_values

MAX_VALUES = 5000
_ASIN = re.compile(r"^[A-Z0-9]{10}$")
_KNOWN_CODES = frozenset(AMAZON_CODES) | frozenset(SHOPIFY_CODES)
_UNDELIVERABLE = "UNDELIVERABLE_"


def _quoted(values: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"“{value}”" for value in values[:limit])
    return shown + (" …" if len(values) > limit else "")


class RuleForm(forms.ModelForm):
    """Create or edit a classification rule. Stores are chosen among the tenant's own and kept apart from the
    model (a preview passes them explicitly without saving)."""

    stores = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Stores"),
        queryset=Store.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any store."),
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"),
        choices=Platform.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: any channel."),
    )
    tags = forms.MultipleChoiceField(
        label=gettext_lazy("Reason tags"),
        choices=ReasonTag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The tag from the reason code or the buyer's words. None ticked: any tag."),
    )

    class Meta:
        model = ClassificationRule
        fields = [
            "name",
            "enabled",
            "amount_min",
            "amount_max",
            "stores",
            "channels",
            "marketplaces",
            "skus",
            "asins",
            "reason_codes",
            "tags",
            "keywords",
            "set_tag",
            "set_category",
            "set_ledger_account",
            "require_approvals",
            "flag_for_service",
        ]
        widgets = {
            "skus": forms.Textarea(attrs={"rows": 3}),
            "asins": forms.Textarea(attrs={"rows": 2}),
            "reason_codes": forms.Textarea(attrs={"rows": 2}),
            "keywords": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "amount_min": gettext_lazy("In your reporting currency. Empty: no lower limit."),
            "amount_max": gettext_lazy("In your reporting currency. Empty: no upper limit."),
            "marketplaces": gettext_lazy("Amazon marketplace codes separated by commas, e.g. US, DE. Empty: any."),
            "skus": gettext_lazy("Channel or product SKUs, one per line or separated by commas. Empty: any SKU."),
            "asins": gettext_lazy("One per line or separated by commas. Empty: any ASIN."),
            "reason_codes": gettext_lazy(
                "Amazon or Shopify reason codes, e.g. DEFECTIVE, UNWANTED_ITEM, SIZE_TOO_SMALL. Empty: any code."
            ),
            "keywords": gettext_lazy(
                "Words or phrases in the buyer's comment, one per line or separated by commas; any one is enough. "
                "Case and accents do not matter; end a word with * to match its start (e.g. defect*)."
            ),
            "set_tag": gettext_lazy("Never replaces a tag a person chose."),
            "set_ledger_account": gettext_lazy("The account finance books these refunds to."),
            "require_approvals": gettext_lazy(
                "For refunds requested in ACORN: at least this many approvals (the policy may ask for more)."
            ),
        }

    def __init__(self, *args: Any, stores: QuerySet[Store], previewing: bool = False, **kwargs: Any) -> None:
        self.previewing = previewing  # a preview needs conditions, not actions
        instance = kwargs.get("instance")
        if instance is not None and instance.pk is not None:
            initial = kwargs.setdefault("initial", {})
            # As strings: the console's checkbox template compares option values as strings.
            initial.setdefault("stores", [str(pk) for pk in instance.stores.values_list("pk", flat=True)])
            initial.setdefault("channels", split_values(instance.channels))
            initial.setdefault("tags", split_values(instance.tags))
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores  # type: ignore[attr-defined]
        self.fields["require_approvals"].choices = [  # type: ignore[attr-defined]
            ("", _("No opinion")),
            (0, _("No approval")),
            (1, _("One approval")),
            (2, _("Two approvals")),
        ]

    def _values(self, name: str, *, max_length: int) -> list[str]:
        values = split_values(self.cleaned_data.get(name) or "")
        label = self.fields[name].label
        if len(values) > MAX_VALUES:
            raise forms.ValidationError(
                _("%(field)s: at most %(max)d values.") % {"field": label, "max": MAX_VALUES}, code="too_many"
            )
        too_long = [value for value in values if len(value) > max_length]
        if too_long:
            raise forms.ValidationError(
                _("%(field)s: %(values)s is longer than %(max)d characters.")
                % {"field": label, "values": _quoted(too_long), "max": max_length},
                code="too_long",
            )
        return values

    def clean_skus(self) -> str:
        return "\n".join(self._values("skus", max_length=200))

    def clean_asins(self) -> str:
        values = [value.upper() for value in self._values("asins", max_length=20)]
        wrong = [value for value in values if not _ASIN.match(value)]
        if wrong:
            raise forms.ValidationError(
                _("ASINs: %(values)s is not an ASIN (10 letters and digits, e.g. B08N5WRWNW).")
                % {"values": _quoted(wrong)},
                code="invalid_asin",
            )
        return "\n".join(values)

    def clean_marketplaces(self) -> str:
        # Codes from the one marketplace table (all 23 of python-amazon-sp-api's); "gb" is read as "UK".
        values = [marketplace_code(value) or value.upper() for value in self._values("marketplaces", max_length=5)]
        values = list(dict.fromkeys(values))
        unknown = [value for value in values if value not in AMAZON_MARKETPLACES]
        if unknown:
            raise forms.ValidationError(
                _("Marketplaces: %(values)s is not a marketplace code; known: %(known)s.")
                % {"values": _quoted(unknown), "known": ", ".join(AMAZON_MARKETPLACES)},
                code="unknown_marketplace",
            )
        joined = ", ".join(values)
        if len(joined) > 200:
            raise forms.ValidationError(_("Marketplaces: too many codes."), code="too_long")
        return joined

    def clean_reason_codes(self) -> str:
        values = [code_key(value) for value in self._values("reason_codes", max_length=100)]
        unknown = [value for value in values if value not in _KNOWN_CODES and not value.startswith(_UNDELIVERABLE)]
        if unknown:
            raise forms.ValidationError(
                _("Reason codes: %(values)s is not an Amazon or Shopify reason code (e.g. DEFECTIVE, UNWANTED_ITEM).")
                % {"values": _quoted(unknown)},
                code="unknown_code",
            )
        return "\n".join(dict.fromkeys(values))

    def clean_keywords(self) -> str:
        values = self._values("keywords", max_length=100)
        if any(not value.strip("* ") for value in values):
            raise forms.ValidationError(_("Keywords: a keyword needs at least one letter."), code="empty_keyword")
        return "\n".join(values)

    def clean_channels(self) -> str:
        return ", ".join(self.cleaned_data.get("channels") or [])

    def clean_tags(self) -> str:
        return ", ".join(self.cleaned_data.get("tags") or [])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        for name, value in (("amount_min", low), ("amount_max", high)):
            if value is not None and value < 0:
                self.add_error(name, _("The amount cannot be negative."))
        if low is not None and high is not None and low > high:
            self.add_error(
                "amount_max", _("“Amount at most” must not be less than “amount at least” (%(low)s).") % {"low": low}
            )
        has_action = (
            cleaned.get("set_tag")
            or (cleaned.get("set_category") or "").strip()
            or (cleaned.get("set_ledger_account") or "").strip()
            or cleaned.get("require_approvals") is not None
            or cleaned.get("flag_for_service")
        )
        if not has_action and not self.errors and not self.previewing:
            raise forms.ValidationError(
                _("Choose at least one action: a tag, a category, a ledger account, approvals or the flag."),
                code="no_action",
            )
        return cleaned
