"""Fulfilment push: where paid merchant-fulfilled orders go (targets and routing rules), when an order is sent
(once), how a cancellation follows it, and the signatures ACORN and the warehouses share.

A FulfillmentRequest (one per order) moves like this:

* queued PENDING when the order is paid (or partly shipped), merchant-fulfilled, every line holds reserved
  stock in the warehouse of the target the first matching routing rule names (`orders.stock`: stock held
  elsewhere moves there first; when that warehouse is short the order is backordered, not sent). A
  pending-payment / on-hold, backordered or unmapped order waits; it is queued when it changes (ingest) or
  when its stock arrives (`orders.stock`).
* PENDING → SENT: the HTTPS push was answered 2xx (`orders.fulfilment.push`), the CSV was downloaded or the
  pick list was marked picked (`orders.fulfilment.files`). FAILED when the push failed (retried with backoff
  by the beat task; a 4xx is not retried). "Retry now" resets a failed request.
* the order is cancelled: PENDING → CANCELLED (nothing was sent); SENT / FAILED → CANCEL_PENDING, and a
  cancel is sent (HTTPS) or a person confirms it (CSV, pick list) → CANCELLED or CANCEL_FAILED.
* the warehouse calls back (`fulfilment_acknowledge`): "accepted" → SENT with its reference, "cancelled" →
  CANCELLED; "shipped" belongs to the shipments module.

Signing, both ways: ``X-Acorn-Timestamp: <unix seconds>`` and ``X-Acorn-Signature: sha256=<hex of
HMAC-SHA256(signing_secret, f"{timestamp}.".encode() + body)>``; a timestamp more than 300 s from now is
refused, the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.netguard import HostNotFound, HostNotPublic, host_ensure_public, url_host
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import AllocationState, Warehouse, WarehouseKind
from orders.fulfilment.selectors import OPEN_STATUSES, active_routes, orders_without_request, route_for
from orders.locks import fulfillment_request_qs_select_for_update
from orders.models import (
    FulfillmentChannel,
    FulfillmentRequest,
    FulfillmentRoute,
    FulfillmentState,
    FulfillmentTarget,
    FulfillmentTargetKind,
    Order,
    OrderLine,
    OrderStatus,
)
from orders.stock import (
    lines_stock_state_follow,
    orders_follow_routes,
    orders_stock_follow,
    target_warehouse,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SIGNATURE_MAX_AGE_SECONDS = 300
SIGNATURE_PREFIX = "sha256="
CALLBACK_PATH = "/callbacks/fulfilment/{key}/"
# Callback events this module acts on ("shipped" is the shipments module's).
ACKNOWLEDGE_EVENTS = ("accepted", "cancelled")
TARGET_FIELDS = ("name", "kind", "warehouse", "endpoint_url", "active")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# --- signatures -------------------------------------------------------------------------------------------


def _stored_secrets(target: FulfillmentTarget) -> dict[str, Any]:
    # EncryptedJSONField is a TextField to the type checker; it holds a dict.
    stored = cast(Any, target.secrets)
    return dict(stored) if isinstance(stored, dict) else {}


def _signing_secret(target: FulfillmentTarget) -> str:
    return str(_stored_secrets(target).get("signing_secret") or "")


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def sign(target: FulfillmentTarget, body: bytes, *, now: float | None = None) -> tuple[str, str]:
    """(X-Acorn-Timestamp, X-Acorn-Signature) for a body sent to or by the target's warehouse."""
    timestamp = str(int(time.time() if now is None else now))
    return timestamp, _signature(_signing_secret(target), timestamp, body)


