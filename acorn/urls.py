"""URL map of the whole product. The console lives under /app/, accounts under /accounts/."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from acorn.console import views as console_views
from acorn.tenancy import urls as tenancy_urls
from acorn.tenancy import views as tenancy_views
from channels import webhooks
from orders import views_shipments as orders_views_shipments

tenancy_patterns: tuple[list[URLPattern | URLResolver], str] = (
    [path("app/settings/", include(tenancy_urls.urlpatterns)), *tenancy_urls.public_urlpatterns],
    "tenancy",
)

urlpatterns = [
    path("", console_views.home_view, name="home"),
    path("healthz", console_views.healthz_view, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", tenancy_views.language_set_view, name="set_language"),
    path("app/", include("acorn.console.urls")),
    path("app/settings/audit/", include("acorn.audit.urls")),
    path("app/stores/", include("channels.urls")),
    path("app/orders/", include("orders.urls")),
    path("app/inventory/", include("inventory.urls")),
    path("app/refunds/", include("refunds.urls")),
    path("app/finance/", include("finance.urls")),
    path("app/notifications/", include("acorn.notifications.urls")),
    path("app/exports/", include("acorn.exports.urls")),
    path("", include(tenancy_patterns)),
    path("admin/", admin.site.urls),
    # Vendor webhooks: no session, no CSRF; every delivery is verified by its signature.
    path("webhooks/shopify/", webhooks.shopify_webhook_view, name="webhook-shopify"),
    path("webhooks/woocommerce/<str:webhook_key>/", webhooks.woocommerce_webhook_view, name="webhook-woocommerce"),
    # Warehouse callbacks: the key names the fulfilment target; every request is verified by its signature.
    path(
        "callbacks/fulfilment/<str:callback_key>/",
        orders_views_shipments.fulfilment_callback_view,
        name="callback-fulfilment",
    ),
]

handler403 = "acorn.console.views.error_403_view"
handler404 = "acorn.console.views.error_404_view"
