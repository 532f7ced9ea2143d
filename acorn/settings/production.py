"""Production: only hardening on top of base. Secrets have no default."""

from acorn.logging_config import logging_settings

from .base import *  # noqa: F403
from .base import LOG_LEVEL, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
SECRET_KEY_FALLBACKS: list[str] = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
AMAZON_LWA_CLIENT_ID = env.str("AMAZON_LWA_CLIENT_ID")
AMAZON_LWA_CLIENT_SECRET = env.str("AMAZON_LWA_CLIENT_SECRET")
AMAZON_APPLICATION_ID = env.str("AMAZON_APPLICATION_ID")
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preload is a promise to browsers that is hard to take back (hstspreload.org): only when the operator asks.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Preloading is a promise to browsers that is slow to take back: the operator opts in. Until then Django's
# deploy check would warn that it is off (security.W021), which is the intended default, not a gap.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# One JSON object per line for the log collector (acorn/logging_config.py); LOG_FORMAT=plain to read by eye.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_settings(log_format=LOG_FORMAT, level=LOG_LEVEL)
