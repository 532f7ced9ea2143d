"""The export kinds: each app that has a list export registers one in its `AppConfig.ready()`.

A kind says who may ask for it (a permission of the role table), how many records a request covers (for the
choice between a direct download and a job, and for the progress bar), and how its file is written. A table
kind gives a header and its records, each record the rows it becomes (an order is one row per line and per
adjustment): the job writes them as CSV or XLSX through `acorn.spreadsheets`, counting records as it goes. An
archive kind (the tenant's own data) writes its whole file itself and reports progress through a callback.
Core does not import the apps above it; they hand their kinds in here, like the sync jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.utils.functional import Promise

from acorn.tenancy.models import Tenant

Params = Mapping[str, Any]
Progress = Callable[[int], None]  # called with the number of records written since the last call


@dataclass(frozen=True)
class TableExport:
    """A list export: header, records (each a sequence of rows), and the XLSX sheet's title and formats."""

    header: Callable[[Tenant, Params], Sequence[Any]]
    records: Callable[[Tenant, Params], Iterator[Sequence[Sequence[Any]]]]
    sheet_title: Callable[[], str]
    number_format: str | Callable[[Sequence[Any]], str | None] | None = None


@dataclass(frozen=True)
class ExportKind:
    key: str
    label: str | Promise
    permission: str
    formats: tuple[str, ...]
    filename_stem: str
    count: Callable[[Tenant, Params], int]
    table: TableExport | None = None
    # An archive writes the whole file into the handle itself and returns the number of rows it wrote.
    archive: Callable[[Tenant, Params, IO[bytes], Progress], int] | None = None
    # Where a person goes back to from the export's page (a URL name without arguments).
    source_url_name: str = ""


class UnknownExportKind(LookupError):
    """No export kind is registered under this key."""


_KINDS: dict[str, ExportKind] = {}


def register_export_kind(kind: ExportKind) -> None:
    """Make a kind known (from an AppConfig.ready()); registering the same key again replaces it."""
    if (kind.table is None) == (kind.archive is None):
        raise ValueError(f"Export kind {kind.key!r} needs exactly one of table and archive.")
    _KINDS[kind.key] = kind


def export_kind(key: str) -> ExportKind:
    try:
        return _KINDS[key]
    except KeyError:
        raise UnknownExportKind(f"No export kind {key!r} is registered.") from None


def export_kinds() -> list[ExportKind]:
    return list(_KINDS.values())
