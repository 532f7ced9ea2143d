from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from inventory.services import allocate_orders
        from orders.services import register_order_hook

        register_order_hook(lambda store, orders: allocate_orders(store=store, orders=orders))
