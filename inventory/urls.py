from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.product_list_view, name="product-list"),
]
