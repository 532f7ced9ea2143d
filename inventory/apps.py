from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from channels.sync import register_sync_job
        from inventory.fba import INVENTORY_SYNC_JOB

        register_sync_job(INVENTORY_SYNC_JOB)

        from channels.services_lifecycle import register_store_data
        from inventory.store_data import INVENTORY_STORE_DATA

        register_store_data(INVENTORY_STORE_DATA)

        from acorn.exports.registry import register_export_kind
        from inventory.mapping_csv import MAPPINGS_EXPORT

        register_export_kind(MAPPINGS_EXPORT)

        from inventory.catalogue_csv import PRODUCTS_EXPORT, STOCK_EXPORT

        register_export_kind(PRODUCTS_EXPORT)
        register_export_kind(STOCK_EXPORT)
