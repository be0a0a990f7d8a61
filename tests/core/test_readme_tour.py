"""The README's curl tour, pasted in order into bash, completes against a served instance.

The blocks marked `<!-- curl-tour -->` are run as one script with `set -euo pipefail`
against scripts/serve.sh over a fresh database with the demo data, as a new user
would after `bash scripts/run.sh`: from a folder whose var/mail/ holds the emails.
"""

import re
import shutil
import subprocess

import pytest

from tests.processes import REPO, free_port, laptop_env, manage, running, wait_for_health

MARK = "<!-- curl-tour -->"


def tour_blocks() -> list[str]:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(re.escape(MARK) + r"\n```sh\n(.*?)```\n", readme, re.DOTALL)
    assert len(blocks) == readme.count(MARK), "every tour mark is followed by a sh block"
    return blocks


def test_the_tour_is_marked_in_the_readme():
    blocks = tour_blocks()
    assert len(blocks) >= 2
    assert blocks[0].startswith("B=http://127.0.0.1:8000\n")


@pytest.fixture
def served(tmp_path):
    env = laptop_env(tmp_path)
    (tmp_path / "var" / "mail").mkdir(parents=True)
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    manage("createcachetable", env=env)
    manage("seed_demo", env=env)
    port = free_port()
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running(
        ["bash", "scripts/serve.sh"], env={**env, "BIND": f"127.0.0.1:{port}"}, log=log
    ) as server:
        wait_for_health(base, processes=[server], log=log)
        yield base, env, log


def test_the_curl_tour_runs_in_order_on_any_day(served, tmp_path):
    base, env, log = served
    script = "\n".join(tour_blocks()).replace("B=http://127.0.0.1:8000", f"B={base}", 1)
    result = subprocess.run(
        [shutil.which("bash"), "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,  # as the repository root: var/mail/ is where the server writes emails
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:] + "\n--- server ---\n" + log.read_text()[-4000:]
    # Batch answers are 200 with a status per item: none of the tour's was refused.
    assert '"status":"invalid"' not in output
    assert '"status":"conflict"' not in output
    assert '" 500 ' not in log.read_text()
    assert (tmp_path / "var" / "my-journal.json").read_text().startswith("{")
