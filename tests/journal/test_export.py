import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from backend.journal import services
from backend.journal.models import CounterDecision
from backend.journal.renderers import csv_cell
from backend.journal.services import EntryOp, entries_apply
from tests.factories import CheckInFactory, EntryFactory
from tests.helpers import assert_flat_queries, assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/journal/export/"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def delete_entry(patient, entry) -> None:
    [result] = entries_apply(patient=patient, ops=[EntryOp("delete", entry.client_id, None)])
    assert result.status == "updated"


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


@pytest.fixture
def journal(patient, other_patient):
    """A patient's journal with a bit of everything, deleted records and a neighbour's."""
    with time_machine.travel(NOW):
        counter = services.counter_create(
            patient=patient, substance="alcohol", start_date=date(2026, 11, 1)
        )
        kept = EntryFactory(
            patient=patient,
            occurred_at="2026-11-20T21:30:00-05:00",
            situation="Friends texted about going out.",
            thoughts="Just one would be fine.",
            emotions=["anxious", "bored"],
            coping_skills=["urge surfing"],
            halt=["lonely", "tired"],
        )
        used = EntryFactory(
            patient=patient,
            occurred_at="2026-11-22T19:00:00-05:00",
            outcome="used",
            situation="A wedding toast.",
            triggers=[{"category": "social", "label": "Wedding"}],
        )
        services.counter_decide(
            counter=counter, decision="keep", new_start_date=None, entry_client_id=used.client_id
        )
        gone = EntryFactory(
            patient=patient,
            occurred_at="2026-11-21T10:00:00-05:00",
            situation="Deleted words.",
            triggers=[{"category": "people", "label": "Ex"}],
        )
        delete_entry(patient, gone)
        live_checkin = CheckInFactory(
            patient=patient, local_date=date(2026, 11, 22), note="Grateful for the walk."
        )
        deleted_checkin = CheckInFactory(
            patient=patient, local_date=date(2026, 11, 21), note="Deleted note."
        )
        services.checkin_delete(checkin=deleted_checkin, expected_version=None)
        EntryFactory(patient=other_patient, situation="Someone else's words.")
        CheckInFactory(
            patient=other_patient, local_date=date(2026, 11, 22), note="Someone else's note."
        )
        services.counter_create(
            patient=other_patient, substance="opioids", start_date=date(2026, 9, 1)
        )
    return {"kept": kept, "used": used, "gone": gone, "checkin": live_checkin, "counter": counter}


@time_machine.travel(NOW, tick=False)
def test_the_json_export_holds_every_live_record_with_its_text(patient, journal):
    response = client_for(patient).get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        'attachment; filename="recovery-journal-2026-11-24.json"'
    )
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["exported_at"] == "2026-11-24T15:00:00Z"
    assert body["time_zone"] == "America/New_York"

    assert [e["id"] for e in body["entries"]] == [
        str(journal["kept"].client_id),
        str(journal["used"].client_id),
    ]
    kept = body["entries"][0]
    assert kept["occurred_at"] == "2026-11-20T21:30:00-05:00"
    assert kept["situation"] == "Friends texted about going out."
    assert kept["thoughts"] == "Just one would be fine."
    assert kept["emotions"] == ["anxious", "bored"]
    assert kept["coping_skills"] == ["urge surfing"]
    assert kept["halt"] == ["lonely", "tired"]
    assert kept["triggers"] == [
        {"category": "places", "label": "Bar on 5th"},
        {"category": "emotions", "label": "Lonely"},
    ]

    assert [c["id"] for c in body["checkins"]] == [str(journal["checkin"].client_id)]
    assert body["checkins"][0]["note"] == "Grateful for the walk."

    [counter] = body["counters"]
    assert counter["id"] == str(journal["counter"].pk)
    assert counter["days_sober"] == 23
    assert [(d["decision"], d["entry"]) for d in counter["decisions"]] == [
        ("keep", str(journal["used"].client_id))
    ]

    vocabulary = {(t["category"], t["label"]): t["uses"] for t in body["triggers"]}
    assert vocabulary[("places", "Bar on 5th")] == 1
    assert vocabulary[("social", "Wedding")] == 1
    assert vocabulary[("people", "Ex")] == 0  # its only entry was deleted


@time_machine.travel(NOW)
def test_nothing_deleted_and_nothing_of_another_patient_is_exported(patient, journal):
    client = client_for(patient)
    everything = client.get(EXPORT).content.decode()
    everything += "".join(
        client.get(EXPORT, {"format": "csv", "kind": kind}).content.decode()
        for kind in ("entries", "checkins", "counters", "decisions")
    )
    for text in (
        str(journal["gone"].client_id),
        "Deleted words.",
        "Deleted note.",
        "Someone else's",
        "opioids",
    ):
        assert text not in everything


