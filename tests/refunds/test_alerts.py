"""Refund-rate thresholds and alerts: the default and its overrides, one alert per crossing with one email per
subscribed member, hysteresis, acknowledgement, per-store thresholds, minimum units, tenant isolation, and the
hook that evaluates after refunds arrive. Rates come from the daily rollup rows (what refund_rates sums)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, ProductCategory, Role, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Store
from inventory.models import Product
from refunds import alerts
from refunds.alerts import alerts_evaluate, threshold_default, threshold_for, threshold_save
from refunds.models import (
    AlertStatus,
    ReasonTag,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundRateAlert,
    RefundRateDaily,
    RefundRateThreshold,
    RefundStatus,
    ThresholdScope,
)
from refunds.tasks import evaluate_refund_alerts_task
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
_numbers = count(1)


# --- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon US")


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, platform="shopify", name="Shop EU", region="", marketplaces=[])


@pytest.fixture
def mug(tenant: Tenant) -> Product:
    with tenant_scope(tenant):
        return Product.objects.create(tenant=tenant, sku="MUG", name="Enamel mug")


@pytest.fixture
def team(tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    """Every role once; the refund_rate_alert kind goes to owner, admin and operator."""
    quiet_admin = make_member(tenant, Role.ADMIN, "quiet-admin@alpha.example")
    quiet_admin.email_notifications = False
    quiet_admin.save(update_fields=["email_notifications"])
    return {
        "owner": owner,
        "admin": make_member(tenant, Role.ADMIN, "admin@alpha.example"),
        "quiet_admin": quiet_admin,
        "operator": make_member(tenant, Role.OPERATOR, "operator@alpha.example"),
        "finance": make_member(tenant, Role.FINANCE, "finance@alpha.example"),
        "support": make_member(tenant, Role.SUPPORT, "support@alpha.example"),
    }


@pytest.fixture(autouse=True)
def _scope(tenant: Tenant) -> Iterator[None]:
    with tenant_scope(tenant):
        yield


def sales(product: Product, store: Store, *, sold: int, refunded: int, day: date = TODAY) -> None:
    """Set the rollup row of the SKU in the store on the day (what refund_rates sums)."""
    RefundRateDaily.objects.update_or_create(
        tenant_id=store.tenant_id,
        product=product,
        store=store,
        day=day,
        defaults={"sold_units": sold, "refunded_units": refunded, "cohort_refunded_units": refunded},
    )


def tagged_refund(store: Store, product: Product, tag: str, *, days_ago: int = 1, quantity: int = 1) -> Refund:
    n = next(_numbers)
    refund = Refund.objects.create(
        tenant_id=store.tenant_id,
        store=store,
        order_external_id=f"ORDER-{n}",
        external_id=f"R-{n}",
        dedupe_key=f"R-{n}",
        origin=RefundOrigin.CHANNEL,
        status=RefundStatus.SUCCEEDED,
        currency="USD",
        amount=Decimal("10"),
        refunded_at=datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) - timedelta(days=days_ago),
        tag=tag,
    )
    RefundLine.objects.create(
        tenant_id=store.tenant_id, refund=refund, product=product, sku=product.sku, quantity=quantity
    )
    return refund


def evaluate(
    tenant: Tenant,
    enqueued: EnqueuedTasks,
    capture: Callable[..., Any],
    **kwargs: Any,
) -> dict[str, int]:
    """Evaluate as the task does, commit, and run what was queued on commit (the emails)."""
    with capture(execute=True), transaction.atomic():
        counts = alerts_evaluate(tenant=tenant, today=TODAY, **kwargs)
    enqueued.run_all()
    return counts


def outbox_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- thresholds -------------------------------------------------------------------------------------------------


def test_the_default_is_created_once_with_8_percent_over_30_days_and_20_units(tenant: Tenant) -> None:
    first = threshold_default(tenant=tenant)
    second = threshold_default(tenant=tenant)

    assert first.pk == second.pk
    assert (first.scope, first.rate_percent, first.window_days, first.min_units_sold) == (
        ThresholdScope.DEFAULT,
        Decimal("8"),
        30,
        20,
    )


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1"), Decimal("100.01")])
def test_a_threshold_rate_must_be_above_0_and_at_most_100(tenant: Tenant, owner: Membership, rate: Decimal) -> None:
    threshold = RefundRateThreshold(scope=ThresholdScope.CATEGORY, category="home", rate_percent=rate)

    with pytest.raises(ValidationError) as error:
        threshold_save(tenant=tenant, threshold=threshold, actor=owner.user)

    assert "rate_percent" in error.value.message_dict


def test_a_threshold_window_must_be_7_30_or_90_days(tenant: Tenant, owner: Membership) -> None:
    threshold = RefundRateThreshold(scope=ThresholdScope.CATEGORY, category="home", rate_percent=5, window_days=14)

    with pytest.raises(ValidationError) as error:
        threshold_save(tenant=tenant, threshold=threshold, actor=owner.user)

    assert "window_days" in error.value.message_dict


def test_a_sku_threshold_needs_a_sku_of_the_company(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, mug: Product
) -> None:
    with tenant_scope(other_tenant):
        theirs = Product.objects.create(tenant=other_tenant, sku="THEIRS", name="Not ours")

    for product in (None, theirs):
        threshold = RefundRateThreshold(scope=ThresholdScope.PRODUCT, product=product, rate_percent=5)
        with pytest.raises(ValidationError) as error:
            threshold_save(tenant=tenant, threshold=threshold, actor=owner.user)
        assert "product" in error.value.message_dict
    with tenant_scope(other_tenant), pytest.raises(ValidationError):
        threshold_save(
            tenant=tenant,
            threshold=RefundRateThreshold(scope=ThresholdScope.STORE, store=StoreFactory(tenant=other_tenant)),
            actor=owner.user,
        )


def test_one_threshold_per_sku_and_the_change_is_audited(tenant: Tenant, owner: Membership, mug: Product) -> None:
    # given: an override for the mug
    saved = threshold_save(
        tenant=tenant,
        threshold=RefundRateThreshold(scope=ThresholdScope.PRODUCT, product=mug, rate_percent=Decimal("5"), store=None),
        actor=owner.user,
    )

    # when: a second one for the same SKU
    with pytest.raises(ValidationError):
        threshold_save(
            tenant=tenant,
            threshold=RefundRateThreshold(scope=ThresholdScope.PRODUCT, product=mug, rate_percent=Decimal("9")),
            actor=owner.user,
        )

    # and the first one is changed
    saved.rate_percent = Decimal("6")
    threshold_save(tenant=tenant, threshold=saved, actor=owner.user)

    # then
    events = list(AuditEvent.objects.filter(tenant=tenant, object_id=str(saved.pk)).order_by("pk"))
    assert [event.action for event in events] == ["refunds.threshold_created", "refunds.threshold_updated"]
    assert events[1].before["rate_percent"] in ("5.00", "5")
    assert events[1].after["rate_percent"] in ("6", "6.00")
    assert RefundRateThreshold.objects.filter(tenant=tenant, scope=ThresholdScope.PRODUCT).count() == 1


def test_the_default_cannot_be_deleted_an_override_can(tenant: Tenant, owner: Membership, store: Store) -> None:
    default = threshold_default(tenant=tenant)
    override = threshold_save(
        tenant=tenant,
        threshold=RefundRateThreshold(scope=ThresholdScope.STORE, store=store, rate_percent=Decimal("4")),
        actor=owner.user,
    )

    with pytest.raises(ValidationError):
        alerts.threshold_delete(tenant=tenant, threshold=default, actor=owner.user)
    alerts.threshold_delete(tenant=tenant, threshold=override, actor=owner.user)

    assert list(RefundRateThreshold.objects.filter(tenant=tenant)) == [default]
    assert AuditEvent.objects.filter(tenant=tenant, action="refunds.threshold_deleted").count() == 1


def test_the_most_specific_enabled_threshold_applies(
    tenant: Tenant, owner: Membership, mug: Product, store: Store, shop: Store
) -> None:
    # given: the default, an override for the company's main category, one for the store and one for the mug
    tenant.main_category = ProductCategory.HOME
    tenant.save(update_fields=["main_category"])
    default = threshold_default(tenant=tenant)
    other = Product.objects.create(tenant=tenant, sku="PLATE", name="Plate")

    def save(**values: Any) -> RefundRateThreshold:
        return threshold_save(
            tenant=tenant, threshold=RefundRateThreshold(rate_percent=Decimal("5"), **values), actor=owner.user
        )

    assert threshold_for(tenant=tenant, product=mug) == default
    category = save(scope=ThresholdScope.CATEGORY, category=ProductCategory.HOME)
    assert threshold_for(tenant=tenant, product=mug) == category
    in_store = save(scope=ThresholdScope.STORE, store=store)
    assert threshold_for(tenant=tenant, product=mug, store=store) == in_store
    assert threshold_for(tenant=tenant, product=mug, store=shop) == category
    for_mug = save(scope=ThresholdScope.PRODUCT, product=mug)

    # then: SKU > store > category > default; a disabled one is passed over
    assert threshold_for(tenant=tenant, product=mug, store=store) == for_mug
    assert threshold_for(tenant=tenant, product=other, store=store) == in_store
    assert threshold_for(tenant=tenant, product=other) == category
    for_mug.enabled = False
    threshold_save(tenant=tenant, threshold=for_mug, actor=owner.user)
    assert threshold_for(tenant=tenant, product=mug, store=store) == in_store


def test_a_category_override_of_another_category_does_not_apply(
    tenant: Tenant, owner: Membership, mug: Product
) -> None:
    tenant.main_category = ProductCategory.TOYS
    tenant.save(update_fields=["main_category"])
    threshold_save(
        tenant=tenant,
        threshold=RefundRateThreshold(scope=ThresholdScope.CATEGORY, category="home", rate_percent=Decimal("1")),
        actor=owner.user,
    )

    assert threshold_for(tenant=tenant, product=mug) == threshold_default(tenant=tenant)


# --- DONE WHEN: one alert and one email per subscribed member, no more, resolved when the rate falls ------------


def test_a_sku_over_its_threshold_raises_one_alert_and_one_email_per_subscribed_member(
    tenant: Tenant,
    other_owner: Membership,
    team: dict[str, Membership],
    mug: Product,
    store: Store,
    shop: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: 100 sold across two channels, 10 refunded (10 % > 8 %); tagged refunds in the window
    sales(mug, store, sold=60, refunded=7)
    sales(mug, shop, sold=40, refunded=3, day=TODAY - timedelta(days=3))
    tagged_refund(store, mug, ReasonTag.DAMAGED)
    tagged_refund(store, mug, ReasonTag.DAMAGED)
    tagged_refund(shop, mug, ReasonTag.SIZE_FIT)
    tagged_refund(store, mug, ReasonTag.DAMAGED, days_ago=45)  # outside the 30 days
    mail.outbox.clear()

    # when
    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: one alert across channels with the figures and the top tags
    assert counts == {"raised": 1, "updated": 0, "resolved": 0}
    alert = RefundRateAlert.objects.get(tenant=tenant)
    assert (alert.product, alert.store, alert.scope_key, alert.status) == (mug, None, "all", AlertStatus.OPEN)
    assert (alert.window_days, alert.threshold_percent, alert.rate_percent) == (30, Decimal("8"), Decimal("10"))
    assert (alert.units_sold, alert.units_refunded) == (100, 10)
    assert alert.top_tags[0]["tag"] == ReasonTag.DAMAGED
    assert sum(tag["count"] for tag in alert.top_tags) == 3
    # one notification per subscribed member (owner, admins, operator), one email each unless switched off
    notified = Notification.objects.filter(tenant=tenant, kind="refund_rate_alert")
    assert sorted(n.recipient.email for n in notified) == sorted(
        ["owner@alpha.example", "admin@alpha.example", "quiet-admin@alpha.example", "operator@alpha.example"]
    )
    assert outbox_to() == ["admin@alpha.example", "operator@alpha.example", "owner@alpha.example"]
    body = mail.outbox[0].body
    assert "MUG" in body and "10.00%" in body and "30" in body
    assert "Damaged" in body or "damaged" in body.lower()
    assert f"http://testserver{alerts.alert_link(alert)}" in body
    with dangerously_unscoped():
        assert not Notification.objects.filter(recipient=other_owner.user).exists()

    # when: more refunds arrive, the rate climbs, the evaluation runs again (twice)
    mail.outbox.clear()
    sales(mug, store, sold=60, refunded=12)
    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: no second alert and no email; the alert follows the latest figures
    assert counts == {"raised": 0, "updated": 1, "resolved": 0}
    alert.refresh_from_db()
    assert RefundRateAlert.objects.filter(tenant=tenant).count() == 1
    assert (alert.rate_percent, alert.latest_rate_percent, alert.units_refunded) == (
        Decimal("10"),
        Decimal("15"),
        15,
    )
    assert mail.outbox == []
    assert notified.count() == 4

    # when: sales catch up and the rate falls back under the threshold
    sales(mug, store, sold=300, refunded=12)
    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: resolved, quietly
    assert counts["resolved"] == 1
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None
    assert alert.latest_rate_percent == Decimal("4.41")
    assert mail.outbox == []


def test_below_the_minimum_units_sold_no_alert_is_raised(
    tenant: Tenant,
    team: dict[str, Membership],
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    sales(mug, store, sold=19, refunded=10)  # 52 % of 19 units

    assert evaluate(tenant, enqueued, django_capture_on_commit_callbacks)["raised"] == 0

    sales(mug, store, sold=20, refunded=10)
    assert evaluate(tenant, enqueued, django_capture_on_commit_callbacks)["raised"] == 1


def test_exactly_at_the_threshold_is_not_over_it(
    tenant: Tenant, mug: Product, store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    sales(mug, store, sold=100, refunded=8)

    assert evaluate(tenant, enqueued, django_capture_on_commit_callbacks)["raised"] == 0


def test_hysteresis_a_rate_just_under_the_threshold_keeps_the_alert_open(
    tenant: Tenant,
    team: dict[str, Membership],
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: an alert at 10 %
    sales(mug, store, sold=100, refunded=10)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    # when: 7.5 % (under 8 %, above the resolve line of 7.2 %) and then back to 9 %
    sales(mug, store, sold=200, refunded=15)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    alert = RefundRateAlert.objects.get(tenant=tenant)
    assert alert.status == AlertStatus.OPEN
    sales(mug, store, sold=200, refunded=18)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: still the one alert, nothing sent
    assert RefundRateAlert.objects.filter(tenant=tenant).count() == 1
    assert mail.outbox == []

    # when: 7.2 % (the resolve line)
    sales(mug, store, sold=250, refunded=18)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_an_acknowledged_alert_stays_quiet_until_it_resolves_then_a_new_crossing_raises_again(
    tenant: Tenant,
    team: dict[str, Membership],
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    sales(mug, store, sold=100, refunded=10)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    alert = RefundRateAlert.objects.get(tenant=tenant)
    operator = team["operator"].user

    # a note is required
    with pytest.raises(ValidationError):
        alerts.alert_acknowledge(tenant=tenant, alert=alert, actor=operator, note="  ")

    # when: acknowledged, then the rate climbs further
    alerts.alert_acknowledge(tenant=tenant, alert=alert, actor=operator, note="Supplier contacted")
    mail.outbox.clear()
    sales(mug, store, sold=100, refunded=30)
    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: no new alert, no email; the acknowledged one follows the figures
    assert counts["raised"] == 0
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledgement_note) == (
        AlertStatus.ACKNOWLEDGED,
        operator,
        "Supplier contacted",
    )
    assert alert.latest_rate_percent == Decimal("30")
    assert mail.outbox == []
    assert AuditEvent.objects.filter(tenant=tenant, action="refunds.alert_acknowledged").count() == 1
    with pytest.raises(ValidationError):  # only an open alert is acknowledged
        alerts.alert_acknowledge(tenant=tenant, alert=alert, actor=operator, note="again")

    # when: it falls back (resolves), then crosses again
    sales(mug, store, sold=100, refunded=1)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    sales(mug, store, sold=100, refunded=20)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: a new alert and new emails
    assert RefundRateAlert.objects.filter(tenant=tenant, status=AlertStatus.OPEN).count() == 1
    assert outbox_to() == ["admin@alpha.example", "operator@alpha.example", "owner@alpha.example"]


def test_a_store_threshold_evaluates_the_sku_in_that_store(
    tenant: Tenant,
    owner: Membership,
    mug: Product,
    store: Store,
    shop: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: 5 % for the shop over 7 days; the mug: 4 % overall (under the 8 % default), 10 % in the shop
    threshold_save(
        tenant=tenant,
        threshold=RefundRateThreshold(
            scope=ThresholdScope.STORE, store=shop, rate_percent=Decimal("5"), window_days=7, min_units_sold=10
        ),
        actor=owner.user,
    )
    sales(mug, store, sold=200, refunded=4)
    sales(mug, shop, sold=50, refunded=5, day=TODAY - timedelta(days=2))
    mail.outbox.clear()

    # when
    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: one alert, about the shop only
    assert counts["raised"] == 1
    alert = RefundRateAlert.objects.get(tenant=tenant)
    assert (alert.store, alert.scope_key, alert.window_days) == (shop, f"store:{shop.pk}", 7)
    assert (alert.rate_percent, alert.threshold_percent, alert.units_sold) == (Decimal("10"), Decimal("5"), 50)
    assert "Shop EU" in mail.outbox[0].body

    # when: the shop's sales leave the 7-day window
    sales(mug, shop, sold=50, refunded=5, day=TODAY - timedelta(days=8))
    RefundRateDaily.objects.filter(store=shop, day=TODAY - timedelta(days=2)).delete()
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: resolved
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_sku_override_wins_over_the_store_threshold_and_is_evaluated_across_channels(
    tenant: Tenant,
    owner: Membership,
    mug: Product,
    store: Store,
    shop: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    for values in ({"scope": ThresholdScope.STORE, "store": shop}, {"scope": ThresholdScope.PRODUCT, "product": mug}):
        threshold_save(
            tenant=tenant,
            threshold=RefundRateThreshold(rate_percent=Decimal("3"), min_units_sold=10, **values),
            actor=owner.user,
        )
    sales(mug, store, sold=100, refunded=2)
    sales(mug, shop, sold=50, refunded=5)  # 10 % in the shop, 4.67 % overall

    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    assert list(RefundRateAlert.objects.filter(tenant=tenant).values_list("scope_key", "rate_percent")) == [
        ("all", Decimal("4.67"))
    ]


def test_a_disabled_threshold_resolves_its_live_alert(
    tenant: Tenant,
    owner: Membership,
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sales(mug, store, sold=100, refunded=10)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    default = threshold_default(tenant=tenant)
    default.enabled = False
    threshold_save(tenant=tenant, threshold=default, actor=owner.user)

    counts = evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    assert counts["resolved"] == 1
    assert not RefundRateAlert.objects.filter(tenant=tenant).exclude(status=AlertStatus.RESOLVED).exists()


def test_only_the_given_skus_are_evaluated(
    tenant: Tenant, mug: Product, store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    plate = Product.objects.create(tenant=tenant, sku="PLATE", name="Plate")
    sales(mug, store, sold=100, refunded=10)
    sales(plate, store, sold=100, refunded=10)

    evaluate(tenant, enqueued, django_capture_on_commit_callbacks, product_ids=[plate.pk])

    assert list(RefundRateAlert.objects.filter(tenant=tenant).values_list("product__sku", flat=True)) == ["PLATE"]


def test_a_second_raise_of_the_same_alert_is_refused_by_the_constraint(
    tenant: Tenant, team: dict[str, Membership], mug: Product, store: Store, django_capture_on_commit_callbacks: Any
) -> None:
    """Two evaluations racing: the partial unique constraint lets one alert (and one notification) through."""
    sales(mug, store, sold=100, refunded=10)
    threshold = threshold_default(tenant=tenant)
    check = alerts._Check(mug.pk, "all", None, threshold)
    rate = alerts.refund_rates(tenant=tenant, window_days=30, today=TODAY)[0]

    first = alerts._alert_raise(tenant=tenant, check=check, rate=rate, store=None, top_tags=[], now=datetime.now(UTC))
    second = alerts._alert_raise(tenant=tenant, check=check, rate=rate, store=None, top_tags=[], now=datetime.now(UTC))

    assert (first, second) == (True, False)
    assert RefundRateAlert.objects.filter(tenant=tenant).count() == 1
    assert Notification.objects.filter(tenant=tenant, kind="refund_rate_alert").count() == 4


# --- tenants ----------------------------------------------------------------------------------------------------


def test_another_tenants_refunds_never_raise_or_count_in_our_alerts(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: the other company's mug at 50 %, ours at 10 %
    with tenant_scope(other_tenant):
        their_store = StoreFactory(tenant=other_tenant)
        their_mug = Product.objects.create(tenant=other_tenant, sku="MUG", name="Their mug")
        sales(their_mug, their_store, sold=100, refunded=50)
    sales(mug, store, sold=100, refunded=10)
    mail.outbox.clear()

    # when: our evaluation runs
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)

    # then: our alert only counts our figures; nothing of theirs is raised; they get no email
    alert = RefundRateAlert.objects.get(tenant=tenant)
    assert (alert.product, alert.units_sold, alert.units_refunded) == (mug, 100, 10)
    with dangerously_unscoped():
        assert not RefundRateAlert.objects.filter(tenant=other_tenant).exists()
        assert not Notification.objects.filter(recipient=other_owner.user).exists()
    assert outbox_to() == ["owner@alpha.example"]

    # and: their service cannot acknowledge our alert
    with pytest.raises(ValidationError):
        alerts.alert_acknowledge(tenant=other_tenant, alert=alert, actor=other_owner.user, note="mine now")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    # and: their evaluation raises theirs, to them alone
    mail.outbox.clear()
    with tenant_scope(other_tenant):
        evaluate(other_tenant, enqueued, django_capture_on_commit_callbacks)
    assert outbox_to() == ["owner@beta.example"]


def test_alert_selectors_see_only_the_tenants_alerts(
    tenant: Tenant,
    other_tenant: Tenant,
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sales(mug, store, sold=100, refunded=10)
    evaluate(tenant, enqueued, django_capture_on_commit_callbacks)
    alert = RefundRateAlert.objects.get(tenant=tenant)

    assert alerts.alert_get(tenant=tenant, pk=alert.pk) == alert
    with tenant_scope(other_tenant):
        assert alerts.alert_get(tenant=other_tenant, pk=alert.pk) is None
        assert list(alerts.alert_list(tenant=other_tenant)) == []
        assert alerts.alerts_open_count(tenant=other_tenant) == 0
    assert alerts.alerts_open_count(tenant=tenant) == 1


# --- when the evaluation runs -----------------------------------------------------------------------------------


def test_refunds_in_one_transaction_queue_one_evaluation_for_their_skus(
    tenant: Tenant, mug: Product, store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    plate = Product.objects.create(tenant=tenant, sku="PLATE", name="Plate")
    first = tagged_refund(store, mug, ReasonTag.DAMAGED)
    second = tagged_refund(store, plate, ReasonTag.DAMAGED)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        alerts.refunds_changed(tenant_id=tenant.pk, product_ids=alerts.refund_product_ids([first.pk]))
        alerts.refunds_changed(tenant_id=tenant.pk, product_ids=alerts.refund_product_ids([second.pk]))
        alerts.refunds_changed(tenant_id=tenant.pk, product_ids=[])

    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("refunds.evaluate_refund_alerts", {"tenant_id": tenant.pk, "product_ids": sorted([mug.pk, plate.pk])})
    ]


def test_a_rolled_back_transaction_queues_nothing(
    tenant: Tenant, mug: Product, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        alerts.refunds_changed(tenant_id=tenant.pk, product_ids=[mug.pk])
        raise RuntimeError

    assert list(enqueued) == []


def test_the_task_and_the_beat_fan_out_evaluate_every_active_tenant(
    tenant: Tenant,
    other_tenant: Tenant,
    mug: Product,
    store: Store,
    enqueued: EnqueuedTasks,
) -> None:
    from refunds.tasks import dispatch_refund_alerts_task

    sales(mug, store, sold=100, refunded=30, day=timezone.now().date())
    other_tenant.is_active = False
    other_tenant.save(update_fields=["is_active"])

    assert dispatch_refund_alerts_task() >= 1
    assert ("refunds.evaluate_refund_alerts", {"tenant_id": tenant.pk}) in [
        (task.name, kwargs) for task, kwargs in enqueued
    ]
    assert all(kwargs.get("tenant_id") != other_tenant.pk for _task, kwargs in enqueued)

    result = evaluate_refund_alerts_task(tenant_id=tenant.pk, product_ids=[mug.pk])
    assert result["raised"] == 1


def test_the_threshold_list_starts_with_the_default_and_shows_only_the_companys(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, mug: Product, store: Store
) -> None:
    for values in (
        {"scope": ThresholdScope.STORE, "store": store},
        {"scope": ThresholdScope.CATEGORY, "category": ProductCategory.HOME},
        {"scope": ThresholdScope.PRODUCT, "product": mug},
    ):
        threshold_save(
            tenant=tenant, threshold=RefundRateThreshold(rate_percent=Decimal("5"), **values), actor=owner.user
        )
    threshold_default(tenant=tenant)
    with tenant_scope(other_tenant):
        threshold_default(tenant=other_tenant)

    assert [t.scope for t in alerts.threshold_list(tenant=tenant)] == ["default", "product", "store", "category"]
    with tenant_scope(other_tenant):
        assert [t.scope for t in alerts.threshold_list(tenant=other_tenant)] == ["default"]


# --- DONE WHEN, with simulator data: Shopify orders and refunds synced, console refunds executed on Shopify ----


def test_with_simulator_data_a_sku_pushed_over_raises_one_alert_and_one_email_per_member(
    tenant: Tenant,
    team: dict[str, Membership],
    settings: Any,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from inventory.models import SkuMapping
    from orders.models import Order, OrderLine
    from refunds import approvals
    from refunds.rates import refund_rates, rollup_rebuild_tenant
    from simulator.server import SimulatorServer
    from simulator.world import ManualClock, World
    from tests.channels import test_shopify_e2e as shop_e2e
    from tests.channels.test_amazon_e2e import NOW, _sync_until_done
    from tests.refunds.test_execution_e2e import _sync_refunds_twice

    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    today = NOW.date()
    with SimulatorServer(seed=37, world=World(seed=37, clock=ManualClock(NOW))) as sim:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        sim.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=8, history_days=25)
        # given: the shop's orders and refunds synced over real HTTP; every channel SKU mapped to a master SKU
        store = shop_e2e._connect(tenant, sim)
        _sync_until_done(store)
        _sync_refunds_twice(store, sim)
        for sku in sorted(set(OrderLine.objects.filter(order__store=store).values_list("sku", flat=True)) - {""}):
            product = Product.objects.create(tenant=tenant, sku=f"M-{sku}"[:100], name=sku)
            SkuMapping.objects.create(tenant=tenant, store=store, channel_sku=sku, product=product)
        rollup_rebuild_tenant(tenant=tenant, today=today)
        rates = refund_rates(tenant=tenant, window_days=30, today=today)
        target = max(rates, key=lambda rate: (rate.units_sold, rate.sku))
        assert target.units_sold >= 5
        product = Product.objects.get(pk=target.product_id)
        # the SKU's own threshold sits half a unit above its current refunds; nothing else is watched
        default = threshold_default(tenant=tenant)
        default.enabled = False
        threshold_save(tenant=tenant, threshold=default, actor=team["owner"].user)
        line_percent = (Decimal(100) * (Decimal(target.units_refunded) + Decimal("0.5")) / target.units_sold).quantize(
            Decimal("0.01")
        )
        threshold_save(
            tenant=tenant,
            threshold=RefundRateThreshold(
                scope=ThresholdScope.PRODUCT, product=product, rate_percent=line_percent, min_units_sold=1
            ),
            actor=team["owner"].user,
        )
        approvals.policy_update(
            tenant=tenant,
            one_approval_from=Decimal("1000000"),
            two_approvals_from=Decimal("1000000"),
            approver_roles=approvals.approver_roles_possible(),
            actor=None,
        )
        assert alerts_evaluate(tenant=tenant, today=today)["raised"] == 0
        paid = {
            str(o["legacy_id"])
            for o in sim.shopify.visible_orders(shop_e2e.SHOP)
            if o["financial_status"] == "PAID" and o["presentment_currency"] == "EUR"
        }
        sku = product.name
        lines = list(
            OrderLine.objects.filter(
                order__store=store, order__external_id__in=paid, sku=sku, quantity__gte=1, item_amount__gt=0
            )
            .exclude(order_id__in=Refund.objects.filter(store=store, order__isnull=False).values("order_id"))
            .order_by("pk")
        )
        assert len(lines) >= 2, "the simulator should have two paid orders of the SKU"
        mail.outbox.clear()

        def refund_one_unit() -> None:
            """A person refunds one unit in the console (the first line the order still allows); the execution
            task refunds it on Shopify."""
            while lines:
                line = lines.pop(0)
                try:
                    with django_capture_on_commit_callbacks(execute=True):
                        refund = approvals.refund_request(
                            order=Order.objects.get(pk=line.order_id),
                            lines=[(line, 1)],
                            shipping=False,
                            note="Broken",
                            restock=False,
                            actor=team["operator"].user,
                        )
                except ValidationError:
                    continue  # e.g. a discount leaves less on the order than the unit's price
                break
            else:
                raise AssertionError("no order of the SKU left to refund")
            assert refund.status == RefundStatus.APPROVED
            for _round in range(3):  # execution → (on commit) alert evaluation → (on commit) emails
                queued = list(enqueued)
                enqueued.clear()
                for task, kwargs in queued:
                    with django_capture_on_commit_callbacks(execute=True):
                        task(**kwargs)
            refund.refresh_from_db()
            assert refund.status == RefundStatus.SUCCEEDED

        # when: one unit more is refunded on Shopify through ACORN
        refund_one_unit()

        # then: exactly one alert and one email per subscribed member (owner, admin, operator)
        alert = RefundRateAlert.objects.get(tenant=tenant)
        assert (alert.product, alert.scope_key, alert.status) == (product, "all", AlertStatus.OPEN)
        assert alert.units_refunded == target.units_refunded + 1
        assert outbox_to() == ["admin@alpha.example", "operator@alpha.example", "owner@alpha.example"]

        # when: another unit is refunded, and the beat's evaluation runs too
        mail.outbox.clear()
        refund_one_unit()
        with django_capture_on_commit_callbacks(execute=True):
            evaluate_refund_alerts_task(tenant_id=tenant.pk)

        # then: still one alert, no email; it shows the latest figures
        assert RefundRateAlert.objects.filter(tenant=tenant).count() == 1
        alert.refresh_from_db()
        assert alert.units_refunded == target.units_refunded + 2
        assert mail.outbox == []

        # when: the line moves well above the SKU's rate (a person raises the threshold)
        threshold = RefundRateThreshold.objects.get(tenant=tenant, scope=ThresholdScope.PRODUCT)
        threshold.rate_percent = min(Decimal(100), alert.latest_rate_percent * 2 + 1)
        threshold_save(tenant=tenant, threshold=threshold, actor=team["owner"].user)
        evaluate_refund_alerts_task(tenant_id=tenant.pk)

        # then: the rate is back under: resolved
        alert.refresh_from_db()
        assert alert.status == AlertStatus.RESOLVED
