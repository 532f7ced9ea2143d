"""Template helpers for the console: Bootstrap classes on form widgets, page links that keep filters, money
shown per the reader's language to its currency's minor unit (`money`), unit costs (`unit_amount`) and exchange
rates to six significant digits (`rate`), and dates in the one style of acorn.dates: a moment in the tenant's zone
with the zone shown (`when`: "2026-12-07 14:05 CST" / "2026年12月7日 14:05 (Asia/Shanghai)"), a day (`day`), a month
(`month`) and a time of day (`clock`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from django import forms, template
from django.http import QueryDict
from django.utils.translation import gettext

from acorn import dates
from acorn.money import Money, format_amount, format_number, to_decimal
from channels.sync import resource_label

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
def money(value: Any, currency: str = "") -> str:
    """An amount for a person: quantised to its currency's minor unit and written the way the reader's language
    writes numbers, digits grouped ("22,412.88" in English and Chinese, "22.412,88" in German, "1,990" for JPY);
    "—" for none. Given an amount and a currency the code is not added (tables show it once); given a `Money`
    (`{{ refund.money|money }}`) its code follows the figure ("22,412.88 CNY")."""
    if isinstance(value, Money):
        return f"{format_amount(value.amount, value.currency)} {value.currency}"
    if value is None or value == "":
        return "—"
    try:
        return format_amount(value, currency)
    except (TypeError, ValueError, InvalidOperation):
        return str(value)


# The same filter under the name the profit pages use: one implementation.
amount = register.filter("amount", money)


@register.filter
def unit_amount(value: Any, currency: str) -> str:
    """A unit cost or price for a person: like `money`, but keeping up to four decimals where the figure has
    them (an average cost of 55.7778), never fewer than the currency's minor unit ("95.85", not "95.8500")."""
    if value is None or value == "":
        return "—"
    try:
        exact = to_decimal(value).quantize(Decimal("0.0001"))
        minor = get_currency_precision(currency)
    except (TypeError, ValueError, InvalidOperation):
        return str(value)
    return format_number(exact, digits=minor, optional_digits=max(0, 4 - minor))


RATE_SIGNIFICANT_DIGITS = 6


@register.filter
def rate(value: Any) -> str:
    """An exchange rate for a person: six significant digits, trailing zeros dropped, written the way the
    reader's language writes numbers ("7.12346", "0.00645161", "1.08", "15,234.6"); "—" for none."""
    if value is None or value == "":
        return "—"
    try:
        exact = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return str(value)
    if exact == 0:
        return format_number(Decimal(0), digits=0)
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - RATE_SIGNIFICANT_DIGITS + 1), rounding=ROUND_HALF_UP)
    exponent = rounded.as_tuple().exponent
    return format_number(
        rounded, digits=0, optional_digits=-exponent if isinstance(exponent, int) and exponent < 0 else 0
    )


@register.filter
def when(value: Any) -> str:
    """A date and time for a person, in the tenant's zone with the zone named (acorn.dates.format_moment)."""
    return dates.format_moment(value)


@register.filter
def day(value: Any) -> str:
    """A calendar day for a person ("2026-12-07" / "2026年12月7日"); a moment's day in the tenant's zone."""
    return dates.format_day(value)


@register.filter
def month(value: Any) -> str:
    """A month for a person ("2026-12" / "2026年12月")."""
    return dates.format_month(value)


@register.filter
def clock(value: Any) -> str:
    """The time of day of a moment in the tenant's zone ("14:05"), where the day and zone are said nearby."""
    return dates.format_time_of_day(value)


@register.filter
def resource_name(value: str) -> str:
    """What people call a synced resource, in their language ("orders" → "Orders" / "订单")."""
    return resource_label(str(value))


@register.filter
def resource_names(values: Any) -> str:
    """Several synced resources by name, comma-separated."""
    return ", ".join(resource_name(value) for value in values or [])


@register.filter
def audit_value(value: Any) -> str:
    """A value an audit snapshot stored, as people read it: yes / no for booleans, "—" for nothing, the items
    of a mapping or list one after another (never Python's "True", "None" or braces)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dict):
        return "; ".join(f"{key}: {audit_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(audit_value(item) for item in value) or "—"
    return str(value)
