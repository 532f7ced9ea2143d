"""The finance console under /app/finance/."""

from django.urls import path

from finance import views

app_name = "finance"

urlpatterns = [
    path("settlements/upload/", views.settlement_upload_view, name="settlement-upload"),
]
