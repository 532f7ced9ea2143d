"""`{% load fx %}{% fx_stale_warning %}`: the warning shown on pages with converted amounts when rates are old."""

from __future__ import annotations

from typing import Any

from django import template

from acorn.fx.selectors import rates_status

register = template.Library()


@register.inclusion_tag("fx/_stale_warning.html")
def fx_stale_warning() -> dict[str, Any]:
    """Renders fx/_stale_warning.html with the current `rates_status` (nothing when rates are fresh)."""
    return {"rates_status": rates_status()}
