"""Deployment checks of this project's own settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def emails_leave_the_server(app_configs, **kwargs):
    """A try-out's EMAIL_TO_LOG stays visible: those emails carry sign-in links."""
    if getattr(settings, "PRODUCTION", False) and not settings.EMAIL_HOST:
        return [
            Warning(
                "Emails (verification and password-reset links) go to the log, not to people.",
                hint="Set EMAIL_HOST (SMTP) and remove EMAIL_TO_LOG before real use.",
                id="core.W001",
            )
        ]
    return []
