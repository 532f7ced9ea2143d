"""Helpers around django-scopes. `scope(tenant=None)` in django-scopes means *no filter*; never allow it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django_scopes import scope, scopes_disabled

from acorn.logcontext import trace_id_var

if TYPE_CHECKING:
    from acorn.tenancy.models import Tenant

# The request id of the current request or task, read by audit_record(): the trace id of acorn.logcontext,
# the id on every log line of the same work.
request_id_var = trace_id_var


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[None]:
    """Activate the scope of one tenant. Refuses a missing tenant instead of silently unscoping."""
    if tenant is None or tenant.pk is None:
        raise ValueError("tenant_scope() needs a saved tenant; None would disable the filter.")
    with scope(tenant=tenant.pk):
        yield


@contextmanager
def dangerously_unscoped() -> Iterator[None]:
    """Disable tenant filtering: only for platform code that spans tenants (superuser admin, beat fan-out)."""
    with scopes_disabled():
        yield
