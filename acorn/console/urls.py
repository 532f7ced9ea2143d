from django.urls import path

from acorn.console import views
from acorn.tenancy import views as tenancy_views

app_name = "console"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("welcome/", tenancy_views.no_tenant_view, name="no-tenant"),
    path("switch/", tenancy_views.tenant_switch_view, name="tenant-switch"),
    path("welcome/reopen/", tenancy_views.tenant_reopen_view, name="tenant-reopen"),
    *[path(f"{key}/", views.section_view(key), name=key) for key in views.SECTIONS],
]
