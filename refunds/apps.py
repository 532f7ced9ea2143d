from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = _("Refunds")

    def ready(self) -> None:
        from channels.sync import register_sync_job
        from refunds.sync import REFUNDS_SYNC_JOB, RETURNS_SYNC_JOB

        register_sync_job(REFUNDS_SYNC_JOB)
        register_sync_job(RETURNS_SYNC_JOB)

        from orders.hooks import register_orders_upserted_listener
        from refunds.hooks import on_orders_upserted

        register_orders_upserted_listener(on_orders_upserted)

        from channels.services_lifecycle import register_store_data
        from refunds.store_data import REFUNDS_STORE_DATA

        register_store_data(REFUNDS_STORE_DATA)

        from refunds.privacy import register_privacy_handlers

        register_privacy_handlers()

        from acorn.exports.registry import register_export_kind
        from refunds.exports import REFUNDS_EXPORT

        register_export_kind(REFUNDS_EXPORT)

        from acorn.tenancy.retention import register_closure_check
        from refunds.closure import closure_refused_while_money_moves

        register_closure_check(closure_refused_while_money_moves)

        from orders.hooks import register_order_detail_section
        from refunds.order_section import order_refunds_section

        register_order_detail_section(order_refunds_section)
