"""Signing in to the console in tests: a session, verified by a second factor where required."""

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.accounts.models import User
from backend.console.middleware import SEEN_KEY


def verified_device(user: User) -> TOTPDevice:
    """The user's confirmed authenticator app (made once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)


def console_client(user: User | None, *, verified: bool = True) -> Client:
    """A browser signed in to the console as ``user`` (anonymous when None).

    ``verified``: the session passed the second factor, as after the code step (therapists
    and clinic staff need it for every page; a family member without a device does not).
    """
    client = Client()
    if user is None:
        return client
    client.force_login(user)
    session = client.session
    # Seen just now, as after the sign-in's own request: the first page does not save it.
    session[SEEN_KEY] = time.time()
    if verified:
        session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
    session.save()
    return client
