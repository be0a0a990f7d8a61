from backend.core.renderers import JSONRenderer


class FhirJSONRenderer(JSONRenderer):
    """FHIR's JSON media type (the format a health record asks for)."""

    media_type = "application/fhir+json"
    format = "fhir"
