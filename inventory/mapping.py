"""The SKU mapping console: edits and deletions of mappings, the queue of order lines that wait for a
mapping, and suggestions of the master product a channel SKU means (CSV import and export: mapping_csv).

Creating a mapping is `inventory.services.mapping_create`, checked by `inventory.mapping_checks`; everything
here is tenant-scoped, and every write is checked, audited and followed by a re-resolution of the lines
waiting in the store, so a mapping serves its waiting orders the moment it exists.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record
from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.allocation import mapping_reresolve
from inventory.mapping_checks import mapping_check
from inventory.models import AllocationState, LineAllocation, Product, SkuMapping
from inventory.selectors import normalise_sku
from inventory.services import mapping_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_WAITING = (AllocationState.UNMAPPED, AllocationState.BACKORDERED)


def _ensure_tenant(tenant: Tenant, *objects: Store | Product | SkuMapping) -> None:
    for obj in objects:
        if obj.tenant_id != tenant.pk:
            raise ValidationError(_("This belongs to another company."))


def mapping_snapshot(mapping: SkuMapping) -> dict[str, Any]:
    return {
        "store": mapping.store_id,
        "channel_sku": mapping.channel_sku,
        "channel_product_id": mapping.channel_product_id,
        "asin": mapping.asin,
        "product": mapping.product.sku,
        "quantity_multiplier": mapping.quantity_multiplier,
    }


# --- reads -----------------------------------------------------------------------------------------------


def mapping_list(*, tenant: Tenant, query: str = "", store: Store | None = None) -> QuerySet[SkuMapping]:
    """The tenant's mappings, searchable by channel SKU, product id, ASIN, master SKU or product name."""
    mappings = (
        SkuMapping.objects.filter(tenant=tenant)
        .select_related("store", "product")
        .order_by("store__name", "channel_sku", "channel_product_id", "pk")
    )
    if store is not None:
        mappings = mappings.filter(store=store)
    query = query.strip()
    if query:
        mappings = mappings.filter(
            Q(channel_sku__icontains=query)
            | Q(channel_product_id__icontains=query)
            | Q(asin__icontains=query)
            | Q(product__sku__icontains=query)
            | Q(product__name__icontains=query)
        )
    return mappings


def mapping_get_or_404(*, tenant: Tenant, pk: int) -> SkuMapping:
    mapping = SkuMapping.objects.filter(tenant=tenant, pk=pk).select_related("store", "product").first()
    if mapping is None:
        raise Http404
    return mapping


def mappable_product_list(*, tenant: Tenant) -> QuerySet[Product]:
    """The master products a channel SKU can be mapped to (the forms look a product up by its SKU)."""
    return Product.objects.filter(tenant=tenant).order_by("sku")


def unmapped_sku_list(*, tenant: Tenant, store: Store | None = None) -> QuerySet[LineAllocation, dict[str, Any]]:
    """The queue: each channel SKU (per store and channel product id) that order lines wait on for want of
    a mapping, with how many lines and units wait and since when; the longest-waiting first."""
    waiting = LineAllocation.objects.filter(tenant=tenant, state=AllocationState.UNMAPPED)
    if store is not None:
        waiting = waiting.filter(store=store)
    return (
        waiting.values("store_id", "channel_sku", "channel_product_id")
        .annotate(lines=Count("pk"), units=Sum("quantity"), oldest=Min("waiting_since"))
        .order_by("oldest", "store_id", "channel_sku", "channel_product_id")
    )


@dataclass(frozen=True)
class UnmappedSummary:
    lines: int
    skus: int


def unmapped_summary(*, tenant: Tenant) -> UnmappedSummary:
    """How many order lines wait for a mapping, and for how many distinct channel SKUs (the dashboard)."""
    lines = LineAllocation.objects.filter(tenant=tenant, state=AllocationState.UNMAPPED).count()
    return UnmappedSummary(lines=lines, skus=unmapped_sku_list(tenant=tenant).count() if lines else 0)


@dataclass(frozen=True)
class Suggestion:
    product: Product
    match: str  # "exact" or "normalised"


@dataclass(frozen=True)
class UnmappedSku:
    store: Store
    channel_sku: str
    channel_product_id: str
    lines: int
    units: int
    oldest: datetime
    suggestions: tuple[Suggestion, ...]

    @property
    def pick(self) -> str:
        """This waiting SKU as the unmapped list's checkbox sends it (see pick_value)."""
        return pick_value(self.store.pk, self.channel_sku, self.channel_product_id)


def pick_value(store_id: int, channel_sku: str, channel_product_id: str) -> str:
    """How one waiting channel SKU travels in a checkbox or a hidden field."""
    return json.dumps([store_id, channel_sku, channel_product_id], ensure_ascii=False)


