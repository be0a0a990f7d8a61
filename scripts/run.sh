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

# %(U)s is the path without its query string: links carrying tokens never reach the log.
exec gunicorn backend.config.wsgi:application \
  --bind "${BIND:-127.0.0.1:8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --no-control-socket \
  --access-logfile - \
  --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
