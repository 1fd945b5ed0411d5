"""Django settings for Hubbub.

Everything that differs between a laptop demo and production comes from the
environment: `HUBBUB_DATA_DIR` (embedded SQLite, task queue, uploads),
`DATABASE_URL` (PostgreSQL), `REDIS_URL` (task queue + live fan-out across
machines), `HUBBUB_SECRET_KEY`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("HUBBUB_DATA_DIR", ".hubbub")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_secret_file = DATA_DIR / "secret_key"


def _load_secret() -> str:
    """A per-installation secret, created once, so a fresh demo needs no set-up."""
    env = os.environ.get("HUBBUB_SECRET_KEY")
    if env:
        return env
    if not _secret_file.exists():
        import secrets

        _secret_file.write_text(secrets.token_urlsafe(50))
        _secret_file.chmod(0o600)
    return _secret_file.read_text().strip()


SECRET_KEY = _load_secret()
DEBUG = os.environ.get("HUBBUB_DEBUG", "") == "1"
# CRM web import: the largest customer file accepted (the proxy in front needs the same body limit)
CRM_IMPORT_MAX_BYTES = int(float(os.environ.get("HUBBUB_IMPORT_MAX_MB") or 50) * 1024 * 1024)
# Every upload (hubbub/upload_limits.py): no request stores more file data than UPLOAD_MAX_BYTES (the largest
# page limit); a header is read first and refused past its characters or columns, then lines and fields.
# Django's FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) stays: a larger upload goes to a temporary file, not memory.
UPLOAD_MAX_BYTES = CRM_IMPORT_MAX_BYTES
UPLOAD_MAX_COLUMNS = int(os.environ.get("HUBBUB_UPLOAD_MAX_COLUMNS") or 500)
UPLOAD_MAX_HEADER_CHARS = 100_000
UPLOAD_MAX_LINE_CHARS = 1_000_000
UPLOAD_MAX_FIELD_CHARS = 131_072  # the csv module's own limit
FILE_UPLOAD_HANDLERS = [
    "hubbub.upload_limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
ALLOWED_HOSTS = os.environ.get("HUBBUB_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("HUBBUB_CSRF_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "axes",
    "csp",
    # ninja's own Swagger UI files (template + static): /api/docs then needs no CDN and passes the CSP
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "hubbub.tenancy",
    "hubbub.connectors",
    "hubbub.ingest",
    "hubbub.analysis",
    "hubbub.crm",
    "hubbub.inbox",
    "hubbub.workflow",
    "hubbub.listening",
    "hubbub.insights",
    "hubbub.api",
    "hubbub.web",
    "hubbub.accounts",
    "hubbub.ops",
]

MIDDLEWARE = [
    "hubbub.request_log.RequestLogMiddleware",  # first: names and times every request, the others included
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hubbub.tenancy.middleware.TenancyMiddleware",
    "hubbub.accounts.middleware.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout during sign-in into the "try again in N minutes" page
]

ROOT_URLCONF = "hubbub.urls"
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
                "hubbub.tenancy.context_processors.tenancy",
                "hubbub.connectors.context_processors.channel_alerts",
                "hubbub.web.context_processors.live_status",
            ]
        },
    }
]
ASGI_APPLICATION = "hubbub.asgi.application"
WSGI_APPLICATION = "hubbub.wsgi.application"

_db_url = os.environ.get("DATABASE_URL")
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
    if _db_url.startswith(("postgres", "postgresql")):
        DATABASES["default"].setdefault("TEST", {"NAME": os.environ.get("HUBBUB_TEST_DB", "test_hubbub")})
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "hubbub.sqlite3"),
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE avoids
                # "database is locked" upgrades of read transactions.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # Checkpoints: a background thread of the ingest worker copies the log back
                # (hubbub/sqlite_wal.py); any connection still does so past ~80 MB of log.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536; "
                    "PRAGMA wal_autocheckpoint=20000; PRAGMA journal_size_limit=67108864;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every password set through the CLI or a web form passes these (hubbub.accounts.passwords names the rule broken).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("HUBBUB_PASSWORD_MIN_LENGTH", "10"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (django-axes): this many wrong passwords for one username from one address lock that pair out
# for the cool-off. The lockout backend comes first; a sign-in without a request (the test client's login(), a
# management command) is not throttled, there being no address to throttle. API tokens never go through it.
AUTHENTICATION_BACKENDS = [
    "hubbub.accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("HUBBUB_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("HUBBUB_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hubbub.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "hubbub.client_ip.client_ip"
AXES_VERBOSE = False
# API tokens: this many unknown or revoked tokens from one address within the window answer 429 until it ends.
API_TOKEN_FAILURE_LIMIT = int(os.environ.get("HUBBUB_API_TOKEN_FAILURE_LIMIT", "30"))
API_TOKEN_FAILURE_WINDOW_SECONDS = 15 * 60
OTP_TOTP_ISSUER = os.environ.get("HUBBUB_OTP_ISSUER", "Hubbub")
# The admin's TOTP "config" and "QR code" pages show another user's second-factor secret to whoever runs the
# admin; hidden, they answer 403 for every id (they also answered 500 for an unknown one).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "uploads"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a TLS-terminating proxy (HUBBUB_TRUST_PROXY=1) its X-Forwarded-Proto says whether the browser used HTTPS
# and its X-Forwarded-For the browser's address (the sign-in lockout counts per address). Only set it when the
# proxy overwrites both headers: otherwise any client could claim HTTPS or another address.
TRUST_PROXY = os.environ.get("HUBBUB_TRUST_PROXY", "") == "1"
if TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served over HTTPS (HUBBUB_HTTPS=1): cookies only travel encrypted, plain HTTP is redirected, and browsers are told
# (HSTS) to never try plain HTTP again. Off by default, since the demo is served on http://127.0.0.1.
HTTPS = os.environ.get("HUBBUB_HTTPS", "") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapes speak plain HTTP inside
SECURE_HSTS_SECONDS = int(os.environ.get("HUBBUB_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("HUBBUB_HSTS_SUBDOMAINS", "") == "1"
# Content-Security-Policy, always on: scripts only from our origin or an inline block carrying the response's
# nonce (`nonce="{{ request.csp_nonce }}"`), so injected markup cannot run script; no eval (htmx's is off in
# base.html). Inline styles stay allowed: the templates use style attributes and a style cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # no form-action: "Connect HubSpot" is a form whose answer redirects to HubSpot's consent screen
        "frame-ancestors": [NONE],
    }
}

REDIS_URL = os.environ.get("REDIS_URL", "")
# An idle consumer looks for new tasks at most this far apart (Huey's default, 10 s, would be most of the delay
# between a mail's arrival, which IMAP IDLE reports at once, and the inbox). A look is one cheap query.
TASK_POLL_MAX_SECONDS = float(os.environ.get("HUBBUB_TASK_POLL_MAX_SECONDS", "1"))
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUBBUB_QUEUE_NAME", "hubbub"),
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"max_delay": TASK_POLL_MAX_SECONDS},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "hubbub",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": os.environ.get("HUBBUB_TASKS_IMMEDIATE", "") == "1",
        "consumer": {"max_delay": TASK_POLL_MAX_SECONDS},
    }

# HubSpot app for "Customers → HubSpot → Connect HubSpot" (OAuth 2.0 authorization code). Without a client id
# and secret the page says what to configure. Register <site>/customers/hubspot/callback/ as the app's redirect
# URL, or set HUBBUB_HUBSPOT_REDIRECT_URI to the exact URL registered (needed behind a proxy that rewrites the
# host or scheme). The two base URLs and the scopes default to HubSpot's (hubbub.connectors.hubspot); tests
# point the URLs at a local fake.
HUBSPOT_CLIENT_ID = os.environ.get("HUBBUB_HUBSPOT_CLIENT_ID", "")
HUBSPOT_CLIENT_SECRET = os.environ.get("HUBBUB_HUBSPOT_CLIENT_SECRET", "")
HUBSPOT_REDIRECT_URI = os.environ.get("HUBBUB_HUBSPOT_REDIRECT_URI", "")
HUBSPOT_AUTHORIZE_URL = os.environ.get("HUBBUB_HUBSPOT_AUTHORIZE_URL", "")
# HubSpot's API address is configuration only (never set through the API): HUBBUB_HUBSPOT_BASE_URL (the older
# name HUBBUB_HUBSPOT_API_URL still works), for a proxy or a test fake; calls still pass the outbound policy.
HUBSPOT_API_URL = os.environ.get("HUBBUB_HUBSPOT_BASE_URL") or os.environ.get("HUBBUB_HUBSPOT_API_URL", "")
HUBSPOT_SCOPES = os.environ.get("HUBBUB_HUBSPOT_SCOPES", "").split()

# Every request to a URL a user or a network gave Hubbub goes through hubbub.outbound_http, which refuses
# private, loopback, link-local and reserved addresses. HUBBUB_OUTBOUND_ALLOW opens chosen ones (comma-separated
# `127.0.0.1:9000`, `[::1]:8080`, `10.0.0.5`, `10.0.0.0/8`) for a private deployment's own hosts.
OUTBOUND_ALLOW = [e.strip() for e in os.environ.get("HUBBUB_OUTBOUND_ALLOW", "").split(",") if e.strip()]

# Outbound replies go to a local sink unless a channel has live credentials.
OUTBOUND_SINK_DIR = DATA_DIR / "outbound"
# A reply claimed for sending longer ago than this belongs to a worker that died: it is sent again (after
# asking the network whether the post exists). Far above the outbound client's timeout.
REPLY_STUCK_AFTER_SECONDS = int(os.environ.get("HUBBUB_REPLY_STUCK_AFTER", "300"))
INGEST_BATCH_SIZE = int(os.environ.get("HUBBUB_INGEST_BATCH", "500"))
# Back-pressure (hubbub.queueing): with this many tasks waiting, accepted mentions stop adding one task per
# batch and one drain task takes them from the raw log instead, so a flood cannot grow the queue without bound.
# 0 turns the limit off.
TASK_QUEUE_LIMIT = int(os.environ.get("HUBBUB_TASK_QUEUE_LIMIT", "10000"))
# The periodic sweep processes raw events left pending this long (their task was lost with a worker or a queue).
SWEEP_AFTER_SECONDS = float(os.environ.get("HUBBUB_SWEEP_AFTER_SECONDS", "60"))
# Connected channels are polled this often when healthy; failures back off from it (connectors.polling).
CHANNEL_POLL_SECONDS = int(os.environ.get("HUBBUB_CHANNEL_POLL_SECONDS", "60"))
# One worker polls this many due channels at once (their network waits overlap), at most PER_HOST to one host
# (an instance, a PDS, a mail server), so a shared host is not hammered. 1 polls one channel at a time.
CHANNEL_POLL_CONCURRENCY = int(os.environ.get("HUBBUB_CHANNEL_POLL_CONCURRENCY", "16"))
CHANNEL_POLL_PER_HOST = int(os.environ.get("HUBBUB_CHANNEL_POLL_PER_HOST", "8"))
# Workers keep an IMAP IDLE connection per email channel whose server offers it (connectors.email_watchers), so a
# mail is in the inbox in seconds; 0 leaves email to the periodic poll alone.
EMAIL_IDLE = os.environ.get("HUBBUB_EMAIL_IDLE", "1") != "0"
# One worker process watches at most this many mailboxes (a thread and an IMAP connection each); the others are
# watched by other worker processes, or polled.
EMAIL_IDLE_MAX_PER_WORKER = int(os.environ.get("HUBBUB_EMAIL_IDLE_MAX_PER_WORKER", "200"))
# Webhook intake (/hooks/<network>/): the secrets are the Hubbub app's own on each platform, one per deployment
# (X signs with the app's consumer secret, Meta with the app secret), so they are configuration, not channel
# credentials. An empty secret refuses every delivery of that network.
X_CONSUMER_SECRET = os.environ.get("HUBBUB_X_CONSUMER_SECRET", "")
META_APP_SECRET = os.environ.get("HUBBUB_META_APP_SECRET", "")
META_VERIFY_TOKEN = os.environ.get("HUBBUB_META_VERIFY_TOKEN", "")
# "Connect X account", "Connect with Facebook" and "Connect Threads" on Settings → Channels (connectors.x_oauth,
# meta_oauth): the Hubbub app's own client id and secret on each platform. Unset, the page says what to set
# instead of offering a button. The URLs are configurable so a proxy or the tests' fakes can stand in.
X_CLIENT_ID = os.environ.get("HUBBUB_X_CLIENT_ID", "")
X_CLIENT_SECRET = os.environ.get("HUBBUB_X_CLIENT_SECRET", "")
X_AUTHORIZE_URL = os.environ.get("HUBBUB_X_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize")
X_API_URL = os.environ.get("HUBBUB_X_API_URL", "https://api.x.com")
META_APP_ID = os.environ.get("HUBBUB_META_APP_ID", "")
META_DIALOG_URL = os.environ.get("HUBBUB_META_DIALOG_URL", "https://www.facebook.com/v21.0/dialog/oauth")
META_GRAPH_URL = os.environ.get("HUBBUB_META_GRAPH_URL", "https://graph.facebook.com/v21.0")
# A Threads app has its own id and secret in Meta's dashboard; without them the Meta app's are used.
THREADS_APP_ID = os.environ.get("HUBBUB_THREADS_APP_ID", "") or META_APP_ID
THREADS_APP_SECRET = os.environ.get("HUBBUB_THREADS_APP_SECRET", "") or META_APP_SECRET
THREADS_AUTHORIZE_URL = os.environ.get("HUBBUB_THREADS_AUTHORIZE_URL", "https://threads.net/oauth/authorize")
THREADS_API_URL = os.environ.get("HUBBUB_THREADS_API_URL", "https://graph.threads.net")
WEBHOOK_MAX_BYTES = int(os.environ.get("HUBBUB_WEBHOOK_MAX_BYTES", str(1024 * 1024)))
MAX_TEXT_CHARS = 50_000

# Observability (hubbub.ops, docs/operations.md → Observability). /readyz fails when an organisation's oldest
# waiting raw event is older than this. /metrics answers a bearer token or an allowed address (comma-separated
# IPs or networks), and nobody when neither is set.
READY_MAX_LAG_SECONDS = float(os.environ.get("HUBBUB_READY_MAX_LAG_SECONDS", "300"))
METRICS_TOKEN = os.environ.get("HUBBUB_METRICS_TOKEN", "")
METRICS_ALLOW = [e.strip() for e in os.environ.get("HUBBUB_METRICS_ALLOW", "").split(",") if e.strip()]

# One JSON object per line with the request id (hubbub.request_log); HUBBUB_LOG_FORMAT=plain for a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "hubbub.request_log.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "hubbub.request_log.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if os.environ.get("HUBBUB_LOG_FORMAT") == "plain" else "json",
            "filters": ["request_id"],
        }
    },
    "loggers": {
        "hubbub": {"handlers": ["console"], "level": os.environ.get("HUBBUB_LOG_LEVEL", "INFO")},
        "huey": {"handlers": ["console"], "level": "WARNING"},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # uvicorn's own warnings and errors (hubbub serve passes log_config=None): the same JSON lines
        "uvicorn": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
# Background refinement by the accurate tier (`ingest/refinement.py`): CPU seconds one periodic run (each minute)
# may spend, so ~1/3 of one core at most; 0 turns refinement off. Ingest always goes first.
REFINE_CPU_SECONDS = float(os.environ.get("HUBBUB_REFINE_CPU_SECONDS", "20"))
