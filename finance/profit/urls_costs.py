"""The costs pages, included by finance/urls.py under profit/costs/ (in the "finance" namespace)."""

from django.urls import path

from finance.profit import views_costs

urlpatterns = [
    path("", views_costs.cost_list_view, name="profit-cost-list"),
    path("products/<int:product_pk>/", views_costs.cost_history_view, name="profit-cost-history"),
    path(
        "products/<int:product_pk>/receipts/delete/",
        views_costs.cost_receipt_delete_view,
        name="profit-cost-receipt-delete",
    ),
    path("receipts/new/", views_costs.cost_receipt_create_view, name="profit-cost-receipt-create"),
    path("receipts/import/", views_costs.cost_import_view, name="profit-cost-import"),
]
