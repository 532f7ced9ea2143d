"""Console URLs of refund rates, alerts and thresholds (views_alerts.py), under /app/refunds/.
URL keywords for objects: alert_pk, threshold_pk, product_pk."""

from django.urls import URLPattern, path

from refunds import views_alerts as views

urlpatterns: list[URLPattern] = [
    path("alerts/", views.alert_list_view, name="alert-list"),
    path("alerts/<int:alert_pk>/", views.alert_detail_view, name="alert-detail"),
    path("alerts/<int:alert_pk>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("rates/", views.rate_list_view, name="rate-list"),
    path("rates/<int:product_pk>/", views.rate_detail_view, name="rate-detail"),
    path("thresholds/", views.threshold_list_view, name="threshold-list"),
    path("thresholds/new/", views.threshold_create_view, name="threshold-create"),
    path("thresholds/<int:threshold_pk>/", views.threshold_edit_view, name="threshold-edit"),
    path("thresholds/<int:threshold_pk>/delete/", views.threshold_delete_view, name="threshold-delete"),
]
