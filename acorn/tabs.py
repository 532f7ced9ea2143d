"""The tabs of a console section: the pages a member may open, in order, one of them active."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise

from acorn.tenancy.mixins import TenantRequest
from acorn.tenancy.permissions import has_permission

# (key, label, URL name, permission needed)
Tab = tuple[str, str | Promise, str, str]


def section_tabs_for(request: TenantRequest, candidates: Sequence[Tab], active: str) -> list[dict[str, Any]]:
    """The candidates this member's role may open, each with its URL and whether it is the active one
    (the context `tabs` the sections' nav partials render)."""
    return [
        {"key": key, "label": label, "url": reverse(url_name), "active": key == active}
        for key, label, url_name, permission in candidates
        if has_permission(request.membership, permission)
    ]
