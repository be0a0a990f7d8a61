"""Clinic staff curate the library's skills here. Custom skills, checklists and plans are
patients' records: they are not in the admin, which no consent covers."""

from django.contrib import admin

from backend.coping.models import Skill


@admin.register(Skill)
class LibrarySkillAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "duration_minutes", "approach", "archived_at")
    list_filter = ("category",)
    search_fields = ("name", "summary")
    readonly_fields = ("created_at", "updated_at")
    fields = (
        "slug", "name", "category", "summary", "steps", "duration_minutes", "approach",
        "aliases", "archived_at", "created_at", "updated_at",
    )  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).filter(patient__isnull=True)

    def has_delete_permission(self, request, obj=None):
        return False  # checklists and plans may name a skill: archive it instead
