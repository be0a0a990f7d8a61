from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not accept instead of silently dropping them.

    A client that tries to set a read-only field (owner, role, ids) or misspells
    one learns it at once, field by field.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for key in data:
                if key in writable:
                    continue
                field = self.fields.get(key)
                errors[key] = [
                    "This field is read-only." if field is not None else "Unknown field."
                ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass
