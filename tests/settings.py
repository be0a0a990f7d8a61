"""Test settings: the project's one settings module, with test-only secrets.

Only environment defaults are set here, so the suite exercises the same
settings code that production runs.
"""

import os
import time

import time_machine

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "k" * 32)
os.environ.setdefault("JWT_SIGNING_KEY", "test-jwt-signing-key-not-for-production-" + "j" * 32)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS0tLTMyLWJ5dGVzISE=")
os.environ.setdefault("ENV_FILE", "/nonexistent/.env")

from backend.config.settings import *  # noqa: F403

# Fast hashing: the suite creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True  # serve from finders; no collectstatic before tests

# The shifted-clock CI run (.ci/run) sets this to move the clock of every process that loads
# these settings (pytest, and the servers it starts on them) by the same number of seconds,
# ticking; the tests' own time_machine freezes still apply on top of it. Processes started on
# the project's own settings, as a user would run them (scripts/serve.sh, the README tour, the
# docker/example.env try-out), keep the real clock: they share no clock-dependent data with
# pytest, so they run on the real day in both runs. The database's own clock
# (SQLite's CURRENT_TIMESTAMP) is not moved: the code takes the time from Python only
# (timezone.now()), as every frozen test already requires.
CLOCK_OFFSET_ENV = "TESTS_CLOCK_OFFSET_SECONDS"
if os.environ.get(CLOCK_OFFSET_ENV):
    time_machine.travel(time.time() + float(os.environ[CLOCK_OFFSET_ENV]), tick=True).start()
