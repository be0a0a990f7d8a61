#!/usr/bin/env bash
# Before and after, side by side in one run: two git revisions served at once, each
# benchmarked in turn, round after round (alternating which goes first), so a load
# change on the machine hits both alike.
#
#   DATABASE_URL=postgres://user@host:5432/anything bash bench/compare.sh BEFORE AFTER ROUNDS [SCENARIO...]
#
# BEFORE and AFTER are git revisions (main, HEAD, a hash). Each is exported into a
# temporary directory and served by gunicorn (BENCH_WORKERS, 2) from this checkout's
# .venv, on its own PostgreSQL database named after DATABASE_URL's with _before /
# _after appended (dropped and made again). AFTER's bench/ (harness, baseline views,
# seeds) serves and drives both, so both are measured the same way. Per round bench/http_bench.py runs with --rounds 2;
# at the end the medians over the rounds are printed (target ratio and items/s per
# endpoint). Knobs: BENCH_DURATION (seconds of load per endpoint and round, 6).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh

[ "$#" -ge 3 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
[ -n "${DATABASE_URL:-}" ] || { echo "Set DATABASE_URL (PostgreSQL)." >&2; exit 2; }
before_rev="$1" after_rev="$2" rounds="$3"
shift 3

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_venv "" >"$workdir/install.log" 2>&1 || { cat "$workdir/install.log" >&2; exit 2; }
command -v wrk >/dev/null 2>&1 || { echo "wrk is needed (bash bench/run.sh installs it)." >&2; exit 2; }
repo="$PWD"

export DJANGO_SETTINGS_MODULE=bench.settings DJANGO_ENV=development DEBUG=false
export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false ENV_FILE="$workdir/no.env"
SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
JWT_SIGNING_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export SECRET_KEY JWT_SIGNING_KEY FIELD_ENCRYPTION_KEYS
export ACCESS_TOKEN_MINUTES=15 STATIC_ROOT="$workdir/static" LOG_LEVEL=WARNING
mkdir -p "$STATIC_ROOT"
base_url="${DATABASE_URL%/*}"
workers="${BENCH_WORKERS:-2}"

declare -A dir db port token
for side in before after; do
  rev=$([ "$side" = before ] && echo "$before_rev" || echo "$after_rev")
  dir[$side]="$workdir/$side"
  mkdir -p "${dir[$side]}"
  git archive "$rev" | tar -x -C "${dir[$side]}"
  # The same baselines on both sides: AFTER's bench/ (views, seeds) over BEFORE's.
  git archive "$after_rev" bench | tar -x -C "${dir[$side]}"
  db[$side]="${DATABASE_URL##*/}_$side"
  python - "$DATABASE_URL" "${db[$side]}" <<'PY'
import sys
import psycopg
admin, name = sys.argv[1], sys.argv[2]
with psycopg.connect(admin.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.execute(f'CREATE DATABASE "{name}"')
PY
  (
    cd "${dir[$side]}"
    export PYTHONPATH="$PWD" DATABASE_URL="$base_url/${db[$side]}"
    python backend/manage.py migrate --noinput --verbosity 0
    python backend/manage.py createcachetable
  )
  token[$side]="$(cd "${dir[$side]}" && PYTHONPATH="$PWD" DATABASE_URL="$base_url/${db[$side]}" python bench/seed.py)"
  port[$side]="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  (
    cd "${dir[$side]}"
    PYTHONPATH="$PWD" DATABASE_URL="$base_url/${db[$side]}" exec gunicorn backend.config.wsgi:application \
      --bind "127.0.0.1:${port[$side]}" --workers "$workers" --no-control-socket \
      --error-logfile "$workdir/$side-gunicorn.log"
  ) &
  pids+=($!)
done

for round in $(seq "$rounds"); do
  order="before after"
  [ $((round % 2)) -eq 0 ] && order="after before"
  for side in $order; do
    echo "round $round: $side" >&2
    BENCH_TOKEN="${token[$side]}" python "$repo/bench/http_bench.py" \
      --base-url "http://127.0.0.1:${port[$side]}" \
      --duration "${BENCH_DURATION:-6}" --rounds 2 --warmup 1 --threads 2 --connections 16 \
      --workers "$workers" --database postgresql --results-dir "$workdir/results/$side" "$@" \
      >"$workdir/$side-$round.log" 2>&1 || [ "$?" -eq 1 ] || { cat "$workdir/$side-$round.log" >&2; exit 3; }
  done
done

python - "$workdir/results" "$before_rev" "$after_rev" <<'PY'
import json
import pathlib
import statistics
import sys

results, names = pathlib.Path(sys.argv[1]), {"before": sys.argv[2], "after": sys.argv[3]}
runs = {side: [json.loads(p.read_text()) for p in sorted((results / side).glob("*.json"))] for side in names}
for scenario in runs["after"][0]["scenarios"]:
    print(f"== {scenario}")
    for side, rev in names.items():
        done = [run["scenarios"][scenario] for run in runs[side]]
        ratios = [r["target"]["value"] for r in done if "target" in r]
        per_endpoint = {}
        for r in done:
            for label, figures in r["endpoints"].items():
                per_endpoint.setdefault(label, []).append(figures["items_per_second"])
        valid = all(f["valid"] for r in done for f in r["endpoints"].values())
        line = f"   {side:6} ({rev}):"
        if ratios:
            line += f" ratio median {statistics.median(ratios):.1%} (rounds {', '.join(f'{x:.0%}' for x in ratios)});"
        line += "".join(f" {label} {statistics.median(v):.0f}/s" for label, v in per_endpoint.items())
        print(line + ("" if valid else "  (some requests failed)"))
PY
