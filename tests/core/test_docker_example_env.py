"""docker/example.env, its placeholders filled in, starts what compose starts.

No Docker here: the test runs the same commands outside containers (the image's
collectstatic step, `check --deploy`, the migrate job, the API's gunicorn command
and the scheduler) with production settings from the file, then asks /healthz as
the load balancer would, with the HTTPS redirect on.
"""

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from cryptography.fernet import Fernet

from tests.processes import REPO, VENV_BIN, free_port, get, running, wait_for_health

DOCKER = REPO / "docker"


def _filled_example_env() -> dict[str, str]:
    """example.env's settings with every change-me placeholder replaced, as the file asks."""
    values = {}
    for line in (DOCKER / "example.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    password = secrets.token_urlsafe(16)
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    values["JWT_SIGNING_KEY"] = secrets.token_urlsafe(50)
    values["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    values["POSTGRES_PASSWORD"] = password
    values["DATABASE_URL"] = values["DATABASE_URL"].replace("change-me-db-password", password)
    left = [name for name, value in values.items() if "change-me" in value]
    assert not left, f"placeholders this test does not know how to fill: {left}"
    return values


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def _database(values: dict[str, str], tmp_path):
    """Point the compose host names at this machine: a fresh PostgreSQL database of
    this test's own when the suite runs on PostgreSQL, else a SQLite file."""
    assert urlsplit(values["DATABASE_URL"]).hostname == "db"  # the compose service
    values["SCHEDULER_LOCK_FILE"] = str(tmp_path / "scheduler.lock")
    if values.get("REDIS_URL"):
        local = values["REDIS_URL"].replace("//redis:", "//127.0.0.1:")
        if _reachable("127.0.0.1", urlsplit(local).port or 6379):
            values["REDIS_URL"] = local
        else:  # the documented alternative: the cache in a database table
            del values["REDIS_URL"]
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        del values["DATABASE_URL"]
        values["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
        yield
        return

    name = f"recovery_example_env_{uuid.uuid4().hex[:12]}"
    admin = urlsplit(server)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    values["DATABASE_URL"] = urlsplit(server)._replace(path=f"/{name}").geturl()
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _compose_app_env(values: dict[str, str]) -> dict[str, str]:
    """The environment of compose's app services: the image's ENV, env_file, environment."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    environment = compose["x-app"]["environment"]
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",  # the image's /opt/venv/bin
        "HOME": os.environ.get("HOME", str(REPO)),
        "PYTHONUNBUFFERED": "1",
        "ENV_FILE": "/nonexistent/.env",  # the image has no .env; never read the repo's
        **values,
        **environment,
    }


def _image_build_collectstatic() -> tuple[dict[str, str], str]:
    """The Dockerfile's collectstatic step: its inline settings and its command."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    step = next(line for line in text.splitlines() if "collectstatic" in line)
    words = shlex.split(step.split("&&")[1])
    inline = dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=.*", word))
    command = " ".join(word for word in words if not re.fullmatch(r"[A-Z_]+=.*", word))
    runtime = text[text.rindex(" AS runtime") :]
    assert "DJANGO_ENV=production" in runtime  # the image's ENV, in force for this step
    return {"DJANGO_ENV": "production", **inline}, command


def _api_command(port: int) -> list[str]:
    """The image's CMD, bound to loopback on a free port instead of 0.0.0.0:8000."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    cmd = json.loads(re.search(r"^CMD (\[.*\])\s*$", text, re.MULTILINE).group(1))
    bind = cmd.index("--bind") + 1
    assert cmd[bind] == "0.0.0.0:8000"
    cmd[bind] = f"127.0.0.1:{port}"
    return cmd


def _run(command, env, tmp_path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        shell=isinstance(command, str),
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result


def test_the_filled_in_example_env_starts_migrate_api_and_scheduler_in_production(tmp_path):
    values = _filled_example_env()
    assert values.get("EMAIL_HOST") is None, "the try-out runs without an SMTP server"
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    with _database(values, tmp_path):
        env = _compose_app_env(values)
        static_root = str(tmp_path / "static")

        build_env, collectstatic = _image_build_collectstatic()
        build = {"PATH": env["PATH"], "ENV_FILE": "/nonexistent/.env", "STATIC_ROOT": static_root}
        _run(collectstatic, {**build, **build_env}, tmp_path)

        env["STATIC_ROOT"] = static_root
        deploy = _run([sys.executable, "backend/manage.py", "check", "--deploy"], env, tmp_path)
        assert "core.W001" in deploy.stderr + deploy.stdout  # emails to the log: said out loud

        _run(compose["services"]["migrate"]["command"], env, tmp_path)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api_log, scheduler_log = tmp_path / "api.log", tmp_path / "scheduler.log"
        with (
            running(_api_command(port), env=env, log=api_log) as api,
            running(
                compose["services"]["scheduler"]["command"], env=env, log=scheduler_log
            ) as scheduler,
        ):
            behind_tls = {"X-Forwarded-Proto": "https", "Host": "localhost"}
            wait_for_health(base, processes=[api, scheduler], log=api_log, headers=behind_tls)

            status, headers, _ = get(f"{base}/api/v1/me/", headers={"Host": "localhost"})
            assert status == 301
            assert headers["Location"] == "https://localhost/api/v1/me/"
            status, headers, _ = get(f"{base}/api/v1/me/", headers=behind_tls)
            assert status == 401
            assert "max-age=31536000" in headers["Strict-Transport-Security"]

            assert scheduler.poll() is None, scheduler_log.read_text()
            scheduler.send_signal(signal.SIGTERM)
            assert scheduler.wait(timeout=30) == 0, scheduler_log.read_text()
        with suppress(FileNotFoundError):
            assert "Traceback" not in api_log.read_text(), api_log.read_text()


@pytest.mark.parametrize("email_host", ["", None])
def test_production_without_smtp_and_without_email_to_log_stops_at_start_up(email_host, tmp_path):
    values = _filled_example_env()
    del values["EMAIL_TO_LOG"]
    if email_host is not None:
        values["EMAIL_HOST"] = email_host
    values.pop("DATABASE_URL")
    values["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    result = subprocess.run(
        [sys.executable, "backend/manage.py", "check"],
        cwd=REPO,
        env=_compose_app_env(values),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Set EMAIL_HOST" in result.stderr
    assert "EMAIL_TO_LOG=true" in result.stderr
