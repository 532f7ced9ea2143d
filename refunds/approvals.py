"""Console refund requests and their approval: one service layer for the console and the Django admin.

A request is made on an order of a shop (Shopify, WooCommerce) or a merchant-fulfilled Amazon order (FBA
refunds are Amazon's). Its money comes from the order lines' prices (principal and tax pro rata, shipping
when asked), signed like a channel refund (negative = money the seller gives back), and may never exceed
what is still refundable per line and on the whole order (refunds made plus requests still open). A line
refunded unit by unit gives back exactly the line: each request takes its share of the running total
quantised to the currency's minor unit, and the request that takes the last units takes what is left of
each component (`acorn.money.unit_share`).

How many approvals it needs: the tenant's ApprovalPolicy band of its amount in the reporting currency (no
rate known → the highest band, two), raised — never lowered — by the first matching classification rule's
`require_approvals`. Zero → APPROVED at once and queued for execution; otherwise PENDING_APPROVAL until
that many different people, none of them the requester, each with `refunds.approve` and a role in the
policy's `approver_roles`, approved it. One rejection (with a reason) ends it. Decisions are taken under the
refund row's lock, so two approvers at the same moment count once each and the refund moves on once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record
from acorn.money import allocate, format_amount, minor_unit_exponent, quantize_amount, unit_share
from acorn.notifications.messages import message
from acorn.notifications.models import Notification
from acorn.notifications.services import notify
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.permissions import PERMISSIONS, role_has_permission
from channels.adapters.base import Capability, RefundableOrder, RefundExecuting, RefundShipping
from channels.adapters.registry import adapter_class_for, platform_supports
from channels.models import Store
from inventory.models import Product
from inventory.selectors import mapping_resolve
from orders.models import FulfillmentChannel, Order, OrderLine
from refunds import rules
from refunds.execution import execution_queue
from refunds.models import (
    Approval,
    ApprovalDecision,
    ApprovalPolicy,
    ReasonTag,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundSource,
    RefundStatus,
    TagSource,
)
from refunds.services import refund_totals_fill

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Statuses whose money counts against the order: done, or on its way.
OPEN_REQUEST_STATUSES = (RefundStatus.PENDING_APPROVAL, RefundStatus.APPROVED, RefundStatus.EXECUTING)
COUNTED_STATUSES = (RefundStatus.SUCCEEDED, *OPEN_REQUEST_STATUSES)
MAX_APPROVALS = 2
VIA_CONSOLE, VIA_ADMIN = "console", "admin"


# --- the policy --------------------------------------------------------------------------------------------


def approver_roles_possible() -> list[str]:
    """Roles that hold refunds.approve (the policy may narrow them, never widen them)."""
    return [role.value for role in Role if role.value in PERMISSIONS["refunds.approve"]]


def policy_get(*, tenant: Tenant) -> ApprovalPolicy:
    """The tenant's approval policy, created with the defaults on first use (all approving roles)."""
    policy = ApprovalPolicy.objects.filter(tenant=tenant).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return ApprovalPolicy.objects.create(tenant=tenant, approver_roles=approver_roles_possible())
    except IntegrityError:  # created by a concurrent request
        return ApprovalPolicy.objects.get(tenant=tenant)


def policy_approver_roles(policy: ApprovalPolicy) -> list[str]:
    """The roles that may approve under this policy (empty or unknown values fall back to all of them)."""
    possible = approver_roles_possible()
    roles = [role for role in (policy.approver_roles or []) if role in possible]
    return roles or possible


