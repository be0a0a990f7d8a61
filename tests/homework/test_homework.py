"""Homework: assigning, answers by question type, the life cycle's 409s, overdue on the
patient's clock, the review queue, and who may see it."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent import services as consent_services
from backend.core.time import local_today
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.homework import services
from backend.homework.models import Homework, HomeworkTemplate
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db

HOMEWORK = "/api/v1/homework/"
QUEUE = "/api/v1/homework/review-queue/"
# 07:00 on 24 November in New York; 01:00 on the 25th in Auckland.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
QUESTIONS = [
    {"type": "text", "prompt": "What happened?"},
    {"type": "scale", "prompt": "How strong was the craving?"},
    {"type": "yes_no", "prompt": "Did you use a skill?", "required": False},
    {"type": "single_choice", "prompt": "Where?", "choices": ["Home", "Work", "Out"]},
    {"type": "multiple_choice", "prompt": "Felt", "choices": ["Hungry", "Angry", "Lonely"]},
]
FULL = {"q1": "A long day", "q2": 7, "q3": True, "q4": "Work", "q5": ["Angry", "Lonely"]}


def invalid(response) -> dict[str, list[str]]:
    assert_problem(response, 400)
    return problem_fields(response)


def url(homework, action: str = "") -> str:
    return f"{HOMEWORK}{homework.pk}/{action + '/' if action else ''}"


def assign(therapist, patient, *, due=None, questions=QUESTIONS, **data):
    """Assign homework; by default due three days after today on the patient's clock, so the
    date is valid whenever the test runs (27 November under the frozen NOW)."""
    if due is None:
        due = local_today(patient) + timedelta(days=3)
    [homework, *_] = services.homework_assign(
        therapist=therapist,
        patient=patient,
        data={"title": "Craving log", "kind": "worksheet", "questions": questions, "due_date": due}
        | data,
        template=None,
    )
    return homework


@pytest.fixture
def therapist(patient):
    return CareLinkFactory(patient=patient, therapist=TherapistFactory()).therapist


def test_a_therapist_assigns_from_a_template(patient, therapist):
    with time_machine.travel(NOW, tick=False):
        response = client_for(therapist).post(
            HOMEWORK,
            {
                "patient": str(patient.pk),
                "template": "cbt-thought-record",
                "due_date": "2026-11-30",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    template = HomeworkTemplate.objects.get(slug="cbt-thought-record")
    assert (body["title"], body["kind"], body["template"]) == (
        template.title,
        "worksheet",
        "cbt-thought-record",
    )
    assert [q["id"] for q in body["questions"]] == [q["id"] for q in template.questions]
    assert (body["state"], body["overdue"], body["assigned_by"]["id"]) == (
        "assigned",
        False,
        str(therapist.pk),
    )


def test_the_seeded_templates_cover_every_question_type():
    slugs = set(HomeworkTemplate.objects.values_list("slug", flat=True))
    assert {
        "cbt-thought-record",
        "decisional-balance",
        "halt-log",
        "gratitude-list",
        "relapse-prevention-worksheet",
    } <= slugs
    types = {q["type"] for t in HomeworkTemplate.objects.all() for q in t.questions}
    assert types == {"text", "scale", "yes_no", "single_choice", "multiple_choice"}


def test_questions_written_here_get_ids_and_a_template_can_be_overridden(patient, therapist):
    with time_machine.travel(NOW, tick=False):
        response = client_for(therapist).post(
            HOMEWORK,
            {
                "patient": str(patient.pk),
                "template": "gratitude-list",
                "title": "Three good things",
                "questions": QUESTIONS,
                "due_date": "2026-11-30",
            },
            format="json",
        )
    body = response.json()
    assert body["title"] == "Three good things"
    assert body["kind"] == "journaling"  # from the template
    assert [q["id"] for q in body["questions"]] == ["q1", "q2", "q3", "q4", "q5"]
    assert body["questions"][2]["required"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"questions": [{"type": "single_choice", "prompt": "?"}]}, "questions.0.choices"),
        ({"questions": [{"type": "text", "prompt": "?", "choices": ["a", "b"]}]}, "questions.0.choices"),
        ({"questions": [{"type": "single_choice", "prompt": "?", "choices": ["a", "a"]}]}, "questions.0.choices"),
        ({"questions": [{"type": "essay", "prompt": "?"}]}, "questions.0.type"),
        ({"questions": [{"id": "Q 1", "type": "text", "prompt": "?"}]}, "questions.0.id"),
        ({"questions": [{"id": "a", "type": "text", "prompt": "?"}] * 2}, "questions"),
        ({"template": "no-such-template"}, "template"),
        ({"title": None}, "title"),
        ({"kind": "chores"}, "kind"),
        ({"due_date": "2026-11-23"}, "due_date"),  # yesterday in New York
        ({"due_date": "2028-01-01"}, "due_date"),
        ({"recurrence": "weekly"}, "occurrences"),
        ({"occurrences": 3}, "occurrences"),
        ({"recurrence": "weekly", "occurrences": 27}, "occurrences"),
        ({"state": "reviewed"}, "state"),
    ],
)  # fmt: skip
def test_bad_assignments_are_400_with_the_field_named(patient, therapist, payload, field):
    base = {"patient": str(patient.pk), "title": "T", "kind": "reading", "due_date": "2026-11-30"}
    with time_machine.travel(NOW, tick=False):
        response = client_for(therapist).post(HOMEWORK, {**base, **payload}, format="json")
    assert field in invalid(response), problem_fields(response)


def test_a_title_is_needed_without_a_template(patient, therapist):
    with time_machine.travel(NOW, tick=False):
        response = client_for(therapist).post(
            HOMEWORK,
            {"patient": str(patient.pk), "kind": "reading", "due_date": "2026-11-30"},
            format="json",
        )
    assert "title" in invalid(response)


def test_assigning_outside_the_caseload_is_404(patient, other_patient, therapist):
    with time_machine.travel(NOW, tick=False):
        client = client_for(therapist)
        for someone in (other_patient, therapist):
            response = client.post(
                HOMEWORK,
                {"patient": str(someone.pk), "template": "halt-log", "due_date": "2026-11-30"},
                format="json",
            )
            assert_problem(response, 404)
    assert not Homework.objects.exists()


def test_the_due_date_is_checked_on_the_patients_clock(therapist, patient):
    auckland = PatientFactory(time_zone="Pacific/Auckland")
    CareLinkFactory(patient=auckland, therapist=therapist)
    with time_machine.travel(NOW, tick=False):
        client = client_for(therapist)
        for someone, due, status in [
            (patient, "2026-11-24", 201),  # today in New York
            (auckland, "2026-11-24", 400),  # yesterday in Auckland
            (auckland, "2026-11-25", 201),
        ]:
            response = client.post(
                HOMEWORK,
                {"patient": str(someone.pk), "template": "halt-log", "due_date": due},
                format="json",
            )
            assert response.status_code == status, (someone.time_zone, due, response.content)


def test_weekly_homework_is_one_per_week_in_a_series(patient, therapist):
    with time_machine.travel(NOW, tick=False):
        response = client_for(therapist).post(
            HOMEWORK,
            {
                "patient": str(patient.pk),
                "template": "halt-log",
                "due_date": "2026-11-27",
                "recurrence": "weekly",
                "occurrences": 3,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    series = Homework.objects.filter(series=response.json()["series"]).order_by("occurrence")
    assert [(h.occurrence, h.occurrences, h.due_date) for h in series] == [
        (1, 3, date(2026, 11, 27)),
        (2, 3, date(2026, 12, 4)),
        (3, 3, date(2026, 12, 11)),
    ]
    assert response.json()["occurrence"] == 1


def test_drafts_may_be_partial_but_each_answer_fits_its_question(patient, therapist):
    homework = assign(therapist, patient)
    client = client_for(patient)
    response = client.put(url(homework, "answers"), {"answers": {"q2": 4}}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["answers"]) == ("in_progress", {"q2": 4})
    for answers, field in [
        ({"q2": 11}, "answers.q2"),
        ({"q2": True}, "answers.q2"),
        ({"q2": 4.5}, "answers.q2"),
        ({"q3": "yes"}, "answers.q3"),
        ({"q4": "Mars"}, "answers.q4"),
        ({"q5": ["Angry", "Bored"]}, "answers.q5"),
        ({"q5": ["Angry", "Angry"]}, "answers.q5"),
        ({"q5": "Angry"}, "answers.q5"),
        ({"q1": "x" * 5001}, "answers.q1"),
        ({"q1": 5}, "answers.q1"),
        ({"q9": "hello"}, "answers.q9"),
    ]:
        bad = client.put(url(homework, "answers"), {"answers": answers}, format="json")
        assert field in invalid(bad), (answers, problem_fields(bad))
    assert_problem(client.put(url(homework, "answers"), {"answers": [1]}, format="json"), 400)
    # A null answer clears one; nothing invalid was stored.
    response = client.put(
        url(homework, "answers"), {"answers": {"q2": None, "q1": "x"}}, format="json"
    )
    assert response.json()["answers"] == {"q1": "x"}


def test_submitting_needs_every_required_answer(patient, therapist):
    homework = assign(therapist, patient)
    client = client_for(patient)
    client.put(url(homework, "answers"), {"answers": {"q1": "  ", "q2": 3}}, format="json")
    response = client.post(url(homework, "submit"), {}, format="json")
    assert set(invalid(response)) == {"answers.q1", "answers.q4", "answers.q5"}
    assert Homework.objects.get(pk=homework.pk).state == "in_progress"


def test_the_whole_life_cycle_with_a_return_for_revision(patient, therapist):
    homework = assign(therapist, patient)
    me, them = client_for(patient), client_for(therapist)

    early = them.post(url(homework, "review"), {"decision": "reviewed"}, format="json")
    assert "not been submitted" in assert_problem(early, 409)["detail"]

    submitted = me.post(url(homework, "submit"), {"answers": FULL}, format="json")
    assert submitted.json()["state"] == "submitted"
    twice = me.post(url(homework, "submit"), {"answers": FULL}, format="json")
    assert "waiting for your therapist's review" in assert_problem(twice, 409)["detail"]
    locked = me.put(url(homework, "answers"), {"answers": FULL}, format="json")
    assert_problem(locked, 409)
    change = them.patch(url(homework), {"title": "New"}, format="json")
    assert "review it" in assert_problem(change, 409)["detail"]

    no_reason = them.post(url(homework, "review"), {"decision": "returned"}, format="json")
    assert "feedback" in invalid(no_reason)
    returned = them.post(
        url(homework, "review"),
        {"decision": "returned", "feedback": "Say more about the situation."},
        format="json",
    )
    assert returned.json()["state"] == "returned"

    revised = me.put(url(homework, "answers"), {"answers": {**FULL, "q1": "More"}}, format="json")
    assert revised.json()["state"] == "in_progress"
    assert me.post(url(homework, "submit"), {}, format="json").json()["state"] == "submitted"
    reviewed = them.post(
        url(homework, "review"), {"decision": "reviewed", "feedback": "Thank you."}, format="json"
    )
    body = reviewed.json()
    assert body["state"] == "reviewed"
    assert body["reviewed_at"]
    assert [(r["decision"], r["feedback"]) for r in body["reviews"]] == [
        ("returned", "Say more about the situation."),
        ("reviewed", "Thank you."),
    ]

    after = me.put(url(homework, "answers"), {"answers": FULL}, format="json")
    assert "can no longer change" in assert_problem(after, 409)["detail"]
    assert_problem(me.post(url(homework, "submit"), {}, format="json"), 409)
    again = them.post(url(homework, "review"), {"decision": "reviewed"}, format="json")
    assert "already reviewed" in assert_problem(again, 409)["detail"]
    assert_problem(them.patch(url(homework), {"title": "New"}, format="json"), 409)


def test_a_retried_submission_with_its_idempotency_key_replays_the_answer(patient, therapist):
    homework = assign(therapist, patient)
    client = client_for(patient)
    headers = {"Idempotency-Key": "submit-1"}
    first = client.post(url(homework, "submit"), {"answers": FULL}, format="json", headers=headers)
    retry = client.post(url(homework, "submit"), {"answers": FULL}, format="json", headers=headers)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry["Idempotent-Replayed"] == "true"


def test_the_assigner_changes_the_assignment_until_it_is_submitted(patient, therapist):
    with time_machine.travel(NOW, tick=False):
        homework = assign(therapist, patient)
        client = client_for(therapist)
        response = client.patch(
            url(homework), {"due_date": "2026-12-01", "title": "Log"}, format="json"
        )
        assert (response.json()["due_date"], response.json()["title"]) == ("2026-12-01", "Log")
        past = client.patch(url(homework), {"due_date": "2026-11-01"}, format="json")
        assert "due_date" in invalid(past)
        assert "questions" in invalid(client.patch(url(homework), {"questions": []}, format="json"))


def test_overdue_follows_the_due_date_on_each_patients_clock(therapist, patient):
    auckland = PatientFactory(time_zone="Pacific/Auckland")
    CareLinkFactory(patient=auckland, therapist=therapist)
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        new_york_due = assign(therapist, patient, due=date(2026, 11, 23))
        auckland_due = assign(therapist, auckland, due=date(2026, 11, 24))
        done = assign(therapist, patient, due=date(2026, 11, 21))
        services.homework_submit(homework=done, answers=FULL)

    def overdue(moment) -> set:
        with time_machine.travel(moment, tick=False):
            client = client_for(therapist)
            flagged = {h["id"] for h in client.get(HOMEWORK).json()["results"] if h["overdue"]}
            filtered = {
                h["id"] for h in client.get(HOMEWORK, {"overdue": "true"}).json()["results"]
            }
            rest = {h["id"] for h in client.get(HOMEWORK, {"overdue": "false"}).json()["results"]}
        assert flagged == filtered
        assert not flagged & rest
        assert len(flagged | rest) == 3
        return flagged

    ny, akl = str(new_york_due.pk), str(auckland_due.pk)
    # 23:30 on the 23rd in New York; 12:30 on the 24th in Auckland.
    assert overdue(datetime(2026, 11, 24, 4, 30, tzinfo=UTC)) == set()
    # 00:30 on the 24th in New York: its due date has passed.
    assert overdue(datetime(2026, 11, 24, 5, 30, tzinfo=UTC)) == {ny}
    # 00:30 on the 25th in Auckland (11:30 UTC on the 24th).
    assert overdue(datetime(2026, 11, 24, 11, 30, tzinfo=UTC)) == {ny, akl}


def test_the_review_queue_is_this_therapists_submissions_oldest_first(patient, therapist):
    other = CareLinkFactory(patient=patient, therapist=TherapistFactory()).therapist
    with time_machine.travel(NOW, tick=False):
        first, second, draft = (assign(therapist, patient) for _ in range(3))
        theirs = assign(other, patient)
    for homework, minutes in ((second, 10), (first, 20), (theirs, 5)):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            services.homework_submit(homework=homework, answers=FULL)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        queue = client_for(therapist).get(QUEUE).json()["results"]
    assert [h["id"] for h in queue] == [str(second.pk), str(first.pk)]
    assert draft.pk not in {h["id"] for h in queue}


def test_the_assigning_therapist_sees_it_while_linked_others_only_under_homework(
    patient, therapist, linked_therapist
):
    homework = assign(therapist, patient)
    assigner = client_for(therapist)
    response = assigner.get(url(homework))
    assert response.status_code == 200
    assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    # Treatment by the program's own therapist, not a disclosure under consent; logged all
    # the same (without a grant) so the patient's accounting shows every read.
    own = DisclosureLog.objects.get(viewer=therapist)
    assert (own.kind, own.record_ids, own.grant_id, own.purpose) == (
        "homework",
        [str(homework.pk)],
        None,
        "treatment",
    )
    accounting = client_for(patient).get("/api/v1/me/disclosures/").json()["results"]
    assert [(row["viewer"]["id"], row["grant"]) for row in accounting] == [
        (str(therapist.pk), None)
    ]

    other = client_for(linked_therapist)
    assert_problem(other.get(url(homework)), 404)
    assert other.get(HOMEWORK).json()["results"] == []
    grant = grant_for(patient, linked_therapist, ["homework"])
    seen = other.get(url(homework))
    assert seen.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    row = DisclosureLog.objects.get(viewer=linked_therapist)
    assert (row.kind, row.record_ids, row.grant_id) == ("homework", [str(homework.pk)], grant.pk)
    services.homework_submit(homework=homework, answers=FULL)
    refused = other.post(url(homework, "review"), {"decision": "reviewed"}, format="json")
    assert "assigned" in assert_problem(refused, 403)["detail"]
    consent_services.grant_revoke(grant=grant, by=patient)
    assert_problem(other.get(url(homework)), 404)

    link = CareLink.objects.get(patient=patient, therapist=therapist)
    care_services.link_end(link=link, by=patient)
    assert_problem(assigner.get(url(homework)), 404)
    assert assigner.get(QUEUE).json()["results"] == []


def test_family_sees_homework_only_under_the_homework_scope_and_never_writes(patient, therapist):
    homework = assign(therapist, patient)
    family = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=family)
    client = client_for(family)
    assert_problem(client.get(url(homework)), 404)
    grant_for(patient, family, ["homework"])
    page = client.get(HOMEWORK).json()
    assert [h["id"] for h in page["results"]] == [str(homework.pk)]
    assert page["redisclosure_notice"] == REDISCLOSURE_NOTICE
    assert_problem(client.put(url(homework, "answers"), {"answers": {}}, format="json"), 403)
    assert_problem(
        client.post(url(homework, "review"), {"decision": "reviewed"}, format="json"), 403
    )


def test_the_patient_sees_their_own_without_a_notice_and_nobody_elses(
    patient, other_patient, therapist
):
    homework = assign(therapist, patient)
    response = client_for(patient).get(HOMEWORK)
    assert [h["id"] for h in response.json()["results"]] == [str(homework.pk)]
    assert REDISCLOSURE_HEADER not in response
    assert "redisclosure_notice" not in response.json()
    assert_problem(client_for(other_patient).get(url(homework)), 404)
    assert_problem(
        client_for(other_patient).post(url(homework, "submit"), {"answers": FULL}, format="json"),
        404,
    )


@pytest.mark.parametrize("query", ["state=done", "overdue=maybe", "patient=me", "page_size=101"])
def test_bad_filters_are_400(patient, query):
    assert_problem(client_for(patient).get(f"{HOMEWORK}?{query}"), 400)


def test_lists_and_the_queue_run_the_same_queries_for_one_as_for_many(patient, therapist):
    grant_for(patient, therapist, ["homework"])
    second = PatientFactory(time_zone="Pacific/Auckland")
    CareLinkFactory(patient=second, therapist=therapist)
    grant_for(second, therapist, ["homework"])
    for number in range(6):
        homework = assign(therapist, patient if number % 2 else second)
        services.homework_submit(homework=homework, answers=FULL)
        services.homework_review(
            homework=homework, reviewer=therapist, decision="returned", feedback="More"
        )
        services.homework_submit(homework=homework)
    # Authentication, the page, its reviews (+ the grants in force and the log insert for
    # others; + the patients' time zones for the overdue filter).
    for client, path, sizes, limit in [
        (client_for(patient), HOMEWORK, (1, 3), 3),
        (client_for(therapist), HOMEWORK, (1, 6), 5),
        (client_for(therapist), f"{HOMEWORK}?overdue=false", (1, 6), 6),
        (client_for(therapist), QUEUE, (1, 6), 5),
    ]:
        assert_flat_queries(
            lambda size, client=client, path=path: full_page(client, path, size),
            sizes,
            at_most=limit,
        )
