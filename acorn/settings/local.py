"""The embedded default: a laptop running `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Local only: a fixed development key so that `make run` works with no configuration.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="acorn-local-development-key-not-for-production")

# A fixed development key so that the embedded default works with no configuration. Never in production.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=["YWNvcm4tbG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyYiE="])
ACORN_ALLOW_CUSTOM_ENDPOINTS = env.bool("ACORN_ALLOW_CUSTOM_ENDPOINTS", default=True)
# Warehouse endpoints over plain HTTP on this machine (the simulator's warehouse front).
ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP = env.bool("ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP", default=True)
ACORN_SIMULATOR_URL = env.str("ACORN_SIMULATOR_URL", default="http://127.0.0.1:8765")
ACORN_SIMULATOR_TLS_URL = env.str("ACORN_SIMULATOR_TLS_URL", default="https://127.0.0.1:8766")
# The ECB's reference-rate files, from the simulator (nothing leaves the machine).
ACORN_ECB_RATES_URL = env.str("ACORN_ECB_RATES_URL", default=f"{ACORN_SIMULATOR_URL}/ecb/stats/eurofxref/eurofxref.zip")
# `make run` starts the simulator with its CA in var/simulator-tls; its WooCommerce site is verified with it.
ACORN_WOOCOMMERCE_CA_BUNDLE = env.str(
    "ACORN_WOOCOMMERCE_CA_BUNDLE",
    default=str(VAR_DIR / "simulator-tls" / "acorn-simulator-ca.pem"),  # noqa: F405
)
