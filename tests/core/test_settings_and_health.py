import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(REPO / "backend" / "manage.py")]


def _run(args, **env):
    ours = {
        "SECRET_KEY",
        "JWT_SIGNING_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "DEBUG",
        "DJANGO_ENV",
        "EMAIL_HOST",
        "EMAIL_TO_LOG",
        "EMAIL_FILE_PATH",
    }
    base = {k: v for k, v in os.environ.items() if k not in ours}
    base.update(
        {"DJANGO_SETTINGS_MODULE": "backend.config.settings", "ENV_FILE": "/nonexistent/.env"}
    )
    base.update(env)
    return subprocess.run(
        [*MANAGE, *args], capture_output=True, text=True, env=base, timeout=120, check=False
    )


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "prod-test-" + "s9Xq2" * 12,
    "JWT_SIGNING_KEY": "prod-test-jwt-" + "k7Wp3" * 12,
    "FIELD_ENCRYPTION_KEYS": "cHJvZC10ZXN0LWZpZWxkLWtleS0tLS0zMi1ieXRlcyE=",
    "ALLOWED_HOSTS": "api.clinic.example",
    "EMAIL_HOST": "smtp.clinic.example",
}


def test_check_deploy_is_clean_with_production_settings():
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_start_up_stops_with_a_clear_message_when_a_key_is_missing(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _run(["check"], **env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SECRET_KEY",
            "change-me-secret-key-placeholder-0123456789abcdefghijklmnop",
            "SECRET_KEY is still",
        ),
        (
            "JWT_SIGNING_KEY",
            "change-me-jwt-placeholder-0123456789abcdefghijklmnopqrstuv",
            "JWT_SIGNING_KEY is still",
        ),
        ("FIELD_ENCRYPTION_KEYS", "Y2hhbmdlLW1lLWZlcm5ldC1rZXktcGxhY2Vob2xkZXI=", "placeholder"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key", "not a Fernet key"),
        ("EMAIL_HOST", "", "Set EMAIL_HOST"),
        ("ACCESS_TOKEN_MINUTES", "60", "between 1 and 15"),
    ],
)
def test_production_refuses_placeholders_and_unsafe_values(name, value, message):
    result = _run(["check"], **{**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-" + "Zq8r" * 15 + "\n")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY_FILE=str(secret), **env
    )
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_asked():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_ENV"}
    code = "from django.conf import settings; print('DEBUG=%s' % settings.DEBUG)"
    result = _run(["shell", "--no-imports", "-c", code], **env)
    assert result.stdout.strip().splitlines()[-1] == "DEBUG=False", result.stdout + result.stderr


@pytest.mark.django_db
def test_healthz_checks_the_database(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_the_bare_address_points_to_the_interactive_docs(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIGN_IN_ACCOUNT_FREE_FAILURES", "0"), ("SIGN_IN_ACCOUNT_MAX_DELAY_SECONDS", "5")],
)
def test_start_up_stops_on_a_sign_in_back_off_that_would_not_protect(name, value):
    result = _run(["check"], **{**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr
