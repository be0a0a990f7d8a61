from contextlib import contextmanager

from django.db.models import Model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.coping import selectors as coping_selectors
from backend.core import conditional
from backend.core.errors import Conflict, PreconditionFailed, PreconditionRequired, field_errors
from backend.core.idempotency import idempotent
from backend.core.permissions import IsPatient
from backend.core.serializers import validated
from backend.core.time import local_today
from backend.journal import selectors, services
from backend.journal.filters import EntryFilter
from backend.journal.models import CheckIn, CounterDecision, JournalEntry, SobrietyCounter, Trigger
from backend.journal.serializers import (
    BatchItemSerializer,
    BatchResponseSerializer,
    BatchSerializer,
    ChangesSerializer,
    CheckInSerializer,
    CheckInUpdateSerializer,
    CheckInWriteSerializer,
    CounterSerializer,
    CounterWriteSerializer,
    DecisionSerializer,
    DecisionWriteSerializer,
    EntryResponseSerializer,
    EntrySerializer,
    EntryUpdateSerializer,
    EntryWriteSerializer,
    StreakSerializer,
    TriggerVocabularySerializer,
)
from backend.journal.services import EntryOp, EntryResult


def _support(patient, reasons: list[str]) -> dict | None:
    """Crisis support with the patient's own support contacts (read only when it is shown)."""
    if not reasons:
        return None
    return services.crisis_support(reasons, coping_selectors.support_contacts(patient))


# One of each for every request: DRF builds a serializer's fields per instance (deep copies).
ENTRY_WRITE = EntryWriteSerializer()
ENTRY_RESPONSE = EntryResponseSerializer()


def _entry_body(entry: JournalEntry, patient) -> dict:
    """The entry as EntryResponseSerializer documents it, crisis support included."""
    entry.support = _support(patient, services.alert_reasons(entry))
    return ENTRY_RESPONSE.to_representation(entry)


def _entry_response(entry: JournalEntry, patient, status_code: int = 200) -> Response:
    response = Response(_entry_body(entry, patient), status=status_code)
    response["ETag"] = conditional.etag(entry.version)
    return response


def _raise_invalid(result: EntryResult) -> None:
    raise serializers.ValidationError(result.errors)


@extend_schema(tags=["journal"])
class EntryListCreateView(generics.ListAPIView):
    """Your journal entries, newest first."""

    permission_classes = [IsPatient]
    serializer_class = EntrySerializer
    filterset_class = EntryFilter
    queryset = JournalEntry.objects.none()
    ordering = "-occurred_at"

    def get_queryset(self):
        return selectors.entries_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Log a craving or trigger",
        description=(
            "The phone chooses the id, so a retried upload never duplicates: sending the same "
            "entry again answers 200 with the stored copy; a different entry under the same id "
            "answers 409 with the stored copy in `current`. A very high craving or a lapse "
            "answers with a `support` block."
        ),
        request=EntryWriteSerializer,
        responses={
            201: EntryResponseSerializer,
            200: OpenApiResponse(EntryResponseSerializer, description="Already stored (a retry)."),
            409: None,
        },
    )
    def post(self, request):
        data = validated(ENTRY_WRITE, request.data)
        [result] = services.entries_apply(
            patient=request.user, ops=[EntryOp("upsert", data.pop("id"), None, data)]
        )
        if result.status == "invalid":
            _raise_invalid(result)
        if result.status == "conflict":
            raise Conflict(
                "Another entry already has this id.", current=EntrySerializer(result.entry).data
            )
        response = _entry_response(
            result.entry, request.user, 201 if result.status == "created" else 200
        )
        if result.status == "created":
            response["Location"] = f"{request.path}{result.entry.client_id}/"
        return response


