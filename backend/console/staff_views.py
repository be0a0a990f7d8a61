"""Clinic staff's pages: therapists, care links and invites, meeting feeds.

Staff run the clinic; they hold no consent and so see no patient record: these pages name
who is linked to whom and nothing of what is shared. Every write goes through the same
services the API and the admin use; a page that cannot find its object is the 404 page.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework import exceptions

from backend.accounts.models import User, normalize_email
from backend.accounts.services import therapist_create
from backend.care import selectors as care_selectors
from backend.care import services as care_services
from backend.console import forms as console_forms
from backend.console.access import console_page, page_of
from backend.core.time import validate_time_zone
from backend.meetings import selectors as meeting_selectors
from backend.meetings.importer import FeedImportError, import_feed
from backend.meetings.models import MeetingFeed

STAFF = User.Role.CLINIC_ADMIN
PAGE_SIZE = 50
INVITES_SHOWN = 50


# --- therapists ---------------------------------------------------------------------------


class TherapistForm(forms.Form):
    display_name = forms.CharField(label="Name", max_length=80)
    email = forms.EmailField(label="Email", max_length=254)
    password = forms.CharField(
        label="First password",
        strip=False,
        max_length=256,
        help_text="At least 10 characters, not a common one. Give it to them in person; they "
        "set up two-step sign-in when they first sign in.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        validators=[validate_time_zone],
        help_text="An IANA name, for example America/New_York.",
    )

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email address exists already.")
        return email


def _therapists_page(
    request: HttpRequest, form: TherapistForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "nav": "therapists",
        "form": form,
        "page": page_of(request, care_selectors.therapists_with_caseload(), PAGE_SIZE),
    }
    return render(request, "console/staff/therapists.html", context, status=status)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password")
@console_page(STAFF)
def therapists(request: HttpRequest) -> HttpResponse:
    """Every therapist, open or closed, with their caseload; and a form to add one."""
    if request.method != "POST":
        return _therapists_page(
            request, TherapistForm(initial={"time_zone": settings.DEFAULT_USER_TIME_ZONE})
        )
    form = TherapistForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            therapist = therapist_create(
                email=data["email"],
                display_name=data["display_name"],
                password=data["password"],
                time_zone=data["time_zone"],
            )
        except (DjangoValidationError, exceptions.ValidationError) as exc:
            console_forms.add_errors(form, exc, field="password")
        else:
            messages.success(
                request, f"{therapist.display_name} ({therapist.email}) can sign in now."
            )
            return redirect("console:staff-therapists")
    return _therapists_page(request, form, status=400)


@require_POST
@console_page(STAFF)
def therapist_deactivate(request: HttpRequest, therapist_id: Any) -> HttpResponse:
    """Close a therapist's account and end their care links (see care.services.therapist_retire)."""
    therapist = get_object_or_404(User, pk=therapist_id, role=User.Role.THERAPIST)
    if not therapist.is_active:
        messages.info(request, f"{therapist.display_name or therapist.email} was closed already.")
        return redirect("console:staff-therapists")
    ended = care_services.therapist_retire(therapist=therapist, by=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        f"{therapist.display_name or therapist.email} can no longer sign in; "
        f"{ended} care link{'' if ended == 1 else 's'} ended and the consents given to them "
        "revoked.",
    )
    return redirect("console:staff-therapists")


# --- care links and invites -----------------------------------------------------------------


class InviteForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="invite", required=False)
    therapist = forms.ModelChoiceField(
        label="Therapist",
        queryset=User.objects.filter(role=User.Role.THERAPIST, is_active=True).order_by(
            "display_name", "email"
        ),
        empty_label="Choose a therapist",
        help_text="The code links the patient who enters it in the app to this therapist.",
    )


class EndLinkForm(forms.Form):
    link = forms.UUIDField()


def _links_page(
    request: HttpRequest,
    form: InviteForm,
    *,
    status: int = 200,
    code: str = "",
    invite: Any = None,
) -> HttpResponse:
    now = timezone.now()
    invites = care_selectors.open_invites(now=now)
    context = {
        "nav": "links",
        "form": form,
        "page": page_of(request, care_selectors.clinic_links(), PAGE_SIZE),
        "invites": list(invites[:INVITES_SHOWN]),
        "invites_total": invites.count(),
        "code": code,
        "new_invite": invite,
    }
    return render(request, "console/staff/links.html", context, status=status)


@require_http_methods(["GET", "POST"])
@console_page(STAFF)
def links(request: HttpRequest) -> HttpResponse:
    """Care links across the clinic and the invites still open; create an invite, end a link."""
    if request.method != "POST":
        return _links_page(request, InviteForm())
    if request.POST.get("action") == "end":
        return _link_end(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _links_page(request, form, status=400)
    therapist = form.cleaned_data["therapist"]
    invite, code = care_services.invite_create(therapist=therapist)
    # The plain code exists only in this answer: it is shown once, never stored or redirected.
    return _links_page(request, InviteForm(), code=code, invite=invite)


def _link_end(request: HttpRequest) -> HttpResponse:
    form = EndLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That care link could not be found.")
        return _links_page(request, InviteForm(), status=400)
    link = care_selectors.open_link_get(link_id=form.cleaned_data["link"])
    care_services.link_end(link=link, by=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        f"{link.therapist} is no longer on {link.patient}'s care team; the consents given to "
        "them are revoked.",
    )
    return redirect("console:staff-links")


# --- meeting feeds ------------------------------------------------------------------------------


def _report_summary(feed: MeetingFeed) -> str:
    """The last import report in one readable line."""
    report = feed.last_report or {}
    if feed.last_status == "failed":
        return f"Failed: {report.get('error', 'no reason recorded')}"
    if not report:
        return "Never imported"
    rejected = len(report.get("rejected") or [])
    warnings = sum((report.get("warnings") or {}).values())
    return (
        f"{report.get('created', 0)} created, {report.get('updated', 0)} updated, "
        f"{report.get('unchanged', 0)} unchanged, {report.get('retired', 0)} retired, "
        f"{rejected} rejected, {warnings} warning{'' if warnings == 1 else 's'}"
    )


@require_GET
@console_page(STAFF)
def feeds(request: HttpRequest) -> HttpResponse:
    """The meeting directories the clinic imports, each with its last import and a button."""
    rows = [
        {
            "feed": feed,
            "summary": _report_summary(feed),
            "rejected": (feed.last_report or {}).get("rejected") or [],
            "warnings": sorted(((feed.last_report or {}).get("warnings") or {}).items()),
        }
        for feed in meeting_selectors.feeds_for_staff()
    ]
    return render(request, "console/staff/feeds.html", {"nav": "feeds", "rows": rows})


@require_POST
@console_page(STAFF)
def feed_import(request: HttpRequest, feed_id: int) -> HttpResponse:
    """Import one feed from its URL now, as the admin's action and the scheduler do."""
    feed = get_object_or_404(MeetingFeed, pk=feed_id)
    if not feed.url:
        messages.warning(request, f"{feed.name}: no URL to import from.")
        return redirect("console:staff-feeds")
    try:
        report = import_feed(feed)
    except FeedImportError as exc:
        messages.error(request, f"{feed.name}: the import failed. {exc}")
    else:
        messages.success(
            request,
            f"{feed.name}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.retired} retired, "
            f"{len(report.rejected)} rejected.",
        )
    return redirect("console:staff-feeds")
