"""The sync engine: domain apps register jobs; the engine runs them page by page, resumably.

A run takes the (store, resource) lease with a conditional UPDATE (no lock held across HTTP), then
loops: wait for a rate-limit token → the job fetches one page through the adapter → in ONE transaction
the job persists the page, malformed records are quarantined and the cursor advances → next page, until
the run has caught up or the time budget is spent (the next run resumes from the cursor). Retryable
errors are retried with backoff and jitter honouring Retry-After; an authorisation failure turns the
store to auth_interrupted and stops; an expired pagination token restarts the window from its start
(the job's persist is idempotent, so re-reading a page changes nothing).

Catching up. A window's upper end is fixed when the window opens: the vendor's freshest allowed time at
that moment (Orders API: the `lastUpdatedBefore` Amazon applies, two minutes before the request), or, for
a vendor that applies none, the moment it opened. A run ends caught up only when a window it opened
itself has been read to its end, so everything updated before the run started is in. A run that resumes
a window pinned by an earlier (interrupted) run therefore opens a fresh window as soon as that one is
done, and goes on until it has caught up or its time budget is spent: "Sync now" means "up to date now".
A run that ends behind says so (status "partial", the point it reached) and the next one is queued at
once. The cursor keeps `up_to_date_as_of` for the store page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from acorn import logcontext
from acorn.crypto import DecryptionError
from acorn.notifications.messages import Message, message
from acorn.retry import Jitter, backoff_seconds
from acorn.tasks import enqueue_now
from channels import ratelimit
from channels.adapters.base import (
    BadRecord,
    Capability,
    ChannelAdapter,
    ChannelAuthError,
    ChannelCursorExpired,
    ChannelError,
    ChannelRateLimited,
    ChannelRetryableError,
    Page,
)
from channels.adapters.registry import adapter_for, platform_supports
from channels.models import (
    FAILING_AFTER,
    QuarantinedRecord,
    Store,
    StoreStatus,
    SyncCursor,
    SyncRun,
    SyncRunStatus,
    SyncTrigger,
)
from channels.store_state import store_mark_auth_interrupted, store_notify_sync_failing

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_CALL = 6
# A run that ends behind and may go on within this long is queued again at once (a longer wait, such as a
# vendor's Retry-After, is left to the per-minute dispatcher and the cursor's next_run_at).
CONTINUE_AT_ONCE = timedelta(seconds=5)
# A retried call waits 0..4 s after its first failure, 0..8 s after the second, … up to 0..120 s (full jitter).
BACKOFF_FIRST_SECONDS = 4
BACKOFF_MAX_SECONDS = 120
FAILURE_BACKOFF_MAX = timedelta(hours=6)
# ACORN's own services went away under a run (the database or Redis restarting, a failover): not the store's
# fault, so the run is tried again soon — 15 s, 30 s, … at most the job's interval — instead of after twice
# the interval, and the store is not reported as failing. (loadtest --faults restarts both during a sync.)
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError, BrokerUnavailable)
INFRASTRUCTURE_RETRY_FIRST_SECONDS = 15
INFRASTRUCTURE_FINISH_SECONDS = 60


@dataclass(frozen=True)
class PersistCounts:
    created: int = 0
    updated: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class SyncJob:
    """One resource a domain app syncs (registered from its AppConfig.ready())."""

    resource: str
    permission: str
    # What the store's channel must be able to do for the job to run on it (one of them, for a tuple: a job
    # whose fetch asks the adapter which of them it has, like finance's statements).
    capability: Capability | tuple[Capability, ...]
    interval: timedelta
    # fetch(adapter, window_start, window_end, page_token) -> Page
    fetch: Callable[[ChannelAdapter, datetime, datetime | None, str | None], Page[Any]]
    # persist(store, items) -> counts; must be idempotent (upsert on the store's external ids)
    persist: Callable[[Store, Sequence[Any]], PersistCounts]
    # the updated-at of one item, for progress and the high-water mark
    item_time: Callable[[Any], datetime] = field(default=lambda item: item.updated_at)
    # what the console calls the resource ("Orders" / "订单"): its msgid, marked with gettext_noop, so that a
    # stored notice can keep it and render it in its reader's language (resource_label / resource_message)
    label: str = ""

    def operation(self, store: Store) -> str:
        return f"{store.platform}.{self.resource}"

    def runs_on(self, platform: str) -> bool:
        """Whether the platform's channel can do what the job needs."""
        needed = self.capability if isinstance(self.capability, tuple) else (self.capability,)
        return any(platform_supports(platform, capability) for capability in needed)


