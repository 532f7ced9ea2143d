"""The site around the shop: the WordPress REST index (how a client tells WordPress, and WooCommerce on
it, from anything else), the home page, the settings API and the system status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from babel.numbers import get_currency_precision, get_currency_symbol

from simulator.http import Response
from simulator.woocommerce.catalogue import WC_VERSION, WP_VERSION
from simulator.woocommerce.rest import Call, WooError, wp_response
from simulator.woocommerce.site import WooSite

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

WP_NAMESPACES = ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"]
WC_NAMESPACES = ["wc/store", "wc/store/v1", "wc/v1", "wc/v2", "wc/v3", "wc-analytics", "wc-admin", "wc-telemetry"]
WC_ROUTES = (
    ("/wc/v3/orders", ["GET", "POST"]),
    ("/wc/v3/orders/(?P<id>[\\d]+)", ["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ("/wc/v3/orders/(?P<order_id>[\\d]+)/notes", ["GET", "POST"]),
    ("/wc/v3/orders/(?P<order_id>[\\d]+)/refunds", ["GET", "POST"]),
    ("/wc/v3/products", ["GET", "POST"]),
    ("/wc/v3/products/(?P<id>[\\d]+)", ["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ("/wc/v3/products/batch", ["POST", "PUT", "PATCH"]),
    ("/wc/v3/products/(?P<product_id>[\\d]+)/variations", ["GET", "POST"]),
    ("/wc/v3/products/(?P<product_id>[\\d]+)/variations/(?P<id>[\\d]+)", ["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ("/wc/v3/settings/(?P<group_id>[\\w-]+)/(?P<id>[\\w-]+)", ["GET", "POST", "PUT", "PATCH"]),
    ("/wc/v3/system_status", ["GET"]),
    ("/wc/v3/webhooks", ["GET", "POST"]),
    ("/wc/v3/webhooks/(?P<id>[\\d]+)", ["GET", "POST", "PUT", "PATCH", "DELETE"]),
)


def _offset_hours(site: WooSite, context: WooContext) -> float | int:
    offset = context.now().astimezone(site.zone).utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    return int(hours) if hours == int(hours) else hours


def rest_index(context: WooContext, site: WooSite) -> Response:
    """GET {site}/wp-json/: names the namespaces; `wc/v3` only where WooCommerce is active."""
    site_url = context.site_url(site.slug)
    namespaces = WP_NAMESPACES + (WC_NAMESPACES if site.woocommerce else [])
    routes: dict[str, Any] = {
        "/": {"namespace": "", "methods": ["GET"], "endpoints": [{"methods": ["GET"], "args": {}}]}
    }
    if site.woocommerce:
        routes["/wc/v3"] = {"namespace": "wc/v3", "methods": ["GET"], "endpoints": [{"methods": ["GET"], "args": {}}]}
    body = {
        "name": site.name,
        "description": "Just another WordPress site",
        "url": site_url,
        "home": site_url,
        "gmt_offset": _offset_hours(site, context),
        "timezone_string": site.timezone_name,
        "page_for_posts": 0,
        "page_on_front": 0,
        "show_on_front": "posts",
        "namespaces": namespaces,
        "authentication": {
            "application-passwords": {"endpoints": {"authorization": f"{site_url}/wp-admin/authorize-application.php"}}
        },
        "routes": routes,
        "site_logo": 0,
        "site_icon": 0,
        "site_icon_url": "",
        "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
    }
    return wp_response(body, headers={"Link": f'<{site_url}/wp-json/>; rel="https://api.w.org/"'})


def namespace_index(context: WooContext, site: WooSite) -> Response:
    """GET {site}/wp-json/wc/v3."""
    site_url = context.site_url(site.slug)
    routes = {
        path: {"namespace": "wc/v3", "methods": methods, "endpoints": [{"methods": methods, "args": {}}]}
        for path, methods in WC_ROUTES
    }
    return wp_response({"namespace": "wc/v3", "routes": routes, "_links": {"up": [{"href": f"{site_url}/wp-json/"}]}})


def home_page(context: WooContext, site: WooSite) -> Response:
    site_url = context.site_url(site.slug)
    html = (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8" />\n'
        f"<title>{site.name}</title>\n"
        f'<link rel="https://api.w.org/" href="{site_url}/wp-json/" />\n'
        f'<meta name="generator" content="WordPress {WP_VERSION}" />\n'
        + (f'<meta name="generator" content="WooCommerce {WC_VERSION}" />\n' if site.woocommerce else "")
        + f'</head>\n<body class="home"><h1>{site.name}</h1></body>\n</html>\n'
    )
    response = Response.html(html)
    response.headers["Link"] = f'<{site_url}/wp-json/>; rel="https://api.w.org/"'
    return response


def not_found_page(site: WooSite | None) -> Response:
    """A WordPress theme's 404 page, or (no site at all) the web server's."""
    if site is None:
        return Response.html(
            "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>", 404
        )
    return Response.html(
        f"<!DOCTYPE html><html><head><title>Page not found &#8211; {site.name}</title></head>"
        '<body class="error404"><h1>Oops! That page can&rsquo;t be found.</h1></body></html>',
        404,
    )


def _settings(site: WooSite) -> dict[str, dict[str, dict[str, Any]]]:
    precision = get_currency_precision(site.currency)
    return {
        "general": {
            "woocommerce_currency": {
                "label": "Currency",
                "description": "This controls what currency prices are listed at in the catalog and which currency "
                "gateways will take payments in.",
                "type": "select",
                "default": "USD",
                "value": site.currency,
            },
            "woocommerce_default_country": {
                "label": "Country / State",
                "description": "The country and state or province, if any, in which your business is located.",
                "type": "select",
                "default": "US:CA",
                "value": site.country,
            },
            "woocommerce_price_num_decimals": {
                "label": "Number of decimals",
                "description": "This sets the number of decimal points shown in displayed prices.",
                "type": "number",
                "default": "2",
                "value": str(precision),
            },
        },
        "products": {
            "woocommerce_manage_stock": {
                "label": "Manage stock",
                "description": "Enable stock management",
                "type": "checkbox",
                "default": "yes",
                "value": "yes" if site.manage_stock else "no",
            },
            "woocommerce_hold_stock_minutes": {
                "label": "Hold stock (minutes)",
                "description": "Hold stock (for unpaid orders) for x minutes.",
                "type": "number",
                "default": "60",
                "value": "60",
            },
            "woocommerce_notify_low_stock_amount": {
                "label": "Low stock threshold",
                "description": "When product stock reaches this amount you will be notified via email.",
                "type": "number",
                "default": "2",
                "value": "2",
            },
        },
    }


def get_setting(context: WooContext, call: Call) -> Response:
    group_id, setting_id = call.params["group"], call.params["setting"]
    groups = _settings(call.site)
    if group_id not in groups:
        raise WooError(404, "rest_setting_setting_group_invalid", "Invalid setting group.")
    setting = groups[group_id].get(setting_id)
    if setting is None:
        raise WooError(404, "rest_setting_setting_invalid", "Invalid setting.")
    base = f"{call.site_url}/wp-json/wc/v3/settings/{group_id}"
    body = {
        "id": setting_id,
        "label": setting["label"],
        "description": setting["description"],
        "type": setting["type"],
        "default": setting["default"],
        "tip": "",
        "value": setting["value"],
        "group_id": group_id,
        "_links": {"self": [{"href": f"{base}/{setting_id}"}], "collection": [{"href": base}]},
    }
    return wp_response(body)


def system_status(context: WooContext, call: Call) -> Response:
    site = call.site
    site_url = call.site_url
    body = {
        "environment": {
            "home_url": site_url,
            "site_url": site_url,
            "store_id": site.token("", "store-id", length=32),
            "version": WC_VERSION,
            "log_directory": "/var/www/html/wp-content/uploads/wc-logs/",
            "log_directory_writable": True,
            "wp_version": WP_VERSION,
            "wp_multisite": False,
            "wp_memory_limit": 268435456,
            "wp_debug_mode": False,
            "wp_cron": True,
            "language": {"de": "de_DE", "fr": "fr_FR", "it": "it_IT", "es": "es_ES", "nl": "nl_NL"}.get(
                site.language, "en_US"
            ),
            "external_object_cache": None,
            "server_info": "nginx/1.26.2",
            "php_version": "8.3.14",
            "php_post_max_size": 67108864,
            "php_max_execution_time": 60,
            "php_max_input_vars": 1000,
            "curl_version": "8.11.0, OpenSSL/3.0.15",
            "max_upload_size": 67108864,
            "mysql_version": "8.0.40",
            "mysql_version_string": "8.0.40",
            "default_timezone": "UTC",
            "fsockopen_or_curl_enabled": True,
            "soapclient_enabled": True,
            "domdocument_enabled": True,
            "gzip_enabled": True,
            "mbstring_enabled": True,
            "remote_post_successful": True,
            "remote_post_response": 200,
            "remote_get_successful": True,
            "remote_get_response": 200,
        },
        "database": {"wc_database_version": WC_VERSION, "database_prefix": "wp_"},
        "active_plugins": [
            {
                "plugin": "woocommerce/woocommerce.php",
                "name": "WooCommerce",
                "version": WC_VERSION,
                "version_latest": WC_VERSION,
                "url": "https://woocommerce.com/",
                "author_name": "Automattic",
                "author_url": "https://woocommerce.com",
                "network_activated": False,
            }
        ],
        "inactive_plugins": [],
        "dropins_mu_plugins": {"dropins": [], "mu_plugins": []},
        "theme": {"name": "Storefront", "version": "4.6.0", "is_child_theme": False, "has_woocommerce_support": True},
        "settings": {
            "api_enabled": True,
            "force_ssl": False,
            "currency": site.currency,
            "currency_symbol": get_currency_symbol(site.currency, locale="en"),
            "currency_position": "right_space" if site.language != "en" else "left",
            "thousand_separator": "." if site.language in ("de", "it", "es", "nl") else ",",
            "decimal_separator": "," if site.language in ("de", "it", "es", "nl", "fr") else ".",
            "number_of_decimals": get_currency_precision(site.currency),
            "geolocation_enabled": False,
            "taxonomies": {"external": "external", "grouped": "grouped", "simple": "simple", "variable": "variable"},
            "woocommerce_com_connected": "no",
            "enforce_approved_download_directories": True,
            "order_datastore": "Automattic\\WooCommerce\\Internal\\DataStores\\Orders\\OrdersTableDataStore",
            "HPOS_enabled": True,
            "HPOS_sync_enabled": False,
        },
        "security": {"secure_connection": True, "hide_errors": True},
        "pages": [],
        "post_type_counts": [{"type": "product", "count": str(len(site.products))}],
        "logging": {
            "logging_enabled": True,
            "default_handler": "Automattic\\WooCommerce\\Internal\\Admin\\Logging\\LogHandlerFileV2",
        },
    }
    return wp_response(body)
