from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from camp.models import AuditEntry, Site, User


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone"]
    search_fields = ["name", "code"]


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "is_active"]
    list_filter = ["groups", "sites", "is_active"]
    filter_horizontal = ["groups", "sites", "user_permissions"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (_("Roles and sites"), {"fields": ["is_active", "groups", "sites"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # Staff appear in the logbook as monitors and authors: deactivate, never delete.
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action", "site"]
    list_select_related = ["actor"]
    search_fields = ["action", "target_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
