"""Logs you can follow: JSON lines with the context, the trace id from a request into its tasks, secrets masked.

The sync run's own lines (its trace id on the store page) are in tests/channels/test_sync_logs.py.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from celery import shared_task
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from acorn import logcontext
from acorn.celery import TRACE_HEADER
from acorn.logging_config import MASK, logging_settings, sentry_before_send
from acorn.tenancy.middleware import RequestIdMiddleware
from acorn.tenancy.models import Tenant
from acorn.tenancy.tasks import TenantTask

logger = logging.getLogger("tests.logging")


@shared_task(base=TenantTask, name="tests.log_a_line")
def log_a_line_task(*, tenant_id: int) -> None:
    logger.info("inside_the_task", extra={"step": "one"})


class CapturedLog(io.StringIO):
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.getvalue().splitlines()]

    def line(self, message: str) -> dict[str, Any]:
        return next(line for line in self.lines() if line["message"] == message)


def configure(log_format: str) -> CapturedLog:
    """The LOGGING of LOG_FORMAT=`log_format`, its console handler writing to a buffer."""
    stream = CapturedLog()
    config = logging_settings(log_format=log_format, level="INFO")
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    return stream


@pytest.fixture
def json_log() -> Iterator[CapturedLog]:
    yield configure("json")
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def plain_log() -> Iterator[CapturedLog]:
    yield configure("plain")
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Messages Celery would put on the broker (after before_task_publish ran), recorded instead of sent."""
    from kombu.messaging import Producer

    sent: list[dict[str, Any]] = []

    def fake_publish(self: Producer, body: Any, **kwargs: Any) -> None:
        sent.append({"body": body, "headers": kwargs.get("headers") or {}})

    monkeypatch.setattr(Producer, "publish", fake_publish)
    return sent


def test_a_json_line_has_time_level_logger_message_extras_and_context(json_log: CapturedLog) -> None:
    with logcontext.bound(trace_id="t" * 32, tenant_id=7, store_id=9, task="x.y", task_id="abc"):
        logger.warning("something %s", "happened", extra={"order_id": 5})
    line = json_log.line("something happened")
    assert line["level"] == "WARNING" and line["logger"] == "tests.logging" and line["time"]
    assert (line["order_id"], line["trace_id"], line["tenant_id"], line["store_id"]) == (5, "t" * 32, 7, 9)
    assert (line["task"], line["task_id"]) == ("x.y", "abc")
    # outside the block nothing is left behind
    logger.warning("later")
    assert json_log.line("later")["trace_id"] is None and json_log.line("later")["tenant_id"] is None


def test_an_extra_of_the_same_name_wins_over_the_context(json_log: CapturedLog) -> None:
    with logcontext.bound(trace_id="outer", store_id=1):
        logger.info("explicit", extra={"store_id": 2})
    assert json_log.line("explicit")["store_id"] == 2


def test_secrets_are_masked_in_extras_and_nested_values(json_log: CapturedLog) -> None:
    logger.info(
        "token_refreshed",
        extra={
            "access_token": "Atza|live",
            "refresh_token": "Atzr|live",
            "Authorization": "Bearer x",
            "client_secret": "cs",
            "consumer_secret": "cs_live",
            "password": "hunter2",
            "response": {"headers": {"X-Shopify-Access-Token": "shpat_1"}, "items": [{"api_key": "k", "id": 3}]},
            "store_id": 4,
        },
    )
    line = json_log.line("token_refreshed")
    for key in ("access_token", "refresh_token", "Authorization", "client_secret", "consumer_secret", "password"):
        assert line[key] == MASK, key
    assert line["response"] == {"headers": {"X-Shopify-Access-Token": MASK}, "items": [{"api_key": MASK, "id": 3}]}
    assert line["store_id"] == 4
    assert "live" not in json_log.getvalue() and "shpat_1" not in json_log.getvalue()


