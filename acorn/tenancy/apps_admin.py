from django.contrib.admin.apps import AdminConfig


class AcornAdminConfig(AdminConfig):
    default_site = "acorn.tenancy.admin_site.AcornAdminSite"