_JOBS: dict[str, SyncJob] = {}


def register_sync_job(job: SyncJob) -> None:
    _JOBS[job.resource] = job


def sync_job_get(resource: str) -> SyncJob:
    try:
        return _JOBS[resource]
    except KeyError:
        raise ValueError(f"No sync job for {resource!r}; known: {sorted(_JOBS)}") from None


def resource_label(resource: str) -> str:
    """The name people read for a synced resource, in their language ("deferred_money" → "Money not yet
    released"); the key itself for a resource no job registers any more."""
    job = _JOBS.get(resource)
    return gettext(job.label) if job is not None and job.label else resource


def resource_message(resource: str) -> Message | str:
    """The resource's name as a stored notice keeps it: rendered in the reader's language when read."""
    job = _JOBS.get(resource)
    return message(job.label) if job is not None and job.label else resource


def sync_jobs() -> list[SyncJob]:
    return list(_JOBS.values())


def sync_jobs_for(store: Store) -> list[SyncJob]:
    """The jobs that apply to a store: what its channel can do, and the data permissions it granted."""
    return sync_jobs_applying(platform=store.platform, permissions=store.permissions)


def sync_jobs_applying(*, platform: str, permissions: Sequence[str] | None) -> list[SyncJob]:
    """The jobs that apply to a store of this platform that granted these data permissions (the rule of
    `sync_jobs_for`, for a caller that read the two columns instead of the store)."""
    granted = permissions or []
    return [job for job in _JOBS.values() if job.runs_on(platform) and job.permission in granted]


class SyncAlreadyRunning(Exception):
    """Another run holds the (store, resource) lease."""


def _lease_ttl() -> timedelta:
    return timedelta(seconds=settings.ACORN_SYNC_TIME_BUDGET_SECONDS + settings.ACORN_SYNC_LEASE_MARGIN_SECONDS)


def sync_cursor_get_or_create(*, store: Store, resource: str) -> SyncCursor:
    cursor, _ = SyncCursor.objects.get_or_create(tenant_id=store.tenant_id, store=store, resource=resource)
    return cursor


def _acquire_lease(cursor: SyncCursor, run_key: str) -> bool:
    """Take the (store, resource) lease if it is free or expired: one conditional UPDATE, no lock kept. The next
    run is due when the lease lapses — the run's end sets the real time — so that a run whose worker died (or
    lost its broker or database for good) is taken up again then, not after the job's whole interval."""
    now = timezone.now()
    until = now + _lease_ttl()
    free = SyncCursor.objects.filter(pk=cursor.pk).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    return bool(free.update(lease_until=until, lease_run=run_key, next_run_at=until))


def _release_lease(cursor: SyncCursor, run_key: str) -> None:
    SyncCursor.objects.filter(pk=cursor.pk, lease_run=run_key).update(lease_until=None, lease_run="")


def _fingerprint(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def _quarantine(store: Store, resource: str, run: SyncRun, records: Sequence[BadRecord]) -> int:
    now = timezone.now()
    for record in records:
        raw = dict(record.raw)
        fingerprint = _fingerprint(raw)
        updated = QuarantinedRecord.objects.filter(store=store, resource=resource, fingerprint=fingerprint).update(
            last_seen_at=now, seen_count=F("seen_count") + 1, sync_run=run, reason=record.reason
        )
        if not updated:
            QuarantinedRecord.objects.create(
                tenant_id=store.tenant_id,
                store=store,
                resource=resource,
                sync_run=run,
                external_id=record.external_id,
                fingerprint=fingerprint,
                reason=record.reason[:2000],
                raw=json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str),
            )
    return len(records)


