from django.urls import path

from channels import views, views_lifecycle, views_shops

app_name = "channels"

urlpatterns = [
    path("", views.store_list_view, name="store-list"),
    path("connect/amazon/", views.store_connect_amazon_view, name="store-connect-amazon"),
    path("amazon/callback/", views.amazon_callback_view, name="amazon-callback"),
    path("connect/shopify/", views_shops.store_connect_shopify_view, name="store-connect-shopify"),
    path("shopify/callback/", views_shops.shopify_callback_view, name="shopify-callback"),
    path("connect/woocommerce/", views_shops.store_connect_woocommerce_view, name="store-connect-woocommerce"),
    path("<int:store_pk>/shopify/reconnect/", views_shops.store_reconnect_shopify_view, name="store-reconnect-shopify"),
    path("<int:store_pk>/woocommerce/keys/", views_shops.store_woocommerce_keys_view, name="store-woocommerce-keys"),
    path("<int:store_pk>/webhooks/register/", views_shops.store_register_webhooks_view, name="store-register-webhooks"),
    path("<int:store_pk>/", views.store_detail_view, name="store-detail"),
    path("<int:store_pk>/sync/", views.store_sync_view, name="store-sync"),
    path("<int:store_pk>/reauthorize/", views.store_reauthorize_view, name="store-reauthorize"),
    path("<int:store_pk>/rename/", views_lifecycle.store_rename_view, name="store-rename"),
    path("<int:store_pk>/marketplaces/", views_lifecycle.store_marketplaces_view, name="store-marketplaces"),
    path(
        "<int:store_pk>/marketplaces/check/",
        views_lifecycle.store_check_participations_view,
        name="store-check-participations",
    ),
    path("<int:store_pk>/disconnect/", views_lifecycle.store_disconnect_view, name="store-disconnect"),
    path("<int:store_pk>/delete/", views_lifecycle.store_delete_view, name="store-delete"),
    path("<int:store_pk>/runs/<int:run_pk>/progress/", views.sync_run_progress_view, name="syncrun-progress"),
    path("<int:store_pk>/sync/status/", views.store_sync_status_view, name="store-sync-status"),
]
