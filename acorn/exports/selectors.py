"""Reads of export jobs: a member sees the jobs of the kinds their role may export."""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404

from acorn.exports.models import ExportJob
from acorn.exports.registry import export_kinds
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.permissions import has_permission


def export_kinds_for(membership: Membership) -> list[str]:
    """The keys of the export kinds this member may ask for and download."""
    return [kind.key for kind in export_kinds() if has_permission(membership, kind.permission)]


def export_job_list(*, tenant: Tenant, membership: Membership) -> QuerySet[ExportJob]:
    """The company's exports this member may download, newest first."""
    return (
        ExportJob.objects.filter(tenant=tenant, kind__in=export_kinds_for(membership))
        .select_related("requested_by")
        .order_by("-created_at", "-pk")
    )


def export_job_get_or_404(*, tenant: Tenant, membership: Membership, pk: int) -> ExportJob:
    """One export of the company that this member may see; 404 for another company's or another role's."""
    job = export_job_list(tenant=tenant, membership=membership).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def export_exceeds_inline_limit(records: QuerySet[Model], *, limit: int) -> bool:
    """True if more than `limit` records match (counting at most limit + 1 of them)."""
    return records.order_by().values("pk")[: limit + 1].count() > limit
