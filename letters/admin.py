from django.contrib import admin

from letters.models import Letter, LetterAmendment


class ReadOnlyAdmin(admin.ModelAdmin):
    """The register changes only through its services; the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ["handed_in_on", "prisoner", "kind", "direction", "channel", "status", "site"]
    list_filter = ["site", "kind", "direction", "channel", "status"]
    list_select_related = ["prisoner", "site"]
    search_fields = ["prisoner__isn", "reference"]
    date_hierarchy = "handed_in_on"


@admin.register(LetterAmendment)
class LetterAmendmentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "letter", "is_correction", "author", "reason"]
    list_filter = ["is_correction"]
    list_select_related = ["letter__prisoner", "author"]
    search_fields = ["letter__prisoner__isn", "reason"]
