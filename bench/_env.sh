# Shared by bench/run.sh and bench/compare.sh; sourced, not run.
#
# bench_env PYTHON WORKDIR: the app's settings for one benchmark run, exported. Secrets are
# made for this run only and nothing is read from .env; without DATABASE_URL both the seed
# and every server use one SQLite file in WORKDIR. Sets `database` (sqlite or postgresql).
bench_env() {
  local python="$1" workdir="$2"
  export DJANGO_SETTINGS_MODULE=bench.settings
  export DJANGO_ENV=development DEBUG=false
  export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false
  export ENV_FILE="$workdir/no.env"
  SECRET_KEY="$("$python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  JWT_SIGNING_KEY="$("$python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  FIELD_ENCRYPTION_KEYS="$("$python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  export SECRET_KEY JWT_SIGNING_KEY FIELD_ENCRYPTION_KEYS
  export ACCESS_TOKEN_MINUTES=15
  export STATIC_ROOT="$workdir/static" LOG_LEVEL=WARNING
  mkdir -p "$STATIC_ROOT"
  if [ -z "${DATABASE_URL:-}" ]; then
    export SQLITE_PATH="$workdir/bench.sqlite3"
    database=sqlite
  else
    database=postgresql
  fi
}
