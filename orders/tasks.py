"""Celery tasks of the orders app: thin wrappers that load by id and call one service.

Shipment confirmations (orders.shipments) and the fulfilment push (orders.fulfilment.push) each have a
per-item task and a beat fan-out.
"""

from __future__ import annotations

import logging

from celery import shared_task

from acorn.tenancy.tasks import TenantTask
from channels.selectors import store_get
from orders.fulfilment.push import fulfilment_due_unscoped, fulfilment_send
from orders.models import Shipment
from orders.shipments import due_confirmations, shipment_confirm, shipment_feeds_poll, shipments_submit_feed

logger = logging.getLogger(__name__)


# --- shipment confirmations -------------------------------------------------------------------------------


@shared_task(name="orders.confirm_shipment", base=TenantTask, bind=True, acks_late=True)
def confirm_shipment_task(self: TenantTask, *, tenant_id: int, shipment_id: int) -> str:
    """Confirm one shipment to its shop (Shopify, WooCommerce). Safe to run twice: the send is claimed."""
    shipment = Shipment.objects.filter(pk=shipment_id).select_related("order__store").first()
    if shipment is None:
        logger.info("shipment_missing", extra={"tenant_id": tenant_id, "shipment_id": shipment_id})
        return "missing"
    return shipment_confirm(shipment=shipment)


@shared_task(name="orders.submit_shipment_feed", base=TenantTask, bind=True, acks_late=True)
def submit_shipment_feed_task(self: TenantTask, *, tenant_id: int, store_id: int) -> str:
    """Send an Amazon store's pending shipments in one shipment confirmation feed."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        logger.info("store_missing", extra={"tenant_id": tenant_id, "store_id": store_id})
        return "missing"
    return shipments_submit_feed(store=store)


@shared_task(name="orders.poll_shipment_feeds", base=TenantTask, bind=True, acks_late=True)
def poll_shipment_feeds_task(self: TenantTask, *, tenant_id: int, store_id: int) -> int:
    """Read the results of an Amazon store's submitted shipment feeds."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        logger.info("store_missing", extra={"tenant_id": tenant_id, "store_id": store_id})
        return 0
    return shipment_feeds_poll(store=store)


@shared_task(name="orders.dispatch_shipment_confirmations", acks_late=True)
def dispatch_shipment_confirmations_task() -> int:
    """Beat, every minute: queue due shop confirmations, Amazon feeds to submit and feeds to read."""
    due = due_confirmations()
    for tenant_id, shipment_id in due.shipments:
        confirm_shipment_task.delay(tenant_id=tenant_id, shipment_id=shipment_id)
    for tenant_id, store_id in due.feeds:
        submit_shipment_feed_task.delay(tenant_id=tenant_id, store_id=store_id)
    for tenant_id, store_id in due.polls:
        poll_shipment_feeds_task.delay(tenant_id=tenant_id, store_id=store_id)
    return len(due.shipments) + len(due.feeds) + len(due.polls)


# --- fulfilment push to warehouses -----------------------------------------------------------------------


@shared_task(name="orders.send_fulfilment_request", base=TenantTask, bind=True, acks_late=True)
def send_fulfilment_request_task(self: TenantTask, *, tenant_id: int, request_id: int) -> str:
    """Send one fulfilment request (its order, or its cancel) to its warehouse API. Safe to run twice: the
    send is claimed under a row lock, so it goes out once; a failure is recorded and retried by the beat task."""
    return fulfilment_send(request_pk=request_id)


@shared_task(name="orders.dispatch_fulfilment_requests", acks_late=True)
def dispatch_fulfilment_requests_task() -> int:
    """Beat, every minute: queue a send for each request whose retry is due (or whose queued task was lost).
    Returns how many were queued."""
    due = fulfilment_due_unscoped()
    for tenant_id, request_id in due:
        send_fulfilment_request_task.delay(tenant_id=tenant_id, request_id=request_id)
    return len(due)
