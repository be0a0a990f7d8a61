from django.contrib import admin, messages

from backend.meetings.importer import FeedImportError, import_feed
from backend.meetings.models import MeetingFeed


@admin.register(MeetingFeed)
class MeetingFeedAdmin(admin.ModelAdmin):
    """Feeds the clinic imports; the scheduler re-imports each every refresh_hours."""

    list_display = (
        "name", "fellowship", "format", "url", "refresh_hours", "active", "last_imported_at",
        "last_status",
    )  # fmt: skip
    list_filter = ("fellowship", "format", "active", "last_status")
    search_fields = ("name", "url")
    readonly_fields = ("last_imported_at", "last_status", "last_report", "created_at")
    actions = ["import_now"]

    @admin.action(description="Import the selected feeds from their URLs now")
    def import_now(self, request, queryset):
        for feed in queryset:
            if not feed.url:
                self.message_user(request, f"{feed.name}: no URL", messages.WARNING)
                continue
            try:
                report = import_feed(feed)
            except FeedImportError as exc:
                self.message_user(request, f"{feed.name}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{feed.name}: created {report.created}, updated {report.updated}, "
                f"unchanged {report.unchanged}, retired {report.retired}, "
                f"rejected {len(report.rejected)}",
            )

    def has_delete_permission(self, request, obj=None):
        return False  # meetings point at their feed; deactivate a feed instead
