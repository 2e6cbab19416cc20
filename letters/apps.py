from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = _("Letters and cards")

    def ready(self):
        from letters.sections import letters_section
        from prisoners import panels

        panels.register(letters_section)
