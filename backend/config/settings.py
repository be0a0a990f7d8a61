"""One settings module, driven by environment variables.

Safe laptop defaults (SQLite, DEBUG off); production hardening is switched on by
DJANGO_ENV=production. Secrets come only from the environment, or from
``<NAME>_FILE`` (Docker secrets). A ``.env`` file beside pyproject.toml is read
when present; real environment variables win over it.
"""

import base64
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from backend.config.env import env, env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent

load_dotenv(env("ENV_FILE", str(REPO_DIR / ".env")), override=False)

DEBUG = env_bool("DEBUG", False)
DJANGO_ENV = env("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production.")


def _required_secret(name: str, purpose: str) -> str:
    value = env(name)
    if value:
        return value
    if DEBUG:
        # Debug only: a throwaway value so a developer can poke around. Never used
        # outside DEBUG, where start-up stops instead.
        return f"insecure-debug-only-{name.lower()}-" + "x" * 40
    raise ImproperlyConfigured(
        f"{name} is not set. It {purpose}. Set {name} (or {name}_FILE) in the environment; "
        "`bash scripts/run.sh` writes local ones into .env for you."
    )


def _validate_fernet_keys(keys: list[str]) -> None:
    for index, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS item {index + 1} is not a Fernet key (32 url-safe base64 bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from exc


SECRET_KEY = _required_secret("SECRET_KEY", "signs sessions and email verification links")
JWT_SIGNING_KEY = _required_secret("JWT_SIGNING_KEY", "signs API access and refresh tokens")
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    # Outside DEBUG this stops start-up; in DEBUG a fixed, public key (no protection).
    _required_secret(
        "FIELD_ENCRYPTION_KEYS",
        "encrypts journal text at rest (comma-separated Fernet keys, newest first)",
    )
    FIELD_ENCRYPTION_KEYS = ["ZGVidWctb25seS1ub3Qtc2VjcmV0LWtleS0zMmJ5dGU="]
_validate_fernet_keys(FIELD_ENCRYPTION_KEYS)
if PRODUCTION:
    # docker/example.env ships readable placeholders; copied unedited they would
    # protect nothing.
    for _name, _value in (("SECRET_KEY", SECRET_KEY), ("JWT_SIGNING_KEY", JWT_SIGNING_KEY)):
        if _value.startswith("change-me"):
            raise ImproperlyConfigured(
                f"{_name} is still the example placeholder: set a real secret."
            )
    if any(base64.urlsafe_b64decode(k).startswith(b"change-me") for k in FIELD_ENCRYPTION_KEYS):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds the example placeholder: generate a real key."
        )
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "backend.console.errors.csrf_failure"
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # The project's apps, lowest layer first (the layers are in pyproject.toml's importlinter).
    "backend.core",
    "backend.accounts",
    "backend.disclosure",
    "backend.consent",
    "backend.care",
    "backend.family",
    "backend.coping",
    "backend.homework",
    "backend.meetings",
    "backend.measures",
    "backend.program",
    "backend.journal",
    "backend.sharing",
    "backend.nudges",
    "backend.exchange",
    "backend.console",
    "backend.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backend.core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "backend.console.middleware.IdleSignOutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "backend.config.urls"
WSGI_APPLICATION = "backend.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backend.console.context.console",
            ],
        },
    },
]

# Database: SQLite file by default; DATABASE_URL (postgres://...) selects PostgreSQL.
SQLITE_PATH = env("SQLITE_PATH", str(REPO_DIR / "var" / "db.sqlite3"))
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers proceed during a write; a busy timeout waits for the lock
    # instead of failing at once when the scheduler and the API write together.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (login throttling and other short-lived counters must be shared by every
