"""The A/B benchmark's order and arithmetic (bench/compare.py), without wrk or a server."""

from collections import Counter

import pytest

from bench.compare import b_over_a, schedule, side_figures, slower_endpoints


def _round(requests_per_second: float, p50: float, p90: float) -> dict:
    return {"requests_per_second": requests_per_second, "p50": p50, "p90": p90}


def test_each_endpoints_a_and_b_runs_are_adjacent():
    order = schedule(["create", "bare"], rounds=4)

    assert len(order) == 16
    for first, second in zip(order[::2], order[1::2], strict=True):
        assert first[:2] == second[:2]
        assert {first[2], second[2]} == {"A", "B"}


@pytest.mark.parametrize("labels", [["me"], ["create", "bare"], ["caseload", "page25", "summary"]])
def test_every_endpoint_goes_a_first_in_half_its_rounds(labels):
    order = schedule(labels, rounds=4)

    firsts = Counter((label, side) for _round_number, label, side in order[::2])
    for label in labels:
        assert firsts[label, "A"] == firsts[label, "B"] == 2


def test_the_order_runs_a_b_b_a_and_alternates_the_endpoints_each_round():
    assert schedule(["create", "bare"], rounds=2) == [
        (0, "create", "A"),
        (0, "create", "B"),
        (0, "bare", "B"),
        (0, "bare", "A"),
        (1, "bare", "A"),
        (1, "bare", "B"),
        (1, "create", "B"),
        (1, "create", "A"),
    ]


def test_side_figures_are_the_medians_over_the_rounds():
    combined = {
        "rounds": [_round(100.0, 10.0, 30.0), _round(300.0, 5.0, 10.0), _round(200.0, 20.0, 40.0)]
    }

    assert side_figures(combined) == {"requests_per_second": 200.0, "p50_ms": 10.0, "p90_ms": 30.0}


def test_b_over_a_divides_each_median_and_each_rounds_pair():
    a = {"requests_per_second": 200.0, "p50_ms": 10.0, "p90_ms": 40.0}
    b = {"requests_per_second": 150.0, "p50_ms": 12.0, "p90_ms": 30.0}
    a_rounds = [_round(200.0, 10.0, 40.0), _round(100.0, 20.0, 50.0)]
    b_rounds = [_round(150.0, 12.0, 30.0), _round(125.0, 15.0, 45.0)]

    assert b_over_a(a, b, a_rounds, b_rounds) == {
        "requests_per_second": 0.75,
        "p50_ms": 1.2,
        "p90_ms": 0.75,
        "requests_per_second_per_round": [0.75, 1.25],
    }


def test_a_zero_denominator_gives_no_ratio_rather_than_an_error():
    zero = {"requests_per_second": 0.0, "p50_ms": 0.0, "p90_ms": 0.0}
    some = {"requests_per_second": 10.0, "p50_ms": 1.0, "p90_ms": 2.0}

    ratios = b_over_a(zero, some, [_round(0.0, 0.0, 0.0)], [_round(10.0, 1.0, 2.0)])

    assert ratios["requests_per_second"] is None
    assert ratios["requests_per_second_per_round"] == [None]


def test_only_app_endpoints_below_the_tolerance_count_as_slower():
    def endpoint(path: str, rate: float) -> dict:
        return {"path": path, "b_over_a": {"requests_per_second": rate}}

    endpoints = {
        "create": endpoint("/api/v1/journal/entries/", 0.94),
        "me": endpoint("/api/v1/me/", 0.96),
        "bare": endpoint("/bench/bare-entry/", 0.5),
        "none": endpoint("/api/v1/care/feed/", None),
    }

    assert slower_endpoints(endpoints, tolerance=0.05) == ["create"]
    assert slower_endpoints(endpoints, tolerance=0.10) == []
