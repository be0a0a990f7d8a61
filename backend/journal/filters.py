import django_filters
from django.db.models import Exists, OuterRef

from backend.core.filters import AwareDateTimeFilter
from backend.journal.models import EntryTrigger, JournalEntry, Outcome, Substance


class EntryFilter(django_filters.FilterSet):
    occurred_after = AwareDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = AwareDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    substance = django_filters.MultipleChoiceFilter(choices=Substance.choices)
    min_intensity = django_filters.NumberFilter(
        field_name="intensity", lookup_expr="gte", min_value=0, max_value=10
    )
    trigger = django_filters.CharFilter(
        method="filter_trigger", max_length=60, help_text="A trigger label."
    )

    class Meta:
        model = JournalEntry
        fields: list[str] = []

    def filter_trigger(self, queryset, name, value):
        key = " ".join(value.split()).lower()
        return queryset.filter(
            Exists(EntryTrigger.objects.filter(entry=OuterRef("pk"), trigger__key=key))
        )
