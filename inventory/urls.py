from django.urls import path

from inventory import views, views_catalogue, views_mappings, views_sharing

app_name = "inventory"

urlpatterns = [
    path("", views.product_list_view, name="product-list"),
    path("<int:product_pk>/", views.product_detail_view, name="product-detail"),
    path("new/", views.product_edit_view, name="product-create"),
    path("<int:product_pk>/edit/", views.product_edit_view, name="product-edit"),
    path("import/", views_catalogue.product_import_view, name="product-import"),
    path("import/template.csv", views_catalogue.product_import_template_view, name="product-import-template"),
    path("export/products.<str:fmt>", views_catalogue.product_export_view, name="product-export"),
    path("export/stock.<str:fmt>", views_catalogue.stock_export_view, name="stock-export"),
    path("warehouses/", views.warehouse_list_view, name="warehouse-list"),
    path("warehouses/<int:warehouse_pk>/", views.warehouse_edit_view, name="warehouse-edit"),
    path("mappings/", views_mappings.mapping_list_view, name="mapping-list"),
    path("mappings/new/", views_mappings.mapping_create_view, name="mapping-create"),
    path("mappings/<int:mapping_pk>/", views_mappings.mapping_row_view, name="mapping-row"),
    path("mappings/<int:mapping_pk>/edit/", views_mappings.mapping_edit_view, name="mapping-edit"),
    path("mappings/<int:mapping_pk>/delete/", views_mappings.mapping_delete_view, name="mapping-delete"),
    path("mappings/export.csv", views_mappings.mapping_export_view, name="mapping-export"),
    path("mappings/import/", views_mappings.mapping_import_view, name="mapping-import"),
    path("unmapped/", views_mappings.unmapped_list_view, name="unmapped-list"),
    path("unmapped/map/", views_mappings.unmapped_map_view, name="unmapped-map"),
    path("unmapped/create/", views_mappings.unmapped_create_view, name="unmapped-create"),
    path("sharing/", views_sharing.sharing_list_view, name="sharing-list"),
    path("sharing/<int:store_pk>/", views_sharing.sharing_detail_view, name="sharing-detail"),
    path("sharing/<int:store_pk>/push/", views_sharing.sharing_push_view, name="sharing-push"),
    path("sharing/<int:store_pk>/retry/", views_sharing.sharing_retry_view, name="sharing-retry"),
    path("sharing/listings/<int:listing_pk>/", views_sharing.listing_detail_view, name="listing-detail"),
]
