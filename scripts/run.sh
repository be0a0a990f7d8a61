#!/usr/bin/env bash
# Install everything and serve the API on http://127.0.0.1:8000 with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh

ensure_venv ""
ensure_env_file

# The console's charting library (npm registry, pinned, checked) before collectstatic.
python scripts/fetch_assets.py
python backend/manage.py migrate --noinput
python backend/manage.py createcachetable
python backend/manage.py collectstatic --noinput --verbosity 0
python backend/manage.py seed_demo

# Emails (verification links, invitations, password resets) become files here: the
# API tour in README.md reads them.
export EMAIL_FILE_PATH="${EMAIL_FILE_PATH:-$PWD/var/mail}"
echo "Emails the app sends are written to ${EMAIL_FILE_PATH}/ (nothing leaves this machine)."

# gunicorn and the scheduler, kept running; any signal to this script stops both.
exec bash scripts/serve.sh
