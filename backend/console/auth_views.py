"""Signing in to the console: password, then a second factor (TOTP, or a recovery code).

Therapists and clinic staff must have a second factor; the first sign-in leads them to set
one up before any page opens. Family members may opt in. Patients use the app, not this.
Every password goes through accounts' sign-in check, so the API's back-off applies here too.
"""

from base64 import b32encode
from io import BytesIO
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import login as session_login
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions

from backend.accounts.models import User
from backend.accounts.services import sign_in_check
from backend.console.access import (
    CONSOLE_ROLES,
    console_page,
    home_for,
    private,
    proved_second_factor,
    second_factor_required,
)
from backend.console.forms import CodeForm, NewCodeForm, SignInForm

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def _next(request: HttpRequest, user: User) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return home_for(user)


def _step(name: str, target: str) -> HttpResponse:
    return private(redirect(f"{reverse(name)}?{urlencode({'next': target})}"))


def _credentials_user(request: HttpRequest, form: SignInForm) -> User | None:
    """The console user these credentials name, or None with the reason on the form."""
    try:
        user = sign_in_check(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            request=request,
        )
    except exceptions.Throttled as exc:
        form.add_error(None, f"{exc.detail} Try again in {exc.wait or 60:.0f} seconds.")
        return None
    if user is None:
        form.add_error(None, "The email or password is incorrect.")
    elif not user.email_verified:
        form.add_error(None, "Confirm your email address first: open the link we sent you.")
    elif user.role not in CONSOLE_ROLES:
        form.add_error(
            None, "This console is for care teams and family members; patients use the app."
        )
    else:
        return user
    return None


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password")
def sign_in(request: HttpRequest) -> HttpResponse:
    idle = request.session.pop("console_signed_out_idle", False)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _credentials_user(request, form)
        if user is not None:
            session_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            target = _next(request, user)
            if user_has_device(user):
                return _step("console:verify", target)
            if second_factor_required(user):
                return _step("console:two-factor-setup", target)
            return private(redirect(target))
    context = {
        "form": form,
        "idle": idle,
        "idle_minutes": max(1, settings.CONSOLE_IDLE_SECONDS // 60),
        "next": request.GET.get("next", ""),
    }
    status = 400 if form.errors else 200
    return private(render(request, "console/sign_in.html", context, status=status))


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or an unused recovery code."""
    user = request.user
    if not user.is_authenticated:
        return private(redirect_to_login(request.get_full_path()))
    if not user_has_device(user):
        return _step("console:two-factor-setup", _next(request, user))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", "That code is not right (or was used already). Try again.")
        else:
            otp_login(request, device)
            return private(redirect(_next(request, user)))
    context = {"form": form, "next": request.GET.get("next", "")}
    status = 400 if form.errors else 200
    return private(render(request, "console/verify.html", context, status=status))


def _grouped(key: str) -> str:
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg") :]  # without the XML declaration, to sit inside the page
    return svg.replace(
        "<svg ", '<svg role="img" aria-label="QR code of the key for your authenticator app" ', 1
    )


@transaction.atomic
def _confirm(user: User, device: TOTPDevice) -> list[str]:
    """Confirm the app's device and issue fresh recovery codes (shown once)."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    recovery = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan or type the key, prove it with one code."""
    user = request.user
    if not user.is_authenticated:
        return private(redirect_to_login(request.get_full_path()))
    if user.role not in CONSOLE_ROLES:
        return private(redirect("console:sign-in"))
    if user_has_device(user) and not proved_second_factor(user):
        # Replacing a second factor needs the current one first.
        return _step("console:verify", request.get_full_path())
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    form = NewCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            codes = _confirm(user, device)
            otp_login(request, device)
            context = {"codes": codes, "next": _next(request, user)}
            return private(render(request, "console/recovery_codes.html", context))
        form.add_error(
            "code", "That code does not match. Check the time on your phone and try again."
        )
    context = {
        "form": form,
        "qr": _qr_svg(device.config_url),
        "secret": _grouped(b32encode(device.bin_key).decode()),
        "next": request.GET.get("next", ""),
        "required": second_factor_required(user),
    }
    status = 400 if form.errors else 200
    return private(render(request, "console/two_factor_setup.html", context, status=status))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return private(redirect("console:sign-in"))


@require_GET
@console_page()
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own page: their second factor and recovery codes left."""
    user = request.user
    recovery_left = StaticToken.objects.filter(device__user=user).count()
    return render(
        request,
        "console/account.html",
        {"has_device": user_has_device(user), "recovery_left": recovery_left},
    )
