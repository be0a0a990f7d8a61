from rest_framework.renderers import JSONRenderer as DRFJSONRenderer


class JSONRenderer(DRFJSONRenderer):
    """Compact JSON: the phone pays for every byte."""

    media_type = "application/json"
    format = "json"
    compact = True
