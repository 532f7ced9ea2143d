from django.urls import path

from acorn.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_list_view, name="export-list"),
    path("<int:job_pk>/", views.export_detail_view, name="export-detail"),
    path("<int:job_pk>/download/", views.export_download_view, name="export-download"),
    path("<int:job_pk>/retry/", views.export_retry_view, name="export-retry"),
    path("company-data/", views.tenant_data_request_view, name="tenant-data-request"),
]
