"""Form helpers shared by every app's views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
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