def signature_valid(
    target: FulfillmentTarget, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """True when `signature` signs `timestamp` + `body` with the target's secret and the timestamp is within
    300 s of now (constant-time comparison; a missing secret, header or number is simply invalid)."""
    secret = _signing_secret(target)
    if not secret or not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > SIGNATURE_MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(_signature(secret, timestamp.strip(), body), signature.strip().lower())


def callback_url(target: FulfillmentTarget) -> str:
    """Where the target's warehouse calls back (accepted, cancelled, shipped): names the target by its key."""
    base = (settings.ACORN_WEBHOOK_BASE_URL or settings.ACORN_BASE_URL).rstrip("/")
    return base + CALLBACK_PATH.format(key=target.callback_key)


# --- targets ----------------------------------------------------------------------------------------------


def endpoint_shape_check(url: str) -> None:
    """The address's form only, no DNS: https://, no user name or password; plain http:// only to this machine and
    only when ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP is on (local and test settings: the simulator's warehouse).
    Checked again at send time, for targets saved before a rule existed."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    refused = ValidationError(
        {"endpoint_url": _("Enter the warehouse's https:// address (without a user name or password).")}
    )
    if not host or parts.username or parts.password:
        raise refused
    if parts.scheme == "http":
        if settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP and host in _LOOPBACK_HOSTS:
            return
        raise refused
    if parts.scheme != "https":
        raise refused


def endpoint_check(url: str) -> None:
    """An order endpoint must be https:// (`endpoint_shape_check`) on a public host in every spelling
    (`acorn.netguard`; loopback too when ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP is on). The send checks the
    address again, on the connection it makes (`orders.fulfilment.push`)."""
    endpoint_shape_check(url)
    try:
        host_ensure_public(url_host(url), allow_loopback=settings.ACORN_FULFILMENT_ALLOW_LOOPBACK_HTTP)
    except HostNotPublic:
        # ACORN's servers make the call: a tenant must not point them at the internal network.
        raise ValidationError(
            {"endpoint_url": _("Enter a public address: private networks cannot be reached.")}
        ) from None
    except HostNotFound:
        # A name that is not (yet) in DNS reaches no network at all: the send fails visibly and is retried.
        return


def _target_values(target: FulfillmentTarget) -> dict[str, Any]:
    return {
        "name": target.name,
        "kind": target.kind,
        "warehouse": target.warehouse_id,
        "endpoint_url": target.endpoint_url,
        "active": target.active,
    }


def _target_apply(tenant: Tenant, target: FulfillmentTarget, values: dict[str, Any]) -> None:
    unknown = set(values) - set(TARGET_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fulfilment target fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(target, name, value.strip() if isinstance(value, str) else value)
    warehouse: Warehouse | None = target.warehouse
    if warehouse is not None and (warehouse.tenant_id != tenant.pk or warehouse.kind == WarehouseKind.FBA):
        raise ValidationError({"warehouse": _("Choose an own or third-party warehouse of this company.")})
    if target.kind == FulfillmentTargetKind.HTTPS:
        if not target.endpoint_url:
            raise ValidationError({"endpoint_url": _("A warehouse API needs the address ACORN sends orders to.")})
        endpoint_check(target.endpoint_url)
    else:
        target.endpoint_url = ""  # only a warehouse API is called
    if FulfillmentTarget.objects.filter(tenant=tenant, name=target.name).exclude(pk=target.pk).exists():
        raise ValidationError(
            {"name": _("Another fulfilment target is already called %(name)s.") % {"name": target.name}}
        )
    target.full_clean(exclude=["secrets"])


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def fulfilment_target_create(
    *, tenant: Tenant, actor: User | None = None, **values: Any
) -> tuple[FulfillmentTarget, str]:
    """Create a target with its callback key and a new signing secret; audited. Returns (target, secret): the
    secret is shown to the user once and never again (it can be regenerated)."""
    secret = _new_secret()
    target = FulfillmentTarget(tenant=tenant, callback_key=secrets.token_urlsafe(24))
    target.secrets = cast(Any, {"signing_secret": secret})
    _target_apply(tenant, target, values)
    target.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.fulfilment_target_created",
        target=target,
        after=_target_values(target),
    )
    return target, secret


@transaction.atomic
def fulfilment_target_update(
    *, tenant: Tenant, target: FulfillmentTarget, actor: User | None = None, **values: Any
) -> FulfillmentTarget:
    """Change a target's name, kind, warehouse, endpoint or active flag; audited (the secret is not touched)."""
    if target.tenant_id != tenant.pk:
        raise ValidationError(_("This fulfilment target belongs to another company."))
    before = _target_values(target)
    _target_apply(tenant, target, values)
    target.save(update_fields=list(TARGET_FIELDS))
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.fulfilment_target_changed",
        target=target,
        before=before,
        after=_target_values(target),
    )
    if (before["warehouse"], before["active"]) != (target.warehouse_id, target.active):
        _stock_follows_routes(tenant)
    return target


@transaction.atomic
def fulfilment_target_regenerate_secret(*, tenant: Tenant, target: FulfillmentTarget, actor: User | None = None) -> str:
    """Replace the target's signing secret (the old one stops working at once); audited. Returns the new one."""
    if target.tenant_id != tenant.pk:
        raise ValidationError(_("This fulfilment target belongs to another company."))
    secret = _new_secret()
    target.secrets = cast(Any, {**_stored_secrets(target), "signing_secret": secret})
    target.save(update_fields=["secrets"])
    audit_record(tenant=tenant, actor=actor, action="orders.fulfilment_secret_regenerated", target=target)
    return secret


