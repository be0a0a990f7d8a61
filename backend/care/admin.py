from django import forms
from django.contrib import admin
from rest_framework.exceptions import APIException, ValidationError

from backend.accounts.models import User
from backend.care import services
from backend.care.models import CareInvite, CareLink


class CareLinkForm(forms.ModelForm):
    class Meta:
        model = CareLink
        fields = ("patient", "therapist")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = User.objects.filter(
            role=User.Role.PATIENT, is_active=True
        )
        self.fields["therapist"].queryset = User.objects.filter(
            role=User.Role.THERAPIST, is_active=True
        )


@admin.register(CareLink)
class CareLinkAdmin(admin.ModelAdmin):
    form = CareLinkForm
    list_display = ("therapist", "patient", "source", "created_at", "ended_at")
    list_filter = ("source",)
    search_fields = ("therapist__email", "patient__email")
    list_select_related = ("therapist", "patient")
    actions = ["end_links"]

    def get_readonly_fields(self, request, obj=None):
        return (
            ("patient", "therapist", "source", "created_at", "ended_at", "ended_by") if obj else ()
        )

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            link = services.link_create(
                patient=obj.patient, therapist=obj.therapist, source=CareLink.Source.ADMIN
            )
        except (ValidationError, APIException) as exc:
            raise forms.ValidationError(str(exc.detail)) from exc
        obj.pk = link.pk

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept: end a link instead

    @admin.action(description="End the selected care links")
    def end_links(self, request, queryset):
        for link in queryset.filter(ended_at__isnull=True):
            services.link_end(link=link, by=request.user)


@admin.register(CareInvite)
class CareInviteAdmin(admin.ModelAdmin):
    list_display = ("therapist", "created_at", "expires_at", "used_at", "revoked_at")
    readonly_fields = (
        "therapist",
        "code_hash",
        "created_at",
        "expires_at",
        "used_at",
        "used_by",
        "revoked_at",
    )
    list_select_related = ("therapist",)

    def has_add_permission(self, request):
        return False
