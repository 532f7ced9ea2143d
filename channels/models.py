"""Stores, their encrypted credentials, and the bookkeeping of the sync engine."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.crypto import EncryptedJSONField
from acorn.tenancy.models import TenantScopedModel
from channels.errors import error_summary
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, REGION_MARKETPLACES


class Platform(models.TextChoices):
    AMAZON = "amazon", _("Amazon")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")


class Region(models.TextChoices):
    NA = "NA", _("North America")
    EU = "EU", _("Europe")
    FE = "FE", _("Far East")


class StoreStatus(models.TextChoices):
    PENDING_AUTH = "pending_auth", _("Waiting for authorisation")
    ACTIVE = "active", _("Active")
    AUTH_INTERRUPTED = "auth_interrupted", _("Authorisation interrupted")
    # Tokens deleted, webhooks removed, syncs stopped; the data stays and the store holds no plan seat.
    # (The value is the one stores were saved with before "disconnect" had a page.)
    DISABLED = "disabled", _("Disconnected")


class DataPermission(models.TextChoices):
    ORDERS = "orders", _("Orders")
    INVENTORY = "inventory", _("Inventory")
    FINANCE = "finance", _("Finance")
    RETURNS = "returns", _("Returns")
    REPORTS = "reports", _("Reports")


# Derived from the one marketplace table (channels/marketplaces.py, itself from python-amazon-sp-api):
# code → (marketplace id, currency, country), region → codes, marketplace id → code.
AMAZON_MARKETPLACES: dict[str, tuple[str, str, str]] = {
    code: (m.marketplace_id, m.currency, m.country) for code, m in AMAZON_MARKETPLACE_TABLE.items()
}
AMAZON_REGION_MARKETPLACES: dict[str, tuple[str, ...]] = dict(REGION_MARKETPLACES)
AMAZON_MARKETPLACE_BY_ID = {m.marketplace_id: code for code, m in AMAZON_MARKETPLACE_TABLE.items()}

# Amazon asks sellers to re-authorise once a year; warn this long before.
REAUTHORIZATION_PERIOD = timedelta(days=365)
REAUTHORIZATION_WARNING = timedelta(days=30)
# A store whose authorisation was not completed within this long has expired: it holds no plan seat, does
# not block its name, and is removed (the consent link it sent the seller to is dead after 15 minutes).
AUTHORIZATION_EXPIRY = timedelta(hours=1)
# A resource whose runs failed this many times in a row makes the store "failing" (and notifies once).
FAILING_AFTER = 3


def _new_webhook_key() -> str:
    return secrets.token_urlsafe(18)


class Store(TenantScopedModel):
    """A connected sales channel account: one Amazon seller in one region, one Shopify shop, one Woo site."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=100)
    region = models.CharField(_("region"), max_length=2, choices=Region.choices, blank=True)
    marketplaces = models.JSONField(_("marketplaces"), default=list, blank=True)
    seller_id = models.CharField(_("seller id"), max_length=200, blank=True)
    # Where the vendor API lives. Blank means the vendor's public endpoint for the region; the
    # simulator (or a test double) sets its own URL here.
    endpoint = models.URLField(_("API endpoint"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=StoreStatus.choices, default=StoreStatus.PENDING_AUTH)
    status_reason = models.CharField(_("status reason"), max_length=300, blank=True)
    permissions = models.JSONField(_("data permissions"), default=list, blank=True)
    # Amazon: the Sellers API's getMarketplaceParticipations, asked on connect and re-authorisation — one
    # entry per marketplace the seller can sell in: {"marketplace_id", "code" ("" when ACORN does not know
    # it), "name", "country", "participating", "suspended", "store_name"}. Empty until asked.
    participations = models.JSONField(_("marketplace participations"), default=list, blank=True)
    participations_checked_at = models.DateTimeField(_("participations checked"), null=True, blank=True)
    authorized_at = models.DateTimeField(_("authorised"), null=True, blank=True)
    # When the "re-authorise within 30 days" notice went out for the current authorisation.
    reauthorization_warned_at = models.DateTimeField(null=True, blank=True)
    # Set when an owner or admin confirmed the deletion; the store goes in a task (services_lifecycle).
    delete_requested_at = models.DateTimeField(_("deletion requested"), null=True, blank=True)
    # Names the store in its webhook URL (WooCommerce signs with a per-store secret, so the URL must say
    # which store a delivery is for before the signature can be checked). Not a secret on its own.
    webhook_key = models.CharField(max_length=32, unique=True, default=_new_webhook_key, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="store_unique_name_per_tenant"),
            models.UniqueConstraint(
                fields=["tenant", "platform", "region", "seller_id"],
                condition=~models.Q(seller_id=""),
                name="store_unique_account_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def reauthorize_by(self) -> datetime | None:
        return self.authorized_at + REAUTHORIZATION_PERIOD if self.authorized_at else None

    def reauthorization_due_soon(self, *, channel_reauthorizes: bool) -> bool:
        """Whether the renewal date is near, for a channel that asks sellers to renew (Amazon, yearly);
        `channels.selectors.store_needs_reauthorization_soon` answers that question from the adapter."""
        deadline = self.reauthorize_by
        return channel_reauthorizes and deadline is not None and deadline - timezone.now() <= REAUTHORIZATION_WARNING

    def has_permission(self, permission: str) -> bool:
        return permission in (self.permissions or [])

    @property
    def authorization_expired(self) -> bool:
        """An authorisation started and never completed, long enough ago that it can no longer complete."""
        return self.status == StoreStatus.PENDING_AUTH and self.created_at < timezone.now() - AUTHORIZATION_EXPIRY

    def participating_codes(self) -> list[str] | None:
        """The marketplaces Amazon says the seller participates in (ACORN codes), or None when not yet asked."""
        if self.participations_checked_at is None:
            return None
        return [p["code"] for p in self.participations or [] if p.get("participating") and p.get("code")]

    def marketplaces_not_participating(self) -> list[str]:
        """Chosen marketplaces the seller does not participate in (none when participations are unknown)."""
        participating = self.participating_codes()
        if participating is None:
            return []
        return [code for code in self.marketplaces if code not in participating]

    def sync_marketplaces(self) -> list[str]:
        """The chosen marketplaces ACORN reads: those the seller participates in, when Amazon has said."""
        wrong = set(self.marketplaces_not_participating())
        return [code for code in self.marketplaces if code in AMAZON_MARKETPLACE_TABLE and code not in wrong]

    def marketplace_ids(self) -> list[str]:
        """Amazon's ids of the marketplaces ACORN reads (see sync_marketplaces)."""
        return [AMAZON_MARKETPLACE_TABLE[code].marketplace_id for code in self.sync_marketplaces()]

    def marketplace_labels(self) -> list[tuple[str, str]]:
        """(code, English name) of each chosen marketplace, for display (the name is translated there)."""
        return [
            (code, AMAZON_MARKETPLACE_TABLE[code].name if code in AMAZON_MARKETPLACE_TABLE else code)
            for code in self.marketplaces
        ]

    @property
    def failing_resources(self) -> list[str]:
        """Resources whose runs keep failing (uses prefetched `cursors` when there are)."""
        return sorted(c.resource for c in self.cursors.all() if c.consecutive_failures >= FAILING_AFTER)

    @property
    def display_state(self) -> str:
        """What the store list and page show: the status, or "expired" / "failing" where that says more."""
        if self.delete_requested_at is not None:
            return "deleting"
        if self.authorization_expired:
            return "expired"
        if self.status == StoreStatus.ACTIVE and self.failing_resources:
            return "failing"
        return str(self.status)


class StoreCredential(TenantScopedModel):
    """The store's secrets (refresh token, access token, consumer secret, webhook secret), encrypted."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="credential")
    secrets = EncryptedJSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store credential")
        verbose_name_plural = _("store credentials")

    def __str__(self) -> str:
        # Never the secrets themselves.
        return f"credential of store {self.store_id}"

    def __repr__(self) -> str:
        return f"<StoreCredential store={self.store_id}>"


class SyncCursor(TenantScopedModel):
    """Where the sync of one resource of one store stands, and the lease that keeps runs one at a time.

    `high_water` is the time up to which every record is known to be synced. A window in progress is
    pinned by `window_start` / `window_end` / `page_token`, so an interrupted run resumes mid-window.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="cursors")
    resource = models.CharField(_("resource"), max_length=30)
    high_water = models.DateTimeField(_("synced up to"), null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    page_token = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_run = models.CharField(max_length=32, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    # When the last run ended caught up: every record updated before this moment (the vendor's freshest
    # time when the run's last window opened) is in ACORN.
    up_to_date_as_of = models.DateTimeField(_("up to date as of"), null=True, blank=True)
    last_status = models.CharField(_("last run"), max_length=12, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")
        constraints = [models.UniqueConstraint(fields=["store", "resource"], name="synccursor_unique_resource")]
        indexes = [models.Index(fields=["next_run_at"], name="synccursor_due")]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.resource}"

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures >= FAILING_AFTER

    @property
    def is_behind(self) -> bool:
        """The last run stopped before it caught up; another is on its way."""
        return self.last_status == SyncRunStatus.PARTIAL


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Behind (continues at once)")
    FAILED = "failed", _("Failed")
    AUTH_FAILED = "auth_failed", _("Authorisation failed")


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Sync now")
    CONNECT = "connect", _("First sync")
    COMMAND = "command", _("Command line")
    CATCH_UP = "catch_up", _("Catching up")


class SyncRun(TenantScopedModel):
    """One run of one sync job: what it fetched and wrote, and how it ended."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sync_runs")
    resource = models.CharField(_("resource"), max_length=30)
    trigger = models.CharField(_("trigger"), max_length=10, choices=SyncTrigger.choices)
    trace_id = models.CharField(_("trace id"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=SyncRunStatus.choices, default="running")
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    fetched = models.PositiveIntegerField(_("fetched"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("unchanged"), default=0)
    quarantined = models.PositiveIntegerField(_("quarantined"), default=0)
    retries = models.PositiveIntegerField(_("retries"), default=0)
    # Whether the run ended caught up (a window it opened was read to its end), and how far it got.
    caught_up = models.BooleanField(_("caught up"), default=False)
    synced_to = models.DateTimeField(_("synced up to"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["store", "resource", "-started_at"], name="syncrun_store_time")]

    def __str__(self) -> str:
        return f"{self.resource} {self.status} {self.trace_id}"

    @property
    def is_running(self) -> bool:
        return self.status == SyncRunStatus.RUNNING

    @property
    def error_summary(self) -> str:
        """What went wrong, in the reader's language (channels.errors); the vendor's text stays in `message`."""
        return error_summary(code=self.error_code, status=self.status)

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    def summary(self) -> dict[str, Any]:
        """What `sync_store --json` prints."""
        return {
            "sync_run_id": self.pk,
            "store_id": self.store_id,
            "resource": self.resource,
            "status": self.status,
            "trace_id": self.trace_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "pages": self.pages,
            "fetched": self.fetched,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "quarantined": self.quarantined,
            "retries": self.retries,
            "caught_up": self.caught_up,
            "synced_to": self.synced_to.isoformat() if self.synced_to else None,
            "error_code": self.error_code,
            "message": self.message,
        }


class QuarantinedRecord(TenantScopedModel):
    """A vendor record that could not be parsed, kept raw with the reason. Seen again → counted, not duplicated."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="quarantined_records")
    resource = models.CharField(_("resource"), max_length=30)
    sync_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    fingerprint = models.CharField(max_length=64)
    reason = models.TextField(_("reason"))
    raw = models.TextField(_("raw payload"))
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    seen_count = models.PositiveIntegerField(_("times seen"), default=1)

    class Meta:
        verbose_name = _("quarantined record")
        verbose_name_plural = _("quarantined records")
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "resource", "fingerprint"], name="quarantine_unique_payload")
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.external_id or '?'}: {self.reason[:60]}"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    RETRYING = "retrying", _("Waiting to retry")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class WebhookEvent(TenantScopedModel):
    """A verified webhook delivery, stored before it is acted on. (store, event id) is unique, so a
    delivery the vendor sends again is recognised and acted on once.

    A worker acts on it only after claiming it (received / retrying → processing, one conditional UPDATE);
    `next_attempt_at` is when it may be claimed again: the end of a claim while processing (a worker that
    died lets it go then), the retry time after a failure. After the last attempt it stays failed."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_events")
    topic = models.CharField(_("topic"), max_length=60)
    event_id = models.CharField(_("event id"), max_length=100)
    resource_id = models.CharField(_("resource id"), max_length=100, blank=True)
    payload = models.TextField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["store", "event_id"], name="webhook_event_unique")]
        indexes = [
            models.Index(fields=["store", "-received_at"], name="webhook_store_received"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"
