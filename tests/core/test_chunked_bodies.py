"""A body sent chunked (no Content-Length) is read, or refused with 411: never dropped."""

import http.client
import io
import json
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests import processes
from tests.helpers import assert_problem, client_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _chunked_patch(user, body: bytes, **environ):
    return client_for(user).generic(
        "PATCH",
        "/api/v1/me/",
        body,
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        CONTENT_LENGTH="",
        **environ,
    )


def test_a_chunked_write_the_server_cannot_frame_is_refused_with_411(patient):
    response = _chunked_patch(patient, b'{"display_name": "Chunked"}')
    assert assert_problem(response, 411)["code"] == "length_required"
    patient.refresh_from_db()
    assert patient.display_name == "Sam"


def test_a_chunked_write_the_server_ended_is_read_and_stored(patient):
    body = b'{"display_name": "Chunked"}'
    response = _chunked_patch(
        patient, body, **{"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(body)}
    )
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.display_name == "Chunked"


@override_settings(MAX_REQUEST_BODY_BYTES=1024)
def test_a_chunked_body_past_the_size_limit_is_413(patient):
    body = json.dumps({"display_name": "x" * 2000}).encode()
    response = _chunked_patch(
        patient, body, **{"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(body)}
    )
    assert_problem(response, 413)
    patient.refresh_from_db()
    assert patient.display_name == "Sam"


@pytest.fixture
def gunicorn_url(tmp_path):
    """The production server (scripts/run.sh) on a free port, over a migrated database."""
    env = processes.laptop_env(tmp_path)
    processes.manage("migrate", "--noinput", "--verbosity", "0", env=env)
    port, log = processes.free_port(), tmp_path / "gunicorn.log"
    args = [
        *(sys.executable, "-m", "gunicorn", "backend.config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket"),
    ]
    with processes.running(args, env=env, log=log) as server:
        processes.wait_for_health(f"http://127.0.0.1:{port}", processes=[server], log=log)
        yield "127.0.0.1", port


def test_gunicorn_hands_a_chunked_body_to_the_api(gunicorn_url):
    connection = http.client.HTTPConnection(*gunicorn_url, timeout=30)
    # An iterable body without a length: http.client sends it chunked, in two chunks.
    body = iter([b'{"email": "not an ', b'email", "password": "x"}'])
    connection.request(
        "POST", "/api/v1/auth/token/", body=body, headers={"Content-Type": "application/json"}
    )
    answer = connection.getresponse()
    content = answer.read()
    connection.close()
    assert answer.status == 400, content
    # Only the email is wrong: the password in the second chunk arrived.
    errors = {e["field"] for e in json.loads(content)["errors"]}
    assert errors == {"email"}
