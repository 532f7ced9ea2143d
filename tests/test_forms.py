"""The one helper that puts a service's ValidationError onto a form; the renderer that writes widgets in Python."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.renderers import DjangoTemplates
from django.utils import translation
from django.utils.translation import gettext_lazy

from acorn.forms import PythonWidgetRenderer, form_add_errors


class _NameForm(forms.Form):
    name = forms.CharField()


def test_field_errors_go_next_to_their_field_and_the_rest_above_the_form() -> None:
    # given a valid form and a service that refused with field errors, one for a field the form lacks
    form = _NameForm(data={"name": "Webshop"})
    assert form.is_valid()
    error = ValidationError({"name": ["Taken.", "Too long."], "sku": "Unknown SKU.", NON_FIELD_ERRORS: "Locked."})
    # when
    form_add_errors(form, error)
    # then
    assert form.errors["name"] == ["Taken.", "Too long."]
    assert form.non_field_errors() == ["Unknown SKU.", "Locked."]
    assert "sku" not in form.errors


def test_an_error_without_fields_goes_above_the_form() -> None:
    # given
    form = _NameForm(data={"name": "Webshop"})
    assert form.is_valid()
    # when
    form_add_errors(form, ValidationError(["Not now.", "Try later."]))
    # then
    assert form.non_field_errors() == ["Not now.", "Try later."]
    assert not form.is_valid()


class _WidgetsForm(forms.Form):
    """Every widget PythonWidgetRenderer writes itself, in the states a page shows them."""

    text = forms.CharField(required=False, max_length=20, help_text="Help <b>text</b>")
    required_text = forms.CharField(widget=forms.TextInput(attrs={"placeholder": "A & B", "autofocus": True}))
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    number = forms.IntegerField(required=False)
    email = forms.EmailField(required=False)
    choice = forms.ChoiceField(
        required=False, choices=[("", "All"), ("a&b", "A & <B>"), ("2", 1234), ("c", gettext_lazy("Store"))]
    )
    typed = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "All"), (7, "Seven")])
    many = forms.MultipleChoiceField(required=False, choices=[("x", "X"), ("y", "Y")])
    grouped = forms.ChoiceField(required=False, choices=[("Group", [("g", "G")]), ("h", "H")])


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "<script>", "required_text": 'x"y', "day": "2026-01-31", "number": "12", "choice": "a&b"},
        {"text": "x" * 30, "day": "not a day", "number": "1.5", "email": "no", "choice": "zzz", "typed": "7"},
        {"many": ["x", "y"], "grouped": "g", "choice": "2"},
    ],
)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_python_widget_renderer_writes_what_django_s_templates_write(
    data: dict[str, Any] | None, language: str
) -> None:
    # given the same form rendered by Django's widget templates and by the Python renderer
    with translation.override(language):
        by_templates = _WidgetsForm(data, renderer=DjangoTemplates())
        by_python = _WidgetsForm(data, renderer=PythonWidgetRenderer())
        by_templates.is_valid()
        by_python.is_valid()
        # when / then: every field's widget, with and without the classes the console adds, is the same HTML
        for name in by_templates.fields:
            assert by_python[name].as_widget() == by_templates[name].as_widget()
            classes = {"class": "form-control is-invalid"}
            assert by_python[name].as_widget(attrs=classes) == by_templates[name].as_widget(attrs=classes)
