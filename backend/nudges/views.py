from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.care import selectors as care_selectors
from backend.consent import policy
from backend.core.idempotency import idempotent
from backend.core.permissions import IsPatient, IsTherapist
from backend.journal.access import ALERT
from backend.nudges import high_risk, serializers, services
from backend.nudges.models import Nudge, NudgePreferences, NudgeRule, PushSubscription
from backend.nudges.planning import DEFAULT_DAILY_CAP


def inbox_of(user):
    """What reached the user's in-app inbox: every nudge that came due and was not skipped
    (a failing Web Push never hides it), crisis alerts only while the consent holds."""
    return (
        Nudge.objects.filter(recipient=user, state__in=Nudge.INBOX_STATES)
        .filter(Q(alert__isnull=True) | policy.alerts_reaching(user, kind=ALERT, path="alert"))
        .select_related("rule")
    )


def _rules_of(patient):
    return NudgeRule.objects.filter(patient=patient).select_related("suggested_by")


@extend_schema(tags=["nudges"])
class RuleListCreateView(generics.ListAPIView):
    """Your reminders, suggestions waiting for your answer included."""

    permission_classes = [IsPatient]
    serializer_class = serializers.RuleSerializer
    queryset = NudgeRule.objects.none()

    def get_queryset(self):
        return _rules_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Add a reminder",
        request=serializers.RuleWriteSerializer,
        responses={201: serializers.RuleSerializer},
    )
    def post(self, request):
        body = serializers.RuleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.rule_create(patient=request.user, data=body.validated_data)
        return Response(serializers.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["nudges"])
class RuleDetailView(APIView):
    permission_classes = [IsPatient]

    def _rule(self, request, rule_id) -> NudgeRule:
        return get_object_or_404(_rules_of(request.user), pk=rule_id)

    @extend_schema(summary="One reminder", responses={200: serializers.RuleSerializer})
    def get(self, request, rule_id):
        return Response(serializers.RuleSerializer(self._rule(request, rule_id)).data)

    @extend_schema(
        summary="Change a reminder, pause or resume it",
        request=serializers.RuleUpdateSerializer,
        responses={200: serializers.RuleSerializer, 409: None},
    )
    def patch(self, request, rule_id):
        rule = self._rule(request, rule_id)
        body = serializers.RuleUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        rule = services.rule_update(rule=rule, data=dict(body.validated_data))
        return Response(serializers.RuleSerializer(rule).data)

    @extend_schema(summary="Delete a reminder", responses={204: None})
    def delete(self, request, rule_id):
        services.rule_delete(rule=self._rule(request, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _AnswerView(APIView):
    permission_classes = [IsPatient]
    accept = True

    def post(self, request, rule_id):
        rule = get_object_or_404(_rules_of(request.user), pk=rule_id)
        rule = services.suggestion_answer(rule=rule, accept=self.accept)
        return Response(serializers.RuleSerializer(rule).data)


@extend_schema(
    tags=["nudges"],
    summary="Accept a suggested reminder (it becomes active)",
    request=None,
    responses={200: serializers.RuleSerializer, 409: None},
)
class RuleAcceptView(_AnswerView):
    accept = True


@extend_schema(
    tags=["nudges"],
    summary="Decline a suggested reminder",
    request=None,
    responses={200: serializers.RuleSerializer, 409: None},
)
class RuleDeclineView(_AnswerView):
    accept = False


@extend_schema(tags=["care"])
class SuggestionView(APIView):
    permission_classes = [IsTherapist]

    @idempotent
    @extend_schema(
        summary="Suggest a reminder to a patient on your caseload",
        description=(
            "The patient accepts or declines it; nothing is sent before they accept. A "
            "suggestion reveals nothing of the patient's records, so it needs a care link, "
            "not a consent."
        ),
        request=serializers.SuggestionSerializer,
        responses={201: serializers.RuleSerializer},
    )
    def post(self, request, patient_id):
        link = get_object_or_404(care_selectors.caseload_for(request.user), patient_id=patient_id)
        body = serializers.SuggestionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.rule_create(
            patient=link.patient, data=dict(body.validated_data), suggested_by=request.user
        )
        return Response(serializers.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["nudges"])
class HighRiskWindowsView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your high-risk windows, from your own journal",
        description=(
            "Hours of the week where your cravings cluster, on your clock. A weekly job turns "
            "them into suggested reminders 30 minutes before; none is enabled without you."
        ),
        responses={200: serializers.WindowsSerializer},
    )
    def get(self, request):
        windows, reason = high_risk.windows_for(request.user)
        return Response(
            serializers.WindowsSerializer(
                {
                    "windows": [
                        {
                            "weekday": w.weekday,
                            "hour": w.hour,
                            "entries": w.entries,
                            "description": w.describe(),
                        }
                        for w in windows
                    ],
                    "reason": reason,
                }
            ).data
        )


@extend_schema(tags=["nudges"])
class PreferencesView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your nudge settings", responses={200: serializers.PreferencesSerializer}
    )
    def get(self, request):
        preferences = NudgePreferences.objects.filter(patient=request.user).first()
        return Response({"daily_cap": preferences.daily_cap if preferences else DEFAULT_DAILY_CAP})

    @extend_schema(
        summary="Change your daily cap",
        request=serializers.PreferencesWriteSerializer,
        responses={200: serializers.PreferencesSerializer},
    )
    def patch(self, request):
        body = serializers.PreferencesWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        preferences = services.preferences_update(
            patient=request.user, daily_cap=body.validated_data["daily_cap"]
        )
        return Response(serializers.PreferencesSerializer(preferences).data)


