"""Checklists: items, ticks per local day, streaks and completion on the patient's clock."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from backend.consent import services as consent_services
from backend.coping import services
from backend.coping.models import Skill
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db


def invalid(response) -> dict[str, list[str]]:
    """The field errors of a 400 problem document."""
    assert_problem(response, 400)
    return problem_fields(response)


CHECKLISTS = "/api/v1/coping/checklists/"
# 07:00 on Tuesday 24 November in New York; already 01:00 on the 25th in Auckland.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def url(checklist) -> str:
    return f"{CHECKLISTS}{checklist.pk}/"


def day_url(checklist, day) -> str:
    return f"{CHECKLISTS}{checklist.pk}/days/{day}/"


def make(patient, items=("Make the bed", "Read my reasons"), title="Morning routine", author=None):
    return services.checklist_create(
        author=author or patient,
        patient=patient,
        title=title,
        items=[{"text": text} for text in items],
    )


def item_ids(checklist) -> list:
    return list(
        checklist.items.filter(removed_at__isnull=True)
        .order_by("position")
        .values_list("pk", flat=True)
    )


def tick(checklist, day: date, items=None):
    """Tick a day (all items by default) as the patient would have on that day."""
    ids = item_ids(checklist) if items is None else items
    return services.checklist_day_set(checklist=checklist, local_date=day, item_ids=ids)


def progress(client, checklist) -> dict:
    response = client.get(url(checklist))
    assert response.status_code == 200, response.content
    return response.json()


def test_a_patient_builds_a_checklist_of_skills_and_text_in_order(patient):
    surfing = Skill.objects.get(slug="urge-surfing")
    response = client_for(patient).post(
        CHECKLISTS,
        {
            "title": "When a craving hits",
            "items": [{"skill": str(surfing.pk)}, {"text": "  Drink a glass of water "}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(i["position"], i["label"]) for i in body["items"]] == [
        (0, "Urge surfing"),
        (1, "Drink a glass of water"),
    ]
    assert body["items"][0]["skill"]["duration_minutes"] == surfing.duration_minutes
    assert body["streak"] == {"current": 0, "longest": 0}
    assert "redisclosure_notice" not in body


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{}], "items.0.text"),
        ([{"text": "   "}], "items.0.text"),
        ([{"text": "ok"}, {"skill": "not-a-uuid"}], "items.1.skill"),
        ([{"text": "x" * 201}], "items.0.text"),
        ([{"text": "a", "colour": "red"}], "items.0.colour"),
        ([{"text": "a"}] * 31, "items"),
    ],
)
def test_bad_items_are_400_with_their_path(patient, items, field):
    response = client_for(patient).post(CHECKLISTS, {"title": "T", "items": items}, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response), problem_fields(response)


def test_an_item_cannot_use_another_patients_custom_skill(patient, other_patient):
    theirs = services.skill_create(
        author=other_patient,
        patient=other_patient,
        data={"name": "Theirs", "category": "cbt", "duration_minutes": 5},
    )
    response = client_for(patient).post(
        CHECKLISTS, {"title": "T", "items": [{"skill": str(theirs.pk)}]}, format="json"
    )
    assert "items.0.skill" in invalid(response)


def test_editing_items_keeps_those_sent_with_their_id_and_the_days_keep_removed_ones(patient):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient, items=("Bed", "Reasons", "Walk"))
        bed, reasons, walk = item_ids(checklist)
        tick(checklist, date(2026, 11, 23))
        client = client_for(patient)
        response = client.patch(
            url(checklist),
            {"items": [{"id": str(walk)}, {"text": "Call Dana"}, {"id": str(bed), "text": "Bed!"}]},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert [(i["id"] == str(walk), i["label"]) for i in response.json()["items"]] == [
            (True, "Walk"),
            (False, "Call Dana"),
            (False, "Bed!"),
        ]
        [day] = client.get(f"{url(checklist)}days/").json()["results"]
        assert {t["item"] for t in day["done"]} == {str(bed), str(reasons), str(walk)}
        # The day was complete with the three items it had then; the new list changes nothing.
        assert (day["completed"], day["item_count"]) == (True, 3)
        assert progress(client, checklist)["streak"]["current"] == 1
        bad = client.patch(url(checklist), {"items": [{"id": str(reasons)}]}, format="json")
        assert "items.0.id" in invalid(bad)


def test_ticking_a_day_is_idempotent_and_an_empty_list_unticks_it(patient):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient)
        first, second = item_ids(checklist)
        client = client_for(patient)
        for _ in range(2):
            response = client.put(
                day_url(checklist, "2026-11-24"), {"done": [str(first)]}, format="json"
            )
            assert response.status_code == 200, response.content
        body = response.json()
        assert (body["done_count"], body["item_count"], body["completed"]) == (1, 2, False)
        today = progress(client, checklist)["today"]
        assert today == {"date": "2026-11-24", "done": [str(first)], "completed": False}
        client.put(
            day_url(checklist, "2026-11-24"), {"done": [str(first), str(second)]}, format="json"
        )
        assert progress(client, checklist)["today"]["completed"] is True
        response = client.put(day_url(checklist, "2026-11-24"), {"done": []}, format="json")
        assert response.json()["done"] == []
        assert response.json()["completed"] is False
        assert progress(client, checklist)["streak"]["current"] == 0


def test_today_is_the_patients_local_date_on_both_sides_of_midnight(patient):
    # New York: 23:30 on the 23rd at 04:30 UTC, 00:30 on the 24th at 05:30 UTC.
    with time_machine.travel(datetime(2026, 11, 24, 4, 30, tzinfo=UTC), tick=False):
        checklist = make(patient)
        client = client_for(patient)
        ids = [str(pk) for pk in item_ids(checklist)]
        response = client.put(day_url(checklist, "2026-11-24"), {"done": ids}, format="json")
        assert "date" in invalid(response)
        assert (
            client.put(day_url(checklist, "2026-11-23"), {"done": ids}, format="json").status_code
            == 200
        )
        assert progress(client, checklist)["today"]["date"] == "2026-11-23"
    with time_machine.travel(datetime(2026, 11, 24, 5, 30, tzinfo=UTC), tick=False):
        client = client_for(patient)
        body = progress(client, checklist)
        assert body["today"] == {"date": "2026-11-24", "done": [], "completed": False}
        # Yesterday's completed day still counts while today is open.
        assert body["streak"] == {"current": 1, "longest": 1}
        assert (
            client.put(day_url(checklist, "2026-11-24"), {"done": ids}, format="json").status_code
            == 200
        )


def test_a_patient_ahead_of_utc_ticks_their_own_today(db):
    auckland = PatientFactory(time_zone="Pacific/Auckland")
    with time_machine.travel(NOW, tick=False):  # 01:00 on the 25th in Auckland
        checklist = make(auckland)
        ids = [str(pk) for pk in item_ids(checklist)]
        client = client_for(auckland)
        assert (
            client.put(day_url(checklist, "2026-11-25"), {"done": ids}, format="json").status_code
            == 200
        )
        assert_problem(
            client.put(day_url(checklist, "2026-11-26"), {"done": ids}, format="json"), 400
        )
        assert progress(client, checklist)["today"]["date"] == "2026-11-25"


def test_only_the_last_seven_days_can_be_ticked(patient):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient)
        client = client_for(patient)
        ids = [str(pk) for pk in item_ids(checklist)]
        assert (
            client.put(day_url(checklist, "2026-11-18"), {"done": ids}, format="json").status_code
            == 200
        )
        response = client.put(day_url(checklist, "2026-11-17"), {"done": ids}, format="json")
        assert "date" in invalid(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"done": ["not-a-uuid"]}, "done.0"),
        ({"done": "all"}, "done"),
        ({}, "done"),
        ({"done": [], "date": "2026-11-24"}, "date"),
    ],
)
def test_bad_ticks_are_400(patient, body, field):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient)
        response = client_for(patient).put(day_url(checklist, "2026-11-24"), body, format="json")
    assert field in invalid(response)


def test_an_item_of_another_checklist_cannot_be_ticked(patient):
    with time_machine.travel(NOW, tick=False):
        checklist, other = make(patient), make(patient)
        response = client_for(patient).put(
            day_url(checklist, "2026-11-24"), {"done": [str(item_ids(other)[0])]}, format="json"
        )
    assert "done" in invalid(response)


def test_an_impossible_date_in_the_path_is_404(patient):
    checklist = make(patient)
    response = client_for(patient).put(
        day_url(checklist, "2026-02-30"), {"done": []}, format="json"
    )
    assert_problem(response, 404)


def test_streaks_count_completed_days_only_and_today_stays_open(patient):
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        checklist = make(patient)
    with time_machine.travel(NOW, tick=False):
        first = item_ids(checklist)[0]
        for day in (18, 19, 20, 22, 23):
            tick(checklist, date(2026, 11, day))
        tick(checklist, date(2026, 11, 21), items=[first])  # half done: breaks the run
        client = client_for(patient)
        body = progress(client, checklist)
        assert body["streak"] == {"current": 2, "longest": 3}
        # Ten days since it was made: 5 completed of the 10 days before today.
        assert body["completion_30_days"] == {"days": 10, "completed": 5, "rate": 0.5}
        tick(checklist, date(2026, 11, 24))
        body = progress(client, checklist)
        assert body["streak"] == {"current": 3, "longest": 3}
        assert body["completion_30_days"] == {"days": 11, "completed": 6, "rate": round(6 / 11, 4)}
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        # The 25th was missed: the run ended.
        assert progress(client_for(patient), checklist)["streak"] == {"current": 0, "longest": 3}


def test_the_completion_rate_looks_at_30_days_at_most(patient):
    with time_machine.travel(datetime(2026, 10, 2, 16, 0, tzinfo=UTC), tick=False):
        checklist = make(patient)
        for offset in range(7):
            tick(checklist, date(2026, 9, 26) + timedelta(days=offset))
    with time_machine.travel(NOW, tick=False):
        tick(checklist, date(2026, 11, 23))
        body = progress(client_for(patient), checklist)
    assert body["completion_30_days"] == {"days": 29, "completed": 1, "rate": round(1 / 29, 4)}
    assert body["streak"] == {"current": 1, "longest": 7}


def test_a_new_checklist_has_no_rate_until_a_day_is_completed(patient):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient)
        client = client_for(patient)
        assert progress(client, checklist)["completion_30_days"]["rate"] is None
        tick(checklist, date(2026, 11, 24))
        assert progress(client, checklist)["completion_30_days"] == {
            "days": 1,
            "completed": 1,
            "rate": 1.0,
        }


def test_streaks_run_across_a_daylight_saving_change(patient):
    # New York leaves daylight saving at 02:00 on Sunday 1 November 2026: a 25-hour day.
    with time_machine.travel(datetime(2026, 10, 30, 12, 0, tzinfo=UTC), tick=False):
        checklist = make(patient)
    for moment, local in [
        (datetime(2026, 10, 31, 3, 30, tzinfo=UTC), date(2026, 10, 30)),  # 23:30 EDT
        (datetime(2026, 11, 1, 3, 30, tzinfo=UTC), date(2026, 10, 31)),  # 23:30 EDT
        (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), date(2026, 11, 1)),  # 23:30 EST
    ]:
        with time_machine.travel(moment, tick=False):
            tick(checklist, local)
            assert progress(client_for(patient), checklist)["today"]["date"] == str(local)
    with time_machine.travel(datetime(2026, 11, 2, 5, 30, tzinfo=UTC), tick=False):  # 00:30 EST
        body = progress(client_for(patient), checklist)
    assert body["today"]["date"] == "2026-11-02"
    assert body["streak"] == {"current": 3, "longest": 3}


def test_history_is_newest_day_first_and_paginated(patient):
    with time_machine.travel(NOW, tick=False):
        checklist = make(patient)
        for day in (20, 22, 24):
            tick(checklist, date(2026, 11, day))
        response = client_for(patient).get(f"{url(checklist)}days/", {"page_size": 2})
    body = response.json()
    assert [d["date"] for d in body["results"]] == ["2026-11-24", "2026-11-22"]
    assert body["next"]


def test_a_therapist_with_coping_builds_a_checklist_for_the_patient(patient, linked_therapist):
    payload = {"patient": str(patient.pk), "title": "Evenings", "items": [{"text": "Call Dana"}]}
    client = client_for(linked_therapist)
    assert_problem(client.post(CHECKLISTS, payload, format="json"), 404)
    grant_for(patient, linked_therapist, ["coping"])
    response = client.post(CHECKLISTS, payload, format="json")
    assert response.status_code == 201, response.content
    assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    mine = client_for(patient).get(CHECKLISTS).json()["results"]
    assert [c["title"] for c in mine] == ["Evenings"]
    # The therapist who made it may delete it; the patient's own lists they may not.
    own = make(patient)
    assert_problem(client.delete(url(own)), 403)
    assert client.patch(url(own), {"title": "Mornings"}, format="json").status_code == 200
    assert client.delete(f"{CHECKLISTS}{response.json()['id']}/").status_code == 204


def test_others_read_under_coping_with_the_notice_and_a_log_row_per_patient(
    patient, other_patient, linked_therapist
):

    CareLinkFactory(patient=other_patient, therapist=linked_therapist)
    a, b = make(patient), make(other_patient)
    client = client_for(linked_therapist)
    assert client.get(CHECKLISTS).json()["results"] == []
    assert_problem(client.get(url(a)), 404)
    grant = grant_for(patient, linked_therapist, ["coping"])
    grant_for(other_patient, linked_therapist, ["coping"])
    response = client.get(CHECKLISTS)
    assert {c["id"] for c in response.json()["results"]} == {str(a.pk), str(b.pk)}
    assert response.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    assert response["Cache-Control"] == "no-store, private"
    rows = DisclosureLog.objects.filter(viewer=linked_therapist, kind="checklist")
    assert {(r.patient_id, tuple(r.record_ids)) for r in rows} == {
        (patient.pk, (str(a.pk),)),
        (other_patient.pk, (str(b.pk),)),
    }
    only_one = client.get(CHECKLISTS, {"patient": str(patient.pk)}).json()["results"]
    assert [c["id"] for c in only_one] == [str(a.pk)]
    client.get(f"{url(a)}days/")
    assert DisclosureLog.objects.filter(kind="checklist_day").count() == 0  # no days yet
    consent_services.grant_revoke(grant=grant, by=patient)
    assert_problem(client.get(url(a)), 404)
    assert_problem(client.get(f"{url(a)}days/"), 404)


def test_family_with_coping_reads_but_never_ticks_or_edits(patient):
    # Today under the frozen clock: a day the patient could tick, that family may not.
    with time_machine.travel(NOW, tick=False):
        family = FamilyFactory()
        FamilyLinkFactory(patient=patient, member=family)
        grant_for(patient, family, ["coping"])
        checklist = make(patient)
        client = client_for(family)
        assert client.get(url(checklist)).status_code == 200
        assert_problem(client.patch(url(checklist), {"title": "X"}, format="json"), 403)
        day = day_url(checklist, "2026-11-24")
        assert_problem(client.put(day, {"done": []}, format="json"), 403)


def test_the_patient_sees_no_notice_on_their_own_lists(patient):
    make(patient)
    response = client_for(patient).get(CHECKLISTS)
    assert REDISCLOSURE_HEADER not in response
    assert "redisclosure_notice" not in response.json()


def test_the_checklist_list_runs_the_same_queries_for_one_as_for_many(patient, linked_therapist):
    with time_machine.travel(NOW - timedelta(days=20), tick=False):
        grant_for(patient, linked_therapist, ["coping"])
        checklists = [make(patient, title=f"List {n}") for n in range(8)]
    with time_machine.travel(NOW, tick=False):
        for checklist in checklists:
            for day in range(18, 25):
                tick(checklist, date(2026, 11, day))
        for viewer, limit in ((patient, 5), (linked_therapist, 7)):
            client = client_for(viewer)
            # Authentication, the page, its items, completed dates, today's ticks
            # (+ for others: the grants in force and the disclosure-log insert).
            assert_flat_queries(
                lambda size, client=client: full_page(client, CHECKLISTS, size),
                (1, 8),
                at_most=limit,
            )


def test_the_history_runs_the_same_queries_for_one_day_as_for_many(patient, linked_therapist):
    with time_machine.travel(NOW, tick=False):
        grant_for(patient, linked_therapist, ["coping"])
        checklist = make(patient)
        for day in range(18, 25):
            tick(checklist, date(2026, 11, day))
        client = client_for(linked_therapist)
        days = f"{url(checklist)}days/"
        assert_flat_queries(lambda size: full_page(client, days, size), (1, 7), at_most=6)
