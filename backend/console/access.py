"""Who may open a console page at all, and how refusals look.

Whose records a page shows is the access policy's question (backend.consent.policy), asked
by the same selectors the API calls; this module only lets the right roles in, requires the
second factor, and turns the policy's answers into pages: a record the viewer may not see is
the 404 page, a role that can never do something the 403 page. Every console page is private
(``Cache-Control: no-store``).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django_otp import user_has_device
from rest_framework import exceptions

from backend.accounts.models import User

Role = User.Role
STAFF_ROLES = (Role.THERAPIST, Role.CLINIC_ADMIN)
CONSOLE_ROLES = (Role.THERAPIST, Role.CLINIC_ADMIN, Role.FAMILY)


def has_second_factor(user: User) -> bool:
    """A confirmed device; asked once per request (the page and its template both ask)."""
    known = getattr(user, "_console_has_device", None)
    if known is None:
        known = user_has_device(user)
        user._console_has_device = known  # type: ignore[attr-defined]
    return known


def second_factor_required(user: User) -> bool:
    """Therapists and clinic staff must use one; a family member who set one up uses it."""
    return user.role in STAFF_ROLES or has_second_factor(user)


def proved_second_factor(user: Any) -> bool:
    """This session proved a second factor (django-otp's middleware adds ``is_verified``)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def home_for(user: User) -> str:
    if user.role == Role.CLINIC_ADMIN:
        return reverse("console:staff-therapists")
    if user.role == Role.FAMILY:
        return reverse("console:family-home")
    return reverse("console:caseload")


def page_of(request: HttpRequest, rows: Any, size: int = 25) -> Page:
    """One page of rows, in two queries (a count and the page) whatever their number; an odd
    ``page`` (text, 0, far past the end) gives the nearest page."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)  # no-store, no-cache, must-revalidate, private
    return response


def not_found_page(request: HttpRequest) -> HttpResponse:
    return private(render(request, "console/404.html", status=404))


def forbidden_page(request: HttpRequest, reason: str = "") -> HttpResponse:
    return private(render(request, "console/403.html", {"reason": reason}, status=403))


def console_page(*roles: str) -> Callable:
    """A console view for the given roles: signed in, second factor verified, private.

    The policy's NotFound (or Http404) becomes the 404 page, its PermissionDenied the 403.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return private(redirect_to_login(request.get_full_path()))
            if second_factor_required(user) and not proved_second_factor(user):
                step = "console:verify" if has_second_factor(user) else "console:two-factor-setup"
                query = urlencode({"next": request.get_full_path()})
                return private(redirect(f"{reverse(step)}?{query}"))
            if user.role not in (roles or CONSOLE_ROLES):
                return forbidden_page(request, "This page is not for your role.")
            # Dates on the page read on the viewer's own clock.
            timezone.activate(ZoneInfo(user.time_zone))
            try:
                response = view(request, *args, **kwargs)
            except (Http404, exceptions.NotFound):
                return not_found_page(request)
            except exceptions.PermissionDenied as exc:
                return forbidden_page(request, str(exc.detail))
            finally:
                timezone.deactivate()
            return private(response)

        return page

    return decorate
