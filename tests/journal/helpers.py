"""Journal URLs for tests; entries and check-ins are built by tests/factories.py."""

ENTRIES = "/api/v1/journal/entries/"
BATCH = "/api/v1/journal/entries/batch/"
