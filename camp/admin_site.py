from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from camp.roles import Role, has_role


class CampAdminSite(admin.AdminSite):
    site_header = _("Camp logbook administration")
    site_title = _("Camp logbook")

    def has_permission(self, request):
        """Only administrators reach the admin; the ``is_staff`` flag is not used."""
        return request.user.is_active and has_role(request.user, Role.ADMINISTRATOR)
