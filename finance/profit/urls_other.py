"""Costs that belong to no order, included by finance/urls.py under profit/costs-of-no-order/ (names in the
finance namespace)."""

from django.urls import path

from finance.profit import views_other

urlpatterns = [
    path("", views_other.other_cost_list_view, name="profit-other-cost-list"),
    path("new/", views_other.other_cost_create_view, name="profit-other-cost-create"),
    path("<int:other_cost_pk>/delete/", views_other.other_cost_delete_view, name="profit-other-cost-delete"),
    path("advertising-reports/", views_other.ad_report_upload_view, name="profit-ad-report-upload"),
    path("settings/", views_other.profit_settings_view, name="profit-settings"),
]