class _RunStop(Exception):
    def __init__(
        self,
        status: str,
        code: str = "",
        message: str = "",
        retry_in: timedelta | None = None,
        infrastructure: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_in = status, code, message, retry_in
        self.infrastructure = infrastructure


def sync_run_execute(
    *,
    store: Store,
    resource: str,
    trigger: str,
    time_budget_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun:
    """Run one sync of one resource of one store now. Raises SyncAlreadyRunning if another run holds it."""
    job = sync_job_get(resource)
    cursor = sync_cursor_get_or_create(store=store, resource=resource)
    trace_id = uuid.uuid4().hex
    if not _acquire_lease(cursor, trace_id):
        raise SyncAlreadyRunning(f"A {resource} sync of store {store.pk} is already running.")
    try:
        # Holding the lease, no other run can be alive: a run still marked running was interrupted.
        SyncRun.objects.filter(store=store, resource=resource, status=SyncRunStatus.RUNNING).update(
            status=SyncRunStatus.FAILED,
            finished_at=timezone.now(),
            error_code="interrupted",
            message="The worker stopped during this run; the next run resumed from the cursor.",
        )
        run = SyncRun.objects.create(
            tenant_id=store.tenant_id, store=store, resource=resource, trigger=trigger, trace_id=trace_id
        )
        # Every log line of the run (vendor calls included) carries the run's trace id, the one the store page
        # shows; the id the run was started under (a request's or a task's) is logged once as its parent.
        parent_trace_id = logcontext.current_trace_id()
        with logcontext.bound(trace_id=trace_id, tenant_id=store.tenant_id, store_id=store.pk):
            logger.info(
                "sync_run_started",
                extra={"resource": resource, "trigger": trigger, "parent_trace_id": parent_trace_id or None},
            )
            _Runner(job, store, cursor, run, time_budget_seconds, sleep).run()
    finally:
        _release_lease(cursor, trace_id)
    if run.status == SyncRunStatus.PARTIAL:
        # Behind: the next run is queued once this one's writes are committed (and its lease released).
        transaction.on_commit(lambda: sync_continue(store=store, resource=resource))
    return run


def sync_continue(*, store: Store, resource: str) -> bool:
    """Queue the next run of a (store, resource) that ended behind, if it is due within CONTINUE_AT_ONCE and
    nobody else has queued or started it (the same claim as the dispatcher's). True when queued."""
    job = sync_job_get(resource)
    now = timezone.now()
    claimed = (
        SyncCursor.objects.filter(store=store, resource=resource, next_run_at__lte=now + CONTINUE_AT_ONCE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(next_run_at=now + max(job.interval, timedelta(minutes=2)))
    )
    if not claimed:
        return False
    enqueue_now(
        "channels.run_store_sync",
        tenant_id=store.tenant_id,
        store_id=store.pk,
        resource=resource,
        trigger=SyncTrigger.CATCH_UP,
    )
    return True


class _Runner:
    def __init__(
        self,
        job: SyncJob,
        store: Store,
        cursor: SyncCursor,
        run: SyncRun,
        time_budget_seconds: float | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.job, self.store, self.cursor, self.run_row = job, store, cursor, run
        budget = settings.ACORN_SYNC_TIME_BUDGET_SECONDS if time_budget_seconds is None else time_budget_seconds
        self.deadline = time.monotonic() + budget
        self.sleep = sleep
        self.operation = job.operation(store)
        # Set when this run opens a window; a window it opened and read to the end means caught up.
        self.window_opened_at: datetime | None = None
        self.up_to_date_as_of: datetime | None = None

    # --- the loop ------------------------------------------------------------------------------------
    def run(self) -> None:
        adapter: ChannelAdapter | None = None
        try:
            if self.store.status != StoreStatus.ACTIVE:
                raise _RunStop(SyncRunStatus.FAILED, "store_not_active", f"The store is {self.store.status}.")
            try:
                secrets: dict[str, Any] = self.store.credential.secrets  # type: ignore[assignment]
            except DecryptionError:
                raise _RunStop(
                    SyncRunStatus.FAILED,
                    "credential_unreadable",
                    "The stored credentials cannot be decrypted with the configured keys.",
                ) from None
            except Store.credential.RelatedObjectDoesNotExist:
                raise _RunStop(
                    SyncRunStatus.AUTH_FAILED, "no_credentials", "The store has not been authorised."
                ) from None
            try:
                adapter = adapter_for(self.store, secrets=secrets)
            except ChannelAuthError as error:
                raise _RunStop(SyncRunStatus.AUTH_FAILED, error.code, str(error)) from None
            while True:
                self._ensure_still_active()
                page = self._fetch_with_retries(adapter)
                window_done = self._persist(page)
                if window_done and self.up_to_date_as_of is not None:
                    raise _RunStop(SyncRunStatus.SUCCEEDED)
                if time.monotonic() >= self.deadline:
                    raise _RunStop(SyncRunStatus.PARTIAL, "time_budget", self._behind_message(), retry_in=timedelta(0))
        except _RunStop as stop:
            self._finish(stop)
        except Exception as error:  # the run row must say what happened; then re-raise
            infrastructure = isinstance(error, INFRASTRUCTURE_ERRORS)
            code = "infrastructure_unavailable" if infrastructure else "internal_error"
            message = f"{type(error).__name__}: {error}"[:500]
            failed = _RunStop(SyncRunStatus.FAILED, code, message, infrastructure=infrastructure)
            if infrastructure:
                self._finish_when_back(failed)
            else:
                self._finish(failed)
            raise
        finally:
            if adapter is not None:
                adapter.close()

    def _ensure_still_active(self) -> None:
        """Stop before the next call when the store was disconnected (or lost its authorisation) meanwhile."""
        status = Store.objects.filter(pk=self.store.pk).values_list("status", flat=True).first()
        if status != StoreStatus.ACTIVE:
            raise _RunStop(SyncRunStatus.FAILED, "store_not_active", f"The store is {status or 'deleted'}.")

    def _behind_message(self, reason: str = "time budget spent", wait: float = 0) -> str:
        high_water = self.cursor.high_water
        reached = f"synced up to {high_water:%Y-%m-%d %H:%M:%S} UTC" if high_water else "nothing synced yet"
        when = "at once" if wait <= CONTINUE_AT_ONCE.total_seconds() else f"in {int(wait)} s"
        return f"Behind ({reason}): {reached}; the next run continues {when}."

    def _window(self) -> tuple[datetime, datetime | None, str | None]:
        cursor = self.cursor
        if cursor.window_start is None:
            high_water = cursor.high_water or (timezone.now() - timedelta(days=settings.ACORN_SYNC_INITIAL_DAYS))
            cursor.window_start = high_water - timedelta(seconds=settings.ACORN_SYNC_OVERLAP_SECONDS)
            cursor.window_end, cursor.page_token = None, ""
            self.window_opened_at = timezone.now()
        return cursor.window_start, cursor.window_end, cursor.page_token or None

    def _fetch_with_retries(self, adapter: ChannelAdapter) -> Page[Any]:
        attempt = 0
        while True:
            wait_ms = ratelimit.rate_limit_acquire(store_id=self.store.pk, operation=self.operation)
            if wait_ms:
                self._wait_or_stop(wait_ms / 1000, "rate_limited", "Waiting for the vendor's rate limit.")
                continue
            start, end, token = self._window()
            try:
                page = self.job.fetch(adapter, start, end, token)
            except ChannelAuthError as error:
                raise _RunStop(SyncRunStatus.AUTH_FAILED, error.code, str(error)) from None
            except ChannelCursorExpired as error:
                logger.info(
                    "sync_cursor_expired",
                    extra={"store_id": self.store.pk, "trace_id": self.run_row.trace_id},
                )
                self._restart_window(str(error))
                continue
            except ChannelRetryableError as error:
                attempt += 1
                SyncRun.objects.filter(pk=self.run_row.pk).update(retries=F("retries") + 1)
                if isinstance(error, ChannelRateLimited):
                    ratelimit.rate_limit_penalize(store_id=self.store.pk, operation=self.operation)
                if attempt >= MAX_ATTEMPTS_PER_CALL:
                    raise _RunStop(SyncRunStatus.FAILED, error.code, str(error)) from None
                delay = (
                    error.retry_after
                    if error.retry_after is not None
                    else backoff_seconds(
                        attempt, first=BACKOFF_FIRST_SECONDS, cap=BACKOFF_MAX_SECONDS, jitter=Jitter.FULL
                    )
                )
                self._wait_or_stop(delay, error.code, str(error))
                continue
            except ChannelError as error:
                raise _RunStop(SyncRunStatus.FAILED, error.code, str(error)) from None
            ratelimit.rate_limit_observe(store_id=self.store.pk, operation=self.operation, per_second=page.rate_limit)
            return page

    def _wait_or_stop(self, seconds: float, code: str, message: str) -> None:
        if time.monotonic() + seconds > self.deadline:
            wait = max(seconds, 1)
            reason = message.rstrip(".")[:200]
            raise _RunStop(
                SyncRunStatus.PARTIAL, code, self._behind_message(reason, wait), retry_in=timedelta(seconds=wait)
            )
        self.sleep(seconds)

    def _restart_window(self, reason: str) -> None:
        """The pagination token expired: read the pinned window again from its start. A window with no
        pinned end (an FBA pass, a shop's listing) is then read whole by this run: as good as opened now."""
        SyncCursor.objects.filter(pk=self.cursor.pk).update(page_token="")
        self.cursor.page_token = ""
        if self.cursor.window_end is None and self.window_opened_at is None:
            self.window_opened_at = timezone.now()
        SyncRun.objects.filter(pk=self.run_row.pk).update(message=f"Pagination restarted: {reason}"[:500])

    def _persist(self, page: Page[Any]) -> bool:
        """Store the page, quarantine bad records and advance the cursor in one transaction. True when done."""
        cursor = self.cursor
        times = [self.job.item_time(item) for item in page.items]
        if page.newest is not None:  # how far a listing went when the records carry older times of their own
            times.append(page.newest)
        with transaction.atomic():
            counts = self.job.persist(self.store, page.items)
            quarantined = _quarantine(self.store, self.job.resource, self.run_row, page.bad_records)
            if cursor.window_end is None and page.window_end is not None:
                cursor.window_end = page.window_end
            done = not page.next_token
            progress = self._progress(times, done)
            if done:
                finished_at = cursor.window_end or (max(times) if times else cursor.window_start)
                cursor.high_water = max(filter(None, [cursor.high_water, finished_at]))
                if self.window_opened_at is not None:  # a window this run opened: caught up as of its end
                    self.up_to_date_as_of = cursor.window_end or self.window_opened_at
                cursor.window_start, cursor.window_end, cursor.page_token = None, None, ""
            else:
                cursor.page_token = page.next_token or ""
            cursor.save(update_fields=["high_water", "window_start", "window_end", "page_token"])
            SyncRun.objects.filter(pk=self.run_row.pk).update(
                pages=F("pages") + 1,
                fetched=F("fetched") + len(page.items) + len(page.bad_records),
                created=F("created") + counts.created,
                updated=F("updated") + counts.updated,
                skipped=F("skipped") + counts.skipped,
                quarantined=F("quarantined") + quarantined,
                progress=progress,
            )
        return done

    def _progress(self, times: list[datetime], done: bool) -> int:
        if done:
            return 100
        start, end = self.cursor.window_start, self.cursor.window_end or timezone.now()
        if not times or start is None or end <= start:
            return self.run_row.progress
        share = (max(times) - start) / (end - start)
        return max(0, min(99, int(share * 100)))

    def _finish_when_back(self, stop: _RunStop) -> None:
        """Record a run that the database or Redis broke, once they answer again (a restart takes seconds):
        the broken connection is dropped and the write tried again for up to INFRASTRUCTURE_FINISH_SECONDS.
        Past that the run stays "running" until its lease lapses, and the dispatcher takes the cursor up then."""
        deadline = time.monotonic() + INFRASTRUCTURE_FINISH_SECONDS
        while True:
            if not connection.in_atomic_block:  # a caller's transaction (a test's) is not ours to close
                connection.close_if_unusable_or_obsolete()
            try:
                self._finish(stop)
                return
            except INFRASTRUCTURE_ERRORS:
                if time.monotonic() >= deadline:
                    raise
                self.sleep(2)

    def _finish(self, stop: _RunStop) -> None:
        now = timezone.now()
        run = self.run_row
        run.refresh_from_db()
        run.status, run.finished_at = stop.status, now
        run.error_code = stop.code[:60]
        if stop.message:
            run.message = stop.message[:2000]
        caught_up = stop.status == SyncRunStatus.SUCCEEDED
        run.caught_up, run.synced_to = caught_up, self.cursor.high_water
        run.save(update_fields=["status", "finished_at", "error_code", "message", "caught_up", "synced_to"])
        cursor = self.cursor
        cursor.last_status = stop.status
        if caught_up:
            cursor.last_success_at, cursor.consecutive_failures = now, 0
            cursor.up_to_date_as_of = self.up_to_date_as_of
            cursor.next_run_at = now + self.job.interval
        elif stop.status == SyncRunStatus.PARTIAL:
            cursor.next_run_at = now + (stop.retry_in if stop.retry_in is not None else timedelta(seconds=5))
        elif stop.status == SyncRunStatus.AUTH_FAILED:
            cursor.next_run_at = None  # nothing until the seller re-authorises
            store_mark_auth_interrupted(store=self.store, reason=stop.message or stop.code)
        elif stop.infrastructure:
            cursor.consecutive_failures += 1
            backoff = backoff_seconds(
                cursor.consecutive_failures,
                first=INFRASTRUCTURE_RETRY_FIRST_SECONDS,
                cap=self.job.interval.total_seconds(),
                jitter=Jitter.PROPORTIONAL,
                spread=0.2,
            )
            cursor.next_run_at = now + timedelta(seconds=backoff)
        else:
            cursor.consecutive_failures += 1
            # The interval doubled for every failure in a row (2x after the first), at most six hours, ±20 %.
            backoff = backoff_seconds(
                cursor.consecutive_failures,
                first=2 * self.job.interval.total_seconds(),
                cap=FAILURE_BACKOFF_MAX.total_seconds(),
                jitter=Jitter.PROPORTIONAL,
                spread=0.2,
            )
            cursor.next_run_at = now + timedelta(seconds=backoff)
            if cursor.consecutive_failures == FAILING_AFTER:
                store_notify_sync_failing(store=self.store, run=run, resource=resource_message(run.resource))
        cursor.save(
            update_fields=["last_success_at", "consecutive_failures", "next_run_at", "up_to_date_as_of", "last_status"]
        )
        logger.info(
            "sync_run_finished",
            extra={
                "store_id": self.store.pk,
                "resource": run.resource,
                "status": run.status,
                "trace_id": run.trace_id,
                "error_code": run.error_code,
            },
        )
