"""The one helper that puts a service's ValidationError onto a form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from acorn.forms import form_add_errors


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
