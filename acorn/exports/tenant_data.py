"""A tenant's own data: a zip of one CSV file per tenant-owned model, written as an export job for owners.

The models come from Django's model registry: every subclass of `TenantScopedModel`, and any other model with
a foreign key to the tenant; nothing is listed by hand, so a new tenant-owned model is in the next copy without
a change here (tests/exports/test_tenant_data.py fails if one is neither exported nor excluded with a reason).
Secrets never leave: every `EncryptedJSONField` column (store credentials, warehouse and QuickBooks tokens) and
the plain-text keys that work as passwords (`REDACTED_COLUMNS`) are left out, and README.txt says which. Rows
are read in primary-key order, `CHUNK` at a time, and each file is streamed into the zip (bounded memory);
every cell goes through `acorn.spreadsheets.csv_lines`, so a buyer's text never runs as a formula.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any
from uuid import UUID

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.crypto import EncryptedJSONField
from acorn.exports.registry import ExportKind, Params, Progress
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Membership, Tenant, TenantScopedModel
from acorn.tenancy.scoping import tenant_scope

TENANT_DATA_KIND = "tenant_data"
CHUNK = 2000

# Columns that are secrets although they are not encrypted: keys that let their holder in.
REDACTED_COLUMNS: dict[str, frozenset[str]] = {
    "tenancy.Invitation": frozenset({"token"}),  # accepts the invitation: a password for a seat
    "sales_channels.Store": frozenset({"webhook_key"}),  # the secret part of the WooCommerce webhook URL
    "orders.FulfillmentTarget": frozenset({"callback_key"}),  # the secret part of the warehouse callback URL
}
# Tenant-owned models left out of the copy, with the reason (shown in README.txt).
EXCLUDED_MODELS: dict[str, str] = {}
# Models of ACORN's own apps that hold no tenant's data, with the reason (tests check the list is complete).
NOT_TENANT_DATA: dict[str, str] = {
    "tenancy.Tenant": "the company itself: written as tenant.csv",
    "fx.ExchangeRate": "reference rates shared by every company (ECB), not the company's data",
    "tenancy.UserPreference": "a person's own choice of language, kept with their user whichever company they work in",
}
ACORN_APPS = ("acorn.", "channels", "inventory", "orders", "refunds", "finance")
USER_COLUMNS = ("id", "email", "first_name", "last_name", "is_active", "date_joined", "last_login")


@dataclass(frozen=True)
class DataFile:
    """One file of the zip: its path, its columns, and the rows of the tenant."""

    path: str
    label: str
    columns: tuple[str, ...]
    redacted: tuple[str, ...]
    queryset: models.QuerySet[Any]


def _has_tenant_foreign_key(model: type[models.Model]) -> bool:
    return any(
        field.is_relation and field.related_model is Tenant and field.many_to_one
        for field in model._meta.concrete_fields
    )


def tenant_owned_models() -> list[type[models.Model]]:
    """Every model that holds a tenant's rows: TenantScopedModel subclasses and any model with a tenant FK."""
    owned = [
        model
        for model in apps.get_models()
        if model is not Tenant and (issubclass(model, TenantScopedModel) or _has_tenant_foreign_key(model))
    ]
    return sorted(owned, key=lambda model: model._meta.label)


def exported_models() -> list[type[models.Model]]:
    return [model for model in tenant_owned_models() if model._meta.label not in EXCLUDED_MODELS]


def secret_columns(model: type[models.Model]) -> set[str]:
    """The columns of `model` never exported: encrypted ones and the plain-text keys of REDACTED_COLUMNS."""
    encrypted = {field.attname for field in model._meta.concrete_fields if isinstance(field, EncryptedJSONField)}
    return encrypted | set(REDACTED_COLUMNS.get(model._meta.label, ()))


