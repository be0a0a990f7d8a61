"""Signing in to the console in tests: a session, verified by a second factor where required."""

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.accounts.models import User


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
    if verified:
        device = verified_device(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
