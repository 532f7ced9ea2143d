from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from channels.sync import register_sync_job
        from orders.sync import ORDERS_SYNC_JOB

        register_sync_job(ORDERS_SYNC_JOB)

        from orders.webhooks import register_order_webhook_handlers

        register_order_webhook_handlers()

        from inventory.hooks import register_allocation_listener
        from orders.fulfilment.services import on_allocations_changed

        register_allocation_listener(on_allocations_changed)

        from inventory.hooks import register_line_title_provider
        from orders.selectors import order_line_titles

        register_line_title_provider(order_line_titles)

        from channels.services_lifecycle import register_store_data
        from orders.store_data import ORDERS_STORE_DATA

        register_store_data(ORDERS_STORE_DATA)

        from acorn.exports.registry import register_export_kind
        from orders.exports import ORDERS_EXPORT

        register_export_kind(ORDERS_EXPORT)
