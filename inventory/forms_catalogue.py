"""Forms of the catalogue import. Forms only validate; inventory.catalogue_csv writes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from acorn.forms import CsvImportForm
from inventory.catalogue_csv import CSV_COLUMNS


class ProductImportForm(CsvImportForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].label = _("CSV or XLSX file")
        self.fields["file"].help_text = _(
            "CSV (UTF-8 or GB18030) or an XLSX workbook (first sheet). Columns: %(columns)s."
        ) % {"columns": ", ".join(CSV_COLUMNS)}
