from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.product_list_view, name="product-list"),
    path("<int:product_pk>/", views.product_detail_view, name="product-detail"),
    path("new/", views.product_edit_view, name="product-create"),
    path("<int:product_pk>/edit/", views.product_edit_view, name="product-edit"),
    path("warehouses/", views.warehouse_list_view, name="warehouse-list"),
    path("warehouses/<int:warehouse_pk>/", views.warehouse_edit_view, name="warehouse-edit"),
]
