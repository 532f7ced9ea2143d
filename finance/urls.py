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
]
