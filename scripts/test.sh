#!/usr/bin/env bash
# Install everything and run the whole test suite: lint, format, the layers
# (import-linter), the types (mypy, over the files pyproject.toml's [tool.mypy]
# names), then pytest (which includes the OpenAPI drift check and `check --deploy`).
# Uses SQLite unless DATABASE_URL points at PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh

ensure_venv "[test]"
# The console's charting library, and axe-core for the browser tests (npm registry, pinned).
python scripts/fetch_assets.py --tests
ensure_chromium

ruff check .
ruff format --check .
lint-imports
mypy  # prints only its errors and one summary line
python -m pytest "$@"