# --- routing rules ------------------------------------------------------------------------------------------


def _stock_follows_routes(tenant: Tenant) -> None:
    """Rules or targets changed: orders not sent yet hold their stock where the rules now send them."""
    orders_follow_routes(tenant_id=tenant.pk)


def _countries(values: Iterable[str]) -> list[str]:
    countries = list(dict.fromkeys(value.strip().upper() for value in values if value.strip()))
    wrong = [country for country in countries if not _COUNTRY.match(country)]
    if wrong:
        raise ValidationError(
            {"countries": _("Use two-letter country codes (US, DE, JP): %(codes)s") % {"codes": ", ".join(wrong)}}
        )
    return countries


def _skus(values: Iterable[str]) -> list[str]:
    skus = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    if any(len(sku) > 200 for sku in skus):
        raise ValidationError({"skus": _("A channel SKU has at most 200 characters.")})
    return skus


def _route_values(route: FulfillmentRoute) -> dict[str, Any]:
    return {
        "target": route.target_id,
        "position": route.position,
        "store": route.store_id,
        "countries": list(route.countries),
        "skus": list(route.skus),
    }


def _route_apply(
    tenant: Tenant,
    route: FulfillmentRoute,
    *,
    store: Store | None,
    countries: Iterable[str],
    skus: Iterable[str],
    position: int | None,
) -> None:
    if store is not None and store.tenant_id != tenant.pk:
        raise ValidationError({"store": _("Choose a store of this company.")})
    route.store = store
    route.countries = _countries(countries)
    route.skus = _skus(skus)
    if position is None:
        last = FulfillmentRoute.objects.filter(tenant=tenant).order_by("-position").values_list("position", flat=True)
        position = (last.first() or 0) + 1
    route.position = position
    route.full_clean(exclude=["tenant", "target"])


@transaction.atomic
def fulfilment_route_create(
    *,
    tenant: Tenant,
    target: FulfillmentTarget,
    actor: User | None = None,
    store: Store | None = None,
    countries: Iterable[str] = (),
    skus: Iterable[str] = (),
    position: int | None = None,
) -> FulfillmentRoute:
    """Add a routing rule to `target` (last in order unless a position is given); audited."""
    if target.tenant_id != tenant.pk:
        raise ValidationError(_("This fulfilment target belongs to another company."))
    route = FulfillmentRoute(tenant=tenant, target=target)
    _route_apply(tenant, route, store=store, countries=countries, skus=skus, position=position)
    route.save()
    audit_record(
        tenant=tenant, actor=actor, action="orders.fulfilment_route_created", target=route, after=_route_values(route)
    )
    _stock_follows_routes(tenant)
    return route


