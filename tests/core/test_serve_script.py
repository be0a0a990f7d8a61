"""scripts/serve.sh (the end of scripts/run.sh): gunicorn and a scheduler kept running,
and any signal to the script stops both, leaving nothing behind."""

import os
import signal
import subprocess
import time

import pytest

from tests.processes import (
    children,
    cmdline,
    free_port,
    get,
    group_members,
    laptop_env,
    manage,
    running,
    wait_for_health,
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A laptop environment (as run.sh leaves it) over a migrated SQLite file of its own."""
    env = laptop_env(tmp_path_factory.mktemp("serve"))
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    manage("createcachetable", env=env)
    return env


def _serve(env, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**env, "BIND": f"127.0.0.1:{port}"}
    return f"http://127.0.0.1:{port}", log, running(["bash", "scripts/serve.sh"], env=env, log=log)


def _child(script_pid: int, word: str, *, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in children(script_pid) if word in cmdline(pid)]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {word} process under the script")


def _exits(process, log, timeout=45) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"serve.sh still running:\n{log.read_text()}") from None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_script_stops_gunicorn_and_the_scheduler(migrated, tmp_path, signum):
    base, log, serving = _serve(migrated, tmp_path)
    with serving as script:
        wait_for_health(base, processes=[script], log=log)
        gunicorn = _child(script.pid, "gunicorn")
        scheduler = _child(script.pid, "run_scheduler")
        workers = children(gunicorn)
        assert workers

        os.kill(script.pid, signum)  # the script alone, as `kill PID` or a supervisor does
        _exits(script, log)

        left = group_members(script.pid)
        assert left == [], [cmdline(pid) for pid in left]
        assert {gunicorn, scheduler, *workers}.isdisjoint(left)


def test_a_scheduler_that_exits_is_started_again_while_gunicorn_serves(migrated, tmp_path):
    base, log, serving = _serve(migrated, tmp_path)
    with serving as script:
        wait_for_health(base, processes=[script], log=log)
        gunicorn = _child(script.pid, "gunicorn")
        first = _child(script.pid, "run_scheduler")

        os.kill(first, signal.SIGKILL)  # a crash
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            again = [p for p in children(script.pid) if "run_scheduler" in cmdline(p)]
            if again and again[0] != first:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the scheduler was not started again:\n{log.read_text()}")
        assert "starting it again" in log.read_text()
        assert get(f"{base}/healthz")[0] == 200
        assert _child(script.pid, "gunicorn") == gunicorn

        os.kill(script.pid, signal.SIGTERM)
        _exits(script, log)
        assert group_members(script.pid) == []


def test_gunicorn_stopping_stops_the_scheduler_and_the_script(migrated, tmp_path):
    base, log, serving = _serve(migrated, tmp_path)
    with serving as script:
        wait_for_health(base, processes=[script], log=log)
        gunicorn = _child(script.pid, "gunicorn")
        _child(script.pid, "run_scheduler")

        os.kill(gunicorn, signal.SIGTERM)
        _exits(script, log)
        assert group_members(script.pid) == []
        assert "gunicorn exited" in log.read_text()