@extend_schema(tags=["journal"])
class EntryDetailView(APIView):
    permission_classes = [IsPatient]

    def _entry(self, request, entry_id) -> JournalEntry:
        return selectors.entry_get_for_owner(patient=request.user, entry_id=entry_id)

    @extend_schema(
        summary="One of your entries",
        parameters=[conditional.IF_NONE_MATCH],
        responses={200: EntryResponseSerializer, 304: OpenApiResponse(description="Not modified.")},
    )
    def get(self, request, entry_id):
        entry = self._entry(request, entry_id)
        if conditional.none_match(request, entry.version):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = conditional.etag(entry.version)
            return response
        return _entry_response(entry, request.user)

    @extend_schema(
        summary="Change an entry (needs If-Match)",
        parameters=[conditional.IF_MATCH],
        request=EntryUpdateSerializer,
        responses={200: EntryResponseSerializer, 412: None, 428: None},
    )
    def patch(self, request, entry_id):
        entry = self._entry(request, entry_id)
        expected = conditional.if_match_version(request)
        if expected is None:
            raise PreconditionRequired()
        serializer = EntryUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        base = entry.version if expected == conditional.ANY else expected
        [result] = services.entries_apply(
            patient=request.user,
            ops=[
                EntryOp(
                    "upsert", entry.client_id, base, dict(serializer.validated_data), partial=True
                )
            ],
        )
        if result.status == "conflict":
            raise PreconditionFailed(current=EntrySerializer(result.entry).data)
        return _entry_response(result.entry, request.user)

    @extend_schema(
        summary="Delete an entry",
        description="Leaves a tombstone in the changes feed so your other devices delete it too.",
        parameters=[conditional.IF_MATCH_OPTIONAL],
        responses={204: None, 412: None},
    )
    def delete(self, request, entry_id):
        entry = self._entry(request, entry_id)
        expected = conditional.if_match_version(request)
        base = None if expected in (None, conditional.ANY) else expected
        [result] = services.entries_apply(
            patient=request.user, ops=[EntryOp("delete", entry.client_id, base)]
        )
        if result.status == "conflict":
            raise PreconditionFailed(current=EntrySerializer(result.entry).data)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _batch_result(index: int, result: EntryResult, contacts: list[dict[str, str]]) -> dict:
    """One item's result as BatchResultSerializer takes it."""
    body: dict = {"index": index, "id": result.id, "status": result.status}
    if result.status == "invalid":
        body["errors"] = list(field_errors(result.errors))
    elif result.status == "conflict":
        body["current"] = result.entry if result.entry.deleted_at is None else None
        body["version"] = result.entry.version
        body["deleted"] = result.deleted
    elif result.entry is not None:
        body["version"] = result.entry.version
        body["deleted"] = result.deleted
        support = services.crisis_support(result.alerts, contacts)
        if support:
            body["support"] = support
    return body


@extend_schema(tags=["journal"])
class EntryBatchView(APIView):
    permission_classes = [IsPatient]

    @idempotent
    @extend_schema(
        summary="Sync many entries at once (offline upload)",
        description=(
            "Up to 500 upserts and deletes by id, in one transaction. Each item gets its own "
            "result: created, updated, unchanged, conflict (with the server's copy) or invalid "
            "(with field errors); valid items are stored even when others are invalid, and "
            "sending the same batch again changes nothing."
        ),
        request=BatchSerializer,
        responses={200: BatchResponseSerializer},
    )
    def post(self, request):
        envelope = BatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results: dict[int, dict] = {}
        ops: list[tuple[int, EntryOp]] = []
        # One validator of each kind for all items: DRF builds a serializer's fields
        # per instance, which for 500 items would cost more than the writes.
        item_validator, fields_validator = BatchItemSerializer(), EntryUpdateSerializer()
        for index, raw in enumerate(envelope.validated_data["items"]):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            try:
                attrs = item_validator.run_validation(raw)
                data = None
                if attrs["op"] == "upsert":
                    try:
                        data = dict(fields_validator.run_validation(attrs["data"]))
                    except serializers.ValidationError as exc:
                        raise serializers.ValidationError({"data": exc.detail}) from exc
            except serializers.ValidationError as exc:
                results[index] = {
                    "index": index,
                    "id": raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None,
                    "status": "invalid",
                    "errors": list(field_errors(exc.detail)),
                }
                continue
            ops.append((index, EntryOp(attrs["op"], attrs["id"], attrs.get("base_version"), data)))
        applied = services.entries_apply(patient=request.user, ops=[op for _, op in ops])
        # Read once for the whole batch, and only when some entry calls for crisis support.
        contacts = (
            coping_selectors.support_contacts(request.user)
            if any(r.alerts for r in applied if r.status not in ("invalid", "conflict"))
            else []
        )
        for (index, _), result in zip(ops, applied, strict=True):
            results[index] = _batch_result(index, result, contacts)
        ordered = [results[i] for i in sorted(results)]
        counts = dict.fromkeys(["created", "updated", "unchanged", "conflict", "invalid"], 0)
        for row in ordered:
            counts[row["status"]] += 1
        return Response(BatchResponseSerializer({"results": ordered, "counts": counts}).data)


