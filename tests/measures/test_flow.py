"""Scheduling, answering offline-first, the crisis path, results and who sees them."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from backend.care.models import CareLink
from backend.care.services import link_end
from backend.consent.scopes import Scope
from backend.disclosure.models import DisclosureLog
from backend.journal.models import CareTeamAlert, FeedItem
from backend.measures.models import MeasureDraft, MeasureResponse
from backend.nudges.delivery import deliver
from backend.nudges.models import Nudge, NudgeRule
from backend.nudges.planning import plan
from tests.factories import (
    CareLinkFactory,
    ResponseFactory,
    ScheduleFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 12:00 in New York
PHQ_CALM = {str(n): 0 for n in range(1, 10)}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def phq(patient, linked_therapist):
    return ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="phq-9")


def _answer(client, schedule, answers, *, response_id=None, at=None):
    return client.post(
        "/api/v1/measures/responses/",
        {
            "id": str(response_id or uuid.uuid4()),
            "schedule": str(schedule.pk),
            "answered_at": (at or timezone.now()).isoformat(),
            "answers": answers,
        },
        format="json",
    )


def test_a_therapist_schedules_and_the_patient_sees_the_baseline_due(patient, linked_therapist):
    response = client_for(linked_therapist).post(
        "/api/v1/measures/schedules/",
        {"patient": str(patient.pk), "instrument": "phq-9"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["every_days"] == 14
    [due] = client_for(patient).get("/api/v1/measures/due/").json()
    assert (due["instrument"]["slug"], due["baseline"], due["draft"]) == ("phq-9", True, None)
    # And a reminder rule for when a questionnaire is due, with lock-screen-safe words.
    rule = NudgeRule.objects.get(patient=patient, kind=NudgeRule.Kind.MEASURE)
    assert (rule.times, rule.message) == (["18:00"], "A few quick questions are ready for you")


def test_a_second_running_schedule_of_one_instrument_is_a_conflict(patient, linked_therapist, phq):
    response = client_for(linked_therapist).post(
        "/api/v1/measures/schedules/",
        {"patient": str(patient.pk), "instrument": "phq-9"},
        format="json",
    )

    assert_problem(response, 409)


def test_the_standard_set_adds_pacs_only_with_alcohol(patient, linked_therapist):
    client = client_for(linked_therapist)
    body = {"patient": str(patient.pk), "alcohol": False}

    first = client.post("/api/v1/measures/schedules/standard/", body, format="json").json()
    again = client.post(
        "/api/v1/measures/schedules/standard/", {**body, "alcohol": True}, format="json"
    ).json()

    assert [(s["instrument"]["slug"], s["every_days"]) for s in first] == [
        ("phq-9", 14),
        ("gad-7", 14),
        ("bam", 7),
    ]
    assert [s["instrument"]["slug"] for s in again] == ["pacs"]


def test_a_draft_survives_and_the_answer_is_scored(patient, phq):
    client = client_for(patient)

    saved = client.put(
        f"/api/v1/measures/schedules/{phq.pk}/draft/", {"answers": {"1": 2}}, format="json"
    )
    assert saved.status_code == 200
    assert client.get(f"/api/v1/measures/schedules/{phq.pk}/draft/").json()["answers"] == {"1": 2}
    answered = _answer(client, phq, {**PHQ_CALM, "1": 2, "2": 3, "7": 1})

    assert answered.status_code == 201, answered.content
    body = answered.json()
    assert (body["total"], body["band"], body["crisis"], body["crisis_support"]) == (
        6,
        "Mild",
        False,
        None,
    )
    assert not MeasureDraft.objects.exists()
    assert client.get("/api/v1/measures/due/").json() == []


def test_a_retried_upload_returns_the_first_answer_and_a_new_id_is_a_conflict(patient, phq):
    client = client_for(patient)
    response_id = uuid.uuid4()

    first = _answer(client, phq, PHQ_CALM, response_id=response_id)
    retried = _answer(client, phq, PHQ_CALM, response_id=response_id)
    other = _answer(client, phq, PHQ_CALM)
    changed = _answer(client, phq, {**PHQ_CALM, "1": 3}, response_id=response_id)

    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == str(response_id)
    assert_problem(other, 409)
    assert_problem(changed, 409)
    assert MeasureResponse.objects.count() == 1


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        ({"1": 0}, {f"answers.{n}" for n in range(2, 10)}),
        ({**PHQ_CALM, "3": 4}, {"answers.3"}),
        ({**PHQ_CALM, "3": "1"}, {"answers.3"}),
        ({**PHQ_CALM, "ten": 1}, {"answers.ten"}),
        ("all zero", {"answers"}),
    ],
)
def test_an_incomplete_or_out_of_range_answer_is_refused_by_field(patient, phq, answers, fields):
    response = _answer(client_for(patient), phq, answers)

    body = assert_problem(response, 400)
    assert {e["field"] for e in body["errors"]} == fields
    assert not MeasureResponse.objects.exists()


def test_an_answer_made_offline_counts_for_its_own_window(patient, phq):
    ResponseFactory(schedule=phq)
    later = timezone.now() + timedelta(days=15)

    with time_machine.travel(later + timedelta(days=3), tick=False):
        response = _answer(client_for(patient), phq, PHQ_CALM, at=later)

    assert response.status_code == 201, response.content
    assert response.json()["window_start"] == str(phq.starts_on + timedelta(days=14))


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (NOON + timedelta(hours=1), 400),  # in the future
        (NOON - timedelta(days=1), 400),  # before the baseline
        (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), 400),
    ],
)
def test_an_answer_outside_the_schedule_is_refused(patient, phq, moment, status):
    response = _answer(client_for(patient), phq, PHQ_CALM, at=moment)

    assert_problem(response, status)


def test_someone_elses_schedule_is_404_to_a_patient(other_patient, phq):
    assert_problem(_answer(client_for(other_patient), phq, PHQ_CALM), 404)


def test_thoughts_of_self_harm_answer_with_crisis_support_and_alert_the_asker(
    patient, linked_therapist, phq
):
    response = _answer(client_for(patient), phq, {**PHQ_CALM, "9": 1})

    body = response.json()
    assert body["crisis"] is True
    support = body["crisis_support"]
    assert {r["phone"] for r in support["resources"]} == {"988", "1-800-662-4357"}
    alert = CareTeamAlert.objects.get()
    assert (alert.reason, alert.asked_by, alert.entry) == (
        "self_harm_thoughts",
        linked_therapist,
        None,
    )
    assert FeedItem.objects.filter(alert=alert, kind=FeedItem.Kind.ALERT).exists()
    nudge = Nudge.objects.get(alert=alert)
    assert (nudge.recipient, nudge.urgent) == (linked_therapist, True)
    # It reaches the therapist's inbox, and its words say nothing on a lock screen.
    deliver()
    inbox = client_for(linked_therapist).get("/api/v1/nudges/inbox/").json()["results"]
    assert [(row["kind"], row["urgent"]) for row in inbox] == [("crisis_alert", True)]
    assert "harm" not in inbox[0]["title"].lower()


def test_a_therapist_who_left_the_care_team_is_not_alerted(patient, phq, linked_therapist):
    link_end(link=CareLink.objects.get(therapist=linked_therapist), by=patient)

    _answer(client_for(patient), phq, {**PHQ_CALM, "9": 2})

    assert not Nudge.objects.filter(recipient=linked_therapist).exists()


def test_results_show_latest_band_change_and_flags(patient, linked_therapist, phq):
    ResponseFactory(schedule=phq, answers={"1": 1, "2": 1})
    with time_machine.travel(NOON + timedelta(days=14), tick=False):
        ResponseFactory(schedule=phq, answers={"1": 3, "2": 3, "3": 2, "4": 1})
        body = (
            client_for(linked_therapist)
            .get("/api/v1/measures/results/", {"patient": str(patient.pk)})
            .json()
        )

    [result] = body["results"]
    assert (result["latest"]["scores"], result["latest"]["band"]) == ({"total": 9}, "Mild")
    assert result["change"] == {"total": 7}
    assert [f["rule"] for f in result["flags"]] == ["rise_from_baseline"]
    assert len(result["series"]) == 2


def test_others_see_answers_only_under_the_measures_scope_and_each_read_is_logged(
    patient, phq, family_granted
):
    ResponseFactory(schedule=phq)
    reader = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=reader)
    client = client_for(reader)

    assert client.get("/api/v1/measures/responses/").json()["results"] == []
    grant = grant_for(patient, reader, [Scope.MEASURES])
    rows = client.get("/api/v1/measures/responses/").json()
    assert len(rows["results"]) == 1
    assert rows["redisclosure_notice"]
    log = DisclosureLog.objects.get(viewer=reader)
    assert (log.grant_id, log.kind, log.record_count) == (grant.pk, "measure_response", 1)
    assert client_for(family_granted).get("/api/v1/measures/responses/").json()["results"] == []


def test_a_questionnaire_reminder_is_planned_when_the_window_opens(patient, linked_therapist):
    with time_machine.travel(datetime(2026, 3, 10, 5, 0, tzinfo=UTC), tick=False):
        ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="gad-7")
        plan()

    [nudge] = Nudge.objects.filter(recipient=patient, rule__kind=NudgeRule.Kind.MEASURE)
    # 18:00 on the patient's clock (New York, UTC-4 after the March change) on the first day.
    zone = ZoneInfo(patient.time_zone)
    assert nudge.due_at == datetime(2026, 3, 10, 18, 0, tzinfo=zone)


def test_lists_cost_the_same_queries_for_any_page_size(patient, linked_therapist):
    with time_machine.travel(NOON - timedelta(weeks=12), tick=False):
        bam = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
    grant_for(patient, linked_therapist, [Scope.MEASURES])
    answered = []

    def prepare(size):
        while len(answered) < size:
            moment = NOON - timedelta(weeks=12) + timedelta(weeks=len(answered), hours=1)
            answered.append(ResponseFactory(schedule=bam, answered_at=moment))

    client = client_for(linked_therapist)
    assert_flat_queries(
        lambda size: full_page(client, "/api/v1/measures/responses/", size), (2, 6), prepare=prepare
    )


def test_the_summary_shows_measures_and_their_flag_only_under_the_measures_scope(
    patient, linked_therapist, phq
):
    ResponseFactory(schedule=phq, answers={"1": 1})
    with time_machine.travel(NOON + timedelta(days=14), tick=False):
        ResponseFactory(schedule=phq, answers={"1": 3, "2": 3, "3": 2})
        reader = TherapistFactory()
        CareLinkFactory(patient=patient, therapist=reader)
        grant_for(patient, reader, [Scope.CHECKINS])
        client = client_for(reader)
        summary_url = f"/api/v1/care/patients/{patient.pk}/summary/"
        without = client.get(summary_url).json()
        grant_for(patient, reader, [Scope.MEASURES])
        summary = client.get(summary_url).json()
        flagged = client.get("/api/v1/care/caseload/summaries/", {"flag": "measure_flags"}).json()

    assert "measures" not in without
    assert "measure_flags" not in without["flags"]
    [phq9] = summary["measures"]
    assert (phq9["instrument"]["slug"], phq9["scores"], phq9["band"]) == (
        "phq-9",
        {"total": 8},
        "Mild",
    )
    assert phq9["change"] == {"total": 7}
    assert [f["rule"] for f in phq9["flags"]] == ["rise_from_baseline"]
    assert summary["flags"]["measure_flags"] is True
    assert [row["patient"]["id"] for row in flagged["results"]] == [str(patient.pk)]
    assert DisclosureLog.objects.filter(viewer=reader, kind="measure_results").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "phq-10"}, "instrument"),
        ({"instrument": "phq-9", "every_days": 0}, "every_days"),
        ({"instrument": "phq-9", "every_days": 400}, "every_days"),
        ({"instrument": "phq-9", "starts_on": "9999-12-31"}, "starts_on"),
        ({"instrument": "phq-9", "starts_on": "2020-01-01"}, "starts_on"),
        ({"instrument": "phq-9", "owner": "me"}, "owner"),
    ],
)
def test_a_bad_schedule_is_refused_by_field_and_nothing_is_kept(
    patient, linked_therapist, body, field
):
    response = client_for(linked_therapist).post(
        "/api/v1/measures/schedules/", {"patient": str(patient.pk), **body}, format="json"
    )

    problem = assert_problem(response, 400)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert not NudgeRule.objects.exists()


def test_a_stopped_schedule_is_no_longer_due_and_its_answers_stay(patient, linked_therapist, phq):
    ResponseFactory(schedule=phq)
    stopped = client_for(linked_therapist).patch(
        f"/api/v1/measures/schedules/{phq.pk}/", {"stop": True}, format="json"
    )

    assert stopped.status_code == 200
    assert stopped.json()["stopped_at"]
    with time_machine.travel(NOON + timedelta(days=15), tick=False):
        assert client_for(patient).get("/api/v1/measures/due/").json() == []
        late = _answer(client_for(patient), phq, PHQ_CALM)
    assert_problem(late, 400)
    assert MeasureResponse.objects.count() == 1


def test_the_bundle_costs_the_same_queries_for_any_number_of_answers(patient, linked_therapist):
    with time_machine.travel(NOON - timedelta(weeks=12), tick=False):
        bam = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
    answered = []

    def prepare(size):
        while len(answered) < size:
            moment = NOON - timedelta(weeks=12) + timedelta(weeks=len(answered), hours=1)
            answered.append(ResponseFactory(schedule=bam, answered_at=moment))

    client = client_for(linked_therapist)
    url = f"/api/v1/fhir/Patient/{patient.pk}/$everything"
    assert_flat_queries(lambda size: client.get(url), (1, 8), prepare=prepare)
