from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")

    def ready(self):
        from calls.sections import recent_calls_section, suspensions_section
        from prisoners import panels

        panels.register(recent_calls_section)
        panels.register(suspensions_section)
