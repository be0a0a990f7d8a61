"""Scoring read from the seeded definitions, held to worked examples of the instruments' manuals."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from backend.measures import scoring
from backend.measures.models import Instrument

pytestmark = pytest.mark.django_db


def _score(slug: str, answers: dict[str, int]) -> scoring.Scored:
    instrument = Instrument.objects.get(slug=slug)
    cleaned = scoring.clean_answers(instrument.items, answers, final=True)
    return scoring.score(instrument.items, instrument.scoring, cleaned)


def _all(count: int, values: list[int]) -> dict[str, int]:
    return {str(n): v for n, v in zip(range(1, count + 1), values, strict=True)}


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([1, 1, 2, 1, 0, 1, 2, 0, 0], 8, "Mild"),
        ([0] * 9, 0, "Minimal"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "Minimal"),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "Mild"),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "Moderate"),
        ([3, 3, 3, 3, 2, 1, 0, 0, 0], 15, "Moderately severe"),
        ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "Severe"),
        ([3] * 9, 27, "Severe"),
    ],
)
def test_phq9_totals_and_severity_bands_follow_the_manual(values, total, band):
    scored = _score("phq-9", _all(9, values))

    assert (scored.total, scored.band, scored.scores) == (total, band, {"total": total})


def test_phq9_item_9_above_zero_is_a_crisis_whatever_the_total():
    assert _score("phq-9", _all(9, [0] * 8 + [1])).crisis
    assert not _score("phq-9", _all(9, [3] * 8 + [0])).crisis


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([0] * 7, 0, "Minimal"),
        ([1, 1, 1, 1, 1, 0, 0], 5, "Mild"),
        ([2, 2, 2, 2, 1, 1, 0], 10, "Moderate"),
        ([3, 2, 2, 2, 2, 2, 2], 15, "Severe"),
        ([3] * 7, 21, "Severe"),
    ],
)
def test_gad7_totals_and_bands(values, total, band):
    scored = _score("gad-7", _all(7, values))

    assert (scored.total, scored.band) == (total, band)


def test_bam_scores_use_risk_and_protective_and_leaves_items_7_and_17_out():
    answers = {str(n): 0 for n in range(1, 18) if n != 7}
    answers.update({"1": 2, "2": 1, "3": 3, "4": 1, "5": 0, "6": 2, "8": 2, "11": 0, "15": 1})
    answers.update({"9": 3, "10": 2, "12": 1, "13": 4, "14": 4, "16": 3, "17": 4})
    answers.update({"7A": 2, "7B": 0, "7C": 1, "7D": 0, "7E": 0, "7F": 0, "7G": 0})

    scored = _score("bam", answers)

    assert scored.scores == {"use": 3, "risk": 9, "protective": 17}
    assert (scored.total, scored.band) == (None, "")


def test_bam_asks_item_7_only_after_drug_use_on_item_6():
    answers = {str(n): 0 for n in range(1, 18) if n != 7}
    instrument = Instrument.objects.get(slug="bam")

    assert scoring.clean_answers(instrument.items, answers, final=True) == answers
    with pytest.raises(ValidationError) as refused:
        scoring.clean_answers(instrument.items, {**answers, "7A": 1}, final=True)
    assert "7A" in refused.value.detail["answers"]
    with pytest.raises(ValidationError) as missing:
        scoring.clean_answers(instrument.items, {**answers, "6": 1}, final=True)
    assert set(missing.value.detail["answers"]) == {"7A", "7B", "7C", "7D", "7E", "7F", "7G"}


def test_pacs_total_is_the_sum_of_five_items_from_0_to_30():
    assert _score("pacs", _all(5, [2, 3, 1, 2, 2])).total == 10
    assert _score("pacs", _all(5, [6] * 5)).total == 30


@pytest.mark.parametrize(
    "answers",
    [
        {"1": 4},
        {"1": -1},
        {"1": "2"},
        {"1": 1.5},
        {"1": True},
        {"10": 0},
        {"1": [1]},
    ],
)
def test_an_answer_outside_its_options_is_refused_by_item(answers):
    instrument = Instrument.objects.get(slug="phq-9")

    with pytest.raises(ValidationError) as refused:
        scoring.clean_answers(instrument.items, answers, final=False)

    assert list(refused.value.detail["answers"]) == list(answers)


def test_a_final_answer_needs_every_item():
    instrument = Instrument.objects.get(slug="gad-7")

    with pytest.raises(ValidationError) as refused:
        scoring.clean_answers(instrument.items, {"1": 0}, final=True)

    assert sorted(refused.value.detail["answers"]) == ["2", "3", "4", "5", "6", "7"]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([{"total": 3}], []),
        ([{"total": 3}, {"total": 7}], []),
        ([{"total": 3}, {"total": 8}], ["rise_from_baseline"]),
        ([{"total": 3}, {"total": 12}, {"total": 4}], []),
    ],
)
def test_phq9_flags_a_rise_of_5_since_baseline(series, expected):
    rules = Instrument.objects.get(slug="phq-9").scoring

    assert [f.rule for f in scoring.flags(rules, series)] == expected


def test_bam_flags_any_use_and_a_rising_risk():
    rules = Instrument.objects.get(slug="bam").scoring
    calm = {"use": 0, "risk": 6, "protective": 18}

    assert scoring.flags(rules, [calm, calm]) == []
    assert [f.rule for f in scoring.flags(rules, [calm, {**calm, "use": 1}])] == ["above"]
    assert [f.rule for f in scoring.flags(rules, [calm, {**calm, "risk": 7}])] == ["rising"]


def test_pacs_flags_a_rise_two_weeks_running():
    rules = Instrument.objects.get(slug="pacs").scoring

    assert scoring.flags(rules, [{"total": 5}, {"total": 6}]) == []
    assert [f.rule for f in scoring.flags(rules, [{"total": 5}, {"total": 6}, {"total": 8}])] == [
        "rising_runs"
    ]
    assert scoring.flags(rules, [{"total": 5}, {"total": 8}, {"total": 8}]) == []


def test_every_seeded_definition_is_valid_and_cites_its_source():
    for instrument in Instrument.objects.all():
        instrument.full_clean()
        assert instrument.source.strip()
    assert set(Instrument.objects.values_list("slug", flat=True)) >= {
        "phq-9",
        "gad-7",
        "bam",
        "pacs",
    }


@pytest.mark.parametrize(
    ("items", "rules"),
    [
        ([], {"scores": []}),
        ([{"link_id": "1", "text": "x", "options": [{"value": 0, "label": "a"}]}], {}),
        (
            [
                {
                    "link_id": "1",
                    "text": "x",
                    "options": [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}],
                }
            ],
            {
                "scores": [
                    {
                        "code": "total",
                        "items": ["1"],
                        "bands": [{"min": 0, "max": 0, "label": "low"}],
                    }
                ]
            },
        ),
        (
            [
                {
                    "link_id": "1",
                    "text": "x",
                    "options": [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}],
                }
            ],
            {"scores": [{"code": "total", "items": ["2"]}]},
        ),
        (
            [
                {
                    "link_id": "1",
                    "text": "x",
                    "options": [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}],
                }
            ],
            {
                "scores": [{"code": "total", "items": ["1"]}],
                "flags": [{"score": "x", "rule": "above"}],
            },
        ),
    ],
)
def test_a_definition_that_cannot_be_scored_is_refused(items, rules):
    with pytest.raises(DjangoValidationError):
        scoring.validate_definition(items, rules)
