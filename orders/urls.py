from django.urls import path, re_path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list_view, name="order-list"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.order_export_view, name="order-export"),
    path("<int:order_pk>/", views.order_detail_view, name="order-detail"),
]
