"""Clinic staff edit the homework templates here. Assigned homework holds patients' answers:
it is not in the admin, which no consent covers."""

from django.contrib import admin

from backend.homework.models import HomeworkTemplate


@admin.register(HomeworkTemplate)
class HomeworkTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "kind")
    list_filter = ("kind",)
    search_fields = ("title",)
    readonly_fields = ("created_at",)
