from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    """Sales channels. The label differs from the package name so that Django Channels (app label
    "channels") can be added for websockets without a clash (STYLE.md §8)."""

    name = "channels"
    label = "sales_channels"
    verbose_name = _("Sales channels")

    def ready(self) -> None:
        from acorn.tenancy import plans
        from channels.selectors import store_count_in_use

        plans.register_usage_counter("stores", lambda tenant: store_count_in_use(tenant=tenant))

        from channels.webhooks import register_channel_webhook_handlers

        register_channel_webhook_handlers()

        from channels import retention

        retention.register()
