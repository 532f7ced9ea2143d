"""The costs pages, included by finance/urls.py under profit/costs/ (in the "finance" namespace)."""

from django.urls import path

from finance.profit import views_costs

urlpatterns = [
    path("", views_costs.cost_list_view, name="cost-list"),
    path("products/<int:product_pk>/", views_costs.cost_history_view, name="cost-history"),
    path(
        "products/<int:product_pk>/receipts/delete/",
        views_costs.cost_receipt_delete_view,
        name="cost-receipt-delete",
    ),
    path("receipts/new/", views_costs.cost_receipt_create_view, name="cost-receipt-create"),
    path("receipts/import/", views_costs.cost_import_view, name="cost-import"),
]
