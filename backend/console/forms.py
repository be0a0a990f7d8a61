"""The console's forms: server-side validation, field-level messages."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.settings import api_settings

from backend.accounts.models import User
from backend.coping.models import PlanSection
from backend.coping.serializers import SuggestionWriteSerializer
from backend.homework.models import HomeworkReview, HomeworkTemplate
from backend.nudges.models import NudgeRule
from backend.nudges.serializers import SuggestionSerializer as NudgeRuleSuggestionSerializer


class SignInForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).replace("-", "")


class NewCodeForm(forms.Form):
    code = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\s*\d{3}\s*\d{3}\s*$",
        error_messages={"invalid": "Enter the 6 digits your app shows."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split())


# --- refusals from the API's rules, on a form --------------------------------------------


def add_errors(
    form: forms.Form,
    problems: Any,
    *,
    rename: Mapping[str, str] | None = None,
    field: str | None = None,
) -> None:
    """A refusal by one of the API's serializers or services, as the form's errors.

    ``problems``: a DRF or Django ValidationError, or a serializer's ``errors``. Each message
    goes on the form field it names (``rename`` maps the API's names to the form's); one
    naming no field of the form goes on the form, with its name. ``field`` takes messages
    that name no field at all (a password validator's list).
    """
    if isinstance(problems, exceptions.ValidationError):
        problems = problems.detail
    elif isinstance(problems, DjangoValidationError):
        problems = problems.message_dict if hasattr(problems, "error_dict") else problems.messages
    if not isinstance(problems, Mapping):
        problems = {field or NON_FIELD_ERRORS: problems}
    for name, value in problems.items():
        target = (rename or {}).get(name, name)
        for text in _flatten(value):
            if target in form.fields:
                form.add_error(target, text)
            elif name in (NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY):
                form.add_error(None, text)
            else:
                form.add_error(None, f"{name}: {text}")


def _flatten(problems: Any) -> list[str]:
    if isinstance(problems, Mapping):
        return [f"{key}: {text}" for key, value in problems.items() for text in _flatten(value)]
    if isinstance(problems, list | tuple):
        return [text for value in problems for text in _flatten(value)]
    return [str(problems)]


# --- therapist pages ---------------------------------------------------------------------
# Field rules are the API's own: each form hands its data to the API's serializer, whose
# messages come back onto the form's fields (add_errors).

LINE_SECTIONS = {
    PlanSection.REASONS,
    PlanSection.TRIGGERS,
    PlanSection.WARNING_SIGNS,
    PlanSection.AFTER_LAPSE,
    PlanSection.COPING_STRATEGIES,
}


class PlanSuggestionForm(forms.Form):
    section = forms.ChoiceField(
        choices=[(value, label) for value, label in PlanSection.choices if value in LINE_SECTIONS]
    )
    lines = forms.CharField(
        label="Proposed section",
        max_length=6000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One item per line; it replaces the whole section if the patient accepts.",
    )
    note = forms.CharField(label="Note to the patient", max_length=2000, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        items = [line.strip() for line in cleaned["lines"].splitlines() if line.strip()]
        proposed: list[Any] = items
        if cleaned["section"] == PlanSection.COPING_STRATEGIES:
            proposed = [{"text": item} for item in items]
        body = SuggestionWriteSerializer(
            data={"section": cleaned["section"], "proposed": proposed, "note": cleaned["note"]}
        )
        if not body.is_valid():
            add_errors(self, body.errors, rename={"proposed": "lines"})
            return cleaned
        cleaned["proposed"] = body.validated_data["proposed"]
        return cleaned


class NudgeSuggestionForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (NudgeRule.Kind.CHECKIN, "Daily check-in reminder"),
            (NudgeRule.Kind.CUSTOM, "A message on chosen days"),
        ]
    )
    time = forms.TimeField(
        label="At (the patient's local time)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    weekdays = forms.MultipleChoiceField(
        choices=list(
            enumerate(
                ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
            )
        ),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For a message; none means every day.",
    )
    message = forms.CharField(
        max_length=120,
        required=False,
        help_text="Shown on the patient's lock screen: keep it discreet.",
    )
    suggestion_reason = forms.CharField(label="Why you suggest it", max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        body = NudgeRuleSuggestionSerializer(
            data={
                "kind": cleaned["kind"],
                "times": [cleaned["time"].strftime("%H:%M")],
                "weekdays": [int(day) for day in cleaned["weekdays"]],
                "message": cleaned["message"],
                "suggestion_reason": cleaned["suggestion_reason"],
            }
        )
        if not body.is_valid():
            add_errors(self, body.errors, rename={"times": "time"})
            return cleaned
        cleaned["rule"] = dict(body.validated_data)
        return cleaned


class FeedReviewForm(forms.Form):
    comment = forms.CharField(
        label="Comment for the patient (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PatientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name or obj.email


class AssignHomeworkForm(forms.Form):
    patient = PatientChoiceField(queryset=User.objects.none())
    template = forms.ModelChoiceField(
        queryset=HomeworkTemplate.objects.order_by("title"), to_field_name="slug"
    )
    due_date = forms.DateField(
        label="Due on (the patient's date)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, patients: list[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        field.queryset = User.objects.filter(pk__in=[p.pk for p in patients]).order_by(
            "display_name", "id"
        )  # type: ignore[attr-defined]


class HomeworkReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=HomeworkReview.Decision.choices, widget=forms.RadioSelect)
    feedback = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you return it: say what to revise.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("decision") == HomeworkReview.Decision.RETURNED
            and not cleaned.get("feedback", "").strip()
        ):
            self.add_error("feedback", "Say what to revise when you return homework.")
        return cleaned