@extend_schema(tags=["journal"])
class TriggerVocabularyView(generics.ListAPIView):
    """Your triggers, most used first, to offer back when you log."""

    permission_classes = [IsPatient]
    serializer_class = TriggerVocabularySerializer
    queryset = Trigger.objects.none()
    ordering = ("-uses", "label")

    def get_queryset(self):
        return selectors.trigger_vocabulary(self.request.user)


@contextmanager
def _current_as(serializer_class):
    """Serialize the record a conflict or failed precondition carries."""
    try:
        yield
    except (Conflict, PreconditionFailed) as exc:
        extra = getattr(exc, "problem_extra", None)
        if extra and isinstance(extra.get("current"), Model):
            extra["current"] = serializer_class(extra["current"]).data
        raise


def _versioned(body: dict, version: int, status_code: int = 200) -> Response:
    response = Response(body, status=status_code)
    response["ETag"] = conditional.etag(version)
    return response


@extend_schema(tags=["journal"])
class CheckInListCreateView(generics.ListAPIView):
    """Your daily check-ins, newest day first."""

    permission_classes = [IsPatient]
    serializer_class = CheckInSerializer
    queryset = CheckIn.objects.none()
    ordering = "-local_date"

    def get_queryset(self):
        return selectors.checkins_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Check in for a day",
        description="One per local day. Sending the same check-in again answers 200 with the stored copy.",
        request=CheckInWriteSerializer,
        responses={201: CheckInSerializer, 200: CheckInSerializer, 409: None},
    )
    def post(self, request):
        serializer = CheckInWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with _current_as(CheckInSerializer):
            checkin, created = services.checkin_create(
                patient=request.user, checkin_id=data.pop("id"), data=data
            )
        return _versioned(CheckInSerializer(checkin).data, checkin.version, 201 if created else 200)


@extend_schema(tags=["journal"])
class CheckInDetailView(APIView):
    permission_classes = [IsPatient]

    def _checkin(self, request, checkin_id) -> CheckIn:
        return selectors.checkin_get_for_owner(patient=request.user, checkin_id=checkin_id)

    @extend_schema(
        summary="One of your check-ins",
        parameters=[conditional.IF_NONE_MATCH],
        responses={200: CheckInSerializer, 304: OpenApiResponse(description="Not modified.")},
    )
    def get(self, request, checkin_id):
        checkin = self._checkin(request, checkin_id)
        if conditional.none_match(request, checkin.version):
            return _versioned(None, checkin.version, status.HTTP_304_NOT_MODIFIED)
        return _versioned(CheckInSerializer(checkin).data, checkin.version)

    @extend_schema(
        summary="Change a check-in (needs If-Match)",
        parameters=[conditional.IF_MATCH],
        request=CheckInUpdateSerializer,
        responses={200: CheckInSerializer, 409: None, 412: None, 428: None},
    )
    def patch(self, request, checkin_id):
        checkin = self._checkin(request, checkin_id)
        expected = conditional.if_match_version(request)
        if expected is None:
            raise PreconditionRequired()
        serializer = CheckInUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with _current_as(CheckInSerializer):
            checkin = services.checkin_update(
                checkin=checkin,
                data=dict(serializer.validated_data),
                expected_version=None if expected == conditional.ANY else expected,
            )
        return _versioned(CheckInSerializer(checkin).data, checkin.version)

    @extend_schema(
        summary="Delete a check-in",
        parameters=[conditional.IF_MATCH_OPTIONAL],
        responses={204: None, 412: None},
    )
    def delete(self, request, checkin_id):
        checkin = self._checkin(request, checkin_id)
        expected = conditional.if_match_version(request)
        with _current_as(CheckInSerializer):
            services.checkin_delete(
                checkin=checkin,
                expected_version=None if expected in (None, conditional.ANY) else expected,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["journal"])
