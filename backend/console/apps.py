from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The clinician console: server-rendered pages for therapists, clinic staff and family."""

    name = "backend.console"
    label = "console"
    default_auto_field = "django.db.models.BigAutoField"
