from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.product_list_view, name="product-list"),
    path("<int:product_pk>/", views.product_detail_view, name="product-detail"),
]
