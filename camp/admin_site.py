from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from camp.forms import AdminLoginForm
from camp.roles import Role, has_role


class CampAdminSite(admin.AdminSite):
    site_header = _("Camp logbook administration")
    site_title = _("Camp logbook")
    login_form = AdminLoginForm

    def has_permission(self, request):
        """Only administrators reach the admin; the ``is_staff`` flag is not used."""
        return request.user.is_active and has_role(request.user, Role.ADMINISTRATOR)

    def admin_view(self, view, cacheable=False):
        """Staff logged in without the administrator role get 403, as on every other page
        their role may not use, instead of the admin's log-in form; anonymous users are
        still sent to log in."""
        admitted = super().admin_view(view, cacheable)

        @wraps(admitted)
        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return admitted(request, *args, **kwargs)

        return inner
