"""Clinic staff edit the homework templates here. Assigned homework holds patients' answers:
it is not in the admin, which no consent covers."""

from django import forms
from django.contrib import admin

from backend.homework.models import HomeworkTemplate
from backend.homework.serializers import QuestionSerializer


class HomeworkTemplateForm(forms.ModelForm):
    class Meta:
        model = HomeworkTemplate
        fields = "__all__"  # noqa: DJ007 - staff edit every field of a template

    def clean_questions(self):
        """The same checks as questions a therapist writes in the API (types, prompts, choices)."""
        questions = self.cleaned_data["questions"]
        serializer = QuestionSerializer(data=questions, many=True)
        if not isinstance(questions, list) or not serializer.is_valid():
            errors = serializer.errors if isinstance(questions, list) else "Give a list."
            raise forms.ValidationError(f"These questions cannot be asked: {errors}")
        return questions


@admin.register(HomeworkTemplate)
class HomeworkTemplateAdmin(admin.ModelAdmin):
    form = HomeworkTemplateForm
    list_display = ("title", "slug", "kind")
    list_filter = ("kind",)
    search_fields = ("title",)
    readonly_fields = ("created_at",)
