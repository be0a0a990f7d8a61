"""Skill effectiveness from the journal: exact figures, matching, and who may see what."""

from datetime import UTC, datetime

import pytest
import time_machine

from backend.consent.services import grant_revoke
from backend.coping import services
from backend.coping.models import Skill
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER
from backend.journal.services import EntryOp, entries_apply
from tests.factories import EntryFactory, FamilyFactory, FamilyLinkFactory, grant_for
from tests.helpers import assert_flat_queries, assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db

EFFECTIVENESS = "/api/v1/coping/effectiveness/"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def log(patient, occurred_at="2026-11-20T12:00:00-05:00", **fields):
    return EntryFactory(
        patient=patient,
        occurred_at=occurred_at,
        triggers=[],
        halt=[],
        situation="",
        thoughts="",
        **fields,
    )


def journal(patient):
    log(patient, coping_skills=["Urge surfing"], intensity=8, intensity_after=3, outcome="resisted")
    log(patient, coping_skills=["urge surf", "called my sponsor"], intensity=6, intensity_after=4,
        outcome="lapsed")  # fmt: skip
    log(patient, coping_skills=["Called my sponsor."], intensity=7, intensity_after=None,
        outcome="resisted")  # fmt: skip
    log(patient, coping_skills=["My own ritual"], intensity=5, intensity_after=5, outcome="ongoing")
    # The same skill twice in one entry counts once.
    log(patient, coping_skills=["Urge surfing", "URGE  SURFING"], intensity=9, intensity_after=2,
        outcome="used")  # fmt: skip
    log(patient, coping_skills=[], intensity=9, intensity_after=1, outcome="resisted")
    deleted = log(patient, coping_skills=["Urge surfing"], intensity=10, intensity_after=0)
    entries_apply(patient=patient, ops=[EntryOp("delete", deleted.client_id)])


def rows(body) -> dict:
    return {row["label"]: row for row in body["skills"]}


def get(viewer, **params):
    response = client_for(viewer).get(EFFECTIVENESS, params)
    assert response.status_code == 200, response.content
    return response.json()


@time_machine.travel(NOW)
def test_known_entries_give_exact_counts_shares_and_drops(patient):
    journal(patient)
    body = get(patient)
    assert body["entries_with_skills"] == 5
    assert body["range"] is None
    assert [row["label"] for row in body["skills"]] == [
        "Urge surfing",
        "Call a sponsor or support person",
        "My own ritual",
    ]
    surfing = rows(body)["Urge surfing"]
    assert surfing["skill"]["id"] == str(Skill.objects.get(slug="urge-surfing").pk)
    assert {k: surfing[k] for k in surfing if k not in ("skill", "label")} == {
        "times_used": 3,
        "ended": 3,
        "resisted": 1,
        "resisted_share": 0.3333,
        "with_intensity_after": 3,
        "mean_intensity_drop": round((5 + 2 + 7) / 3, 2),
    }
    sponsor = rows(body)["Call a sponsor or support person"]
    assert (sponsor["times_used"], sponsor["resisted_share"], sponsor["mean_intensity_drop"]) == (
        2,
        0.5,
        2.0,
    )
    own = rows(body)["My own ritual"]
    assert own["skill"] is None
    assert (own["ended"], own["resisted_share"], own["mean_intensity_drop"]) == (0, None, 0.0)


@time_machine.travel(NOW)
def test_a_patients_custom_skill_is_recognised_by_name(patient):
    mine = services.skill_create(
        author=patient,
        patient=patient,
        data={"name": "Ring Aunt May", "category": "social_support", "duration_minutes": 5},
    )
    log(patient, coping_skills=["ring aunt may"], intensity=6, intensity_after=2)
    [row] = get(patient)["skills"]
    assert row["skill"]["id"] == str(mine.pk)


@time_machine.travel(NOW)
def test_a_skill_logged_by_its_id_counts_with_the_same_skill_logged_by_name(patient):
    tipp = Skill.objects.get(slug="tipp")
    log(patient, coping_skills=[str(tipp.pk)], intensity=9, intensity_after=4)
    log(patient, coping_skills=["TIPP"], intensity=7, intensity_after=5)
    [row] = get(patient)["skills"]
    assert (row["label"], row["times_used"], row["mean_intensity_drop"]) == ("TIPP", 2, 3.5)


