"""Form helpers shared by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.csv_import import MAX_IMPORT_BYTES

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # dev dependency: types only


def form_add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form so the page shows it where it belongs: each message of a
    field the form has next to that field, everything else (other fields, `__all__`, an error without
    fields) above the form. Changes only the form's errors."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class CsvImportForm(forms.Form):
    """The upload of a CSV import (acorn.csv_import); a subclass says in `file_help_text` what the file holds."""

    file_help_text: ClassVar[StrOrPromise] = ""

    file = forms.FileField(label=gettext_lazy("CSV file"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.file_help_text

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_IMPORT_BYTES // 2**20}
            )
        return upload


def _attributes(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html in Python: ` name="value"` each, a True value bare, a False one left out."""
    escape = conditional_escape
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str | None:
    """django/forms/widgets/input.html (text, date, number, ... inputs)."""
    value = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
    kind, name = conditional_escape(widget["type"]), conditional_escape(widget["name"])
    return f'<input type="{kind}" name="{name}"{value}{_attributes(widget["attrs"])}>'


def _select_html(widget: dict[str, Any]) -> str | None:
    """django/forms/widgets/select.html with its select_option.html per option; None (the templates render
    it) for option groups."""
    options = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            return None
        for option in group_choices:
            options.append(
                f'\n  <option value="{conditional_escape(option["value"])}"{_attributes(option["attrs"])}>'
                f"{conditional_escape(localize(option['label']))}</option>\n"
            )
    name = conditional_escape(widget["name"])
    return f'<select name="{name}"{_attributes(widget["attrs"])}>{"".join(options)}\n</select>'


_WIDGETS_IN_PYTHON: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "django/forms/widgets/text.html": _input_html,
    "django/forms/widgets/date.html": _input_html,
    "django/forms/widgets/number.html": _input_html,
    "django/forms/widgets/email.html": _input_html,
    "django/forms/widgets/select.html": _select_html,
}


class PythonWidgetRenderer(DjangoTemplates):
    """Django's form renderer, except that plain inputs and selects are written by Python code that gives the
    same HTML as Django's widget templates (tests/test_forms.py compares them). A select costs a template
    include per option otherwise: the order list's filter form took some 8 ms a request in templates.
    A form opts in with `default_renderer = PYTHON_WIDGET_RENDERER` (one instance: each holds its template engine)."""

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        write = _WIDGETS_IN_PYTHON.get(template_name)
        html = write(context["widget"]) if write is not None else None
        if html is None:
            return super().render(template_name, context, request)
        return mark_safe(html)  # noqa: S308 - every value above is escaped


PYTHON_WIDGET_RENDERER = PythonWidgetRenderer()