# worker): Redis when REDIS_URL is set, otherwise a database table
# (`manage.py createcachetable`, run by scripts/run.sh and compose).
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Several deployments (or test runs) may share one Redis server.
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", ""),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("es", "Spanish"), ("fr", "French")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_USER_TIME_ZONE = env("DEFAULT_USER_TIME_ZONE", "America/New_York")
ZoneInfo(DEFAULT_USER_TIME_ZONE)  # fail at start-up on a bad value, not on first use

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", str(REPO_DIR / "var" / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# A cap on request bodies, enforced before any parser reads them.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# Email: SMTP when EMAIL_HOST is set. Otherwise printed to the console (or written
# as files into EMAIL_FILE_PATH, as scripts/run.sh does). In production that needs
# EMAIL_TO_LOG=true, a try-out's explicit choice: those emails carry sign-in links.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_TO_LOG = env_bool("EMAIL_TO_LOG", False)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif PRODUCTION and not EMAIL_TO_LOG:
    raise ImproperlyConfigured(
        "Set EMAIL_HOST (SMTP) in production: account emails carry sign-in links. "
        "For a try-out only, EMAIL_TO_LOG=true prints them to the log instead."
    )
elif env("EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "no-reply@recovery-companion.invalid")
EMAIL_VERIFICATION_MAX_AGE = timedelta(hours=env_int("EMAIL_VERIFICATION_HOURS", 72))
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3600)
CARE_INVITE_LIFETIME = timedelta(hours=env_int("CARE_INVITE_HOURS", 72))
FAMILY_INVITE_LIFETIME = timedelta(hours=env_int("FAMILY_INVITE_HOURS", 7 * 24))
# The scheduler's leader lock on SQLite (on PostgreSQL it is an advisory lock).
SCHEDULER_LOCK_FILE = env("SCHEDULER_LOCK_FILE", str(REPO_DIR / "var" / "scheduler.lock"))
# A delivery round's hold on the nudges it claimed; after it, another sender may take them.
NUDGE_CLAIM_LEASE_SECONDS = env_int("NUDGE_CLAIM_LEASE_SECONDS", 120)
# Web Push (VAPID). Without a private key, nudges go to the in-app inbox only.
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = env("VAPID_SUBJECT", "mailto:it@clinic.invalid")
WEB_PUSH_TIMEOUT = env_int("WEB_PUSH_TIMEOUT", 10)
# Only for tests and local development: accept push endpoints on loopback over http.
WEB_PUSH_ALLOW_LOOPBACK = env_bool("WEB_PUSH_ALLOW_LOOPBACK", False)
# Reading meeting feeds: a cap on size and on waiting.
# Streamed, so the cap bounds the download, not memory: an aggregator's 100,000 meetings fit.
MEETING_FEED_MAX_BYTES = env_int("MEETING_FEED_MAX_BYTES", 128 * 1024 * 1024)
# Near-me searches by next start read an (area, UTC minute) window instead of sorting the
# whole circle: worth its probe statement in a national directory (a million meetings),
# a cost at a city's or a region's scale, where the plain box is faster.
MEETING_SEARCH_SOON_WINDOW = env_bool("MEETING_SEARCH_SOON_WINDOW", False)
MEETING_FEED_CONNECT_TIMEOUT = env_int("MEETING_FEED_CONNECT_TIMEOUT", 10)
MEETING_FEED_READ_TIMEOUT = env_int("MEETING_FEED_READ_TIMEOUT", 30)
# An entry at or above this craving intensity answers with crisis support.
CRISIS_INTENSITY_THRESHOLD = env_int("CRISIS_INTENSITY_THRESHOLD", 8)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["backend.accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["backend.core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["backend.core.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "backend.core.negotiation.AuthenticatedFirstNegotiation",
    "DEFAULT_PAGINATION_CLASS": "backend.core.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backend.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.core.errors.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth_ip": env("THROTTLE_AUTH_IP", "30/minute"),
        "calendar": env("THROTTLE_CALENDAR", "60/hour"),
    },
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
}

