"""FBA inventory: Amazon's stock of the seller's FBA SKUs, read (never pushed) into one read-only FBA
warehouse per Amazon region, by a sync job of the channels engine (resource "inventory").

Pools. Amazon keeps FBA stock per pool, not per marketplace: the EU marketplaces under Pan-European FBA
(DE, FR, IT, ES, NL, SE, PL, BE, IE) sell from one stock, North America (Remote Fulfilment: US, CA, MX)
from another, and every other marketplace — the UK (out of the Pan-European programme since 2021), TR,
AE, SA, EG, IN, ZA, JP, AU, SG, BR — from its own (channels/marketplaces.py has the sources).
getInventorySummaries answers every marketplace of a pool with the pool's figures
(selling-partner-api-models issue #452: "returns the same values for each EU marketplace - a sum of
inventory quantities from all the EU marketplaces (except the UK …)"). So the job reads ONE marketplace
per pool — the first of the store's marketplaces in it — and adds the pools of a region together: the
UK's units and the Pan-European units are different units in different buildings, while DE and FR of one
pool are the same units counted twice. Reading the other marketplaces of a pool would add nothing but
API calls (2 per second).

Figures. A summary lands on the region's StockLevel of the SKU's master product, times the mapping's
multiplier (a 2-pack SKU holds two units each):

    on_hand       = fulfillable + reserved     units in Amazon's buildings that are, or will be, sold
    reserved      = Amazon's reserved          customer orders, transshipment, FC processing
                    (so available = on_hand - reserved = fulfillable)
    inbound       = working + shipped + receiving   plain field, not in the ledger
    unfulfillable = Amazon's unfulfillable total    plain field, not in the ledger

Units Amazon is researching (lost or misplaced) are in none of them.

Contributions. Several summaries can feed one level: the UK pool and the Pan-European pool, two SKUs of
one product, two seller accounts of one region. Each (store, pool, SKU) is a contribution whose share of
on_hand and reserved is the sum of its FBA_SNAPSHOT movements (their `reference` names it), so a page
moves each contribution to Amazon's figures with one movement, or none when it already is there: a second
sync writes nothing, and one pool is never counted twice. A SKU that now maps to another product, or to
none, has its old share taken back. Inbound and unfulfillable have no ledger, so their per-pool figures
ride in the job's page token through a pass and are written, summed per product, when the pass ends.

Paging. One engine page is one getInventorySummaries page of one marketplace. The job's own page token
says where the pass stands: the marketplace, Amazon's nextToken and when it came, and the inbound /
unfulfillable figures seen so far. Amazon's nextToken lives 30 s; a token too old to be worth sending is
not sent, and the engine restarts the pass (ChannelCursorExpired) as it does when Amazon refuses one.
Each pass reads everything (no startDateTime): Amazon does not report inbound changes to startDateTime.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    ChannelCursorExpired,
    FbaStockReading,
    InventorySummary,
    Page,
)
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, fba_pools
from channels.models import DataPermission, Region, Store, SyncRun, SyncRunStatus
from channels.sync import PersistCounts, SyncJob
from inventory.ledger import stock_move
from inventory.models import MovementKind, Product, SkuMapping, StockLevel, StockMovement, Warehouse, WarehouseKind
from inventory.selectors import Resolved, mapping_resolve

logger = logging.getLogger(__name__)

RESOURCE = "inventory"
# Amazon's nextToken expires 30 s after it is issued; past this age it is not worth a call.
TOKEN_MAX_AGE_SECONDS = 25.0

# Amazon's FBA pools that span several marketplaces, from the one marketplace table (channels/marketplaces.py
# says which marketplaces sell from which pool, and why); a marketplace in none of them is a pool of its own.
# The simulator reads the same table.
FBA_POOLS: dict[str, tuple[str, ...]] = fba_pools()


def fba_pool(marketplace: str) -> str:
    """The name of the FBA pool a marketplace sells from ("EU" for DE, "UK" for the UK)."""
    known = AMAZON_MARKETPLACE_TABLE.get(marketplace)
    return known.fba_pool if known is not None else marketplace


def fba_walk(store: Store) -> list[tuple[str, str]]:
    """(pool, the marketplace read for it): one per FBA pool of the store, in the order of its marketplaces
    (only those the seller participates in: Amazon refuses the others)."""
    walk: dict[str, str] = {}
    for marketplace in store.sync_marketplaces():
        walk.setdefault(fba_pool(marketplace), marketplace)
    return list(walk.items())


def contribution_reference(*, store: Store, pool: str, sku: str) -> str:
    """The StockMovement.reference naming one (store, pool, SKU) contribution to an FBA level."""
    return f"fba:{store.pk}:{pool}:{sku}"[:200]  # Amazon SKUs are at most 40 characters


@dataclass(frozen=True, slots=True)
class FbaStockRow:
    """One SKU's FBA stock in one pool, as read for one store."""

    pool: str
    summary: InventorySummary
    read_at: datetime


