#!/usr/bin/env bash
# Install everything and serve the API on http://127.0.0.1:8000 with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh

ensure_venv ""
ensure_env_file

python backend/manage.py migrate --noinput
python backend/manage.py createcachetable
python backend/manage.py collectstatic --noinput --verbosity 0
python backend/manage.py seed_demo

# The scheduler (nudges, meeting-feed re-imports, token flushing) runs beside the server
# and stops with it.
python backend/manage.py run_scheduler &
scheduler_pid=$!
trap 'kill -TERM "$scheduler_pid" 2>/dev/null || true; wait "$scheduler_pid" 2>/dev/null || true' EXIT

# %(U)s is the path without its query string: links carrying tokens never reach the log.
gunicorn backend.config.wsgi:application \
  --bind "${BIND:-127.0.0.1:8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --no-control-socket \
  --access-logfile - \
  --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