# Failed sign-ins delay the next attempt: `free` failures, then `base` seconds, doubling
# up to `cap` (README, "Sign-in under attack"). Failures are forgotten a day after the last.
SIGN_IN_BACKOFF = {
    "account_ip": {"free": 5, "base": 60, "cap": 3600},
    "account": {
        "free": env_int("SIGN_IN_ACCOUNT_FREE_FAILURES", 10),
        "base": 60,
        "cap": env_int("SIGN_IN_ACCOUNT_MAX_DELAY_SECONDS", 300),
    },
    "ip": {"free": 20, "base": 60, "cap": 900},
}
SIGN_IN_FAILURES_FORGET_SECONDS = 24 * 3600
if SIGN_IN_BACKOFF["account"]["free"] < 1 or SIGN_IN_BACKOFF["account"]["cap"] < 60:
    raise ImproperlyConfigured(
        "SIGN_IN_ACCOUNT_FREE_FAILURES must be at least 1 and SIGN_IN_ACCOUNT_MAX_DELAY_SECONDS "
        "at least 60."
    )

ACCESS_TOKEN_MINUTES = env_int("ACCESS_TOKEN_MINUTES", 10)
if not 1 <= ACCESS_TOKEN_MINUTES <= 15:
    raise ImproperlyConfigured("ACCESS_TOKEN_MINUTES must be between 1 and 15.")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("REFRESH_TOKEN_DAYS", 30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ISSUER": env("JWT_ISSUER", "recovery-companion"),
    "AUDIENCE": env("JWT_AUDIENCE", "recovery-companion-app"),
    "LEEWAY": 5,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Recovery companion API",
    "DESCRIPTION": (
        "API for people in an Intensive Outpatient Program for substance use, their "
        "care team and the family members they invite. Every error is an RFC 9457 "
        "problem document (application/problem+json)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are public; a stale token sent to them is not evaluated.
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
    "ENUM_NAME_OVERRIDES": {
        "NudgeKindEnum": "backend.nudges.models.NudgeRule.Kind",
        # The journal's trigger categories keep their name beside the skill categories.
        "CategoryEnum": "backend.journal.models.TriggerCategory",
        "SkillCategoryEnum": "backend.coping.models.SkillCategory",
        "SkillKindEnum": [("library", "library"), ("custom", "custom")],
        "PlanSuggestionDecisionEnum": [("accept", "Accept"), ("reject", "Reject")],
        "HomeworkKindEnum": "backend.homework.models.HomeworkKind",
        "HomeworkReviewDecisionEnum": "backend.homework.models.HomeworkReview.Decision",
        "SessionKindEnum": "backend.program.models.SessionKind",
        "LevelOfCareEnum": "backend.program.models.LevelOfCare",
        "ProgramAttendanceStatusEnum": "backend.program.models.Attendance.Status",
    },
}

# Transport hardening. In production all of it is on; each piece can be turned
# off where a reverse proxy already does it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under no-referrer a browser sends `Origin: null` with
# the console's form posts, which CSRF protection then rightly refuses. Nothing leaves
# for another origin either way.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# The clinician console (backend/console): session sign-in, then a second factor.
LOGIN_URL = "console:sign-in"
# HIPAA automatic logoff: a console session idle this long is signed out (and the page that
# was left open reloads onto the sign-in form, hiding what it showed).
CONSOLE_IDLE_SECONDS = env_int("CONSOLE_IDLE_SECONDS", 15 * 60)
if CONSOLE_IDLE_SECONDS < 10:
    raise ImproperlyConfigured("CONSOLE_IDLE_SECONDS must be at least 10.")
# However active, a console session ends after this many hours (and when the browser closes).
SESSION_COOKIE_AGE = env_int("CONSOLE_SESSION_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Recovery companion")
OTP_STATIC_THROTTLE_FACTOR = 1
# Strict Content-Security-Policy (django-csp): only the project's own scripts, styles and
# images, no inline script or style, no framing, forms post only here. The interactive API
# docs (Swagger UI's own inline start-up script) and Django's admin are left out of it.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/", "/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies and tokens never reach the logs: Django's request logger
        # prints only method, path and status.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
    },
}
