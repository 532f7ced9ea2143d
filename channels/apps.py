from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    """Sales channels. The label differs from the package name so that Django Channels (app label
    "channels") can be added for websockets without a clash (STYLE.md §8)."""

    name = "channels"
    label = "sales_channels"
    verbose_name = _("Sales channels")