@transaction.atomic
def fulfilment_route_update(
    *,
    tenant: Tenant,
    route: FulfillmentRoute,
    actor: User | None = None,
    store: Store | None = None,
    countries: Iterable[str] = (),
    skus: Iterable[str] = (),
    position: int | None = None,
) -> FulfillmentRoute:
    """Change a rule's conditions (and its position when given); audited."""
    if route.tenant_id != tenant.pk:
        raise ValidationError(_("This routing rule belongs to another company."))
    before = _route_values(route)
    _route_apply(
        tenant,
        route,
        store=store,
        countries=countries,
        skus=skus,
        position=route.position if position is None else position,
    )
    route.save(update_fields=["store", "countries", "skus", "position"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.fulfilment_route_changed",
        target=route,
        before=before,
        after=_route_values(route),
    )
    _stock_follows_routes(tenant)
    return route


@transaction.atomic
def fulfilment_route_delete(*, tenant: Tenant, route: FulfillmentRoute, actor: User | None = None) -> None:
    """Delete a rule; audited. Orders already sent keep their request."""
    if route.tenant_id != tenant.pk:
        raise ValidationError(_("This routing rule belongs to another company."))
    audit_record(
        tenant=tenant, actor=actor, action="orders.fulfilment_route_deleted", target=route, before=_route_values(route)
    )
    route.delete()
    _stock_follows_routes(tenant)


@transaction.atomic
def fulfilment_route_reorder(*, tenant: Tenant, routes: Sequence[FulfillmentRoute], actor: User | None = None) -> None:
    """Give the tenant's rules the positions 1..n in the order given (rules left out follow, in their order)."""
    if any(route.tenant_id != tenant.pk for route in routes):
        raise ValidationError(_("This routing rule belongs to another company."))
    given = [route.pk for route in routes]
    rest = list(
        FulfillmentRoute.objects.filter(tenant=tenant)
        .exclude(pk__in=given)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    for position, pk in enumerate([*given, *rest], start=1):
        FulfillmentRoute.objects.filter(tenant=tenant, pk=pk).exclude(position=position).update(position=position)
    audit_record(tenant=tenant, actor=actor, action="orders.fulfilment_routes_reordered", after={"order": given})
    _stock_follows_routes(tenant)


def fulfilment_route_move(*, tenant: Tenant, route: FulfillmentRoute, offset: int, actor: User | None = None) -> None:
    """Move a rule `offset` places earlier (negative) or later (positive) in the tenant's order of rules."""
    ordered = list(FulfillmentRoute.objects.filter(tenant=tenant).order_by("position", "pk"))
    index = next((i for i, candidate in enumerate(ordered) if candidate.pk == route.pk), None)
    if index is None:
        raise ValidationError(_("This routing rule belongs to another company."))
    moved = ordered.pop(index)
    ordered.insert(max(0, min(len(ordered), index + offset)), moved)
    fulfilment_route_reorder(tenant=tenant, routes=ordered, actor=actor)


# --- queueing ---------------------------------------------------------------------------------------------


def enqueue_send(request: FulfillmentRequest) -> None:
    """Send the request (or its cancel) once the transaction commits."""
    enqueue_on_commit("orders.send_fulfilment_request", tenant_id=request.tenant_id, request_id=request.pk)


def save_request(request: FulfillmentRequest, *fields: str) -> None:
    request.updated_at = timezone.now()
    request.save(update_fields=[*fields, "updated_at"])


def _ready(order: Order, line_states: set[str]) -> bool:
    """Paid (or partly shipped), merchant-fulfilled, and every line holds reserved stock."""
    return (
        order.fulfillment_channel == FulfillmentChannel.MERCHANT
        and order.status in OPEN_STATUSES
        and order.stock_problem == ""
        and line_states == {AllocationState.RESERVED}
    )


def follow_closed_order(request: FulfillmentRequest, order: Order) -> None:
    """The order was cancelled or shipped on the channel: cancel what the warehouse has, drop what it has not."""
    state = request.state
    if order.status == OrderStatus.CANCELLED:
        if state == FulfillmentState.PENDING:
            request.state, request.next_attempt_at = FulfillmentState.CANCELLED, None
            save_request(request, "state", "next_attempt_at")
        elif state in (FulfillmentState.SENT, FulfillmentState.FAILED):
            # A failed push may still have reached the warehouse (a timeout): tell it to cancel either way.
            request.state, request.attempts, request.next_attempt_at = FulfillmentState.CANCEL_PENDING, 0, None
            request.last_error = ""
            save_request(request, "state", "attempts", "next_attempt_at", "last_error")
            if request.target.kind == FulfillmentTargetKind.HTTPS:
                enqueue_send(request)
    elif order.status == OrderStatus.SHIPPED and state in (FulfillmentState.PENDING, FulfillmentState.FAILED):
        # Shipped on the channel before the warehouse had it: sending it now would ship it twice.
        request.state, request.next_attempt_at = FulfillmentState.SHIPPED, None
        request.last_error = _("Shipped on the channel before it was sent to the warehouse.")
        save_request(request, "state", "next_attempt_at", "last_error")


def _create_requests(pairs: Sequence[tuple[Order, FulfillmentTarget]]) -> dict[int, FulfillmentRequest]:
    """Queue these orders to these targets: one request each (unique per order, its key a new uuid4), written
    together; an order a concurrent run queued first keeps that run's request. Returns order pk → request."""
    if not pairs:
        return {}
    made = {
        order.pk: FulfillmentRequest(
            tenant_id=order.tenant_id, order=order, target=target, key=uuid.uuid4().hex, state=FulfillmentState.PENDING
        )
        for order, target in pairs
    }
    FulfillmentRequest.objects.bulk_create(list(made.values()), ignore_conflicts=True)
    stored = {
        request.order_id: request
        for request in FulfillmentRequest.objects.filter(order_id__in=list(made)).select_related("target")
    }
    for order_id, request in stored.items():
        if request.key == made[order_id].key and request.target.kind == FulfillmentTargetKind.HTTPS:
            enqueue_send(request)
    return stored


@transaction.atomic(savepoint=False)
def fulfilment_queue_orders(*, orders: Iterable[Order]) -> dict[int, FulfillmentRequest]:
    """Bring each order's fulfilment in step with the order (see the module docstring): queue a ready order to
    the target its first matching rule names (once: the request is unique per order, its key a new uuid4),
    cancel what a cancelled order had sent, drop what a channel-shipped order had not. The push itself is
    enqueued after the commit. Returns the orders' requests (pk → request), old and new.

    Inside a caller's transaction (the ingest, once per page) it takes no savepoint: no caller goes on after
    it failed, so a failure rolls the caller's transaction back whole, and two statements a call are saved."""
    given = {order.pk: order for order in orders if order.fulfillment_channel == FulfillmentChannel.MERCHANT}
    pks = list(given)
    if not pks:
        return {}
    # stock_problem is kept by UPDATEs (orders.stock), so the objects given may hold an older one: it is read
    # again, alone (the callers hold the orders as just stored or read; a page need not load them twice).
    fresh: dict[int, Order] = {}
    for pk, problem in Order.objects.filter(pk__in=pks).values_list("pk", "stock_problem"):
        fresh[pk] = given[pk]
        fresh[pk].stock_problem = problem
    requests = {
        request.order_id: request
        for request in fulfillment_request_qs_select_for_update().filter(order_id__in=pks).select_related("target")
    }
    states: dict[int, set[str]] = {}
    skus: dict[int, set[str]] = {}
    for order_id, state, sku in OrderLine.objects.filter(order_id__in=pks).values_list(
        "order_id", "stock_state", "sku"
    ):
        states.setdefault(order_id, set()).add(state)
        skus.setdefault(order_id, set()).add(sku)
    routes: dict[int, list[FulfillmentRoute]] = {}
    result: dict[int, FulfillmentRequest] = {}
    ready: list[tuple[Order, FulfillmentTarget]] = []
    for pk in pks:
        order = fresh.get(pk)
        if order is None:
            continue
        request = requests.get(pk)
        if request is not None:
            if order.status not in OPEN_STATUSES:
                follow_closed_order(request, order)
            result[pk] = request
            continue
        if not _ready(order, states.get(pk, set())):
            continue
        if order.tenant_id not in routes:
            routes[order.tenant_id] = active_routes(tenant_id=order.tenant_id)
        route = route_for(order, routes=routes[order.tenant_id], skus=skus.get(pk, set()))
        if route is None:
            continue
        ready.append((order, route.target))
    # The target's warehouse ships it: its lines must hold their stock there. When the rules changed since
    # they reserved, the stock moves; a warehouse that is short backorders the order instead of taking it.
    followed = orders_stock_follow(pairs=[(order, target_warehouse(target)) for order, target in ready])
    result.update(_create_requests([pair for pair, ok in zip(ready, followed, strict=True) if ok]))
    return result


def fulfilment_queue(*, order: Order) -> FulfillmentRequest | None:
    """`fulfilment_queue_orders` for one order: its request after the decision, or None (not ready, no route)."""
    return fulfilment_queue_orders(orders=[order]).get(order.pk)


def fulfilment_queue_order_id(*, tenant_id: int, order_id: int) -> FulfillmentRequest | None:
    """The order's stock just became reserved (inventory told orders): queue it if it is now ready."""
    order = Order.objects.filter(tenant_id=tenant_id, pk=order_id).first()
    return fulfilment_queue(order=order) if order is not None else None


def on_allocations_changed(*, tenant_id: int, changes: Mapping[str, str]) -> None:
    """Inventory changed allocations' states (registered in OrdersConfig.ready()): the order lines keep them, the
    orders their stock problem (`orders.stock`); a waiting order that became whole — a mapping or stock arrived —
    may go to its warehouse now. Orders stored whole are queued by the ingest itself."""
    for order_id in sorted(lines_stock_state_follow(tenant_id=tenant_id, changes=changes)):
        fulfilment_queue_order_id(tenant_id=tenant_id, order_id=order_id)


@transaction.atomic
def fulfilment_route_waiting(*, tenant: Tenant, actor: User | None = None, limit: int = 500) -> int:
    """Route ready orders that no rule matched when they became ready (after rules were added or changed).
    Returns how many were queued; audited."""
    orders = list(orders_without_request(tenant=tenant).order_by("purchased_at", "pk")[:limit])
    queued = len(fulfilment_queue_orders(orders=orders))
    audit_record(tenant=tenant, actor=actor, action="orders.fulfilment_routed_waiting", after={"queued": queued})
    return queued


# --- what people and warehouses do to a request ------------------------------------------------------------


def _locked(tenant: Tenant, request: FulfillmentRequest) -> FulfillmentRequest:
    if request.tenant_id != tenant.pk:
        raise ValidationError(_("This fulfilment request belongs to another company."))
    return fulfillment_request_qs_select_for_update().select_related("target").get(pk=request.pk)


@transaction.atomic
def fulfilment_retry(*, tenant: Tenant, request: FulfillmentRequest, actor: User | None = None) -> FulfillmentRequest:
    """ "Retry now": a failed push (or cancel) starts over — attempts back to 0, sent at once; audited."""
    locked = _locked(tenant, request)
    if locked.state == FulfillmentState.FAILED:
        locked.state = FulfillmentState.PENDING
    elif locked.state == FulfillmentState.CANCEL_FAILED:
        locked.state = FulfillmentState.CANCEL_PENDING
    else:
        raise ValidationError(_("Only a failed request can be retried."))
    before = locked.last_error
    locked.attempts, locked.next_attempt_at, locked.last_error = 0, None, ""
    save_request(locked, "state", "attempts", "next_attempt_at", "last_error")
    if locked.target.kind == FulfillmentTargetKind.HTTPS:
        enqueue_send(locked)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="orders.fulfilment_retried",
        target=locked,
        before={"last_error": before[:500]},
        after={"state": locked.state},
    )
    return locked


@transaction.atomic
def fulfilment_cancel_confirm(
    *, tenant: Tenant, request: FulfillmentRequest, actor: User | None = None
) -> FulfillmentRequest:
    """A person confirms the warehouse cancelled the order (a CSV or pick-list target, or a cancel the API
    refused and was settled by other means); audited."""
    locked = _locked(tenant, request)
    if locked.state not in (FulfillmentState.CANCEL_PENDING, FulfillmentState.CANCEL_FAILED):
        raise ValidationError(_("Only an order waiting for its cancel can be marked cancelled."))
    locked.state, locked.next_attempt_at = FulfillmentState.CANCELLED, None
    save_request(locked, "state", "next_attempt_at")
    audit_record(tenant=tenant, actor=actor, action="orders.fulfilment_cancel_confirmed", target=locked)
    return locked


def fulfilment_acknowledge(
    *, target: FulfillmentTarget, request_key: str, event: str, warehouse_reference: str = ""
) -> FulfillmentRequest | None:
    """The warehouse's callback (already verified with `signature_valid`): "accepted" → SENT with its reference;
    "cancelled" → CANCELLED (when the order is still open on the channel, it shows in the problems view).
    Idempotent. Returns the request, or None when the target has no request with that key."""
    if event not in ACKNOWLEDGE_EVENTS:
        raise ValueError(f"fulfilment_acknowledge handles {ACKNOWLEDGE_EVENTS}, not {event!r}")
    with tenant_scope(target.tenant), transaction.atomic():
        request = (
            fulfillment_request_qs_select_for_update()
            .filter(tenant_id=target.tenant_id, target=target, key=request_key)
            .select_related("order")
            .first()
        )
        if request is None:
            return None
        fields: list[str] = []
        if warehouse_reference and not request.warehouse_reference:
            request.warehouse_reference = warehouse_reference[:100]
            fields.append("warehouse_reference")
        if event == "accepted" and request.state in (
            FulfillmentState.PENDING,
            FulfillmentState.FAILED,
            FulfillmentState.SENT,
        ):
            request.state, request.next_attempt_at, request.last_error = FulfillmentState.SENT, None, ""
            request.sent_at = request.sent_at or timezone.now()
            fields += ["state", "next_attempt_at", "last_error", "sent_at"]
        elif event == "cancelled" and request.state not in (FulfillmentState.CANCELLED, FulfillmentState.SHIPPED):
            if request.order.status != OrderStatus.CANCELLED:
                request.last_error = _("The warehouse cancelled this order; the order is still open on the channel.")
                fields.append("last_error")
            request.state, request.next_attempt_at = FulfillmentState.CANCELLED, None
            fields += ["state", "next_attempt_at"]
        if fields:
            save_request(request, *fields)
        return request
