"""Bad input anywhere gets a clear 4xx in the one problem shape, never a 500."""

import pytest
from django.test import override_settings

from backend.accounts import views
from tests.helpers import assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_problem(patient):
    response = client_for(patient).generic(
        "PATCH", "/api/v1/me/", '{"display_name": ', content_type="application/json"
    )
    assert assert_problem(response, 400)["code"] == "parse_error"


@pytest.mark.parametrize(
    "body",
    ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000],
    ids=["5000 nested arrays", "3000 nested objects"],
)
def test_deeply_nested_json_is_a_400_problem_even_before_sign_in(api, body):
    response = api.generic("POST", "/api/v1/auth/token/", body, content_type="application/json")
    problem = assert_problem(response, 400)
    assert problem["code"] == "parse_error"
    assert "nested" in problem["detail"]


def test_json_nested_to_the_limit_reaches_the_serializer_and_one_more_level_does_not(patient):
    client = client_for(patient)

    def nested(levels: int) -> str:  # the outer object is one level
        return '{"display_name": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    at_limit = client.generic("PATCH", "/api/v1/me/", nested(32), content_type="application/json")
    assert set(problem_fields(at_limit)) == {"display_name"}
    past = client.generic("PATCH", "/api/v1/me/", nested(33), content_type="application/json")
    assert assert_problem(past, 400)["code"] == "parse_error"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_numbers_no_float_holds_are_a_parse_error(patient, number):
    response = client_for(patient).generic(
        "PATCH", "/api/v1/me/", '{"display_name": ' + number + "}", content_type="application/json"
    )
    assert assert_problem(response, 400)["code"] == "parse_error"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=latin-1"])
def test_a_body_that_is_not_utf8_is_a_parse_error(patient, content_type):
    body = '{"display_name": "Jos\xe9"}'.encode("latin-1")
    response = client_for(patient).generic("PATCH", "/api/v1/me/", body, content_type=content_type)
    assert assert_problem(response, 400)["code"] == "parse_error"


def test_a_json_array_where_an_object_belongs_is_a_400(api):
    response = api.post("/api/v1/auth/token/", [1, 2], format="json")
    assert_problem(response, 400)


def test_wrong_types_are_field_errors(api):
    response = api.post(
        "/api/v1/auth/token/", {"email": ["a"], "password": {"x": 1}}, format="json"
    )
    assert_problem(response, 400)
    assert set(problem_fields(response)) == {"email", "password"}


def test_form_encoded_bodies_are_415(api):
    response = api.post(
        "/api/v1/auth/token/",
        "email=a&password=b",
        content_type="application/x-www-form-urlencoded",
    )
    assert_problem(response, 415)


@override_settings(MAX_REQUEST_BODY_BYTES=1024)
def test_oversize_bodies_are_413_before_parsing(api):
    response = api.post(
        "/api/v1/auth/register/", {"email": "a@example.test", "password": "x" * 2000}, format="json"
    )
    assert_problem(response, 413)


def test_a_bad_content_length_is_400(api):
    response = api.generic(
        "POST", "/api/v1/auth/token/", "{}", content_type="application/json", CONTENT_LENGTH="abc"
    )
    assert_problem(response, 400)


def test_unknown_urls_are_404_problems(api):
    assert_problem(api.get("/api/v1/nothing-here/"), 404)
    assert_problem(api.get("/no/such/page"), 404)


def test_a_malformed_uuid_in_a_path_is_404(linked_therapist):
    assert_problem(client_for(linked_therapist).delete("/api/v1/care/links/not-a-uuid/"), 404)


def test_wrong_methods_are_405_problems(patient):
    assert_problem(client_for(patient).delete("/api/v1/me/"), 405)
    assert_problem(client_for(patient).put("/api/v1/me/", {}, format="json"), 405)


@pytest.mark.parametrize(
    "query", ["page_size=0", "page_size=101", "page_size=abc", "cursor=garbage"]
)
def test_bad_pagination_parameters_are_400(linked_therapist, query):
    response = client_for(linked_therapist).get(f"/api/v1/care/caseload/?{query}")
    assert_problem(response, 400)
    assert set(problem_fields(response)) & {"page_size", "cursor"}


def test_errors_from_the_yaml_schema_endpoint_are_still_json(api):
    response = api.post("/api/schema/")
    assert_problem(response, 405)


def test_a_crash_answers_a_500_problem_without_details(api, monkeypatch):

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.services, "password_reset_request", explode)
    api.raise_request_exception = False
    response = api.post("/api/v1/auth/password/reset/", {"email": "a@example.test"}, format="json")
    body = assert_problem(response, 500)
    assert "secret" not in response.content.decode()
    assert body["code"] == "server_error"
