from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "acorn.tenancy"
    label = "tenancy"
    verbose_name = _("Tenancy")

    def ready(self) -> None:
        from acorn.tenancy import plans
        from acorn.tenancy.selectors import seats_in_use

        plans.register_usage_counter("users", lambda tenant: seats_in_use(tenant=tenant))