# (pool, SKU, inbound, unfulfillable) of one summary: what a pass carries to its end.
PlainFigures = tuple[str, str, int, int]


class FbaStockPage(tuple[FbaStockRow, ...]):
    """The rows of one engine page and where they stand in the pass. The engine hands `page.items` to
    persist as they are, so the end of a pass, and the inbound / unfulfillable figures of the whole pass,
    travel with the rows (a pass whose last marketplace is empty still ends)."""

    final: bool
    plain: tuple[PlainFigures, ...]

    def __new__(
        cls, rows: Iterable[FbaStockRow] = (), *, final: bool = False, plain: Iterable[PlainFigures] = ()
    ) -> FbaStockPage:
        page = super().__new__(cls, rows)
        page.final = final
        page.plain = tuple(plain)
        return page


@dataclass(frozen=True)
class _PassToken:
    """The job's page token: where a pass over the store's pools stands."""

    walk: tuple[str, ...]  # the marketplaces read, one per pool
    index: int = 0  # the one being read
    amazon_token: str | None = None
    issued_at: float | None = None  # epoch seconds (Amazon's token expires 30 s after)
    plain: tuple[PlainFigures, ...] = ()

    def encode(self) -> str:
        return json.dumps(
            {"w": self.walk, "i": self.index, "t": self.amazon_token, "at": self.issued_at, "p": self.plain},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, token: str | None, walk: tuple[str, ...]) -> _PassToken:
        """The pass the token names; a new pass when there is none, or when the store's pools changed."""
        try:
            data = json.loads(token) if token else None
            if data is None or tuple(data["w"]) != walk or not 0 <= int(data["i"]) < len(walk):
                return cls(walk=walk)
            plain = tuple((str(p), str(s), int(i), int(u)) for p, s, i, u in data["p"])
            return cls(walk, int(data["i"]), data["t"] or None, data["at"], plain)
        except (ValueError, TypeError, KeyError):  # not one of ours (or an older shape): start over
            return cls(walk=walk)

    def with_page(self, pool: str, summaries: Sequence[InventorySummary]) -> tuple[PlainFigures, ...]:
        """The pass's inbound / unfulfillable figures including this page (a repeated SKU: the last copy)."""
        figures = {(pool_, sku): (inbound, bad) for pool_, sku, inbound, bad in self.plain}
        for summary in summaries:
            figures[(pool, summary.sku)] = (summary.inbound, summary.unfulfillable)
        return tuple((p, s, i, u) for (p, s), (i, u) in figures.items() if i or u)


