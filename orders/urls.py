from django.urls import path, re_path

from orders import views, views_fulfilment, views_shipments

app_name = "orders"

urlpatterns = [
    path("", views.order_list_view, name="order-list"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.order_export_view, name="order-export"),
    path("<int:order_pk>/", views.order_detail_view, name="order-detail"),
    path("<int:order_pk>/shipments/new/", views_shipments.shipment_create_view, name="shipment-create"),
    path("shipments/", views_shipments.shipment_list_view, name="shipment-list"),
    path("shipments/import/", views_shipments.shipment_import_view, name="shipment-import"),
    path("shipments/import/template.csv", views_shipments.shipment_import_template_view, name="shipment-template"),
    path("shipments/<int:shipment_pk>/retry/", views_shipments.shipment_retry_view, name="shipment-retry"),
    # Fulfilment push: targets, routing rules, problems, CSV and pick list (orders/views_fulfilment.py).
    path("fulfilment/", views_fulfilment.fulfilment_target_list_view, name="fulfilment-target-list"),
    path("fulfilment/new/", views_fulfilment.fulfilment_target_create_view, name="fulfilment-target-create"),
    path(
        "fulfilment/<int:target_pk>/", views_fulfilment.fulfilment_target_detail_view, name="fulfilment-target-detail"
    ),
    path(
        "fulfilment/<int:target_pk>/edit/", views_fulfilment.fulfilment_target_edit_view, name="fulfilment-target-edit"
    ),
    path(
        "fulfilment/<int:target_pk>/secret/",
        views_fulfilment.fulfilment_target_secret_view,
        name="fulfilment-target-secret",
    ),
    path(
        "fulfilment/<int:target_pk>/routes/new/",
        views_fulfilment.fulfilment_route_create_view,
        name="fulfilment-route-create",
    ),
    path("fulfilment/<int:target_pk>/csv/new/", views_fulfilment.fulfilment_csv_new_view, name="fulfilment-csv-new"),
    path(
        "fulfilment/<int:target_pk>/csv/again/", views_fulfilment.fulfilment_csv_again_view, name="fulfilment-csv-again"
    ),
    path(
        "fulfilment/<int:target_pk>/pick-list/", views_fulfilment.fulfilment_pick_list_view, name="fulfilment-pick-list"
    ),
    path(
        "fulfilment/routes/<int:route_pk>/", views_fulfilment.fulfilment_route_edit_view, name="fulfilment-route-edit"
    ),
    path(
        "fulfilment/routes/<int:route_pk>/delete/",
        views_fulfilment.fulfilment_route_delete_view,
        name="fulfilment-route-delete",
    ),
    path(
        "fulfilment/routes/<int:route_pk>/move/",
        views_fulfilment.fulfilment_route_move_view,
        name="fulfilment-route-move",
    ),
    path("fulfilment/problems/", views_fulfilment.fulfilment_problems_view, name="fulfilment-problems"),
    path("fulfilment/problems/route/", views_fulfilment.fulfilment_route_waiting_view, name="fulfilment-route-waiting"),
    path(
        "fulfilment/requests/<int:request_pk>/retry/",
        views_fulfilment.fulfilment_request_retry_view,
        name="fulfilment-request-retry",
    ),
    path(
        "fulfilment/requests/<int:request_pk>/cancelled/",
        views_fulfilment.fulfilment_request_cancelled_view,
        name="fulfilment-request-cancelled",
    ),
]