class CheckInStreakView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your check-in streak, in your time zone", responses={200: StreakSerializer}
    )
    def get(self, request):
        return Response(StreakSerializer(selectors.checkin_streak(request.user)).data)


@extend_schema(tags=["journal"])
class CounterListCreateView(generics.ListAPIView):
    """Your sobriety counters, with uses waiting for your decision."""

    permission_classes = [IsPatient]
    serializer_class = CounterSerializer
    queryset = SobrietyCounter.objects.none()
    ordering = "created_at"

    def get_queryset(self):
        return selectors.counters_of(self.request.user)

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "today": local_today(self.request.user),
        }

    @idempotent
    @extend_schema(
        summary="Start a sobriety counter",
        request=CounterWriteSerializer,
        responses={201: CounterSerializer, 409: None},
    )
    def post(self, request):
        serializer = CounterWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counter = services.counter_create(patient=request.user, **serializer.validated_data)
        counter.pending = []
        return Response(
            CounterSerializer(counter, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["journal"])
class CounterDetailView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(summary="One of your sobriety counters", responses={200: CounterSerializer})
    def get(self, request, counter_id):
        counter = selectors.counter_get_for_owner(patient=request.user, counter_id=counter_id)
        return Response(
            CounterSerializer(counter, context={"today": local_today(request.user)}).data
        )

    @extend_schema(summary="Delete a sobriety counter and its history", responses={204: None})
    def delete(self, request, counter_id):
        counter = selectors.counter_get_for_owner(patient=request.user, counter_id=counter_id)
        services.counter_delete(counter=counter)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["journal"])
class CounterDecisionListCreateView(generics.ListAPIView):
    """Your decisions about a counter: each reset or keep, newest first."""

    permission_classes = [IsPatient]
    serializer_class = DecisionSerializer
    queryset = CounterDecision.objects.none()
    ordering = "-created_at"

    def get_queryset(self):
        counter = selectors.counter_get_for_owner(
            patient=self.request.user, counter_id=self.kwargs["counter_id"]
        )
        return selectors.counter_decisions(counter)

    @idempotent
    @extend_schema(
        summary="Decide: reset the counter or keep it",
        description="A use never resets a counter by itself. Answer a pending use by naming its entry, or decide at any time.",
        request=DecisionWriteSerializer,
        responses={201: DecisionSerializer, 409: None},
    )
    def post(self, request, counter_id):
        counter = selectors.counter_get_for_owner(patient=request.user, counter_id=counter_id)
        serializer = DecisionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        decision = services.counter_decide(
            counter=counter,
            decision=attrs["decision"],
            new_start_date=attrs.get("new_start_date"),
            entry_client_id=attrs.get("entry"),
        )
        decision = selectors.counter_decisions(counter).get(pk=decision.pk)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class ChangesQuerySerializer(serializers.Serializer):
    cursor = serializers.IntegerField(
        min_value=0, default=0, help_text="The next_cursor of your last sync; 0 at first."
    )
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


@extend_schema(tags=["journal"])
class ChangesView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="What changed since your last sync",
        description=(
            "Entries and check-ins created, changed or deleted (tombstones) since `cursor`, in a stable "
            "order. Keep calling with `next_cursor` while `has_more`. A client that syncs while other "
            "devices write never misses a change."
        ),
        parameters=[ChangesQuerySerializer],
        responses={200: ChangesSerializer},
    )
    def get(self, request):
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, next_cursor, has_more = selectors.changes_since(
            patient=request.user, **query.validated_data
        )
        body = {"changes": page, "next_cursor": next_cursor, "has_more": has_more}
        return Response(ChangesSerializer(body).data)
