"""Console test fixtures: a browser session signed in with its second factor proved."""

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def signed_in(user) -> Client:
    """A client whose session is signed in as ``user`` with a confirmed, verified TOTP
    (a patient, who cannot set one up in the console, only signed in)."""
    client = Client()
    client.force_login(user)
    if user.role == "patient":
        return client
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def console_as():
    return signed_in
