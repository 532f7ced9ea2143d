"""Webhooks of REST API v3: list, create (then the ping), read, update, delete (`force=true` only)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simulator.http import Response
from simulator.woocommerce.paging import page_headers
from simulator.woocommerce.render import WEBHOOK_HOOKS, webhook_json
from simulator.woocommerce.rest import (
    Call,
    WooError,
    bool_param,
    enum_param,
    int_param,
    no_route,
    wp_response,
)
from simulator.woocommerce.site import Webhook

if TYPE_CHECKING:
    from simulator.woocommerce.context import WooContext

STATUSES = ("active", "paused", "disabled")
_ACTION_TOPIC = re.compile(r"^action\.[\w-]+$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def valid_topic(topic: str) -> bool:
    return topic in WEBHOOK_HOOKS or bool(_ACTION_TOPIC.match(topic))


def _webhook(call: Call, status: int, message: str) -> Webhook:
    raw = call.params["id"]
    if not raw.isdigit():
        raise no_route()
    webhook = call.site.webhooks.get(int(raw))
    if webhook is None:
        raise WooError(status, "woocommerce_rest_shop_webhook_invalid_id", message)
    return webhook


def list_webhooks(context: WooContext, call: Call) -> Response:
    status = enum_param(call, "status", "all", ("all", *STATUSES))
    page = int_param(call, "page", 1, 1) or 1
    per_page = int_param(call, "per_page", 10, 1, 100) or 10
    descending = enum_param(call, "order", "desc", ("asc", "desc")) == "desc"
    hooks = sorted(
        (hook for hook in call.site.webhooks.values() if status == "all" or hook.status == status),
        key=lambda hook: (hook.created, hook.id),
        reverse=descending,
    )
    start = (page - 1) * per_page
    body = [webhook_json(call.site, call.site_url, hook) for hook in hooks[start : start + per_page]]
    return wp_response(body, headers=page_headers(call, len(hooks), page, per_page))


def get_webhook(context: WooContext, call: Call) -> Response:
    return wp_response(webhook_json(call.site, call.site_url, _webhook(call, 400, "ID is invalid.")))


def create_webhook(context: WooContext, call: Call) -> Response:
    """Creates the webhook and answers 201; the front sends the ping after the lock is released."""
    assert call.key is not None
    if call.param("id"):
        raise WooError(400, "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.")
    topic = str(call.param("topic") or "").strip().lower()
    if not topic or not valid_topic(topic):
        raise WooError(
            400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid."
        )
    delivery_url = str(call.param("delivery_url") or "").strip()
    if not _URL.match(delivery_url):
        raise WooError(
            400,
            "woocommerce_rest_shop_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
        )
    status = str(call.param("status") or "active")
    if status not in STATUSES:
        status = "disabled"
    name = (
        str(call.param("name") or "")
        or f"Webhook created on {context.now().astimezone(call.site.zone):%b %d, %Y @ %I:%M %p}"
    )
    secret = call.param("secret")
    webhook = context.create_webhook(
        call.site,
        name=name,
        topic=topic,
        delivery_url=delivery_url,
        secret=str(secret) if secret else None,
        status=status,
        key=call.key,
    )
    response = wp_response(
        webhook_json(call.site, call.site_url, webhook),
        201,
        {"Location": f"{call.site_url}/wp-json/wc/v3/webhooks/{webhook.id}"},
    )
    call.ping = webhook
    return response


def update_webhook(context: WooContext, call: Call) -> Response:
    webhook = _webhook(call, 400, "ID is invalid.")
    topic = call.param("topic")
    if topic and not valid_topic(str(topic).lower()):
        raise WooError(400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.")
    delivery_url = call.param("delivery_url")
    if delivery_url and not _URL.match(str(delivery_url)):
        raise WooError(
            400,
            "woocommerce_rest_shop_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
        )
    status = call.param("status")
    if status and str(status).lower() not in STATUSES:
        raise WooError(400, "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.")
    was_active = webhook.status == "active"
    if topic:
        webhook.topic = str(topic).lower()
    if delivery_url:
        webhook.delivery_url = str(delivery_url)
    if call.param("secret"):
        webhook.secret = str(call.param("secret"))
    if status:
        webhook.status = str(status).lower()
        if webhook.status == "active":
            webhook.failure_count = 0
    if call.param("name"):
        webhook.name = str(call.param("name"))
    webhook.modified = context.now()
    if webhook.status == "active" and not was_active:
        call.ping = webhook  # WC_Webhook_Data_Store::update() pings a webhook that becomes active
    return wp_response(webhook_json(call.site, call.site_url, webhook))


def delete_webhook(context: WooContext, call: Call) -> Response:
    if not bool_param(call, "force", False):
        raise WooError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
    webhook = _webhook(call, 404, "Invalid ID.")
    body = webhook_json(call.site, call.site_url, webhook)
    del call.site.webhooks[webhook.id]
    return wp_response(body)
