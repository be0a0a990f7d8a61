from drf_spectacular.utils import extend_schema
from rest_framework import generics

from backend.core.permissions import IsPatient
from backend.disclosure import selectors
from backend.disclosure.models import DisclosureLog
from backend.disclosure.serializers import DisclosureSerializer


@extend_schema(tags=["me"])
class DisclosureListView(generics.ListAPIView):
    """Who saw which of your records, when, and under which consent (42 CFR 2.25)."""

    permission_classes = [IsPatient]
    serializer_class = DisclosureSerializer
    queryset = DisclosureLog.objects.none()
    ordering = ("-at", "-id")

    def get_queryset(self):
        return selectors.disclosures_of(self.request.user)
