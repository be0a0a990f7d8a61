#!/usr/bin/env bash
# Serve what scripts/run.sh installed: gunicorn on ${BIND:-127.0.0.1:8000} and the
# scheduler beside it (nudges, meeting-feed re-imports, token flushing).
#
# The scheduler is kept running: when it exits (it lost its database, say), it is
# started again after a short back-off. SIGTERM, SIGINT (Ctrl-C) or SIGHUP to this
# script stops both and waits for them; so does gunicorn stopping by itself.
# Expects .venv/bin on PATH (run.sh puts it there) and runs from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

gunicorn_pid=""
scheduler_pid=""
backoff_pid=""
stopping=""

stop_all() {
  stopping=1
  for pid in "$scheduler_pid" "$gunicorn_pid" "$backoff_pid"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
}
# A signal only marks the stop and forwards it; the main loop's `wait` returns at once.
trap stop_all TERM INT HUP QUIT
# However this script ends, it ends after its children: they get STOP_GRACE_SECONDS
# (default 30, as compose gives the scheduler) to stop, then SIGKILL.
finish() {
  trap - EXIT
  stop_all
  sleep "${STOP_GRACE_SECONDS:-30}" &
  local grace=$! alive pid
  while :; do
    alive=()
    for pid in "$gunicorn_pid" "$scheduler_pid"; do
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then alive+=("$pid"); fi
    done
    [ ${#alive[@]} -eq 0 ] && break
    if ! kill -0 "$grace" 2>/dev/null; then
      echo "Still running after ${STOP_GRACE_SECONDS:-30}s: killing ${alive[*]}." >&2
      kill -KILL "${alive[@]}" 2>/dev/null || true
      break
    fi
    wait -n "${alive[@]}" "$grace" 2>/dev/null || true # returns early on a signal too
  done
  kill "$grace" 2>/dev/null || true
  until wait; do :; done
}
trap finish EXIT

start_scheduler() {
  python backend/manage.py run_scheduler &
  scheduler_pid=$!
  scheduler_started=$SECONDS
}

# %(U)s is the path without its query string: links carrying tokens never reach the log.
gunicorn backend.config.wsgi:application \
  --bind "${BIND:-127.0.0.1:8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --no-control-socket \
  --access-logfile - \
  --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms' &
gunicorn_pid=$!
start_scheduler

backoff=1
while [ -z "$stopping" ]; do
  status=0
  wait -n "$gunicorn_pid" "$scheduler_pid" || status=$?
  [ -n "$stopping" ] && break
  if ! kill -0 "$gunicorn_pid" 2>/dev/null; then
    echo "gunicorn exited ($status); stopping the scheduler." >&2
    stop_all
    wait "$gunicorn_pid" 2>/dev/null || status=$?
    exit "$status"
  fi
  if ! kill -0 "$scheduler_pid" 2>/dev/null; then
    # Forget the dead scheduler's pid: a stop during the back-off must not signal
    # (or SIGKILL) a process that was given the same number since.
    wait "$scheduler_pid" 2>/dev/null || true
    scheduler_pid=""
    # A scheduler that ran a while starts again at once-ish; one that keeps failing
    # waits longer each time, up to 30 s.
    if [ $((SECONDS - scheduler_started)) -gt 60 ]; then backoff=1; fi
    echo "The scheduler exited ($status); starting it again in ${backoff}s." >&2
    sleep "$backoff" &
    backoff_pid=$!
    wait "$backoff_pid" || true # a signal interrupts the back-off
    backoff_pid=""
    [ -n "$stopping" ] && break
    backoff=$((backoff * 2 > 30 ? 30 : backoff * 2))
    start_scheduler
  fi
done