@time_machine.travel(NOW)
def test_the_csv_export_is_one_table_chosen_by_kind(patient, journal):
    client = client_for(patient)

    response = client.get(EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="recovery-journal-entries-2026-11-24.csv"'
    )
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"id,occurred_at,intensity,")  # no byte-order mark
    header, *rows = read_csv(response)
    assert [row[header.index("id")] for row in rows] == [
        str(journal["kept"].client_id),
        str(journal["used"].client_id),
    ]
    kept = dict(zip(header, rows[0], strict=True))
    assert kept["occurred_at"] == "2026-11-20T21:30:00-05:00"
    assert kept["situation"] == "Friends texted about going out."
    assert kept["triggers"] == "places: Bar on 5th; emotions: Lonely"
    assert kept["emotions"] == "anxious; bored"
    assert (kept["halt_lonely"], kept["halt_hungry"], kept["coping_used"]) == (
        "true",
        "false",
        "true",
    )
    assert kept["mood"] == "-1"  # a number, not text: no apostrophe

    checkins = read_csv(client.get(EXPORT, {"format": "csv", "kind": "checkins"}))
    assert checkins[0][:2] == ["id", "local_date"]
    assert [row[1] for row in checkins[1:]] == ["2026-11-22"]

    counters = read_csv(client.get(EXPORT, {"format": "csv", "kind": "counters"}))
    assert counters[1][1:4] == ["alcohol", "2026-11-01", "23"]

    decisions = client.get(EXPORT, {"format": "csv", "kind": "decisions"})
    assert decisions["Content-Disposition"].endswith('recovery-journal-decisions-2026-11-24.csv"')
    header, row = read_csv(decisions)
    record = dict(zip(header, row, strict=True))
    assert record["decision"] == "keep"
    assert record["entry_id"] == str(journal["used"].client_id)
    assert record["substance"] == "alcohol"
    assert CounterDecision.objects.filter(counter__patient=patient).count() == 1


@time_machine.travel(NOW)
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_as_text(patient):
    EntryFactory(
        patient=patient,
        situation='=HYPERLINK("http://evil.example","click")',
        thoughts="\tcmd",
        place_label="@SUM(A1)",
        emotions=["+1 more", "calm"],
        coping_skills=["-2 drinks"],
        triggers=[{"category": "people", "label": "=cmd|' /C calc'!A0"}],
        mood=-2,
    )
    header, row = read_csv(client_for(patient).get(EXPORT, {"format": "csv"}))
    record = dict(zip(header, row, strict=True))
    assert record["situation"] == """'=HYPERLINK("http://evil.example","click")"""
    assert record["thoughts"] == "'\tcmd"
    assert record["place_label"] == "'@SUM(A1)"
    assert record["emotions"] == "'+1 more; calm"
    assert record["coping_skills"] == "'-2 drinks"
    assert record["triggers"] == "people: =cmd|' /C calc'!A0"  # the cell starts with "people"
    assert record["mood"] == "-2"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain = text", "plain = text"),
        (-1, -1),
        (True, "true"),
        (None, ""),
        (["=a", "b"], "'=a; b"),
        (date(2026, 11, 24), "2026-11-24"),
    ],
)
def test_csv_cell_guards_text_and_keeps_numbers(value, cell):
    assert csv_cell(value) == cell


@time_machine.travel(NOW)
def test_csv_keeps_non_ascii_and_multiline_text_intact(patient):
    EntryFactory(patient=patient, situation='Ñandú café,\nthen a "quiet" night', coping_skills=[])
    header, row = read_csv(client_for(patient).get(EXPORT, {"format": "csv"}))
    assert dict(zip(header, row, strict=True))["situation"] == ('Ñandú café,\nthen a "quiet" night')


@time_machine.travel(NOW)
def test_an_unknown_format_is_a_404_problem_not_a_500(patient):
    assert_problem(client_for(patient).get(EXPORT, {"format": "xml"}), 404)


@time_machine.travel(NOW)
def test_an_unknown_kind_is_a_field_error(patient):
    response = client_for(patient).get(EXPORT, {"format": "csv", "kind": "meetings"})
    assert_problem(response, 400)
    assert "kind" in problem_fields(response)


@pytest.mark.parametrize("persona", ["anonymous", "linked_therapist", "family", "clinic_admin"])
def test_errors_under_format_csv_are_still_problem_documents(personas, persona):
    response = personas[persona].client.get(EXPORT, {"format": "csv"})
    assert_problem(response, 401 if persona == "anonymous" else 403)


EXPORTS = [
    {},
    {"format": "csv"},
    {"format": "csv", "kind": "checkins"},
    {"format": "csv", "kind": "counters"},
    {"format": "csv", "kind": "decisions"},
]


@time_machine.travel(NOW)
@pytest.mark.parametrize("params", EXPORTS, ids=str)
def test_the_number_of_queries_does_not_grow_with_the_records(patient, params):
    client = client_for(patient)
    counter = services.counter_create(
        patient=patient, substance="alcohol", start_date=date(2026, 10, 1)
    )
    EntryFactory(patient=patient, occurred_at="2026-11-01T12:00:00-05:00", outcome="used")
    CheckInFactory(patient=patient, local_date=date(2026, 11, 1))

    def more_records(records: int) -> None:
        if records == 1:
            return  # the one entry and check-in above
        for day in range(2, 31):
            EntryFactory(
                patient=patient,
                occurred_at=f"2026-10-{day:02d}T08:00:00-04:00",
                outcome="used",
                triggers=[{"category": "people", "label": f"Person {day}"}],
            )
            CheckInFactory(patient=patient, local_date=date(2026, 10, day))
        services.counter_create(patient=patient, substance="nicotine", start_date=date(2026, 10, 2))
        assert CounterDecision.objects.filter(counter=counter).count() == 30

    def export(records: int) -> None:
        assert client.get(EXPORT, params).status_code == 200

    # The user, then entries, their triggers, check-ins, counters, decisions, vocabulary.
    assert_flat_queries(export, (1, 30), prepare=more_records, at_most=7)


def test_an_unknown_format_without_credentials_is_a_401_not_a_404(db):
    assert_problem(APIClient().get(EXPORT, {"format": "xml"}), 401)


def test_an_unknown_format_for_a_role_that_cannot_export_is_a_403(linked_therapist):
    assert_problem(client_for(linked_therapist).get(EXPORT, {"format": "xml"}), 403)
