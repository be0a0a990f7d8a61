"""List filters shared by the API's FilterSets."""

import django_filters
from django import forms

from backend.core.time import parse_api_datetime


class _AwareDateTimeFormField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_api_datetime(value)


class AwareDateTimeFilter(django_filters.IsoDateTimeFilter):
    """The one datetime list filter: the same rules as AwareDateTimeField, as a field error."""

    field_class = _AwareDateTimeFormField