@transaction.atomic
def policy_update(
    *,
    tenant: Tenant,
    one_approval_from: Decimal,
    two_approvals_from: Decimal,
    approver_roles: Sequence[str],
    actor: User | None,
) -> ApprovalPolicy:
    """Change the bands and the approving roles. Validated; audited."""
    errors: dict[str, list[str]] = {}
    if one_approval_from < 0:
        errors.setdefault("one_approval_from", []).append(_("Enter an amount of zero or more."))
    if two_approvals_from < one_approval_from:
        errors.setdefault("two_approvals_from", []).append(
            _("Two approvals must start at or above the one-approval amount.")
        )
    possible = approver_roles_possible()
    unknown = [role for role in approver_roles if role not in possible]
    if unknown:
        errors.setdefault("approver_roles", []).append(
            _("These roles cannot approve refunds: %(roles)s.") % {"roles": ", ".join(unknown)}
        )
    if not approver_roles:
        errors.setdefault("approver_roles", []).append(_("Choose at least one role that approves."))
    if errors:
        raise ValidationError(errors)
    policy = policy_get(tenant=tenant)
    policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
    before = _policy_state(policy)
    policy.one_approval_from, policy.two_approvals_from = one_approval_from, two_approvals_from
    policy.approver_roles = [role for role in possible if role in approver_roles]
    policy.updated_at = timezone.now()
    policy.full_clean()
    policy.save(update_fields=["one_approval_from", "two_approvals_from", "approver_roles", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.approval_policy_changed",
        target=policy,
        before=before,
        after=_policy_state(policy),
    )
    return policy


def _policy_state(policy: ApprovalPolicy) -> dict[str, Any]:
    return {
        "one_approval_from": str(policy.one_approval_from),
        "two_approvals_from": str(policy.two_approvals_from),
        "approver_roles": list(policy.approver_roles or []),
    }


def approvals_for_amount(*, policy: ApprovalPolicy, reporting_amount: Decimal | None) -> int:
    """The band: below one_approval_from → 0, from it → 1, from two_approvals_from → 2. No amount in the
    reporting currency (no rate) → 2: an amount nobody can place is treated as large."""
    if reporting_amount is None:
        return MAX_APPROVALS
    if reporting_amount >= policy.two_approvals_from:
        return 2
    if reporting_amount >= policy.one_approval_from:
        return 1
    return 0


# --- what an order still allows ----------------------------------------------------------------------------


def _refund_channel(store: Store) -> type[RefundExecuting] | None:
    """What the store's channel declares about refunds ACORN asks of it; None when it takes none."""
    if not platform_supports(store.platform, Capability.EXECUTE_REFUNDS):
        return None
    channel = adapter_class_for(store.platform)
    return channel if issubclass(channel, RefundExecuting) else None


def request_refusal(*, order: Order) -> str:
    """Why no refund can be requested on this order in ACORN ("" when one can): an order the channel fulfilled
    is the channel's to refund, then what the channel takes at all, whether there is anything to refund, and
    the channel's own rules (`RefundExecuting.refund_refusal`)."""
    if order.fulfillment_channel != FulfillmentChannel.MERCHANT:
        return _(
            "This Amazon order is fulfilled by Amazon (FBA): refund it in Seller Central; "
            "ACORN records the refund when Amazon reports it."
        )
    channel = _refund_channel(order.store)
    if channel is None:
        return _("Refunds cannot be requested on this channel.")
    if order.status in ("cancelled", "pending_payment"):
        return _("This order was not paid or is cancelled: there is nothing to refund.")
    return channel.refund_refusal(
        RefundableOrder(
            status=order.status,
            fulfillment_channel=order.fulfillment_channel,
            currency=order.currency,
            presentment_currency=order.presentment_currency,
        )
    )


@dataclass(frozen=True)
class RefundableLine:
    line: OrderLine
    refunded: int  # units refunded on the channel
    requested: int  # units in requests still open
    principal_taken: Decimal = Decimal(0)  # principal already refunded or requested (positive)
    tax_taken: Decimal = Decimal(0)  # tax already refunded or requested (positive)

    @property
    def remaining(self) -> int:
        return max(self.line.quantity - self.refunded - self.requested, 0)

    @property
    def taken(self) -> int:
        return self.line.quantity - self.remaining

    @property
    def value_left(self) -> Decimal:
        """The line's price and tax not yet refunded or requested (positive): the most an amount can give back."""
        return max(
            self.line.principal_amount + self.line.tax_amount - self.principal_taken - self.tax_taken, Decimal(0)
        )

    def principal_for(self, quantity: int) -> Decimal:
        """The principal `quantity` more units give back; the last units take what is left of it."""
        return unit_share(
            self.line.principal_amount,
            currency=self.line.currency,
            units=self.line.quantity,
            done=self.taken,
            taking=quantity,
            already=self.principal_taken,
        )

    def tax_for(self, quantity: int) -> Decimal:
        """The tax `quantity` more units give back; the last units take what is left of it."""
        return unit_share(
            self.line.tax_amount,
            currency=self.line.currency,
            units=self.line.quantity,
            done=self.taken,
            taking=quantity,
            already=self.tax_taken,
        )


def _counted_lines(order: Order, statuses: Sequence[str]) -> QuerySet[RefundLine]:
    return RefundLine.objects.filter(tenant_id=order.tenant_id, refund__order=order, refund__status__in=statuses)


def refundable_lines(*, order: Order) -> list[RefundableLine]:
    """Each line of the order with the units and the money refunded, requested and left."""
    lines = list(OrderLine.objects.filter(tenant_id=order.tenant_id, order=order).order_by("pk"))
    done: dict[int, int] = {}
    pending: dict[int, int] = {}
    principal: dict[int, Decimal] = {}
    tax: dict[int, Decimal] = {}
    by_external = {line.external_id: line.pk for line in lines}
    rows = _counted_lines(order, COUNTED_STATUSES).values_list(
        "order_line_id", "order_item_id", "quantity", "refund__status", "principal_amount", "tax_amount"
    )
    for line_pk, item_id, quantity, status, principal_amount, tax_amount in rows:
        key = line_pk or by_external.get(item_id)
        if key is None:
            continue
        target = done if status == RefundStatus.SUCCEEDED else pending
        target[key] = target.get(key, 0) + quantity
        # Refund components are signed from the seller's side: money given back is negative.
        principal[key] = principal.get(key, Decimal(0)) - principal_amount
        tax[key] = tax.get(key, Decimal(0)) - tax_amount
    return [
        RefundableLine(
            line=line,
            refunded=done.get(line.pk, 0),
            requested=pending.get(line.pk, 0),
            principal_taken=principal.get(line.pk, Decimal(0)),
            tax_taken=tax.get(line.pk, Decimal(0)),
        )
        for line in lines
    ]


def order_refunded_total(*, order: Order) -> Decimal:
    """What refunds made and requests still open take from the order (positive, in its currency)."""
    total = Refund.objects.filter(tenant_id=order.tenant_id, order=order, status__in=COUNTED_STATUSES).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal(0)


def order_shipping_refunded(*, order: Order) -> Decimal:
    """Shipping already given back or requested on the order (positive)."""
    total = Refund.objects.filter(tenant_id=order.tenant_id, order=order, status__in=COUNTED_STATUSES).aggregate(
        total=Sum("shipping_amount")
    )["total"]
    return -(total or Decimal(0))


def _line_shipping_left(order: Order, line: OrderLine) -> Decimal:
    """A line's own shipping not yet given back or requested (positive), for channels that refund it per item."""
    already = -(
        _counted_lines(order, COUNTED_STATUSES)
        .filter(Q(order_line=line) | Q(order_item_id=line.external_id))
        .aggregate(total=Sum("shipping_amount"))["total"]
        or Decimal(0)
    )
    return max(line.shipping_amount - already, Decimal(0))


def shipping_refundable(*, order: Order) -> bool:
    """True when some of the shipping the buyer paid is left to refund, so that the request form offers it: an
    order with free shipping (or its shipping already given back) does not."""
    channel = _refund_channel(order.store)
    if channel is not None and channel.refund_shipping == RefundShipping.PER_ITEM:
        lines = OrderLine.objects.filter(tenant_id=order.tenant_id, order=order, shipping_amount__gt=0)
        return any(_round(_line_shipping_left(order, line), order.currency) > 0 for line in lines)
    return _round(order.shipping_amount - order_shipping_refunded(order=order), order.currency) > 0


def _round(amount: Decimal, currency: str) -> Decimal:
    return quantize_amount(amount, currency)


# --- the request -------------------------------------------------------------------------------------------


def _link(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def refund_link(refund: Refund) -> str:
    """The console page of the refund (its detail page, else the approval queue)."""
    return _link("refunds:refund-detail", refund_pk=refund.pk) or _link("refunds:approval-queue")


def _membership(tenant: Tenant, user: User | None) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).first()


def _product_of(store: Store, sku: str) -> Product | None:
    resolved = mapping_resolve(store=store, sku=sku)
    return resolved.product if resolved is not None else None


@dataclass(frozen=True)
class RefundDraft:
    """A request worked out but not saved: the refund (its components and totals filled) and its lines, and
    the approvals its amount needs by the policy's bands (a rule may raise them when it is saved)."""

    refund: Refund
    lines: list[RefundLine]
    approvals_required: int


def amount_error(amount: Decimal, currency: str) -> str:
    """Why a typed amount cannot be refunded in this currency ("" when it can): positive, and no finer than
    the currency's minor unit (acorn.money.quantize_amount), so what is asked is exactly what is sent."""
    if amount <= 0:
        return _("Enter an amount above zero.")
    if quantize_amount(amount, currency) != amount:
        return _("%(currency)s amounts have at most %(places)d decimal places.") % {
            "currency": currency,
            "places": len(str(minor_unit_exponent(currency)).partition(".")[2]),
        }
    return ""


def _split_gross(amount: Decimal, *, principal: Decimal, tax: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """A gross amount (what the buyer gets) split into (principal, tax) in the proportion of the given ones,
    as the channel books a part refund of a taxed line; the two add up to the amount exactly."""
    weights = [max(principal, Decimal(0)), max(tax, Decimal(0))]
    if not any(weights):
        return quantize_amount(amount, currency), Decimal(0)
    parts = allocate(amount, weights, currency)
    return parts[0], parts[1]


def refund_amounts_supported(*, order: Order) -> tuple[bool, bool]:
    """(an amount on a line, an amount on the whole order with no item) — what the order's channel can refund
    besides whole units (`RefundExecuting.refunds_line_amounts` / `refunds_order_amounts`)."""
    channel = _refund_channel(order.store)
    if channel is None:
        return False, False
    return channel.refunds_line_amounts, channel.refunds_order_amounts


def refund_request_draft(
    *,
    order: Order,
    lines: Sequence[tuple[OrderLine, int]],
    shipping: bool,
    line_amounts: Mapping[int, Decimal] | None = None,
    goodwill: Decimal | None = None,
) -> RefundDraft:
    """Work out a request without saving it (the request itself, and the form's amount preview): units per
    line, an amount per line (less than the units' value, or with no units a price adjustment), the shipping,
    a goodwill amount on the whole order. Raises ValidationError naming what is wrong. Reads only."""
    tenant = order.tenant
    currency = order.currency
    amounts = {pk: amount for pk, amount in (line_amounts or {}).items() if amount is not None}
    on_lines, on_order = refund_amounts_supported(order=order)
    available = {entry.line.pk: entry for entry in refundable_lines(order=order)}
    errors: list[str] = []
    chosen: list[tuple[RefundableLine, int, Decimal | None]] = []
    units = {line.pk: quantity for line, quantity in lines}
    by_pk = {line.pk: line for line, _quantity in lines}
    for pk in amounts:
        if pk not in by_pk:
            by_pk[pk] = available[pk].line if pk in available else OrderLine(pk=pk)
            units[pk] = 0
    for pk, line in by_pk.items():
        quantity = units.get(pk, 0)
        amount = amounts.get(pk)
        entry = available.get(pk)
        if entry is None:
            raise ValidationError(_("A line does not belong to this order."))
        if quantity < 0:
            errors.append(_("%(sku)s: enter zero or more units.") % {"sku": line.sku})
            continue
        if quantity > entry.remaining:
            errors.append(
                _(
                    "%(sku)s: only %(left)d of %(ordered)d units can still be refunded "
                    "(%(refunded)d refunded, %(requested)d requested)."
                )
                % {
                    "sku": line.sku,
                    "left": entry.remaining,
                    "ordered": line.quantity,
                    "refunded": entry.refunded,
                    "requested": entry.requested,
                }
            )
            continue
        if amount is not None:
            problem = amount_error(amount, currency)
            if not problem and not on_lines:
                problem = _("This channel refunds whole units only: leave the amount empty.")
            if not problem:
                if quantity:
                    ceiling = entry.principal_for(quantity) + entry.tax_for(quantity)
                    if amount > ceiling:
                        problem = _(
                            "%(amount)s %(currency)s is more than the %(value)s %(currency)s the %(units)d unit(s) "
                            "are worth; leave the amount empty to refund them in full."
                        ) % {
                            "amount": format_amount(amount, currency),
                            "value": format_amount(ceiling, currency),
                            "currency": currency,
                            "units": quantity,
                        }
                else:
                    ceiling = entry.value_left
                    if amount > ceiling:
                        problem = _(
                            "%(amount)s %(currency)s is more than the %(left)s %(currency)s left to refund on "
                            "this line."
                        ) % {
                            "amount": format_amount(amount, currency),
                            "left": format_amount(max(ceiling, Decimal(0)), currency),
                            "currency": currency,
                        }
            if problem:
                errors.append(f"{line.sku}: {problem}")
                continue
        if quantity or amount is not None:
            chosen.append((entry, quantity, amount))
    if goodwill is not None:
        problem = amount_error(goodwill, currency)
        if not problem and not on_order:
            problem = _("This channel refunds an amount only against an order item: enter it on a line instead.")
        if problem:
            raise ValidationError({"goodwill": problem, **({"__all__": errors} if errors else {})})
    if errors:
        raise ValidationError(errors)
    refund_lines: list[RefundLine] = []
    for entry, quantity, amount in chosen:
        line = entry.line
        if quantity:
            principal, tax = entry.principal_for(quantity), entry.tax_for(quantity)
            if amount is not None:
                principal, tax = _split_gross(amount, principal=principal, tax=tax, currency=currency)
        else:
            principal, tax = _split_gross(
                amount or Decimal(0),
                principal=line.principal_amount - entry.principal_taken,
                tax=line.tax_amount - entry.tax_taken,
                currency=currency,
            )
        refund_lines.append(
            RefundLine(
                tenant=tenant,
                order_line=line,
                order_item_id=line.external_id,
                sku=line.sku,
                product=_product_of(order.store, line.sku),
                quantity=quantity,
                principal_amount=-principal,
                tax_amount=-tax,
            )
        )
    shipping_total = Decimal(0)
    if shipping:
        channel = _refund_channel(order.store)
        if channel is not None and channel.refund_shipping == RefundShipping.PER_ITEM:
            # The channel refunds shipping per order item: each chosen line's own shipping, what is left of it.
            for refund_line, (entry, _quantity, _amount) in zip(refund_lines, chosen, strict=True):
                left = _line_shipping_left(order, entry.line)
                refund_line.shipping_amount = -_round(left, currency)
                shipping_total += left
        else:
            shipping_total = max(order.shipping_amount - order_shipping_refunded(order=order), Decimal(0))
        shipping_total = _round(shipping_total, currency)
        if not shipping_total:
            raise ValidationError({"shipping": _("The order's shipping has already been refunded.")})
    if not refund_lines and not shipping_total and goodwill is None:
        raise ValidationError(_("Choose at least one unit to refund, an amount, or the shipping."))
    now = timezone.now()
    refund = Refund(
        tenant=tenant,
        store=order.store,
        order=order,
        order_external_id=order.external_id,
        marketplace=order.marketplace,
        origin=RefundOrigin.CONSOLE,
        status=RefundStatus.PENDING_APPROVAL,
        currency=currency,
        refunded_at=now,
        sources=[RefundSource.CONSOLE],
        created_at=now,
        updated_at=now,
    )
    refund.external_id = refund.dedupe_key = f"acorn-{refund.idempotency_key}"
    components = {
        "principal": sum((line.principal_amount for line in refund_lines), Decimal(0)),
        "tax": sum((line.tax_amount for line in refund_lines), Decimal(0)),
        "shipping": -shipping_total,
        # A goodwill amount is tied to no item: the channels report such a refund as an amount of the order.
        "other": -(goodwill or Decimal(0)),
    }
    refund.set_components(components)
    refund_totals_fill(refund, refund_lines)
    left = order.total_amount - order_refunded_total(order=order)
    if refund.amount > left:
        raise ValidationError(
            _("The refund of %(amount)s %(currency)s exceeds the %(left)s %(currency)s left on the order.")
            % {
                "amount": format_amount(refund.amount, currency),
                "currency": currency,
                "left": format_amount(max(left, Decimal(0)), currency),
            }
        )
    required = approvals_for_amount(policy=policy_get(tenant=tenant), reporting_amount=refund.reporting_amount)
    return RefundDraft(refund=refund, lines=refund_lines, approvals_required=required)


@transaction.atomic
def refund_request(
    *,
    order: Order,
    lines: Sequence[tuple[OrderLine, int]],
    shipping: bool,
    note: str,
    restock: bool,
    actor: User,
    tag: str = "",
    line_amounts: Mapping[int, Decimal] | None = None,
    goodwill: Decimal | None = None,
) -> Refund:
    """Ask for money back on an order (whole units, an amount on a line, a goodwill amount on the order, the
    shipping) with the reason tag the requester chose: validated against what is left, its approvals set by
    the policy and the rules, APPROVED and queued at once when none is needed. Audited; approvers are told."""
    tenant = order.tenant
    membership = _membership(tenant, actor)
    if membership is None or not role_has_permission(membership.role, "refunds.request"):
        raise PermissionDenied(_("You may not request refunds."))
    order = Order.objects.select_for_update().select_related("store").get(pk=order.pk, tenant=tenant)
    refusal = request_refusal(order=order)
    if refusal:
        raise ValidationError(refusal)
    if not note.strip():
        raise ValidationError({"note": _("Say why the buyer gets money back.")})
    if tag and tag not in ReasonTag.values:
        raise ValidationError({"tag": _("Choose a reason from the list.")})
    draft = refund_request_draft(
        order=order, lines=lines, shipping=shipping, line_amounts=line_amounts, goodwill=goodwill
    )
    refund, refund_lines = draft.refund, draft.lines
    currency = refund.currency
    refund.requested_by = actor
    refund.request_note = note.strip()
    refund.restock = restock
    if tag:
        refund.tag, refund.tag_source = tag, TagSource.PERSON
    refund.approvals_required = draft.approvals_required
    refund.full_clean(exclude=["matched_rule", "requested_by"])
    refund.save()
    for refund_line in refund_lines:
        refund_line.refund = refund
    RefundLine.objects.bulk_create(refund_lines)
    rule_required = _classify(refund)
    if rule_required is not None and rule_required > refund.approvals_required:
        refund.approvals_required = min(rule_required, MAX_APPROVALS)
        refund.save(update_fields=["approvals_required"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="refunds.refund_requested",
        target=refund,
        after={
            "order": order.external_id,
            "amount": str(refund.amount),
            "currency": currency,
            "reporting_amount": str(refund.reporting_amount) if refund.reporting_amount is not None else None,
            "approvals_required": refund.approvals_required,
            "lines": [
                {"sku": item.sku, "quantity": item.quantity, "amount": str(item.amount)} for item in refund_lines
            ],
            "shipping": str(-refund.shipping_amount),
            "goodwill": str(goodwill) if goodwill is not None else None,
            "tag": refund.tag,
            "restock": restock,
        },
    )
    if refund.approvals_required == 0:
        _move_to_approved(refund, actor=actor, reason="no_approval_needed")
    else:
        notify(
            tenant=tenant,
            kind="refund_approval",
            title=message(
                gettext_noop("Refund of %(amount)s %(currency)s on order %(order)s waits for approval"),
                amount=quantize_amount(refund.amount, currency),
                currency=currency,
                order=order.external_id,
            ),
            body=refund.request_note[:500],
            link=refund_link(refund),
        )
    return refund


def _classify(refund: Refund) -> int | None:
    """Let the tenant's rules tag it; the approvals the first matching rule requires (None: no opinion)."""
    rules.classify_refund(refund)
    rule_for = getattr(rules, "rule_for", None)
    rule = rule_for(refund) if callable(rule_for) else None
    if rule is None:
        refund.refresh_from_db(fields=["matched_rule"])
        rule = refund.matched_rule
    if rule is None or rule.require_approvals is None:
        return None
    return int(rule.require_approvals)


def _move_to_approved(refund: Refund, *, actor: User | None, reason: str) -> None:
    refund.status = RefundStatus.APPROVED
    refund.next_attempt_at = None
    refund.updated_at = timezone.now()
    refund.save(update_fields=["status", "next_attempt_at", "updated_at"])
    audit_record(
        tenant=refund.tenant,
        actor=actor,
        action="refunds.refund_approved",
        target=refund,
        after={"status": refund.status, "reason": reason},
    )

    execution_queue(refund)


# --- decisions ---------------------------------------------------------------------------------------------


def approval_refusal(
    *,
    refund: Refund,
    user: User | None,
    membership: Membership | None = None,
    policy: ApprovalPolicy | None = None,
) -> str:
    """Why this person may not approve or reject this refund now ("" when they may). A list page passes the
    member's membership and the policy once for all its rows."""
    if refund.status != RefundStatus.PENDING_APPROVAL:
        return _("This refund is not waiting for approval (it is: %(status)s).") % {
            "status": refund.get_status_display()
        }
    if membership is None or membership.tenant_id != refund.tenant_id:
        membership = _membership(refund.tenant, user)
    if membership is None or not role_has_permission(membership.role, "refunds.approve"):
        return _("Your role may not approve refunds.")
    if policy is None or policy.tenant_id != refund.tenant_id:
        policy = policy_get(tenant=refund.tenant)
    if membership.role not in policy_approver_roles(policy):
        return _("The company's approval policy does not let your role approve refunds.")
    if user is not None and refund.requested_by_id == user.pk:
        return _("You requested this refund: someone else must approve it.")
    if user is not None and any(approval.user_id == user.pk for approval in refund.approvals.all()):
        return _("You have already decided on this refund; a second approval must come from someone else.")
    return ""


def _locked(refund: Refund) -> Refund:
    return (
        Refund.objects.select_for_update(of=("self",))
        .select_related("tenant", "order", "store")
        .get(pk=refund.pk, tenant_id=refund.tenant_id)
    )


def _tell_requester(refund: Refund, title: str, body: str = "") -> None:
    if refund.requested_by_id is None:
        return
    Notification.objects.create(
        tenant=refund.tenant,
        recipient_id=refund.requested_by_id,
        kind="refund_approval",
        title=title[:200],
        body=body,
        link=refund_link(refund),
    )


@transaction.atomic
def refund_approve(*, refund: Refund, actor: User, via: str = VIA_CONSOLE) -> Refund:
    """One person's approval: recorded; the one that completes the count moves the refund to APPROVED and
    queues its execution after the commit. Refused (PermissionDenied / ValidationError) for the requester,
    a second vote of the same person, a role that may not approve, or a refund not waiting. Audited."""
    row = _locked(refund)
    refusal = approval_refusal(refund=row, user=actor)
    if refusal:
        raise PermissionDenied(refusal)
    Approval.objects.create(tenant=row.tenant, refund=row, user=actor, decision=ApprovalDecision.APPROVED, via=via)
    count = Approval.objects.filter(refund=row, decision=ApprovalDecision.APPROVED).count()
    audit_record(
        tenant=row.tenant,
        actor=actor,
        action="refunds.refund_approval_given",
        target=row,
        after={"approvals": count, "required": row.approvals_required, "via": via},
    )
    if count >= row.approvals_required:
        _move_to_approved(row, actor=actor, reason="approvals_complete")
        _tell_requester(
            row,
            _("Your refund on order %(order)s was approved") % {"order": row.order_external_id},
            _("It is being executed on the channel."),
        )
    refund.status = row.status
    return row


@transaction.atomic
def refund_reject(*, refund: Refund, actor: User, reason: str, via: str = VIA_CONSOLE) -> Refund:
    """Refuse the request, with a reason (required): REJECTED, the requester told. Audited."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the refund is rejected.")})
    row = _locked(refund)
    refusal = approval_refusal(refund=row, user=actor)
    if refusal:
        raise PermissionDenied(refusal)
    Approval.objects.create(
        tenant=row.tenant, refund=row, user=actor, decision=ApprovalDecision.REJECTED, reason=reason.strip(), via=via
    )
    row.status = RefundStatus.REJECTED
    row.updated_at = timezone.now()
    row.save(update_fields=["status", "updated_at"])
    audit_record(
        tenant=row.tenant,
        actor=actor,
        action="refunds.refund_rejected",
        target=row,
        after={"status": row.status, "reason": reason.strip(), "via": via},
    )
    _tell_requester(
        row,
        _("Your refund on order %(order)s was rejected") % {"order": row.order_external_id},
        reason.strip(),
    )
    refund.status = row.status
    return row


@transaction.atomic
def refund_cancel(*, refund: Refund, actor: User) -> Refund:
    """The requester (or an owner / admin) withdraws a request still waiting for approval. Audited."""
    row = _locked(refund)
    if row.status != RefundStatus.PENDING_APPROVAL:
        raise ValidationError(
            _("Only a refund waiting for approval can be cancelled (this one is: %(status)s).")
            % {"status": row.get_status_display()}
        )
    membership = _membership(row.tenant, actor)
    own = row.requested_by_id == actor.pk
    if membership is None or not (own or membership.role in (Role.OWNER, Role.ADMIN)):
        raise PermissionDenied(_("Only the requester, an owner or an admin can cancel this request."))
    row.status = RefundStatus.CANCELLED
    row.updated_at = timezone.now()
    row.save(update_fields=["status", "updated_at"])
    audit_record(
        tenant=row.tenant, actor=actor, action="refunds.refund_cancelled", target=row, after={"status": row.status}
    )
    refund.status = row.status
    return row


# --- reading -----------------------------------------------------------------------------------------------


def approval_queue(*, tenant: Tenant) -> QuerySet[Refund]:
    """Console requests waiting for approval, oldest first."""
    return (
        Refund.objects.filter(tenant=tenant, origin=RefundOrigin.CONSOLE, status=RefundStatus.PENDING_APPROVAL)
        .select_related("store", "order", "requested_by")
        .prefetch_related("approvals__user")
        .order_by("created_at", "pk")
    )


def approvals_given(refund: Refund) -> int:
    return sum(1 for approval in refund.approvals.all() if approval.decision == ApprovalDecision.APPROVED)
