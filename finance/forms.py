"""Forms of the finance console: they only validate; views call the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import Store

# A settlement V2 file of a busy store runs to hundreds of thousands of lines; gzip it above this.
SETTLEMENT_FILE_MAX_BYTES = 200 * 1024 * 1024


class SettlementUploadForm(forms.Form):
    """A settlement V2 flat file downloaded from Seller Central, for one of the company's Amazon stores."""

    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=Store.objects.none())
    file = forms.FileField(
        label=gettext_lazy("Settlement file"),
        help_text=gettext_lazy(
            "The flat file (V2) from Seller Central, Reports → Payments → All statements: tab-separated, "
            "plain or gzip, any marketplace's number and date format."
        ),
    )

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > SETTLEMENT_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; compress it with gzip.")
                % {"mb": SETTLEMENT_FILE_MAX_BYTES // 2**20}
            )
        return upload
