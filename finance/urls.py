"""The finance console under /app/finance/."""

from django.urls import include, path

from finance import views
from finance.profit import views as profit_views

app_name = "finance"

urlpatterns = [
    path("", views.finance_home_view, name="home"),
    path("settlements/", views.settlement_list_view, name="settlement-list"),
    path("settlements/upload/", views.settlement_upload_view, name="settlement-upload"),
    path("settlements/uploads/<int:upload_pk>/", views.settlement_upload_status_view, name="settlement-upload-status"),
    path("settlements/<int:settlement_pk>/", views.settlement_detail_view, name="settlement-detail"),
    path(
        "settlements/<int:settlement_pk>/export/<str:fmt>/",
        views.settlement_export_view,
        name="settlement-export",
    ),
    path("unclassified/", views.unclassified_list_view, name="unclassified-list"),
    path("unclassified/map/", views.category_map_view, name="category-map"),
    path("not-yet-settled/", views.not_yet_settled_view, name="not-yet-settled"),
    path("not-yet-settled/export/", views.not_yet_settled_export_view, name="not-yet-settled-export"),
    # Ledger
    path("accounts/", views.account_list_view, name="account-list"),
    path("accounts/new/", views.account_create_view, name="account-create"),
    path("accounts/<int:account_pk>/", views.account_edit_view, name="account-edit"),
    path("accounts/<int:account_pk>/delete/", views.account_delete_view, name="account-delete"),
    path("mapping/", views.account_mapping_view, name="account-mapping"),
    path("mapping/overrides/", views.account_mapping_override_view, name="account-mapping-override"),
    path(
        "mapping/overrides/<int:account_mapping_pk>/delete/",
        views.account_mapping_delete_view,
        name="account-mapping-delete",
    ),
    path("journals/", views.journal_list_view, name="journal-list"),
    path("journals/<int:journal_pk>/", views.journal_detail_view, name="journal-detail"),
    path("settlements/<int:settlement_pk>/journals/", views.settlement_journals_view, name="settlement-journals"),
    path("periods/", views.period_list_view, name="period-list"),
    path("periods/close/", views.period_close_view, name="period-close"),
    path("periods/reopen/", views.period_reopen_view, name="period-reopen"),
    path("profit/costs/", include("finance.profit.urls_costs")),
    path("profit/costs-of-no-order/", include("finance.profit.urls_other")),
]

# Journal exports
urlpatterns += [
    path("journal-exports/", views.journal_export_list_view, name="journal-export-list"),
    path("journal-exports/new/", views.journal_export_view, name="journal-export"),
    path(
        "journal-exports/<int:export_pk>/download/",
        views.journal_export_download_view,
        name="journal-export-download",
    ),
    path("quickbooks/", views.quickbooks_view, name="quickbooks"),
    path("quickbooks/connect/", views.quickbooks_connect_view, name="quickbooks-connect"),
    path("quickbooks/callback/", views.quickbooks_callback_view, name="quickbooks-callback"),
    path("quickbooks/disconnect/", views.quickbooks_disconnect_view, name="quickbooks-disconnect"),
    path("quickbooks/accounts/", views.quickbooks_accounts_match_view, name="quickbooks-accounts"),
    path("quickbooks/post/", views.quickbooks_post_view, name="quickbooks-post"),
]

# Profit
urlpatterns += [
    path("profit/", profit_views.profit_view, name="profit"),
    path("profit/products/<int:product_pk>/", profit_views.profit_product_view, name="profit-product"),
    path("profit/unmapped/", profit_views.profit_sku_view, name="profit-sku"),
    path("profit/export/<str:fmt>/", profit_views.profit_export_view, name="profit-export"),
]
