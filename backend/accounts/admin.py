import math

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.utils import timezone
from rest_framework.exceptions import Throttled

from backend.accounts import services
from backend.accounts.models import User
from backend.accounts.signals import clock_changed


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in, under the same back-off as the API's: staff accounts hold
    every patient's records, so their passwords may not be guessed any faster."""

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                self.user_cache = services.sign_in_check(
                    email=email, password=password, request=self.request
                )
            except Throttled as throttled:
                seconds = math.ceil(throttled.wait or 1)
                raise forms.ValidationError(
                    f"Too many failed sign-in attempts: wait {seconds} seconds and try again.",
                    code="throttled",
                ) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = AdminLoginForm


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "display_name", "time_zone")

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role == User.Role.PATIENT:
            # Patients register themselves and verify their own email.
            raise forms.ValidationError("Patients register themselves in the app.")
        if role == User.Role.FAMILY:
            raise forms.ValidationError("Family members join through a patient's invitation.")
        return role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = (
        "email",
        "display_name",
        "role",
        "is_active",
        "email_verified_at",
        "date_joined",
    )
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "display_name")
    readonly_fields = ("date_joined", "last_login", "deactivated_at", "token_generation")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {
                "fields": (
                    "display_name",
                    "role",
                    "time_zone",
                    "quiet_hours_start",
                    "quiet_hours_end",
                    "locale",
                )
            },
        ),
        (
            "Status",
            {"fields": ("is_active", "email_verified_at", "deactivated_at", "token_generation")},
        ),
        ("Staff", {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "display_name", "time_zone", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        if not change and obj.role == User.Role.THERAPIST and obj.email_verified_at is None:
            # The clinic vouches for its therapists' addresses.
            obj.email_verified_at = timezone.now()
        super().save_model(request, obj, form, change)
        clock = {"time_zone", "quiet_hours_start", "quiet_hours_end"} & set(form.changed_data)
        if change and clock:
            # As a profile update does: reminders are planned, entries dated, on the new clock.
            clock_changed.send(sender=User, user=obj, changed=frozenset(clock))
