"""Automatic sign-out of an idle console session (HIPAA's automatic logoff)."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SEEN_KEY = "console_seen_at"
CONSOLE_PREFIX = "/console/"
RESAVE_SECONDS = 30


class IdleSignOutMiddleware:
    """Signs out a console session that made no request for ``CONSOLE_IDLE_SECONDS``.

    Only the console's pages count as activity and only they are guarded: the API answers
    bearer tokens, never this session. The clock is the server's; the page's own timer
    (console.js) only reloads a page left open, so that the sign-in form replaces it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(CONSOLE_PREFIX) and request.user.is_authenticated:
            now = time.time()
            seen = request.session.get(SEEN_KEY)
            if seen is not None and now - seen > settings.CONSOLE_IDLE_SECONDS:
                logout(request)
                request.session["console_signed_out_idle"] = True
            elif seen is None or now - seen > RESAVE_SECONDS:
                # Not every request: each save is a write; the limit stays within a minute.
                request.session[SEEN_KEY] = now
        return self.get_response(request)
