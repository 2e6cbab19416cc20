"""The admin of staff, sites and the audit log, for administrators (camp.admin_site).

An administrator sees and changes only what belongs to their own sites: the staff who
share one of them, those sites, and their audit entries. Superusers see everything.
"""

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from camp import audit
from camp.models import Site, User
from camp.roles import Role, has_role


def _sites_of(request):
    """The sites the requesting administrator may see; None for a superuser (all)."""
    if request.user.is_superuser:
        return None
    return Site.objects.filter(staff=request.user)


def _visible_staff(request):
    """Staff sharing a site with the requesting administrator, superusers excepted."""
    sites = _sites_of(request)
    if sites is None:
        return User.objects.all()
    visible = User.objects.filter(sites__in=sites, is_superuser=False).values("pk")
    return User.objects.filter(pk__in=visible)


class VisibleSitesFilter(admin.RelatedFieldListFilter):
    """A filter by site offering only the administrator's own sites."""

    def field_choices(self, field, request, model_admin):
        sites = _sites_of(request)
        if sites is None:
            return super().field_choices(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": sites.values("pk")}
        )


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone"]
    search_fields = ["name", "code"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        sites = _sites_of(request)
        return queryset if sites is None else queryset.filter(pk__in=sites.values("pk"))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:
            # A site an administrator opens is theirs, or they could not see it afterwards.
            request.user.sites.add(obj)
        audit.record(actor=request.user, action="camp.site.saved", target=obj, site=obj)


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "is_active"]
    list_filter = ["groups", ("sites", VisibleSitesFilter), "is_active"]
    filter_horizontal = ["groups", "sites", "user_permissions"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (_("Roles and sites"), {"fields": ["is_active", "groups", "sites"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]

    def get_queryset(self, request):
        # Also guards the password change page, which looks the user up through it.
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=_visible_staff(request).values("pk"))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        sites = _sites_of(request)
        if db_field.name == "sites" and sites is not None:
            kwargs["queryset"] = sites
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        sites = _sites_of(request)
        user = form.instance
        # The form offers only the administrator's sites: keep the user's other ones.
        hidden = list(user.sites.exclude(pk__in=sites.values("pk"))) if sites is not None else []
        super().save_related(request, form, formsets, change)
        if hidden:
            user.sites.add(*hidden)
        if not change and sites is not None:
            # A new account starts at the administrator's sites, or they could not see it.
            user.sites.add(*sites)
        # The entry's row changes show what was saved: names, roles, sites, active.
        audit.record(actor=request.user, action="camp.staff.saved", target=user, site=None)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.must_change_password = True
        super().save_model(request, obj, form, change)

    def user_change_password(self, request, id, form_url=""):
        """Django's page for setting a staff member's password; the password set is the
        administrator's, so its owner must replace it at their next log-in."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            user.must_change_password = user != request.user
            user.save(update_fields=["must_change_password"])
            audit.record(
                actor=request.user, action="camp.staff.password_set", target=user, site=None
            )
        return response

    def has_delete_permission(self, request, obj=None):
        # Staff appear in the logbook as monitors and authors: deactivate, never delete.
        return False


# Log-in lock-outs (django-axes). Every administrator may see and lift those of their own
# staff, and those of names no account has (an address guessing usernames); the admin site
# itself admits administrators only (camp.admin_site), so no model permission is needed.
for model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class _LockoutScope:
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        others = User.objects.exclude(pk__in=_visible_staff(request).values("pk"))
        return queryset.exclude(username__in=others.values("username"))

    def has_module_permission(self, request):
        return has_role(request.user, Role.ADMINISTRATOR)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, Role.ADMINISTRATOR)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessAttempt)
class LockoutAdmin(_LockoutScope, AccessAttemptAdmin):
    """Failed log-ins counted per username and address; deleting one unlocks it."""

    def has_delete_permission(self, request, obj=None):
        return has_role(request.user, Role.ADMINISTRATOR)


@admin.register(AccessLog)
class LoginLogAdmin(_LockoutScope, AccessLogAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
