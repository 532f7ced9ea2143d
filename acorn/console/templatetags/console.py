"""Template helpers for the console: Bootstrap classes on form widgets, page links that keep filters, money
shown to its currency's minor unit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel import UnknownLocaleError
from babel.numbers import format_decimal
from django import forms, template
from django.http import QueryDict
from django.utils.translation import get_language, to_locale

from acorn.money import minor_unit_exponent, quantize_amount, to_decimal

register = template.Library()


@register.filter
def bootstrap(field: forms.BoundField) -> str:
    """Render a bound field's widget with Bootstrap's classes (and is-invalid when it has errors)."""
    widget = field.field.widget
    if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.filter
def is_multiple_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxSelectMultiple)


@register.filter
def checkbox_groups(field: forms.BoundField) -> list[tuple[str, list[dict[str, Any]]]]:
    """The options of a CheckboxSelectMultiple, grouped as its choices are (group label "" when flat)."""
    widget = field.field.widget
    value = field.value() or []
    attrs = {"id": field.auto_id} if field.auto_id else {}
    groups = []
    for group_name, options, _index in widget.optgroups(field.html_name, value, attrs):
        groups.append((str(group_name or ""), options))
    return groups


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (for pagination and filters)."""
    request = context["request"]
    query: QueryDict = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def money(amount: Any, currency: str) -> str:
    """An amount quantised to its currency's minor unit for display ("19.90", "1990" for JPY); "—" for none."""
    if amount is None or amount == "":
        return "—"
    try:
        return str(quantize_amount(amount, currency))
    except (TypeError, ValueError, InvalidOperation):
        return str(amount)


@register.filter
def amount(value: Any, currency: str) -> str:
    """An amount for a person: quantised to its currency's minor unit and written the way the reader's language
    writes numbers, digits grouped ("22,412.88" in English and Chinese, "22.412,88" in German); "—" for none.
    The currency code is not added (tables show it once)."""
    if value is None or value == "":
        return "—"
    try:
        exact = quantize_amount(value, currency)
    except (TypeError, ValueError, InvalidOperation):
        return str(value)
    exponent = exact.as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) else 0
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    locale = to_locale(get_language() or "en")
    try:
        return format_decimal(exact, format=pattern, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_decimal(exact, format=pattern, locale="en")


@register.filter
def unit_amount(value: Any, currency: str) -> str:
    """A unit cost or price for a person: like `amount`, but keeping up to four decimals where the figure has
    them (an average cost of 55.7778), never fewer than the currency's minor unit ("95.85", not "95.8500")."""
    if value is None or value == "":
        return "—"
    try:
        exact = to_decimal(value).quantize(Decimal("0.0001"))
        minor = -minor_unit_exponent(currency).as_tuple().exponent  # type: ignore[operator]
    except (TypeError, ValueError, InvalidOperation):
        return str(value)
    digits = max(minor, -exact.normalize().as_tuple().exponent if exact.normalize().as_tuple().exponent < 0 else 0)  # type: ignore[operator]
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    try:
        return format_decimal(exact, format=pattern, locale=to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return format_decimal(exact, format=pattern, locale="en")
