"""The finance console under /app/finance/."""

from django.urls import path

from finance import views

app_name = "finance"

urlpatterns = [
    path("", views.finance_home_view, name="home"),
    path("settlements/", views.settlement_list_view, name="settlement-list"),
    path("settlements/upload/", views.settlement_upload_view, name="settlement-upload"),
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
    path("quickbooks/", views.quickbooks_view, name="quickbooks"),
    path("quickbooks/connect/", views.quickbooks_connect_view, name="quickbooks-connect"),
    path("quickbooks/callback/", views.quickbooks_callback_view, name="quickbooks-callback"),
    path("quickbooks/disconnect/", views.quickbooks_disconnect_view, name="quickbooks-disconnect"),
    path("quickbooks/accounts/", views.quickbooks_accounts_match_view, name="quickbooks-accounts"),
    path("quickbooks/post/", views.quickbooks_post_view, name="quickbooks-post"),
]
