from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.disclosure.models import DisclosureLog


class DisclosureSerializer(serializers.ModelSerializer):
    viewer = PersonSerializer()

    class Meta:
        model = DisclosureLog
        fields = [
            "id", "at", "viewer", "viewer_role", "kind", "record_count", "record_ids", "grant",
            "purpose", "endpoint",
        ]  # fmt: skip
        read_only_fields = fields
