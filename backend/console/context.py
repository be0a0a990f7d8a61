"""What every console template needs: the idle limit, whether navigation shows, the notice."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from backend.console.access import proved_second_factor, second_factor_required
from backend.console.middleware import CONSOLE_PREFIX


def console(request: HttpRequest) -> dict[str, Any]:
    if not request.path.startswith(CONSOLE_PREFIX):
        return {}
    user = request.user
    signed_in = user.is_authenticated and (
        proved_second_factor(user) or not second_factor_required(user)
    )
    return {"console_idle_seconds": settings.CONSOLE_IDLE_SECONDS, "console_nav": signed_in}
