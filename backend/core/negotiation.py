"""Content negotiation that never answers before authentication does."""

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class AuthenticatedFirstNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` (404) or ``Accept`` (406) is answered after the credentials
    and the permissions are checked.

    DRF negotiates before it authenticates, so without this a request with no token
    and ``?format=xml`` got a 404 where every other request without one gets a 401:
    a client (and the schema) could not rely on a 401 coming first.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (Http404, NotAcceptable):
            view = (getattr(request, "parser_context", None) or {}).get("view")
            if view is not None:
                view.perform_authentication(request)
                view.check_permissions(request)
            raise
