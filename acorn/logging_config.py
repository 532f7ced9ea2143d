"""Log lines you can follow: the filters and formatters LOGGING names, and the optional Sentry set-up.

Every line goes through two filters on the console handler: ContextFilter adds the ids of the work running
now (trace_id, tenant_id, store_id, task, task_id from acorn.logcontext; an `extra` of the same name wins),
and SecretFilter masks any field whose name looks like a secret (token, secret, password, authorization …),
nested dicts and lists included. LOG_FORMAT=json (production's default) writes one JSON object per line —
time, level, logger, message, the context and every `extra` — with python-json-logger; LOG_FORMAT=plain
(local and tests) writes one readable line with the trace id.

Sentry is optional (`pip install '.[sentry]'`, SENTRY_DSN set): sentry_init() sends errors with the same
secrets masked and the trace id and tenant as tags.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from acorn import logcontext

# Names of fields that hold secrets, wherever they appear (a log extra, a nested dict, a Sentry event).
SECRET_KEY_RE = re.compile(
    r"token|secret|passw|authorization|api[_-]?key|cookie|credential|signature|private[_-]?key", re.IGNORECASE
)
MASK = "[redacted]"

# The attributes every LogRecord has: not `extra` fields, never masked or re-added.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace %(trace_id)s] %(message)s"
# python-json-logger's names for the standard fields, renamed to what a log search expects.
JSON_RENAME = {"asctime": "time", "levelname": "level", "name": "logger"}


def scrub(value: Any, *, depth: int = 0) -> Any:
    """A copy of `value` with every dict entry whose key looks like a secret replaced by MASK."""
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and SECRET_KEY_RE.search(key) else scrub(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, depth=depth + 1) for item in value)
    return value


class ContextFilter(logging.Filter):
    """Add trace_id, tenant_id, store_id, task and task_id of the current work to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in logcontext.current().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class SecretFilter(logging.Filter):
    """Mask `extra` fields (and dict arguments) whose name looks like a secret. Never drops a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in [key for key in record.__dict__ if key not in _RECORD_ATTRS]:
            value = record.__dict__[key]
            record.__dict__[key] = MASK if SECRET_KEY_RE.search(key) else scrub(value)
        if isinstance(record.args, dict):
            record.args = scrub(record.args)
        return True


class ExpectedRefusalFilter(logging.Filter):
    """A 403 is a person asking for what their role does not allow: one warning line (path, user's trace), not
    a traceback. Django's request logger attaches the PermissionDenied's traceback to it; drop only that."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


def logging_settings(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict for LOG_FORMAT `json` or `plain`."""
    if log_format not in {"json", "plain"}:
        raise ValueError(f"LOG_FORMAT must be json or plain, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "acorn.logging_config.ContextFilter"},
            "secrets": {"()": "acorn.logging_config.SecretFilter"},
            "refusals": {"()": "acorn.logging_config.ExpectedRefusalFilter"},
        },
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": JSON_FORMAT,
                "rename_fields": JSON_RENAME,
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "secrets", "refusals"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # sp_api logs request headers (access tokens) at DEBUG: never let it through.
            "sp_api": {"level": "WARNING"},
            "django.db.backends": {"level": "WARNING"},
            # httpx logs every request line at INFO; sync runs are summarised in SyncRun instead.
            "httpx": {"level": "WARNING"},
        },
    }


def sentry_before_send(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """Mask secrets anywhere in a Sentry event; tag it with the trace id and the tenant."""
    event = scrub(event)
    context = logcontext.current()
    tags = event.setdefault("tags", {})
    for key in ("trace_id", "tenant_id", "store_id", "task"):
        if context[key] is not None:
            tags.setdefault(key, str(context[key]))
    return event


def sentry_init(*, dsn: str, environment: str, release: str = "") -> bool:
    """Start Sentry when the optional sentry-sdk is installed. False (and a warning) when it is not."""
    try:
        import sentry_sdk
    except ImportError:
        logging.getLogger(__name__).warning("sentry_sdk_missing")
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        # Personal data collection stays at the SDK's default (off); before_send masks secrets on top of it.
        before_send=sentry_before_send,  # type: ignore[arg-type, unused-ignore]
        traces_sample_rate=0.0,
    )
    return True
