"""What the benchmarks share: the throwaway tenant (made inactive, deleted afterwards), the database's name,
statement counting, percentiles, and bulk loading of rows (PostgreSQL COPY; executemany INSERT on SQLite,
which has no COPY)."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from itertools import islice
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.models import ProtectedError, RestrictedError

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped

BENCH_SLUG_PREFIX = "bench-"
SQLITE_BATCH = 5000


# --- the throwaway tenant -------------------------------------------------------------------------------


def bench_tenant(name: str) -> Tenant:
    """A new, inactive tenant (slug `bench-<name>-<random>`) for one benchmark run: never dispatched, never
    listed, and the only kind `dangerously_delete_bench_tenant` deletes."""
    return Tenant.objects.create(
        name=f"ACORN benchmark ({name})",
        slug=f"{BENCH_SLUG_PREFIX}{name}-{uuid.uuid4().hex[:12]}",
        contact_name="benchmark",
        phone="+1 000 000 0000",
        reporting_currency="USD",
        is_active=False,
    )


def _tenant_owned_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if any(f.name == "tenant" and f.is_relation and f.related_model is Tenant for f in model._meta.fields)
    ]


def dangerously_delete_bench_tenant(tenant: Tenant) -> None:
    """Delete the benchmark's tenant and every row it owns. Refuses any tenant the benchmark did not make
    (an active one, or one whose slug does not start with `bench-`).

    Fast path: one DELETE per tenant-owned table (and per auto-created many-to-many table hanging off
    one), in one transaction whose foreign keys are checked before it ends — a million orders go in
    seconds, where the ORM's collector would load each of them. When anything outside the tenant's rows
    still points at them, that transaction is rolled back and the ORM deletes model by model instead."""
    if not tenant.slug.startswith(BENCH_SLUG_PREFIX) or tenant.is_active:
        raise ValueError(f"{tenant.slug} is not a benchmark tenant.")
    with dangerously_unscoped():
        if AuditEvent.objects.filter(tenant_id=tenant.pk).exists():
            # Audit events are append-only (on PostgreSQL a trigger refuses DELETE): a benchmark must not audit.
            raise ValueError(f"{tenant.slug} has audit events; it cannot be deleted. Benchmarks must not audit.")
    owned = _tenant_owned_models()
    try:
        with transaction.atomic():
            _raw_delete(tenant, owned)
            connection.check_constraints()  # deferred foreign keys: fail here, not at some later commit
    except IntegrityError:
        _collect_delete(tenant, owned)
    with dangerously_unscoped():
        Tenant.objects.filter(pk=tenant.pk).delete()


def _quoted(name: str | None) -> str:
    if not name:
        raise ValueError("a table or column without a name")
    return str(connection.ops.quote_name(name))


def _raw_delete(tenant: Tenant, owned: list[type[models.Model]]) -> None:
    # Identifiers are the models' own table and column names (quoted); the tenant id is a parameter.
    with connection.cursor() as cursor:
        for model in owned:
            table = _quoted(model._meta.db_table)
            tenant_column = _quoted(model._meta.get_field("tenant").column)  # type: ignore[union-attr]
            for m2m in model._meta.local_many_to_many:
                through: type[models.Model] = m2m.remote_field.through  # type: ignore[assignment]
                if through._meta.auto_created:
                    through_table, through_column = _quoted(through._meta.db_table), _quoted(m2m.m2m_column_name())
                    owned_ids = f"SELECT {_quoted(model._meta.pk.column)} FROM {table} WHERE {tenant_column} = %s"  # noqa: S608
                    cursor.execute(f"DELETE FROM {through_table} WHERE {through_column} IN ({owned_ids})", [tenant.pk])  # noqa: S608
        for model in owned:
            table = _quoted(model._meta.db_table)
            tenant_column = _quoted(model._meta.get_field("tenant").column)  # type: ignore[union-attr]
            cursor.execute(f"DELETE FROM {table} WHERE {tenant_column} = %s", [tenant.pk])  # noqa: S608


def _collect_delete(tenant: Tenant, owned: list[type[models.Model]]) -> None:
    with dangerously_unscoped():
        # Rows protect each other (a movement its product, an order its store): delete what can go, then
        # the rest, until nothing is left.
        for _round in range(len(owned) + 1):
            blocked = []
            for model in owned:
                try:
                    with transaction.atomic():
                        model._base_manager.filter(tenant_id=tenant.pk).delete()
                except (ProtectedError, RestrictedError, IntegrityError):
                    blocked.append(model)
            if not blocked:
                break
            owned = blocked


def tenant_owned_row_counts(tenant_id: int | None = None) -> dict[str, int]:
    """Rows of every tenant-owned table (of one tenant, or of all), per table with any."""
    counts = {}
    with dangerously_unscoped():
        for model in _tenant_owned_models():
            rows = model._base_manager.all()
            if tenant_id is not None:
                rows = rows.filter(tenant_id=tenant_id)
            count = rows.count()
            if count:
                counts[model._meta.db_table] = count
    return counts


# --- figures --------------------------------------------------------------------------------------------


def database_figures() -> dict[str, str]:
    """The database the run measured: vendor and version."""
    return {
        "database": connection.vendor,
        "database_version": ".".join(str(part) for part in connection.get_database_version()),
    }


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.5 = median, 0.95 = p95) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class StatementLog:
    """An execute wrapper (`with connection.execute_wrapper(log):`) that counts the statements this thread's
    connection sends and remembers the slowest one, with its parameters, for an EXPLAIN."""

    def __init__(self) -> None:
        self.count = 0
        self.total_seconds = 0.0  # time spent in the database driver (a streamed cursor: until its first rows)
        self.slowest_seconds = 0.0
        self.slowest: tuple[str, Any] | None = None

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - begin
            self.total_seconds += elapsed
            if elapsed > self.slowest_seconds and not many:
                self.slowest_seconds, self.slowest = elapsed, (sql, params)


# --- bulk loading ---------------------------------------------------------------------------------------


def bulk_method() -> str:
    """How `bulk_insert` writes rows on this database."""
    if connection.vendor == "postgresql":
        return "COPY FROM STDIN (psycopg 3 cursor.copy)"
    return f"executemany INSERT ({connection.vendor.replace('sqlite', 'SQLite')} has no COPY)"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` primary keys for rows the caller is about to write with explicit ids (so that lines can name
    their orders without reading them back). PostgreSQL: from the table's own sequence. SQLite: after the
    highest id, which is safe because the caller holds SQLite's one write lock (IMMEDIATE transactions)."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX({_quoted(pk)}), 0) FROM {_quoted(table)}")  # noqa: S608 - model names
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


class TableLoader:
    """Writes rows given as {attname: value} into a model's table, every concrete column included: a column a
    row leaves out gets the field's default (evaluated once), as the ORM would have written it."""

    def __init__(self, model: type[models.Model], *, with_pk: bool = True) -> None:
        """`with_pk=False`: the rows carry no primary key; the database numbers them."""
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
        self.columns = [field.column for field in self.fields]
        self.defaults: dict[str, Any] = {}
        for field in self.fields:
            # What the ORM writes for a field left unset: its default, None when nullable, "" for text.
            if field.has_default() or field.null or (field.empty_strings_allowed and not field.primary_key):
                self.defaults[field.attname] = field.get_default()
        self.json_attnames = {field.attname for field in self.fields if isinstance(field, models.JSONField)}
        # SQLite: the fields whose values the backend must adapt (aware datetimes to UTC text, decimals, JSON).
        adapted = (models.DateTimeField, models.DateField, models.TimeField, models.DecimalField, models.JSONField)
        self.adapters: list[Callable[[Any], Any] | None] = [
            partial(field.get_db_prep_save, connection=connection) if isinstance(field, adapted) else None
            for field in self.fields
        ]

    def _tuple(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        row = []
        for field in self.fields:
            name = field.attname
            if name in values:
                value = values[name]
            elif name in self.defaults:
                value = self.defaults[name]
            else:
                raise ValueError(f"{self.model.__name__}.{name} has no default: the benchmark must give it")
            row.append(value)
        return tuple(row)

    def insert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write the rows (COPY on PostgreSQL, executemany INSERT otherwise); returns how many."""
        table = _quoted(self.model._meta.db_table)
        column_list = ", ".join(_quoted(column) for column in self.columns)
        written = 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                json_positions = [i for i, field in enumerate(self.fields) if field.attname in self.json_attnames]
                with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                    for values in rows:
                        row = self._tuple(values)
                        if json_positions:
                            row = tuple(
                                json.dumps(value) if i in json_positions else value for i, value in enumerate(row)
                            )
                        copy.write_row(row)
                        written += 1
                return written
            placeholders = ", ".join(["%s"] * len(self.columns))
            sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"  # noqa: S608 - model names
            iterator = iter(rows)
            while batch := list(islice(iterator, SQLITE_BATCH)):
                cursor.executemany(
                    sql,
                    [
                        [
                            value if adapt is None else adapt(value)
                            for adapt, value in zip(self.adapters, self._tuple(values), strict=True)
                        ]
                        for values in batch
                    ],
                )
                written += len(batch)
        return written
