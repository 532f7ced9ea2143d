"""The embedded default: a laptop running `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Local only: a fixed development key so that `make run` works with no configuration.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="acorn-local-development-key-not-for-production")
