"""Console test fixtures: a browser session signed in with its second factor proved."""

from django.test import Client

from tests.console.helpers import console_client


def signed_in(user) -> Client:
    """A client signed in as ``user``, second factor proved (a patient, who cannot set one
    up in the console, only signed in)."""
    return console_client(user, verified=user.role != "patient")