@time_machine.travel(NOW)
def test_the_range_is_local_dates_on_the_patients_clock(patient):
    # 23:30 on the 20th in New York is already the 21st in UTC.
    log(patient, "2026-11-20T23:30:00-05:00", coping_skills=["Box breathing"], intensity=5)
    log(patient, "2026-11-21T00:30:00-05:00", coping_skills=["Take a walk"], intensity=5)
    body = get(patient, **{"from": "2026-11-01", "to": "2026-11-20"})
    assert [r["label"] for r in body["skills"]] == ["Box breathing"]
    assert body["range"] == {"from": "2026-11-01", "to": "2026-11-20"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-01"}, "to"),
        ({"to": "2026-11-01"}, "from"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from"),
        ({"from": "yesterday", "to": "2026-11-01"}, "from"),
        ({"patient": "nope"}, "patient"),
    ],
)
def test_bad_ranges_are_400(patient, params, field):
    response = client_for(patient).get(EFFECTIVENESS, params)
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_a_patient_asking_about_someone_else_gets_404(patient, other_patient):
    assert_problem(client_for(patient).get(EFFECTIVENESS, {"patient": str(other_patient.pk)}), 404)


@time_machine.travel(NOW)
def test_under_insights_a_therapist_sees_figures_but_not_the_patients_own_words(
    patient, linked_therapist
):
    journal(patient)
    client = client_for(linked_therapist)
    assert_problem(client.get(EFFECTIVENESS, {"patient": str(patient.pk)}), 404)
    assert "patient" in problem_fields(client.get(EFFECTIVENESS))  # name the patient
    grant = grant_for(patient, linked_therapist, ["insights"])
    response = client.get(EFFECTIVENESS, {"patient": str(patient.pk)})
    assert response[REDISCLOSURE_HEADER]
    body = response.json()
    assert body["redisclosure_notice"]
    assert "My own ritual" not in rows(body)
    hidden = rows(body)[None]
    assert (hidden["skill"], hidden["times_used"]) == (None, 1)
    assert rows(body)["Urge surfing"]["times_used"] == 3
    row = DisclosureLog.objects.get(viewer=linked_therapist)
    assert (row.kind, row.grant_id, row.record_count) == ("skill_effectiveness", grant.pk, 1)


@time_machine.travel(NOW)
def test_under_journal_all_the_patients_own_words_are_shown(patient, linked_therapist):
    journal(patient)
    grant_for(patient, linked_therapist, ["journal.all"])
    body = get(linked_therapist, patient=str(patient.pk))
    assert rows(body)["My own ritual"]["times_used"] == 1


@time_machine.travel(NOW)
def test_a_custom_skill_counts_as_own_words_unless_coping_shows_it_too(patient, linked_therapist):
    services.skill_create(
        author=patient,
        patient=patient,
        data={"name": "Ring Aunt May", "category": "social_support", "duration_minutes": 5},
    )
    log(patient, coping_skills=["Ring Aunt May"], intensity=6, intensity_after=2)
    grant = grant_for(patient, linked_therapist, ["insights"])
    assert [r["label"] for r in get(linked_therapist, patient=str(patient.pk))["skills"]] == [None]

    grant_revoke(grant=grant, by=patient)
    grant_for(patient, linked_therapist, ["insights", "coping"])
    assert [r["label"] for r in get(linked_therapist, patient=str(patient.pk))["skills"]] == [
        "Ring Aunt May"
    ]


def test_family_never_sees_effectiveness(patient):
    family = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=family)
    grant_for(patient, family, ["insights"])
    assert_problem(client_for(family).get(EFFECTIVENESS, {"patient": str(patient.pk)}), 403)


@time_machine.travel(NOW)
def test_the_report_runs_a_fixed_number_of_queries_however_many_entries(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["insights"])
    client = client_for(linked_therapist)
    # Authentication, the grants, the patient, the entries, the skills, the log insert.
    assert_flat_queries(
        lambda times: client.get(EFFECTIVENESS, {"patient": str(patient.pk)}),
        (1, 2),
        prepare=lambda times: journal(patient),
        at_most=6,
    )