@extend_schema(tags=["nudges"])
class InboxView(generics.ListAPIView):
    """Nudges sent to you, newest first (crisis alerts for those who may receive them)."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.InboxSerializer
    queryset = Nudge.objects.none()
    ordering = ("-due_at", "-id")

    def get_queryset(self):
        return inbox_of(self.request.user)


class _InboxMarkView(APIView):
    permission_classes = [IsAuthenticated]
    opened = True

    def post(self, request, nudge_id):
        nudge = get_object_or_404(inbox_of(request.user), pk=nudge_id)
        nudge = services.inbox_mark(nudge=nudge, opened=self.opened)
        return Response(serializers.InboxSerializer(nudge).data)


@extend_schema(
    tags=["nudges"],
    summary="Mark a nudge opened",
    request=None,
    responses={200: serializers.InboxSerializer},
)
class InboxOpenedView(_InboxMarkView):
    opened = True


@extend_schema(
    tags=["nudges"],
    summary="Dismiss a nudge",
    request=None,
    responses={200: serializers.InboxSerializer},
)
class InboxDismissedView(_InboxMarkView):
    opened = False


@extend_schema(tags=["nudges"])
class PushSubscriptionListCreateView(generics.ListAPIView):
    """Your browsers' Web Push subscriptions."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.PushSubscriptionSerializer
    queryset = PushSubscription.objects.none()

    def get_queryset(self):
        return PushSubscription.objects.filter(user=self.request.user)

    @extend_schema(
        summary="Register a browser's push subscription (PushSubscription.toJSON())",
        request=serializers.PushSubscriptionWriteSerializer,
        responses={201: serializers.PushSubscriptionSerializer, 409: None},
    )
    def post(self, request):
        body = serializers.PushSubscriptionWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        keys = body.validated_data["keys"]
        subscription = services.push_subscribe(
            user=request.user,
            endpoint=body.validated_data["endpoint"],
            p256dh=keys["p256dh"],
            auth=keys["auth"],
            raw=request.data["keys"],
        )
        return Response(
            serializers.PushSubscriptionSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["nudges"])
class PushSubscriptionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Remove a push subscription", responses={204: None})
    def delete(self, request, subscription_id):
        subscription = get_object_or_404(
            PushSubscription.objects.filter(user=request.user), pk=subscription_id
        )
        subscription.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
