"""Settings shared by every environment; local, test and production import from here."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])

# Applications

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "axes",
    "csp",
    "inventory",
    "orders",
    "notifications",
    "compliance",
    "dashboard",
    "storefront",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",
    "config.middleware.StoreTimeZoneMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
]

# Axes first: it refuses a locked-out username+IP before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "config.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # day, moment, money and count: one format on every page (config/formats.py).
            "builtins": ["config.formats"],
        },
    },
]

# Database: SQLite by default, PostgreSQL via DATABASE_URL=postgres://...

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue up
    # behind busy_timeout instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["ATOMIC_REQUESTS"] = False
    # Short OLTP queries: JIT compilation costs more than it saves (measured on the dashboard).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

# Passwords

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: everything is stored in UTC; the store's own zone is STORE_TIME_ZONE.

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery: eager (in-process) when no broker is configured.

REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in-process; an in-memory broker keeps Celery from looking for a server.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran, so a worker that dies mid-task leaves it on the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# A message a worker took but never acknowledged (it died) goes back to the queue after this
# long. Tasks take seconds (the hard limit is 90 s) and countdowns stay under
# TASK_COUNTDOWN_MAX_SECONDS, so five minutes never redelivers a task that is still running or
# waiting. A broker that is down or hung fails a publish within a few seconds (the request that
# published has committed and still succeeds; the sweeps catch up).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 300,
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# The longest countdown (or retry delay) a task is published with; later work is left to a sweep.
TASK_COUNTDOWN_MAX_SECONDS = 180
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# The single place periodic tasks are scheduled.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # The sweeps expire after their minute: a backed-up queue runs the next one, not a pile.
    "notifications-sweep": {
        "task": "notifications.tasks.notifications_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Stock left free while lines wait (its allocation task was lost or its worker died).
    # Webhook deliveries whose drain was lost, or that wait for their next attempt.
    "webhooks-sweep": {
        "task": "storefront.tasks.webhook_deliveries_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "allocation-sweep": {
        "task": "orders.tasks.allocation_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Waitlisters still to be told where units are free (their invitation task was lost).
    "waitlist-sweep": {
        "task": "storefront.tasks.waitlist_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "mail-order-rule": {
        "task": "compliance.tasks.rule_run_task",
        "schedule": crontab(minute=5),
    },
    "staff-digest": {
        "task": "notifications.tasks.staff_digest_task",
        "schedule": crontab(minute=0, hour=7),
    },
    "low-stock-alerts": {
        "task": "orders.tasks.low_stock_alerts_task",
        "schedule": crontab(minute=15, hour=6),
    },
    # Goodwill gestures for long waits and moved ETAs (each rule within its monthly budget).
    "goodwill": {
        "task": "orders.tasks.goodwill_apply_task",
        "schedule": crontab(minute=25),
    },
}

# The store

STORE_NAME = env("STORE_NAME", default="Backorder Desk Demo Store")
STORE_TIME_ZONE = env("STORE_TIME_ZONE", default="America/New_York")
try:
    ZoneInfo(STORE_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"STORE_TIME_ZONE {STORE_TIME_ZONE!r} is not a known zone") from exc
STORE_ADDRESS = env("STORE_ADDRESS", default="1 Demo Street, Springfield, NY 10001, USA")
STORE_SUPPORT_EMAIL = env("STORE_SUPPORT_EMAIL", default="support@example.com")
# ISO 4217 code of the prices and payments; storefront orders in another currency are refused.
STORE_CURRENCY = env("STORE_CURRENCY", default="USD").upper()

# The date customer emails give for a line waiting on a purchase order: the supplier's date
# ("promised", plus handling), or that date padded by the supplier's measured slips ("padded":
# the day it is 80% likely by, once the supplier has enough deliveries on record).
CUSTOMER_EMAIL_ETA_CHOICES = ("promised", "padded")
CUSTOMER_EMAIL_ETA = env("CUSTOMER_EMAIL_ETA", default="promised")
if CUSTOMER_EMAIL_ETA not in CUSTOMER_EMAIL_ETA_CHOICES:
    raise ImproperlyConfigured(
        f"CUSTOMER_EMAIL_ETA must be one of {', '.join(CUSTOMER_EMAIL_ETA_CHOICES)}, "
        f"not {CUSTOMER_EMAIL_ETA!r}"
    )

PAYMENT_CAPTURE_CHOICES = ("order", "shipment")
PAYMENT_CAPTURE = env("PAYMENT_CAPTURE", default="order")
if PAYMENT_CAPTURE not in PAYMENT_CAPTURE_CHOICES:
    raise ImproperlyConfigured(
        f"PAYMENT_CAPTURE must be one of {', '.join(PAYMENT_CAPTURE_CHOICES)}, "
        f"not {PAYMENT_CAPTURE!r}"
    )

# A refused form (an expired CSRF token) answers the styled 403 page, not Django's bare one.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "dashboard:login"

# Security: sessions, login throttling, Content-Security-Policy, Permissions-Policy.

# Staff sessions last one working day (seconds, default 8 h), not Django's two weeks.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
# Login throttling (django-axes), on the admin and dashboard logins alike: after
# AXES_FAILURE_LIMIT wrong passwords for one username from one IP address, that pair is locked
# out for AXES_COOLOFF_MINUTES, even with the right password; a right password resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The address is REMOTE_ADDR: X-Forwarded-For is not trusted, as a client could vary it to dodge
# the lockout. Behind one proxy that makes the lockout per username, which is the safer side.

# Scripts and styles only from our own files; no inline <script> or <style> anywhere. Inline
# style="" attributes stay allowed (style-src-attr): the charts and a few layouts set widths
# with them, and an attribute cannot load or run anything.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # The one inline <style> of Django's admin (change list without action buttons).
        "style-src-elem": [SELF, "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='"],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
# Features no screen uses, switched off for every page (config.middleware).
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), midi=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), browsing-topics=()"
)

# Called with every batch of order timeline events, inside the transaction that wrote them.
ORDER_EVENT_SUBSCRIBERS: list[str] = [
    "notifications.services.notifications_from_events",
    "compliance.services.rule_from_events",
    "storefront.webhooks.webhooks_from_events",
]
# Called with the Stock rows whose on hand or allocated changed, inside the changing transaction.
STOCK_CHANGE_SUBSCRIBERS: list[str] = ["storefront.webhooks.webhooks_from_stock_changes"]
# Called with the Stock row of each arrival (on hand up: a receipt, a return, a count up), inside
# the receiving transaction.
STOCK_ARRIVAL_SUBSCRIBERS: list[str] = ["storefront.waitlist.services.waitlist_from_stock_arrival"]
# A waitlist invitation holds its place for this long: until then it counts against the free
# units (unless the shopper ordered or left), so no more shoppers are told than units are free.
WAITLIST_INVITATION_HOURS = env.int("WAITLIST_INVITATION_HOURS", default=48)
# Joins through the public waitlist form per visitor address, e.g. "10/h"; empty for no limit.
WAITLIST_FORM_RATE = env("WAITLIST_FORM_RATE", default="10/h")
# The sites that may embed the waitlist form in a frame (CSP frame-ancestors), e.g.
# "https://shop.example.com"; "*" for any.
WAITLIST_FRAME_ANCESTORS: list[str] = env.list("WAITLIST_FRAME_ANCESTORS", default=["*"])
# The storefronts' availability feed lists a stock change once it is this old, so a page never
# runs ahead of a change still committing (see storefront.selectors.availability_changed_since).
AVAILABILITY_SETTLE_SECONDS = env.int("AVAILABILITY_SETTLE_SECONDS", default=5)
# Called before a shipment is recorded; each returns why it must not ship ('' when it may).
SHIPMENT_CHECKS: list[str] = ["compliance.selectors.shipment_refusal"]
# The FTC Mail Order Rule engine (deadlines, delay notices, consent); off for shops outside it.
MAIL_ORDER_RULE_ENABLED = env.bool("MAIL_ORDER_RULE_ENABLED", default=True)

# Where customers reach the site: links in emails are absolute.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# ETA changes for one order are gathered for this long into one email.
# (With tasks running in-process there is no beat to send a batch later, so none is kept.)
NOTIFICATION_BATCH_MINUTES = env.int(
    "NOTIFICATION_BATCH_MINUTES", default=0 if CELERY_TASK_ALWAYS_EAGER else 15
)
# An earlier ETA is only worth an email when it moved by at least this many days.
ETA_EMAIL_EARLIER_DAYS = env.int("ETA_EMAIL_EARLIER_DAYS", default=2)
# Email customers when stock arrives for their backordered items.
NOTIFY_ON_ALLOCATION = env.bool("NOTIFY_ON_ALLOCATION", default=True)
# Email the staff list whenever an order goes (partly) on backorder.
STAFF_BACKORDER_ALERTS = env.bool("STAFF_BACKORDER_ALERTS", default=False)
# Sending: attempts before a notification fails, and when the sweep picks up lost ones.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
NOTIFICATION_SWEEP_AFTER_MINUTES = env.int("NOTIFICATION_SWEEP_AFTER_MINUTES", default=3)
# Emails one drain claims and sends over one connection, and the seconds it may spend sending
# them (well under the task's soft time limit; rows not reached go to the next drain).
NOTIFICATION_DRAIN_BATCH = env.int("NOTIFICATION_DRAIN_BATCH", default=50)
# The overview's figures are kept this many seconds at most; any change to an order (each writes
# an event to its timeline) or a new email recomputes them at once.
OVERVIEW_CACHE_SECONDS = env.int("OVERVIEW_CACHE_SECONDS", default=60)
NOTIFICATION_DRAIN_SECONDS = env.int("NOTIFICATION_DRAIN_SECONDS", default=30)
# A row still 'sending' after this long lost its worker mid-send; the sweep sends it again (with
# the same Message-ID). Longer than a send can take (the task's hard limit is 90 s).
NOTIFICATION_STUCK_SENDING_MINUTES = env.int("NOTIFICATION_STUCK_SENDING_MINUTES", default=5)
# Outbound webhooks: seconds a consumer has to answer, rows per drain (a drain of slow consumers
# stays under the task's soft limit), attempts before a delivery fails, and when a row still
# 'sending' lost its worker mid-send (longer than a drain can take).
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
WEBHOOK_DRAIN_BATCH = env.int("WEBHOOK_DRAIN_BATCH", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_STUCK_SENDING_MINUTES = env.int("WEBHOOK_STUCK_SENDING_MINUTES", default=5)

# Days between stock arriving and the backordered line shipping (picking, packing).
ETA_HANDLING_DAYS = env.int("ETA_HANDLING_DAYS", default=1)


# The store's shipping rules: a flat rate per order, free at or above an order value (empty:
# never free). Used to work out what shipped items alone would have cost when refunding.
def _money_setting(name: str, default: str) -> Decimal | None:
    raw = env.str(name, default=default).strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be an amount such as 5.95, not {raw!r}") from exc
    if value < 0:
        raise ImproperlyConfigured(f"{name} cannot be negative")
    return value


SHIPPING_FLAT_RATE = _money_setting("SHIPPING_FLAT_RATE", "5.95") or Decimal("0")
SHIPPING_FREE_OVER = _money_setting("SHIPPING_FREE_OVER", "")
# Refunds to a store credit account are due within one billing cycle.
STORE_CREDIT_BILLING_DAYS = env.int("STORE_CREDIT_BILLING_DAYS", default=30)

# Email

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"{STORE_NAME} <orders@example.com>")
SERVER_EMAIL = env("SERVER_EMAIL", default="server@example.com")
STAFF_NOTIFICATION_EMAILS: list[str] = env.list("STAFF_NOTIFICATION_EMAILS", default=[])
# The Anymail provider that sends and tracks email (e.g. "postmark"; see production.py); only
# its tracking webhook is mounted, at /anymail/<provider>/tracking/.
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="")

# The storefront REST API (/api/v1/): channel keys, problem+json errors, per-channel throttle.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["storefront.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "storefront.api.authentication.SecretKeyRequired",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["storefront.api.throttling.ChannelRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "storefront.api.problems.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}
# Requests per sales channel (all its keys together), e.g. "600/min"; empty for no limit.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Backorder Desk storefront API",
    "DESCRIPTION": "Quotes with ETAs, orders (idempotent), their state and cancellation. "
    "Errors are RFC 9457 problems (application/problem+json).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# Logging

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Replace Django's own console handler, so each record is printed once, by the root logger.
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks: no line per task, and no warning about the in-memory broker's host.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}
