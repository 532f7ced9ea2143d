"""Settings for the test suite: fast hashing, in-memory email, no outside network."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "acorn-test-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACORN_BASE_URL = "http://testserver"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

# Tests get their own broker folder so that a developer's running worker never takes their messages.
if not REDIS_URL:  # noqa: F405
    _test_broker = VAR_DIR / "test-broker"  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_test_broker / "queue"),
        "data_folder_out": str(_test_broker / "queue"),
        "control_folder": str(_test_broker / "control"),
        "processed_folder": str(_test_broker / "processed"),
        "store_processed": False,
    }
    for _folder in ("queue", "control", "processed"):
        (_test_broker / _folder).mkdir(parents=True, exist_ok=True)
    # A shared database cache would be fine, but local memory keeps the suite fast.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "acorn-tests"}}

# A fixed development key so that the embedded default works with no configuration. Never in production.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["YWNvcm4tdGVzdC1rZXktLS0tLS0tLS0tLS0tLS0tLTI="])
ACORN_ALLOW_CUSTOM_ENDPOINTS = env.bool("ACORN_ALLOW_CUSTOM_ENDPOINTS", default=True)
# Warehouse endpoints over plain HTTP on this machine (the simulator's warehouse front).
ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = env.bool("ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP", default=True)
ACORN_SIMULATOR_URL = env.str("ACORN_SIMULATOR_URL", default="http://127.0.0.1:8765")
ACORN_SIMULATOR_TLS_URL = env.str("ACORN_SIMULATOR_TLS_URL", default="https://127.0.0.1:8766")
# The ECB's reference-rate files, from the simulator (nothing leaves the machine).
ACORN_ECB_RATES_URL = env.str("ACORN_ECB_RATES_URL", default=f"{ACORN_SIMULATOR_URL}/ecb/stats/eurofxref/eurofxref.zip")
ACORN_ECB_BACKOFF_SECONDS = 0.01
# Below the simulator's hang (2 s) so that its timeout fault is seen as one; above its slow answers (0.3 s).
ACORN_VENDOR_TIMEOUT_SECONDS = 1.0
