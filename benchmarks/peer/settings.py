"""A minimal Django project around django-helpdesk, the peer the benchmarks compare with. Runs
only in its own virtualenv (benchmarks/peer_run.py makes it), on the same PostgreSQL."""

import os

SECRET_KEY = "peer-benchmark-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "account",  # django-user-accounts, pinax-teams needs it
    "pinax.invitations",
    "pinax.teams",
    "reversion",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peer_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
_url = os.environ["PEER_DATABASE_URL"]  # postgres://user@host:port/name
_user, _rest = _url.split("://", 1)[1].split("@", 1)
_hostport, _name = _rest.split("/", 1)
_host, _port = _hostport.split(":")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _name,
        "USER": _user,
        "HOST": _host,
        "PORT": _port,
        # As ours: a pool of connections per process, not one per request.
        "OPTIONS": {"pool": {"min_size": 1, "max_size": 8, "timeout": 10}},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
USE_TZ = True
REST_FRAMEWORK = {
    # The same authentication our API uses in the benchmark: a token header.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HELPDESK_API_ENABLED = True
HELPDESK_KB_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