def _columns(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    hidden = secret_columns(model)
    names = [field.attname for field in model._meta.concrete_fields]
    return tuple(name for name in names if name not in hidden), tuple(name for name in names if name in hidden)


def data_files(tenant: Tenant) -> list[DataFile]:
    """The files of the tenant's copy, in order: the company, its members' user accounts, then every model."""
    tenant_columns = tuple(field.attname for field in Tenant._meta.concrete_fields)
    user_model = get_user_model()
    member_ids = Membership.objects.filter(tenant=tenant).values("user_id")
    files = [
        DataFile("tenant.csv", "tenancy.Tenant", tenant_columns, (), Tenant.objects.filter(pk=tenant.pk)),
        DataFile(
            "users.csv",
            user_model._meta.label,
            USER_COLUMNS,
            ("password",),
            user_model._default_manager.filter(pk__in=member_ids),
        ),
    ]
    for model in exported_models():
        columns, redacted = _columns(model)
        files.append(
            DataFile(
                f"{model._meta.app_label}/{model._meta.model_name}.csv",
                model._meta.label,
                columns,
                redacted,
                model._default_manager.filter(tenant_id=tenant.pk),
            )
        )
    return files


def _cell(value: Any) -> Any:
    """A value for the CSV: dates as ISO 8601, JSON as JSON text, booleans as true/false, else as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal | int | float | str):
        return value
    return str(value)


def _rows(data_file: DataFile, progress: Progress, counted: list[int]) -> Iterator[Sequence[Any]]:
    for values in data_file.queryset.order_by("pk").values_list(*data_file.columns).iterator(chunk_size=CHUNK):
        counted[0] += 1
        progress(1)
        yield [_cell(value) for value in values]


def tenant_data_count(tenant: Tenant, params: Params) -> int:
    """How many rows the copy holds (the progress bar's total)."""
    with tenant_scope(tenant):
        return sum(data_file.queryset.count() for data_file in data_files(tenant))


def _readme(tenant: Tenant, written: list[tuple[DataFile, int]]) -> str:
    lines = [
        _("All data ACORN holds for %(company)s, written %(when)s UTC.")
        % {"company": tenant.name, "when": f"{timezone.now():%Y-%m-%d %H:%M}"},
        _("One CSV file per kind of record (UTF-8); the first line of each file names its columns."),
        _(
            "Columns ending in _id hold the id of a row in another file. "
            "Secrets (credentials, tokens, keys) are left out."
        ),
        "",
        _("Files and rows:"),
    ]
    for data_file, count in written:
        line = f"  {data_file.path}  ({data_file.label}): {count}"
        if data_file.redacted:
            line += "  — " + _("left out: %(columns)s") % {"columns": ", ".join(data_file.redacted)}
        lines.append(line)
    if EXCLUDED_MODELS:
        lines += ["", _("Not included:")]
        lines += [f"  {label}: {reason}" for label, reason in sorted(EXCLUDED_MODELS.items())]
    return "\n".join(lines) + "\n"


def tenant_data_archive(tenant: Tenant, params: Params, handle: IO[bytes], progress: Progress) -> int:
    """Write the zip into `handle`: every data file, then README.txt and manifest.json (files and row counts).
    Returns the number of rows written."""
    written: list[tuple[DataFile, int]] = []
    with tenant_scope(tenant), zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for data_file in data_files(tenant):
            counted = [0]
            with archive.open(data_file.path, "w", force_zip64=True) as member:
                for line in csv_lines(data_file.columns, _rows(data_file, progress, counted)):
                    member.write(line.encode("utf-8"))
            written.append((data_file, counted[0]))
        archive.writestr("README.txt", _readme(tenant, written))
        manifest = {
            "tenant": tenant.slug,
            "written_at": timezone.now().isoformat(),
            "files": [
                {
                    "path": f.path,
                    "model": f.label,
                    "rows": count,
                    "columns": list(f.columns),
                    "left_out": list(f.redacted),
                }
                for f, count in written
            ],
            "excluded_models": EXCLUDED_MODELS,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return sum(count for _file, count in written)


TENANT_DATA_EXPORT = ExportKind(
    key=TENANT_DATA_KIND,
    label=gettext_lazy("All of the company's data"),
    permission="tenant.data_export",
    formats=("zip",),
    filename_stem="company-data",
    count=tenant_data_count,
    archive=tenant_data_archive,
    source_url_name="tenancy:company",
)