def fetch_fba_page(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[FbaStockRow]:
    """One getInventorySummaries page of the pass the token names (the window does not apply: each pass
    reads the whole stock)."""
    walk = fba_walk(adapter.store)
    state = _PassToken.decode(page_token, tuple(marketplace for _pool, marketplace in walk))
    if not walk:
        return Page(items=FbaStockPage(final=True))
    if state.amazon_token and time.time() - (state.issued_at or 0) > TOKEN_MAX_AGE_SECONDS:
        raise ChannelCursorExpired("Amazon's FBA inventory nextToken is older than its 30 seconds.")
    reader = adapter.require(FbaStockReading)
    pool, marketplace = walk[state.index]
    page = reader.fetch_inventory_summaries(marketplace=marketplace, page_token=state.amazon_token)
    read_at = timezone.now()
    plain = state.with_page(pool, page.items)
    following: _PassToken | None
    if page.next_token:
        following = replace(state, amazon_token=page.next_token, issued_at=time.time(), plain=plain)
    elif state.index + 1 < len(walk):
        following = replace(state, index=state.index + 1, amazon_token=None, issued_at=None, plain=plain)
    else:
        following = None
    return Page(
        items=FbaStockPage((FbaStockRow(pool, s, read_at) for s in page.items), final=following is None, plain=plain),
        bad_records=page.bad_records,
        next_token=following.encode() if following else None,
        rate_limit=page.rate_limit,
    )


def persist_fba_page(store: Store, items: Sequence[Any]) -> PersistCounts:
    page = items if isinstance(items, FbaStockPage) else FbaStockPage(items)
    return fba_stock_persist(store=store, rows=page, pass_plain=page.plain if page.final else None)


# --- persisting -------------------------------------------------------------------------------------


def fba_warehouse_get_or_create(*, store: Store) -> Warehouse:
    """The read-only FBA warehouse of the store's region, created on the region's first sync."""
    found = Warehouse.objects.filter(tenant_id=store.tenant_id, kind=WarehouseKind.FBA, region=store.region).first()
    if found is not None:
        return found
    base = _("Amazon FBA %(region)s") % {"region": Region(store.region).label}
    name, number = base, 1
    while Warehouse.objects.filter(tenant_id=store.tenant_id, name=name).exists():  # a seller's own name
        number += 1
        name = f"{base} ({number})"
    try:
        with transaction.atomic():  # a savepoint: another store of the region may create it meanwhile
            return Warehouse.objects.create(
                tenant_id=store.tenant_id, name=name, kind=WarehouseKind.FBA, region=store.region
            )
    except IntegrityError:
        return Warehouse.objects.get(tenant_id=store.tenant_id, kind=WarehouseKind.FBA, region=store.region)


_Resolve = Callable[[str], Resolved | None]


@dataclass(frozen=True)
class _Move:
    product: Product
    reference: str
    on_hand_delta: int
    reserved_delta: int
    reason: str


@transaction.atomic
def fba_stock_persist(
    *, store: Store, rows: Sequence[FbaStockRow], pass_plain: Sequence[PlainFigures] | None = None
) -> PersistCounts:
    """Bring each (store, pool, SKU) contribution to the region's FBA levels in step with Amazon's figures,
    one FBA_SNAPSHOT movement per contribution that changed; at the end of a pass (`pass_plain` given) also
    write inbound and unfulfillable. Marks the SKUs' Amazon mappings fulfilled by Amazon. SKUs with no
    product are counted as skipped, logged and named in the run's message; a later sync reads them."""
    warehouse = fba_warehouse_get_or_create(store=store)
    resolved: dict[str, Resolved | None] = {}

    def resolve(sku: str) -> Resolved | None:
        if sku not in resolved:
            resolved[sku] = mapping_resolve(store=store, sku=sku)
        return resolved[sku]

    latest = {contribution_reference(store=store, pool=row.pool, sku=row.summary.sku): row for row in rows}
    unmapped = sorted({row.summary.sku for row in latest.values() if resolve(row.summary.sku) is None})
    # Amazon holds and counts these, so ACORN never pushes a quantity for them. Only SKUs with FBA units now
    # count: Amazon keeps listing a SKU converted to merchant-fulfilled with zeros, and that one we push.
    fba_skus = {
        row.summary.sku
        for row in latest.values()
        if row.summary.fulfillable + row.summary.reserved + row.summary.inbound > 0
    } - set(unmapped)
    if fba_skus:
        SkuMapping.objects.filter(store=store, channel_sku__in=fba_skus, fulfilled_by_channel=False).update(
            fulfilled_by_channel=True
        )

    moves = _contribution_moves(store, warehouse, latest, resolve)
    had_level = set(
        StockLevel.objects.filter(warehouse=warehouse, product_id__in={m.product.pk for m in moves}).values_list(
            "product_id", flat=True
        )
    )
    created: set[int] = set()
    updated: set[str] = set()
    # In product order: two syncs of one region (two seller accounts) lock the levels in the same order.
    for move in sorted(moves, key=lambda m: (m.product.pk, m.reference)):
        stock_move(
            product=move.product,
            warehouse=warehouse,
            kind=MovementKind.FBA_SNAPSHOT,
            on_hand_delta=move.on_hand_delta,
            reserved_delta=move.reserved_delta,
            reference=move.reference,
            reason=move.reason,
        )
        if move.product.pk not in had_level:
            created.add(move.product.pk)
            had_level.add(move.product.pk)
        elif move.product.pk not in created:
            updated.add(move.reference)
    created_count, updated_count = len(created), len(updated)
    if pass_plain is not None:
        plain_created, plain_updated = _write_plain_figures(store, warehouse, pass_plain, resolve)
        created_count, updated_count = created_count + plain_created, updated_count + plain_updated
    # Skipped: records read but not stored, because their SKU has no product yet.
    skipped = sum(1 for row in latest.values() if row.summary.sku in unmapped)
    if skipped:
        _report_unmapped(store, unmapped, skipped)
    return PersistCounts(created=created_count, updated=updated_count, skipped=skipped)


def _contribution_moves(
    store: Store, warehouse: Warehouse, latest: dict[str, FbaStockRow], resolve: _Resolve
) -> list[_Move]:
    """What each contribution of the page must move: to Amazon's figures on its product, to nothing on
    any product it used to feed."""
    shares: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for entry in (
        StockMovement.objects.filter(warehouse=warehouse, reference__in=list(latest))
        .values("reference", "product_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
        .order_by()
    ):
        shares[entry["reference"]][entry["product_id"]] = (entry["on_hand"] or 0, entry["reserved"] or 0)
    products = {p.pk: p for p in Product.objects.filter(pk__in={pk for s in shares.values() for pk in s})}
    moves: list[_Move] = []
    for reference, row in latest.items():
        summary = row.summary
        target = resolve(summary.sku)
        wanted: dict[int, tuple[int, int]] = {}
        if target is not None:
            products[target.product.pk] = target.product
            multiplier = target.multiplier
            wanted[target.product.pk] = (
                (summary.fulfillable + summary.reserved) * multiplier,
                summary.reserved * multiplier,
            )
        for product_id in set(shares[reference]) | set(wanted):
            have, want = shares[reference].get(product_id, (0, 0)), wanted.get(product_id, (0, 0))
            if have == want:
                continue
            if product_id in wanted:
                reason = _("Amazon FBA %(sku)s (%(pool)s): %(fulfillable)d fulfillable, %(reserved)d reserved") % {
                    "sku": summary.sku,
                    "pool": row.pool,
                    "fulfillable": summary.fulfillable,
                    "reserved": summary.reserved,
                }
            else:
                reason = _("Amazon FBA %(sku)s (%(pool)s) no longer maps to this product") % {
                    "sku": summary.sku,
                    "pool": row.pool,
                }
            moves.append(_Move(products[product_id], reference, want[0] - have[0], want[1] - have[1], reason))
    return moves


def _write_plain_figures(
    store: Store, warehouse: Warehouse, pass_plain: Sequence[PlainFigures], resolve: _Resolve
) -> tuple[int, int]:
    """End of a pass: inbound and unfulfillable of every FBA level of the region = the pass's figures summed
    per product (zero where the pass saw none). Returns (levels created, levels changed)."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    products: dict[int, Product] = {}
    for _pool, sku, inbound, unfulfillable in pass_plain:
        target = resolve(sku)
        if target is None:
            continue
        products[target.product.pk] = target.product
        totals[target.product.pk][0] += inbound * target.multiplier
        totals[target.product.pk][1] += unfulfillable * target.multiplier
    levels = StockLevel.objects.filter(warehouse=warehouse)
    shared = (
        Store.objects.filter(tenant_id=store.tenant_id, platform=store.platform, region=store.region)
        .exclude(pk=store.pk)
        .exists()
    )
    if shared:
        # Another seller account of the tenant feeds the same region: leave the products only it reports
        # alone. (Its inbound on a product both report is overwritten by the last pass: the level keeps no
        # per-account inbound; on_hand and reserved are exact either way.)
        mine = StockMovement.objects.filter(warehouse=warehouse, reference__startswith=f"fba:{store.pk}:")
        levels = levels.filter(Q(product_id__in=list(totals)) | Q(product_id__in=mine.values("product_id")))
        logger.info("fba_region_shared", extra={"tenant_id": store.tenant_id, "store_id": store.pk})
    changed = 0
    now = timezone.now()
    for level in levels.order_by("product_id"):
        inbound, unfulfillable = totals.pop(level.product_id, [0, 0])
        if (level.inbound, level.unfulfillable) != (inbound, unfulfillable):
            level.inbound, level.unfulfillable, level.updated_at = inbound, unfulfillable, now
            level.save(update_fields=["inbound", "unfulfillable", "updated_at"])
            changed += 1
    for product_id, (inbound, unfulfillable) in sorted(totals.items()):
        StockLevel.objects.create(
            tenant_id=store.tenant_id,
            product=products[product_id],
            warehouse=warehouse,
            inbound=inbound,
            unfulfillable=unfulfillable,
        )
    return len(totals), changed


def fba_contributions_withdraw(*, store: Store) -> int:
    """The store is going: take its (pool, SKU) contributions out of the region's FBA levels, one movement
    each, and zero the inbound / unfulfillable figures of the products only it reported. Returns the number
    of contributions withdrawn."""
    warehouse = Warehouse.objects.filter(tenant_id=store.tenant_id, kind=WarehouseKind.FBA, region=store.region).first()
    if warehouse is None:
        return 0
    mine = StockMovement.objects.filter(warehouse=warehouse, reference__startswith=f"fba:{store.pk}:")
    shares = (
        mine.values("reference", "product_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
        .order_by("product_id", "reference")
    )
    products = {p.pk: p for p in Product.objects.filter(pk__in=mine.values("product_id"))}
    withdrawn = 0
    for share in shares:
        on_hand, reserved = share["on_hand"] or 0, share["reserved"] or 0
        if not on_hand and not reserved:
            continue
        stock_move(
            product=products[share["product_id"]],
            warehouse=warehouse,
            kind=MovementKind.FBA_SNAPSHOT,
            on_hand_delta=-on_hand,
            reserved_delta=-reserved,
            reference=share["reference"],
            reason=_("Amazon FBA store “%(store)s” deleted") % {"store": store.name},
        )
        withdrawn += 1
    others = StockMovement.objects.filter(warehouse=warehouse, reference__startswith="fba:").exclude(
        reference__startswith=f"fba:{store.pk}:"
    )
    only_mine = set(mine.values_list("product_id", flat=True)) - set(others.values_list("product_id", flat=True))
    StockLevel.objects.filter(warehouse=warehouse, product_id__in=only_mine).update(
        inbound=0, unfulfillable=0, updated_at=timezone.now()
    )
    return withdrawn


def _report_unmapped(store: Store, skus: list[str], records: int) -> None:
    """Log the FBA SKUs with no product and say so in the running sync's message (counts accumulate)."""
    logger.info(
        "fba_skus_unmapped",
        extra={"tenant_id": store.tenant_id, "store_id": store.pk, "count": len(skus), "skus": skus[:50]},
    )
    run = SyncRun.objects.filter(store=store, resource=RESOURCE, status=SyncRunStatus.RUNNING).order_by("-pk").first()
    if run is None:  # persisted outside a run (a test, a shell)
        return
    total = run.skipped + records  # skipped counts only these records in an inventory run
    examples = ", ".join(skus[:5]) + (" …" if len(skus) > 5 else "")
    message = ngettext(
        "%(count)d FBA stock record has no product in ACORN yet (%(skus)s): map its SKU and the next sync "
        "reads its stock.",
        "%(count)d FBA stock records have no product in ACORN yet (%(skus)s): map their SKUs and the next "
        "sync reads their stock.",
        total,
    ) % {"count": total, "skus": examples}
    SyncRun.objects.filter(pk=run.pk).update(message=message)


INVENTORY_SYNC_JOB = SyncJob(
    resource=RESOURCE,
    label=gettext_noop("FBA inventory"),
    permission=DataPermission.INVENTORY,
    capability=Capability.READ_FBA_STOCK,
    interval=timedelta(minutes=15),
    fetch=fetch_fba_page,
    persist=persist_fba_page,
    item_time=lambda row: row.read_at,
)
