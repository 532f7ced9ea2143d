from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance")

    def ready(self) -> None:
        from channels.services_lifecycle import register_store_data
        from finance.settlements.store_data import FINANCE_STORE_DATA

        register_store_data(FINANCE_STORE_DATA)
