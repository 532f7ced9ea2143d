"""The console shell: dashboard and the sections that later capabilities fill in."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from acorn.notifications.selectors import notification_list
from acorn.tenancy import plans
from acorn.tenancy.mixins import TenantMemberMixin, TenantRequest
from acorn.tenancy.permissions import has_permission
from acorn.tenancy.selectors import invitation_list_pending, membership_list
from channels.selectors import stores_failing_count
from finance.profit.glance import WINDOWS, sales_glance
from finance.settlements.selectors import settlement_dashboard_summary
from inventory.mapping import unmapped_summary
from orders.models import StockProblem
from orders.selectors import orders_with_stock_problem_counts
from refunds.dashboard import rate_dashboard_summary, refund_dashboard_summary


def home_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("console:dashboard")
    return redirect("account_login")


class DashboardView(TenantMemberMixin, TemplateView):
    template_name = "console/dashboard.html"
    request: TenantRequest

    def _window(self) -> int:
        asked = self.request.GET.get("window", "")
        return int(asked) if asked.isdigit() and int(asked) in WINDOWS else 7

    def _sales(self) -> dict[str, Any] | None:
        """Sales at a glance (finance.profit.glance) for the members who may read profit."""
        if not has_permission(self.request.membership, "profit.view"):
            return None
        glance = sales_glance(
            tenant=self.request.tenant, days=self._window(), today=timezone.now().astimezone(UTC).date()
        )
        labels = {
            "orders": _("Orders"),
            "units": _("Units"),
            "revenue": _("Revenue"),
            "refunds": _("Refunds"),
            "net": _("Net profit"),
        }
        return {
            "glance": glance,
            "labels": labels,
            "windows": [(1, _("Today")), (7, _("7 days")), (30, _("30 days"))],
            "chart": {**glance.chart, "revenue_label": _("Revenue"), "net_label": _("Net profit")},
        }

    def _attention(self) -> list[dict[str, Any]]:
        """What waits for a person, each with where to deal with it (only what this member may open)."""
        tenant, membership = self.request.tenant, self.request.membership
        items: list[dict[str, Any]] = []
        if has_permission(membership, "orders.view"):
            problems = orders_with_stock_problem_counts(tenant=tenant)
            backordered = problems.get(StockProblem.BACKORDERED, 0)
            if backordered:
                items.append(
                    {
                        "kind": "backordered",
                        "count": backordered,
                        "url": reverse("orders:order-list") + f"?stock={StockProblem.BACKORDERED}",
                    }
                )
        if has_permission(membership, "stores.view"):
            failing = stores_failing_count(tenant=tenant)
            if failing:
                items.append({"kind": "failing", "count": failing, "url": reverse("channels:store-list")})
        return items

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        tenant = self.request.tenant
        context = super().get_context_data(**kwargs)
        context["sales"] = self._sales()
        context["attention"] = self._attention()
        members = membership_list(tenant=tenant).count()
        limits = plans.limits_for(tenant)
        usage = plans.usage_for(tenant)
        context.update(
            {
                "member_count": members,
                "pending_invitations": invitation_list_pending(tenant=tenant).count(),
                "limits": limits,
                "usage": usage,
                "recent_notifications": notification_list(tenant=tenant, user=self.request.user)[:5],
                "unmapped": unmapped_summary(tenant=tenant)
                if has_permission(self.request.membership, "inventory.view")
                else None,
                "refunds_card": refund_dashboard_summary(tenant=tenant)
                if has_permission(self.request.membership, "refunds.view")
                else None,
                "rates_card": rate_dashboard_summary(tenant=tenant)
                if has_permission(self.request.membership, "refunds.view")
                else None,
                "finance_card": settlement_dashboard_summary(tenant=tenant)
                if has_permission(self.request.membership, "finance.view")
                else None,
                "checklist": [
                    {
                        "done": bool(tenant.contact_name and tenant.phone),
                        "label": _("Company details"),
                        "url_name": "tenancy:company",
                    },
                    {"done": members > 1, "label": _("Invite your team"), "url_name": "tenancy:team"},
                    {
                        "done": usage.get("stores", 0) > 0,
                        "label": _("Connect your first store"),
                        "url_name": "channels:store-list",
                    },
                ],
            }
        )
        return context


class SectionView(TenantMemberMixin, TemplateView):
    """A section of the console that a later capability builds. It says so plainly."""

    template_name = "console/section_empty.html"
    section_title: Any = ""
    section_intro: Any = ""
    coming: Any = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            {"section_title": self.section_title, "section_intro": self.section_intro, "coming": self.coming}
        )
        return context


# Every section has its own pages now (finance: finance/urls.py); a later capability's placeholder goes here.
SECTIONS: dict[str, dict[str, Any]] = {}


def section_view(key: str) -> Any:
    return SectionView.as_view(**SECTIONS[key])


def error_403_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def error_404_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def healthz_view(request: HttpRequest) -> HttpResponse:
    """Liveness for the load balancer and docker-compose: the database answers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
