"""The console in a real browser: Playwright driving Debian's Chromium, headless.

Playwright starts with this folder's tests and stops after them: while it runs, its event
loop counts as running in this thread, and Django refuses database calls from a thread with a
running loop unless told otherwise (DJANGO_ALLOW_ASYNC_UNSAFE), which is allowed here only.
Screenshots of every page at 1280 and 768 px go to var/test-artifacts/console/.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import sync_playwright

from backend.coping.models import Skill

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "var" / "test-artifacts" / "console"
AXE = REPO / "var" / "test-tools" / "axe.min.js"
CHROMIUM = os.environ.get("CONSOLE_BROWSER") or shutil.which("chromium") or ""
WIDTHS = {"desktop": 1280, "tablet": 768}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/console/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM:
                item.add_marker(
                    pytest.mark.skip(
                        reason="Chromium is not installed (scripts/test.sh installs Debian's)"
                    )
                )


@pytest.fixture(scope="session")
def serialized_database(django_db_setup, django_db_blocker) -> str:
    """The test database's serialized rows (as made for serialized rollback), taken before
    Playwright starts: see ``demo``."""
    return getattr(connection, "_test_serialized_contents", "")


@pytest.fixture(scope="module")
def browser(serialized_database):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            yield launched
            launched.close()


@pytest.fixture
def new_page(browser, live_server):
    """Pages in fresh browser contexts (no shared cookies), at a width, on the live server."""
    contexts = []

    def make(width: str = "desktop", *, bypass_csp: bool = False):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": WIDTHS[width], "height": 900},
            bypass_csp=bypass_csp,
        )
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda message: (
                page.csp_errors.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def demo(disclosures_cleared_after, serialized_database):
    """The README's demo data, as `scripts/run.sh` loads it.

    The flush after each test here also takes the rows the data migrations made (skills,
    instruments, homework templates), which serialized rollback would restore, but Playwright's
    greenlets leave this thread with a fresh connection object that lost the serialized copy:
    kept before Playwright started, and loaded again when they are gone.
    """
    if serialized_database and not Skill.objects.exists():
        # Content types and permissions come back with the flush itself (post_migrate).
        rows = [
            row
            for row in json.loads(serialized_database)
            if row["model"] not in ("contenttypes.contenttype", "auth.permission")
        ]
        connection.creation.deserialize_db_from_string(json.dumps(rows))
    call_command("seed_demo", verbosity=0)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