def test_plain_format_still_writes_one_readable_line(plain_log: CapturedLog) -> None:
    with logcontext.bound(trace_id="abc123"):
        logger.info("hello %s", "world", extra={"password": "hunter2"})
    text = plain_log.getvalue()
    assert text.count("\n") == 1 and "INFO tests.logging [trace abc123] hello world" in text
    assert "hunter2" not in text


def test_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_settings(log_format="xml", level="INFO")


@pytest.mark.django_db
def test_a_task_sent_inside_a_request_logs_with_the_requests_trace_id(
    tenant: Tenant, json_log: CapturedLog, published: list[dict[str, Any]]
) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        log_a_line_task.apply_async(kwargs={"tenant_id": tenant.pk})
        return HttpResponse("ok")

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="req-0123456789abcdef")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "req-0123456789abcdef"
    (message,) = published
    assert message["headers"][TRACE_HEADER] == "req-0123456789abcdef"

    # The worker side, outside the request: the message's headers are all the task gets.
    assert logcontext.current_trace_id() == ""
    result = log_a_line_task.apply(kwargs={"tenant_id": tenant.pk}, headers=message["headers"])
    line = json_log.line("inside_the_task")
    assert line["trace_id"] == "req-0123456789abcdef" and line["tenant_id"] == tenant.pk
    assert (line["task"], line["task_id"], line["step"]) == ("tests.log_a_line", result.id, "one")
    assert logcontext.current() == dict.fromkeys(logcontext.CONTEXT_KEYS)  # undone after the task


@pytest.mark.django_db
def test_a_beat_sent_task_starts_its_own_trace(tenant: Tenant, json_log: CapturedLog) -> None:
    log_a_line_task.apply(kwargs={"tenant_id": tenant.pk}, headers={})
    log_a_line_task.apply(kwargs={"tenant_id": tenant.pk}, headers={})
    first, second = (line for line in json_log.lines() if line["message"] == "inside_the_task")
    assert len(first["trace_id"]) == 32 and first["trace_id"] != second["trace_id"]


def test_sentry_events_are_scrubbed_and_tagged() -> None:
    event = {
        "request": {"headers": {"Authorization": "Bearer x", "Accept": "json"}, "cookies": {"sessionid": "s"}},
        "extra": {"refresh_token": "Atzr|x", "store_id": 3},
    }
    with logcontext.bound(trace_id="trace-1", tenant_id=5):
        scrubbed = sentry_before_send(event)
    assert scrubbed["request"]["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert scrubbed["request"]["cookies"] == MASK
    assert scrubbed["extra"] == {"refresh_token": MASK, "store_id": 3}
    assert scrubbed["tags"] == {"trace_id": "trace-1", "tenant_id": "5"}


def test_sentry_init_sends_through_the_scrubber(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    sentry_sdk = pytest.importorskip("sentry_sdk")
    monkeypatch.setattr(sentry_sdk, "init", lambda **kwargs: calls.append(kwargs))
    from acorn.logging_config import sentry_init

    assert sentry_init(dsn="https://key@sentry.example/1", environment="test") is True
    assert calls[0]["before_send"] is sentry_before_send and calls[0]["dsn"].endswith("/1")


@pytest.mark.django_db
def test_a_403_is_one_warning_line_without_a_traceback(
    json_log: CapturedLog, tenant: Tenant, make_member: Any, client_for: Any
) -> None:
    # given: a customer-service member opening a page their role may not see
    from acorn.tenancy.models import Role

    support = client_for(make_member(tenant, Role.SUPPORT, "help@alpha.example"))
    assert support.get("/app/finance/profit/").status_code == 403
    # then: one warning naming the path, no traceback
    refused = [line for line in json_log.lines() if line["logger"] == "django.request"]
    assert refused and refused[-1]["level"] == "WARNING" and "/app/finance/profit/" in refused[-1]["message"]
    assert "exc_info" not in refused[-1] and "Traceback" not in json_log.getvalue()
