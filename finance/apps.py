from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance")

    def ready(self) -> None:
        from acorn.exports.registry import register_export_kind
        from channels.services_lifecycle import register_store_data
        from channels.sync import register_sync_job
        from finance.profit import triggers as profit_triggers
        from finance.profit.views import order_profit_section
        from finance.settlements import exports as settlement_exports
        from finance.settlements import shopify as shopify_statements
        from finance.settlements import woocommerce as woocommerce_statements
        from finance.settlements.amazon import AMAZON_SETTLEMENTS
        from finance.settlements.deferred import deferred_money_sync_job
        from finance.settlements.order_links import settlement_lines_link_orders
        from finance.settlements.store_data import FINANCE_STORE_DATA
        from finance.settlements.sync import register_statement_source, settlements_sync_job
        from orders.hooks import register_order_detail_section, register_orders_upserted_listener
        from refunds.listeners import register_refunds_money_changed_listener

        register_store_data(FINANCE_STORE_DATA)
        # Statement sources (one per channel capability) register here, before the job that dispatches to them.
        register_statement_source(AMAZON_SETTLEMENTS)
        shopify_statements.register()
        woocommerce_statements.register()
        register_sync_job(settlements_sync_job())
        register_sync_job(deferred_money_sync_job())
        # A statement read before its orders is linked when they arrive.
        register_orders_upserted_listener(settlement_lines_link_orders)
        # The P&L follows orders, refunds and returns (statements and costs call it from finance itself).
        register_orders_upserted_listener(profit_triggers.on_orders_upserted)
        register_refunds_money_changed_listener(profit_triggers.on_refunds_money_changed)
        register_order_detail_section(order_profit_section)

        from finance import retention

        retention.register()

        # Large statement-line and not-yet-settled exports are written by a worker (acorn.exports).
        register_export_kind(settlement_exports.SETTLEMENT_LINES_EXPORT)
        register_export_kind(settlement_exports.NOT_YET_SETTLED_EXPORT)
