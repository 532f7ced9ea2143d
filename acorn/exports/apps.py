from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "acorn.exports"
    label = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        from acorn.exports.registry import register_export_kind
        from acorn.exports.tenant_data import TENANT_DATA_EXPORT

        register_export_kind(TENANT_DATA_EXPORT)