def parse_pick(value: str) -> tuple[int, str, str] | None:
    """A pick_value back, or None when it is not one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if (
        isinstance(data, list)
        and len(data) == 3
        and isinstance(data[0], int)
        and isinstance(data[1], str)
        and isinstance(data[2], str)
    ):
        return data[0], data[1][:200], data[2][:60]
    return None


def mapping_suggestions(
    *, tenant: Tenant, channel_skus: Iterable[str], limit: int = 5
) -> dict[str, tuple[Suggestion, ...]]:
    """For each channel SKU, the master products it probably means: the SKU itself, then SKUs equal to it
    once normalised (case, spaces and punctuation ignored). Suggestions only; nothing is mapped."""
    wanted = {sku for sku in channel_skus if sku}
    if not wanted:
        return {}
    products = mappable_product_list(tenant=tenant)
    exact: dict[str, list[Product]] = defaultdict(list)
    for chunk in chunks(sorted(wanted), 500):
        for product in products.filter(sku__in=chunk):
            exact[product.sku].append(product)
    by_key: dict[str, list[str]] = defaultdict(list)
    for sku in wanted:
        if normalise_sku(sku):
            by_key[normalise_sku(sku)].append(sku)
    similar: dict[str, list[int]] = defaultdict(list)
    for pk, sku in products.values_list("pk", "sku").iterator(chunk_size=2000):
        for channel_sku in by_key.get(normalise_sku(sku), ()):
            if sku != channel_sku:
                similar[channel_sku].append(pk)
    loaded = products.in_bulk({pk for pks in similar.values() for pk in pks})
    result: dict[str, tuple[Suggestion, ...]] = {}
    for sku in wanted:
        found = [Suggestion(product, "exact") for product in exact.get(sku, [])]
        found += [Suggestion(loaded[pk], "normalised") for pk in similar.get(sku, []) if pk in loaded]
        if found:
            result[sku] = tuple(found[:limit])
    return result


def unmapped_sku_rows(*, tenant: Tenant, rows: Iterable[dict[str, Any]]) -> list[UnmappedSku]:
    """A page of the queue with its stores and suggestions attached."""
    rows = list(rows)
    stores = Store.objects.filter(tenant=tenant).in_bulk({row["store_id"] for row in rows})
    suggestions = mapping_suggestions(tenant=tenant, channel_skus=[row["channel_sku"] for row in rows])
    return [
        UnmappedSku(
            store=stores[row["store_id"]],
            channel_sku=row["channel_sku"],
            channel_product_id=row["channel_product_id"],
            lines=row["lines"],
            units=row["units"] or 0,
            oldest=row["oldest"],
            suggestions=suggestions.get(row["channel_sku"], ()),
        )
        for row in rows
        if row["store_id"] in stores
    ]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- writes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingAdded:
    mapping: SkuMapping
    reserved: int  # lines that waited for this channel SKU and now hold stock
    backordered: int  # ... that are mapped now but wait for stock


def mapping_add(
    *,
    tenant: Tenant,
    store: Store,
    product: Product,
    channel_sku: str = "",
    channel_product_id: str = "",
    asin: str = "",
    quantity_multiplier: int = 1,
    actor: User | None = None,
) -> MappingAdded:
    """Create a mapping from the console (checked to be the tenant's, audited) and report what became of
    the order lines that waited for it: they are resolved and reserve stock at once."""
    _ensure_tenant(tenant, store, product)
    match = Q()
    if channel_sku.strip():
        match |= Q(channel_sku=channel_sku.strip())
    if channel_product_id.strip():
        match |= Q(channel_product_id=channel_product_id.strip())
    with transaction.atomic():
        waiting = (
            list(LineAllocation.objects.filter(match, store=store, state__in=_WAITING).values_list("pk", flat=True))
            if match
            else []
        )
        mapping = mapping_create(
            store=store,
            product=product,
            channel_sku=channel_sku,
            channel_product_id=channel_product_id,
            asin=asin,
            quantity_multiplier=quantity_multiplier,
            actor=actor,
        )
        states = list(LineAllocation.objects.filter(pk__in=waiting).values_list("state", flat=True))
    return MappingAdded(
        mapping=mapping,
        reserved=states.count(AllocationState.RESERVED),
        backordered=states.count(AllocationState.BACKORDERED),
    )


@transaction.atomic
def mapping_update(
    *,
    tenant: Tenant,
    mapping: SkuMapping,
    product: Product | None = None,
    channel_sku: str | None = None,
    channel_product_id: str | None = None,
    asin: str | None = None,
    quantity_multiplier: int | None = None,
    actor: User | None = None,
) -> SkuMapping:
    """Change a mapping (None leaves a field as it is); audited. Lines that already hold stock keep what
    they hold; lines still waiting (unmapped or backordered) of the store are resolved again under it."""
    _ensure_tenant(tenant, mapping, *([product] if product is not None else []))
    mapping = SkuMapping.objects.select_for_update().select_related("store", "product").get(pk=mapping.pk)
    before = mapping_snapshot(mapping)
    changes: dict[str, Any] = {
        "product": product,
        "channel_sku": channel_sku,
        "channel_product_id": channel_product_id,
        "asin": asin,
        "quantity_multiplier": quantity_multiplier,
    }
    for name, value in changes.items():
        if value is not None:
            setattr(mapping, name, value)
    mapping_check(mapping)
    after = mapping_snapshot(mapping)
    if after == before:
        return mapping
    try:
        with transaction.atomic():
            mapping.save(update_fields=["product", "channel_sku", "channel_product_id", "asin", "quantity_multiplier"])
    except IntegrityError:  # another request mapped the same SKU meanwhile
        raise ValidationError({"channel_sku": _("This store already maps that channel SKU or product id.")}) from None
    audit_record(
        tenant=tenant, actor=actor, action="inventory.mapping_changed", target=mapping, before=before, after=after
    )
    mapping_reresolve(store=mapping.store)
    return mapping


@transaction.atomic
def mapping_delete(*, tenant: Tenant, mapping: SkuMapping, actor: User | None = None) -> None:
    """Remove a mapping; audited. Lines that already hold stock keep it (their orders were taken under the
    mapping); lines still waiting for stock under it go back to the unmapped queue, so nothing is lost."""
    _ensure_tenant(tenant, mapping)
    mapping = SkuMapping.objects.select_for_update().select_related("store", "product").get(pk=mapping.pk)
    before = mapping_snapshot(mapping)
    store = mapping.store
    audit_record(tenant=tenant, actor=actor, action="inventory.mapping_deleted", target=mapping, before=before)
    mapping.delete()
    mapping_reresolve(store=store)
