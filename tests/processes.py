"""Starting the project's real commands as processes: free ports, health polling, cleanup.

Each process is started in a session of its own, so stopping it (and everything it
started) is one signal to its process group, and nothing outlives the test.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def laptop_env(folder: Path) -> dict[str, str]:
    """The environment scripts/run.sh serves with (development settings, local secrets),
    over a SQLite file, scheduler lock and mail folder inside FOLDER."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(folder)),
        "PYTHONUNBUFFERED": "1",
        "ENV_FILE": "/nonexistent/.env",
        "SECRET_KEY": "local-test-secret-" + "q" * 40,
        "JWT_SIGNING_KEY": "local-test-jwt-" + "w" * 40,
        "FIELD_ENCRYPTION_KEYS": "c2VydmUtdGVzdC1maWVsZC1rZXktLS0tMzItYnl0ZXM=",
        "SQLITE_PATH": str(folder / "db.sqlite3"),
        "SCHEDULER_LOCK_FILE": str(folder / "scheduler.lock"),
        "STATIC_ROOT": str(folder / "static"),
        "EMAIL_FILE_PATH": str(folder / "var" / "mail"),
        "WEB_CONCURRENCY": "1",
    }


def manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "backend/manage.py", *args], cwd=REPO, env=env, check=True, timeout=300
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], *, env: dict, log: Path, cwd: Path = REPO) -> subprocess.Popen:
    """Start ARGS in a new session (its own process group), output into LOG."""
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies still count for killpg; they are gone once nothing runs in the group.
    return any(_pgid_of(pid) == pgid and _state_of(pid) != "Z" for pid in _pids())


def stop_group(process: subprocess.Popen, *, timeout: float = 20) -> None:
    """Stop everything in PROCESS's group: SIGTERM, then SIGKILL after TIMEOUT."""
    pgid = process.pid
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and group_alive(pgid):
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextmanager
def running(args: list[str], *, env: dict, log: Path, cwd: Path = REPO):
    process = start(args, env=env, log=log, cwd=cwd)
    try:
        yield process
    finally:
        stop_group(process)


def get(url: str, *, headers: dict | None = None, timeout: float = 5) -> tuple[int, dict, bytes]:
    """GET URL without following redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for_health(
    base: str, *, processes: list[subprocess.Popen], log: Path, headers=None, timeout=90
) -> None:
    """Poll BASE/healthz until it answers 200; fail early when a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"exited with {process.returncode}:\n{log.read_text()}")
        with suppress(OSError):
            if get(f"{base}/healthz", headers=headers, timeout=2)[0] == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"/healthz never answered 200:\n{log.read_text()}")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()  # fields after "(comm)"


def _state_of(pid: int) -> str:
    fields = _stat(pid)
    return fields[0] if fields else "Z"


def _pgid_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[2]) if fields else None


def children(pid: int) -> list[int]:
    return [p for p in _pids() if (fields := _stat(p)) and int(fields[1]) == pid]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def group_members(pgid: int) -> list[int]:
    return [p for p in _pids() if _pgid_of(p) == pgid and _state_of(p) != "Z"]
