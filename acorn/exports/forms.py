from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TenantDataExportForm(forms.Form):
    """The owner's request for a copy of everything ACORN holds for the company."""

    confirm = forms.BooleanField(
        label=_(
            "I understand the file holds all of the company's data, buyers' addresses included, "
            "and I will keep it safe."
        ),
        error_messages={"required": _("Tick the box to confirm that you will keep the file safe.")},
    )
