from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CampConfig(AppConfig):
    default = True
    name = "camp"
    verbose_name = _("Camp")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from camp import audit
        from camp.middleware import SessionTimeoutMiddleware

        audit.connect_signals()
        user_logged_in.connect(SessionTimeoutMiddleware.stamp_login)


class CampAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "camp.admin_site.CampAdminSite"
