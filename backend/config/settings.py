"""Kontaktpunkt settings: one file, driven by environment variables (DESIGN.md §11).

With no environment at all the service runs in *demo mode*: SQLite, the in-memory channel layer,
Celery tasks run in-process, SMS go to a console outbox. Setting DATABASE_URL, REDIS_URL and the
TWILIO_* variables moves the same code onto PostgreSQL, Redis and Twilio.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("KONTAKTPUNKT_VAR_DIR", PROJECT_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Mode and safety -------------------------------------------------------------------------

DEMO_SECRET_KEY = "kontaktpunkt-demo-only-not-a-secret"  # noqa: S105 - refused outside demo mode
SECRET_KEY = env("SECRET_KEY") or DEMO_SECRET_KEY
DEMO_MODE = env_bool("DEMO_MODE", SECRET_KEY == DEMO_SECRET_KEY)
DEBUG = env_bool("DEBUG", DEMO_MODE)
PORT = int(env("PORT", "8000"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}


def unsafe_settings_reasons(
    *, debug: bool, demo_mode: bool, secret_key: str, allowed_hosts: list[str]
) -> list[str]:
    """Why these settings must not serve the public; empty when they are safe enough."""
    public_hosts = [host for host in allowed_hosts if host not in LOCAL_HOSTS]
    reasons = []
    if public_hosts and debug:
        reasons.append("DEBUG is on while ALLOWED_HOSTS names public hosts")
    if public_hosts and (secret_key == DEMO_SECRET_KEY or len(secret_key) < 32):
        reasons.append("SECRET_KEY is the demo key or shorter than 32 characters")
    if public_hosts and ("change-me" in secret_key.lower() or len(set(secret_key)) < 12):
        # deploy/env.example's placeholder, or something as guessable (few distinct characters).
        reasons.append("SECRET_KEY is a placeholder; generate a random one")
    if public_hosts and demo_mode:
        reasons.append("DEMO_MODE (demo users with a known password) is on for public hosts")
    return reasons


_unsafe = unsafe_settings_reasons(
    debug=DEBUG, demo_mode=DEMO_MODE, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS
)
if _unsafe:
    raise ImproperlyConfigured("Refusing to start: " + "; ".join(_unsafe))

# --- Applications ----------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "core",
    "henvendelser",
    "triage",
    "eskalering",
    "maler",
    "meldinger",
    "statistikk",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "core.metrics.RequestTimingMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "web.labels.labels",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------

DATABASE_URL = env("DATABASE_URL")
# Per process, at most DB_POOL_MAX_SIZE connections to PostgreSQL, reused across requests. Daphne
# runs each request's synchronous part in a thread of its own, so without a pool a burst of
# requests opens a connection each (a few milliseconds apiece) until PostgreSQL refuses more
# ("too many clients": a 500 for every webhook after that). With it, a burst waits up to
# DB_POOL_TIMEOUT seconds for a connection. DB_POOL_MAX_SIZE=0 turns the pool off.
DB_POOL_MAX_SIZE = int(env("DB_POOL_MAX_SIZE", "8"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=0 if DB_POOL_MAX_SIZE else int(env("DB_CONN_MAX_AGE", "0")),
            # Without the pool, Django checks a kept connection at a request's first query.
            conn_health_checks=not DB_POOL_MAX_SIZE,
        )
    }
    if DB_POOL_MAX_SIZE and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Django's backend, with a pooled connection checked without a round trip: one that
        # PostgreSQL dropped (a restart) is replaced, not used (core/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "core.postgresql"
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": float(env("DB_POOL_TIMEOUT", "10")),
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "kontaktpunkt.sqlite3"),
            # A file, not memory, for tests too: Daphne and browser tests run in other processes.
            "TEST": {"NAME": str(VAR_DIR / "test-kontaktpunkt.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (Daphne, a worker, the tests) share the file: wait for locks, take the
    # write lock at BEGIN so two writers never deadlock, and let readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, cache -----------------------------------------------

REDIS_URL = env("REDIS_URL")
# Prefix of this deployment's keys in Redis (channel layer, the inbox's drain flags).
CHANNEL_PREFIX = env("CHANNEL_PREFIX", "kontaktpunkt")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kontaktpunkt",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_TIMEZONE = "Europe/Oslo"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# `make run` has no beat process: its server runs the schedule below in a thread
# (core/beat.py). IN_PROCESS_BEAT_SECONDS, if set, replaces every interval (tests).
IN_PROCESS_BEAT = env_bool("IN_PROCESS_BEAT", False)
IN_PROCESS_BEAT_SECONDS = float(env("IN_PROCESS_BEAT_SECONDS", "0"))
# Installed into django-celery-beat's tables when beat starts; editable in the admin after that.
CELERY_BEAT_SCHEDULE = {
    "sweep-overdue-escalations": {
        "task": "eskalering.tasks.sweep_escalations",
        "schedule": 60.0,
    },
    "sweep-inbox": {
        "task": "henvendelser.tasks.sweep_inbox",
        "schedule": 10.0,
    },
    "sweep-outbox": {
        "task": "meldinger.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    "prune-events": {
        "task": "core.tasks.prune_events",
        "schedule": 3600.0,
    },
}
# The inbox (henvendelser/services/inbox.py): texts a worker takes in one transaction, how old
# a waiting text is before the sweep takes it (seconds), how long a handled text's MessageSid is
# kept so that Twilio's retries stay no-ops (hours).
INBOX_BATCH = int(env("INBOX_BATCH", "100"))
INBOX_SWEEP_AFTER = float(env("INBOX_SWEEP_AFTER", "5"))
INBOX_KEEP_HOURS = int(env("INBOX_KEEP_HOURS", "168"))
# Failed attempts after which a text is set aside for a person to look at (services/inbox.py).
INBOX_MAX_ATTEMPTS = int(env("INBOX_MAX_ATTEMPTS", "3"))
# Realtime events are kept this long for clients catching up after a dropped connection.
EVENT_RETENTION_HOURS = int(env("EVENT_RETENTION_HOURS", "48"))

# --- Auth, i18n, time ------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
AUTHENTICATION_BACKENDS = ["core.lockout.LockoutBackend"]
# Brute force: failed passwords in a row before an account is locked (a lead unlocks it), and
# login attempts per minute from one address (the login page and the token endpoint each).
LOGIN_MAX_FAILURES = int(env("LOGIN_MAX_FAILURES", "10"))
LOGIN_RATE_PER_MINUTE = int(env("LOGIN_RATE_PER_MINUTE", "20"))
# Proxies in front that add X-Forwarded-For (0: none, and the header is not believed).
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))
# A session ends after this long without a request (the pages keep it alive while in use).
SESSION_IDLE_MINUTES = int(env("SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", "Norsk bokmål"), ("nn", "Norsk nynorsk"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [
    f"{urlsplit(PUBLIC_BASE_URL).scheme}://{urlsplit(PUBLIC_BASE_URL).netloc}",
    *env_list("CSRF_TRUSTED_ORIGINS", ""),
]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Oversized bodies are refused before anything is parsed (413 in the API error shape).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.auth.TokenAuthentication",  # DRF's, in one query
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.api.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.KontaktpunktSchema",
    "DEFAULT_THROTTLE_RATES": {"login": f"{LOGIN_RATE_PER_MINUTE}/min"},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kontaktpunkt API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Choice sets that share a field name ("language", "category") in different models.
    "ENUM_NAME_OVERRIDES": {
        "ContactLanguageEnum": "henvendelser.models.Language",
        "TemplateLanguageEnum": "maler.services.LANGUAGE_CODES",
        "InquiryCategoryEnum": "henvendelser.models.Category",
        "TemplateCategoryEnum": "maler.models.TemplateCategory",
        "InquiryStatusEnum": "henvendelser.models.Status",
        "MessageStatusEnum": "meldinger.models.MessageStatus",
    },
}

# --- Twilio and messaging --------------------------------------------------------------------

DEMO_TWILIO_AUTH_TOKEN = "demo-twilio-auth-token"  # noqa: S105 - only used in demo mode
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "AC" + "0" * 32 if DEMO_MODE else "")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", DEMO_TWILIO_AUTH_TOKEN if DEMO_MODE else "")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", "+4759440000" if DEMO_MODE else "")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/")
COORDINATOR_PHONE = env("COORDINATOR_PHONE")

# --- Messages to families --------------------------------------------------------------------

# Messages the family did not ask for wait out these hours (Oslo time): "21-8" is 21:00-08:00.
QUIET_HOURS = tuple(int(hour) for hour in env("QUIET_HOURS", "21-8").split("-", 1))
# How long the Twilio client waits for Twilio's answer.
TWILIO_TIMEOUT_SECONDS = float(env("TWILIO_TIMEOUT_SECONDS", "20"))
# A send in progress holds its message this long; after that a sweep may reconcile and retry.
# Longer than the Twilio client's timeout, so two senders never overlap (a system check says so).
MESSAGE_SEND_LEASE_SECONDS = int(env("MESSAGE_SEND_LEASE_SECONDS", "120"))
# A queued message no task has picked up after this long is queued again by the outbox sweep.
OUTBOX_STUCK_SECONDS = int(env("OUTBOX_STUCK_SECONDS", "120"))
SECURE_LINK_DAYS = int(env("SECURE_LINK_DAYS", "7"))
SECURE_LINK_MAX_FAILURES = 5
# "twilio" when real credentials are configured, else the console backend with an outbox.
SMS_BACKEND = env("SMS_BACKEND", "twilio" if env("TWILIO_ACCOUNT_SID") else "console")

# --- Logging: ids only, never names, numbers or message text ------------------------------------

# `GET /metrics` answers only with `Authorization: Bearer <this>`; unset, it is a 404.
METRICS_TOKEN = env("METRICS_TOKEN", "")

# "json" (one object per line, for a log collector) or "plain" (people reading a terminal).
LOG_FORMAT = env("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logfilters.JsonFormatter"},
    },
    "filters": {"secure_links": {"()": "core.logfilters.RedactSecureLinks"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger names the path of each failed request: errors only (4xx are
        # the clients' business), and a secure page's path has its token masked, here and in
        # the other loggers that name paths.
        "django.request": {"level": "ERROR", "filters": ["secure_links"]},
        "django.security": {"filters": ["secure_links"]},
        "daphne": {"level": "WARNING", "filters": ["secure_links"]},
        # The twilio client logs each request's URL and query at INFO, and a message list is
        # queried by phone number: warnings only.
        "twilio.http_client": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
