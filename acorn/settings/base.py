"""Settings shared by every environment.

Everything that differs between a laptop and production is read from the environment here, through
django-environ. With no variables set, ACORN runs embedded: SQLite and a filesystem Celery broker
under ``var/``. ``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to Redis (broker, cache).
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from acorn.logging_config import logging_settings, sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("ACORN_VAR_DIR", default=str(BASE_DIR / "var")))
# The embedded default keeps its database, broker queue and beat schedule here.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "acorn.tenancy.apps_admin.AcornAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    # ACORN core
    "acorn.tenancy",
    "acorn.audit",
    "acorn.notifications",
    "acorn.exports",
    "acorn.fx",
    "acorn.console",
    # Domain apps, in dependency order (DESIGN.md).
    "channels.apps.ChannelsConfig",
    "inventory",
    "orders",
    "refunds",
    "finance",
]

# Content-Security-Policy (django-csp 4 format: https://django-csp.readthedocs.io/en/latest/configuration.html).
# Scripts only from ACORN's own static files (the vendored Bootstrap, htmx and Chart.js, static/js/*): no
# inline <script> and no inline event handler in any template (tests/test_csp.py checks them). Styles also
# allow inline: templates use style attributes and htmx adds its indicator style; a style cannot run code.
# Images allow data: for Bootstrap's inline SVG icons in its CSS. Framing is refused by X-Frame-Options.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
    },
}

MIDDLEWARE = [
    "acorn.tenancy.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "acorn.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "acorn.urls"
WSGI_APPLICATION = "acorn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "acorn.console.context_processors.console",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# SQLite in WAL mode with IMMEDIATE transactions so the web process and the solo worker can write
# side by side without "database is locked"; PostgreSQL when DATABASE_URL is set.
_SQLITE_URL = f"sqlite:///{VAR_DIR / 'acorn.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_SQLITE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (also allauth's rate-limit buckets) ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="acorn"),
        }
    }
else:
    # A database cache is shared by the web process and the worker, unlike local memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "acorn_cache",
        }
    }

# --- Auth and accounts (django-allauth) ------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "console:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_FORMS = {"signup": "acorn.tenancy.forms.CompanySignupForm"}
ACCOUNT_ADAPTER = "acorn.tenancy.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ACORN] "
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_SESSION_REMEMBER = None
# Failed logins are limited per IP and per account (allauth keeps the buckets in the cache).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("ACORN_LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "ACORN"

# --- Email ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ACORN <no-reply@acorn.local>")
ACORN_BASE_URL = env.str("ACORN_BASE_URL", default="http://127.0.0.1:8000")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Files people upload and workers read (large settlement files): a volume web and workers share in production.
MEDIA_ROOT = Path(env.str("ACORN_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served: uploads are read by the workers, not downloaded
# A settlement file up to this size is imported while the person waits; a larger one by a worker, with a
# progress page.
ACORN_SETTLEMENT_INLINE_BYTES = env.int("ACORN_SETTLEMENT_INLINE_BYTES", default=2 * 1024 * 1024)
# An export of up to this many records (orders, refunds, ...) is written while the person waits; a larger one
# by a worker on the `exports` queue, with a progress page and a notification. Its file is kept this many days.
ACORN_EXPORT_INLINE_ROWS = env.int("ACORN_EXPORT_INLINE_ROWS", default=5000)
ACORN_EXPORT_KEEP_DAYS = env.int("ACORN_EXPORT_KEEP_DAYS", default=7)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Celery ---------------------------------------------------------------------------------------
# Reliable delivery: a task is acknowledged only after it ran, requeued if its worker dies, and a
# worker holds one message at a time. Tasks must therefore be idempotent (STYLE.md §3).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Celery's own defaults, spelled out: Celery reads these three for every message it sends, and a setting
# Django does not have costs it several failed look-ups each time (a third of sending 40,000 sync runs).
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = None
# The visibility timeout must exceed the longest task and the longest countdown / retry delay,
# otherwise Redis redelivers a message that is still running.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=7200)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ROUTES = {
    "channels.run_store_sync": {"queue": "sync"},
    "inventory.push_store_stock": {"queue": "sync"},
    # Large exports: minutes of work each, kept off the queue that syncs and webhooks share.
    "exports.run_export_job": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-syncs": {
        "task": "channels.dispatch_due_syncs",
        "schedule": 60.0,
    },
    # Webhook events whose retry is due (a handler failed), whose worker died, or whose queued task was lost.
    "dispatch-due-webhooks": {
        "task": "channels.dispatch_due_webhooks",
        "schedule": 60.0,
    },
    "warn-reauthorization": {
        "task": "channels.warn_reauthorization",
        "schedule": crontab(minute=5, hour=1),
    },
    # Store authorisations never completed within an hour: the stubs go (they hold no seat meanwhile).
    "expire-pending-stores": {
        "task": "channels.expire_pending_stores",
        "schedule": 600.0,
    },
    # Export files past their expiry (ACORN_EXPORT_KEEP_DAYS) removed from the storage, and export jobs whose
    # task was lost sent again, hourly.
    "expire-exports": {
        "task": "exports.expire_exports",
        "schedule": crontab(minute=35),
    },
    "expire-invitations": {
        "task": "tenancy.expire_invitations",
        "schedule": crontab(minute=17, hour="*/6"),
    },
    # Channel stock: due retries (and pushes whose debounced task was lost) every minute; every listing's
    # target recomputed every 15 minutes (new mappings, catalogue and warehouse changes).
    "dispatch-stock-pushes": {
        "task": "inventory.dispatch_stock_pushes",
        "schedule": 60.0,
    },
    "refresh-stock-listings": {
        "task": "inventory.dispatch_stock_pushes",
        "schedule": 900.0,
        "kwargs": {"full": True},
    },
    # Shipment confirmations to the channels: due sends and retries, and Amazon feed results, every minute.
    "dispatch-shipment-confirmations": {
        "task": "orders.dispatch_shipment_confirmations",
        "schedule": 60.0,
    },
    # Fulfilment: orders and cancels to warehouse APIs whose retry is due (or whose queued task was lost).
    "dispatch-fulfilment-requests": {
        "task": "orders.dispatch_fulfilment_requests",
        "schedule": 60.0,
    },
    # Refunds approved in ACORN: executions and retries that are due, and Amazon adjustment feeds to read.
    "dispatch-refund-executions": {
        "task": "refunds.dispatch_refund_executions",
        "schedule": 60.0,
    },
    # Received returns put back by their disposition (sellable / damaged); FBA returns are Amazon's.
    "restock-returns": {
        "task": "refunds.restock_returns",
        "schedule": 900.0,
    },
    # Refund rates: the daily rollup of the last 120 days rebuilt per tenant (mapping changes re-resolve history).
    "rebuild-refund-rates": {
        "task": "refunds.dispatch_refund_rate_rebuilds",
        "schedule": crontab(minute=40, hour=2),
    },
    # Refund-rate alerts of every tenant (sales lower rates too: alerts resolve without new refunds).
    "evaluate-refund-alerts": {
        "task": "refunds.dispatch_refund_alerts",
        "schedule": 900.0,
    },
    # Customer-service notices whose batch-window task was lost.
    "send-stale-service-notices": {
        "task": "refunds.send_stale_service_notices",
        "schedule": 300.0,
    },
    # The weekly digest of last week, Mondays 07:00 UTC (once per tenant and week).
    "send-weekly-digests": {
        "task": "refunds.dispatch_weekly_digests",
        "schedule": crontab(minute=0, hour=7, day_of_week=1),
    },
    # WooCommerce has no payouts: last month's and this month's statement of every site, built from its orders
    # and refunds, daily (a month's statement is rebuilt while it is open, then closed).
    # Hourly, so this month's statement follows the orders (a build that changes nothing writes nothing new).
    "build-woocommerce-statements": {
        "task": "finance.dispatch_woocommerce_statements",
        "schedule": crontab(minute=40),
    },
    # P&L changes due for more than two minutes (their debounced refresh task was lost), every five minutes.
    "dispatch-profit-refreshes": {
        "task": "finance.dispatch_profit_refreshes",
        "schedule": 300.0,
    },
    # Due journals of every company connected to QuickBooks Online, posted exactly once, hourly.
    "post-quickbooks-journals": {
        "task": "finance.dispatch_quickbooks_posting",
        "schedule": crontab(minute=25),
    },
    # The P&L of the last 120 days recomputed nightly (rates loaded late, mappings and costs changed).
    "rebuild-profit": {
        "task": "finance.rebuild_profit_nightly",
        "schedule": crontab(minute=10, hour=3),
    },
    # The ECB's reference rates, published around 16:00 CET (14:00 or 15:00 UTC) on TARGET working days:
    # fetched at 15:30 UTC, and again at 21:30 UTC to catch up when the first run found the ECB late or away.
    "fetch-exchange-rates": {
        "task": "fx.fetch_exchange_rates",
        "schedule": crontab(minute=30, hour="15,21"),
    },
    # Data past each tenant's plan retention deleted or anonymised, and closed accounts past their grace
    # period deleted (acorn.tenancy.retention), nightly at 02:20 UTC.
    "apply-retention": {
        "task": "tenancy.dispatch_retention",
        "schedule": crontab(minute=20, hour=2),
    },
}
# A closed account's data is deleted this many days after the owner closed it (they may reopen it meanwhile).
ACORN_CLOSURE_GRACE_DAYS = env.int("ACORN_CLOSURE_GRACE_DAYS", default=30)
(VAR_DIR / "celery").mkdir(exist_ok=True)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")

# --- Secrets at rest --------------------------------------------------------------------------------
# Fernet keys for every secret at rest (every EncryptedJSONField): the first encrypts, all decrypt (rotation:
# prepend a new key, run `manage.py rotate_credentials`, then drop the old key). production.py requires them;
# local and test use a fixed dev key.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Channels -------------------------------------------------------------------------------------
# python-amazon-sp-api caches LWA tokens per process in a TTL cache of this size (default 10 thrashes
# with more sellers than that); it reads the variable at import, so it is set before any import.
os.environ.setdefault("SP_API_AUTH_CACHE_SIZE", env.str("SP_API_AUTH_CACHE_SIZE", default="2000"))
# The Amazon app (one per deployment): LWA client and the application id used on the consent page.
AMAZON_LWA_CLIENT_ID = env.str("AMAZON_LWA_CLIENT_ID", default="amzn1.application-oa2-client.acorn-sim")
AMAZON_LWA_CLIENT_SECRET = env.str("AMAZON_LWA_CLIENT_SECRET", default="acorn-sim-secret")
AMAZON_APPLICATION_ID = env.str("AMAZON_APPLICATION_ID", default="amzn1.sp.solution.acorn-sim")
# The deployment's Shopify app (Partner Dashboard client id / secret); the defaults are the simulator's.
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY", default="acorn-sim-shopify-client-id")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET", default="acorn-sim-shopify-client-secret")
# After rotating the Shopify secret, webhooks may stay signed with the old one for up to an hour.
SHOPIFY_API_SECRETS_OLD = env.list("SHOPIFY_API_SECRETS_OLD", default=[])
SHOPIFY_SCOPES = env.str(
    "SHOPIFY_SCOPES",
    default="read_orders,write_orders,read_products,read_inventory,write_inventory,read_locations,"
    "read_fulfillments,write_fulfillments,read_merchant_managed_fulfillment_orders,"
    "write_merchant_managed_fulfillment_orders,read_returns,read_shopify_payments_payouts",
)
# Public URL Shopify and WooCommerce deliver webhooks to (ACORN_BASE_URL when blank).
ACORN_WEBHOOK_BASE_URL = env.str("ACORN_WEBHOOK_BASE_URL", default="")
# A CA bundle to verify WooCommerce sites with (the simulator's self-signed certificate in development);
# blank = the system's trust store.
ACORN_WOOCOMMERCE_CA_BUNDLE = env.str("ACORN_WOOCOMMERCE_CA_BUNDLE", default="")
# Whether members may point a store at another API endpoint (the simulator). Off in production: an
# arbitrary URL would let a tenant make the servers call anywhere. The endpoint offered by default:
ACORN_ALLOW_CUSTOM_ENDPOINTS = env.bool("ACORN_ALLOW_CUSTOM_ENDPOINTS", default=False)
ACORN_SIMULATOR_URL = env.str("ACORN_SIMULATOR_URL", default="")
# The simulator's HTTPS listener (its WooCommerce sites), beside ACORN_SIMULATOR_URL.
ACORN_SIMULATOR_TLS_URL = env.str("ACORN_SIMULATOR_TLS_URL", default="")
# How far back the first sync of a new store reaches (90 days: as far as Amazon keeps settlement reports, so
# every order a listed settlement pays is known, and the refund rates' longest window has its sales), and the
# overlap re-read at each window start so that records updated while the previous window closed are not missed.
ACORN_SYNC_INITIAL_DAYS = env.int("ACORN_SYNC_INITIAL_DAYS", default=90)
ACORN_SYNC_OVERLAP_SECONDS = env.int("ACORN_SYNC_OVERLAP_SECONDS", default=300)
# Wall-clock budget of one sync run; the next run resumes from the cursor. Below the task soft limit.
ACORN_SYNC_TIME_BUDGET_SECONDS = env.int("ACORN_SYNC_TIME_BUDGET_SECONDS", default=150)
# A run's lease outlives its budget by this margin; a killed worker's lease expires after budget + margin.
ACORN_SYNC_LEASE_MARGIN_SECONDS = env.int("ACORN_SYNC_LEASE_MARGIN_SECONDS", default=90)
# Multiplies the vendors' published rate limits (1 in production; tests against the simulator raise it).
ACORN_RATE_LIMIT_SCALE = env.int("ACORN_RATE_LIMIT_SCALE", default=1)
# Connect + read timeout of every call to a vendor API (seconds); a call that takes longer is retried.
ACORN_VENDOR_TIMEOUT_SECONDS = env.float("ACORN_VENDOR_TIMEOUT_SECONDS", default=30.0)

# Channel stock pushes: changes within this window go out in one push per store; a failed push waits
# RETRY x 2^(attempts-1) seconds (at most an hour) and stays failed, for a person to see, after MAX_ATTEMPTS.
ACORN_STOCK_PUSH_DEBOUNCE_SECONDS = env.int("ACORN_STOCK_PUSH_DEBOUNCE_SECONDS", default=20)
# Orders, refunds and statements changed within this window are recomputed for the P&L by one task per company.
ACORN_PROFIT_REFRESH_DEBOUNCE_SECONDS = env.int("ACORN_PROFIT_REFRESH_DEBOUNCE_SECONDS", default=10)
# New return requests and flagged refunds arriving within this many seconds go to customer service as one.
ACORN_SERVICE_NOTICE_BATCH_SECONDS = env.int("ACORN_SERVICE_NOTICE_BATCH_SECONDS", default=120)
ACORN_STOCK_PUSH_RETRY_SECONDS = env.int("ACORN_STOCK_PUSH_RETRY_SECONDS", default=60)
ACORN_STOCK_PUSH_MAX_ATTEMPTS = env.int("ACORN_STOCK_PUSH_MAX_ATTEMPTS", default=6)

# Fulfilment push to warehouse APIs: a failed send waits RETRY x 2^(attempts-1) seconds (at most an hour) and
# stays failed, for a person to see, after MAX_ATTEMPTS. Warehouse endpoints must be https://; local and test
# settings also allow plain http:// to 127.0.0.1 / localhost (the simulator's warehouse).
ACORN_FULFILMENT_RETRY_SECONDS = env.int("ACORN_FULFILMENT_RETRY_SECONDS", default=60)
ACORN_FULFILMENT_MAX_ATTEMPTS = env.int("ACORN_FULFILMENT_MAX_ATTEMPTS", default=8)
ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = env.bool("ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP", default=False)

# QuickBooks Online (finance.quickbooks): the API base (Intuit's production host; the sandbox host or a test
# double such as the simulator's {url}/quickbooks instead), ACORN's Intuit app for connecting from the console,
# the API minor version (Intuit retired 1-74 in 2025), and posting retries: a call that timed out, was throttled
# or failed on Intuit's side is tried RETRIES times in one run, waiting BACKOFF x 2^(n-1) seconds (at most 60);
# a journal stops being tried by the scheduled posting after MAX_ATTEMPTS failed runs (a person sees it).
ACORN_QUICKBOOKS_API_BASE = env.str("ACORN_QUICKBOOKS_API_BASE", default="https://quickbooks.api.intuit.com")
ACORN_QUICKBOOKS_CLIENT_ID = env.str("ACORN_QUICKBOOKS_CLIENT_ID", default="")
ACORN_QUICKBOOKS_CLIENT_SECRET = env.str("ACORN_QUICKBOOKS_CLIENT_SECRET", default="")
ACORN_QUICKBOOKS_MINOR_VERSION = env.int("ACORN_QUICKBOOKS_MINOR_VERSION", default=75)
ACORN_QUICKBOOKS_RETRIES = env.int("ACORN_QUICKBOOKS_RETRIES", default=3)
ACORN_QUICKBOOKS_BACKOFF_SECONDS = env.float("ACORN_QUICKBOOKS_BACKOFF_SECONDS", default=2.0)
ACORN_QUICKBOOKS_MAX_ATTEMPTS = env.int("ACORN_QUICKBOOKS_MAX_ATTEMPTS", default=10)

# Exchange rates (acorn/fx/fetch.py): the ECB's daily reference-rate file (its history file, eurofxref-hist.zip,
# is read from the same folder when days are missing, at most HISTORY_DAYS back); a download is tried ATTEMPTS
# times, waiting BACKOFF x 2^(n-1) seconds; pages warn when the newest rate is older than STALE_DAYS days.
ACORN_ECB_RATES_URL = env.str("ACORN_ECB_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref.zip")
ACORN_ECB_ATTEMPTS = env.int("ACORN_ECB_ATTEMPTS", default=4)
ACORN_ECB_BACKOFF_SECONDS = env.float("ACORN_ECB_BACKOFF_SECONDS", default=5.0)
ACORN_FX_HISTORY_DAYS = env.int("ACORN_FX_HISTORY_DAYS", default=90)
ACORN_FX_STALE_DAYS = env.int("ACORN_FX_STALE_DAYS", default=3)

# --- ACORN ----------------------------------------------------------------------------------------
ACORN_INVITATION_DAYS = env.int("ACORN_INVITATION_DAYS", default=7)
ACORN_SIGNUP_OPEN = env.bool("ACORN_SIGNUP_OPEN", default=True)

# LOG_FORMAT=json: one JSON object per line with the trace id, tenant, store and task (acorn/logging_config.py);
# plain: one readable line. Production defaults to json, every other settings module to plain.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_settings(log_format=LOG_FORMAT, level=LOG_LEVEL)

# Optional error reporting: set SENTRY_DSN (and install the `sentry` extra). Secrets are masked before sending.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))
