from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CampConfig(AppConfig):
    default = True
    name = "camp"
    verbose_name = _("Camp")

    def ready(self):
        from camp import audit

        audit.connect_signals()


class CampAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "camp.admin_site.CampAdminSite"
