from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance")

    def ready(self) -> None:
        from channels.services_lifecycle import register_store_data
        from channels.sync import register_sync_job
        from finance.settlements import shopify as shopify_statements
        from finance.settlements import woocommerce as woocommerce_statements
        from finance.settlements.store_data import FINANCE_STORE_DATA
        from finance.settlements.sync import settlements_sync_job

        register_store_data(FINANCE_STORE_DATA)
        # Statement sources (one per channel capability) register here, before the job that dispatches to them.
        shopify_statements.register()
        woocommerce_statements.register()
        register_sync_job(settlements_sync_job())
