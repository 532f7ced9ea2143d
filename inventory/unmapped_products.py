"""Master products made from unmapped channel SKUs in one step (issue 21, "create products from channel
listings"): the channel SKUs order lines wait on become products — SKU and name prefilled from the channel
SKU and the buyer-facing title of a waiting line, editable — and are mapped at once, so the waiting lines
resolve and reserve stock. All or nothing: one bad row and no product is made."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.catalogue import product_save
from inventory.hooks import line_titles
from inventory.mapping import mapping_add
from inventory.models import AllocationState, LineAllocation, Product, SkuMapping

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_PICKS = 100
SKU_MAX = Product._meta.get_field("sku").max_length or 100
NAME_MAX = Product._meta.get_field("name").max_length or 300


@dataclass(frozen=True)
class ProductDraft:
    """One waiting channel SKU of a store and the master product to make of it."""

    store: Store
    channel_sku: str
    channel_product_id: str
    sku: str
    name: str
    lines: int = 0
    units: int = 0


@dataclass(frozen=True)
class ProductsCreated:
    products: list[Product]
    reserved: int  # waiting lines that now hold stock
    backordered: int  # ... that are mapped now and wait for stock


def _waiting(tenant: Tenant, store: Store, channel_sku: str, channel_product_id: str) -> Q:
    return Q(
        tenant=tenant,
        store=store,
        state=AllocationState.UNMAPPED,
        channel_sku=channel_sku,
        channel_product_id=channel_product_id,
    )


def unmapped_product_drafts(*, tenant: Tenant, picks: Sequence[tuple[int, str, str]]) -> list[ProductDraft]:
    """For chosen waiting (store id, channel SKU, channel product id): the product to start from — the channel
    SKU (else the product id) as its SKU, the newest waiting line's title (else the SKU) as its name. Picks
    of another company's store, or that no line waits on any more, are left out. Reads only."""
    stores = Store.objects.filter(tenant=tenant).in_bulk({store_id for store_id, _sku, _id in picks})
    found: list[tuple[Store, str, str, list[str], int]] = []
    seen: set[tuple[int, str, str]] = set()
    for store_id, channel_sku, channel_product_id in picks[:MAX_PICKS]:
        store = stores.get(store_id)
        if store is None or (store_id, channel_sku, channel_product_id) in seen:
            continue
        seen.add((store_id, channel_sku, channel_product_id))
        rows = list(
            LineAllocation.objects.filter(_waiting(tenant, store, channel_sku, channel_product_id))
            .order_by("-waiting_since", "-pk")
            .values_list("line_ref", "quantity")
        )
        if rows:
            found.append((store, channel_sku, channel_product_id, [ref for ref, _q in rows], sum(q for _r, q in rows)))
    titles = line_titles(tenant_id=tenant.pk, line_refs=[refs[0] for *_rest, refs, _units in found])
    drafts = []
    for store, channel_sku, channel_product_id, refs, units in found:
        sku = (channel_sku or channel_product_id).strip()[:SKU_MAX]
        name = (titles.get(refs[0]) or sku).strip()[:NAME_MAX]
        drafts.append(
            ProductDraft(
                store=store,
                channel_sku=channel_sku,
                channel_product_id=channel_product_id,
                sku=sku,
                name=name,
                lines=len(refs),
                units=units,
            )
        )
    return drafts


def _check(tenant: Tenant, drafts: Sequence[ProductDraft]) -> None:
    """Every row's problems, keyed `sku_<n>` / `name_<n>` (n from 0, the form's fields): a SKU and a name, no SKU
    another product or another row has (case and surrounding spaces ignored, as everywhere), the store the
    company's and its channel SKU not mapped meanwhile."""
    errors: dict[str, list[str]] = defaultdict(list)
    keys = [draft.sku.strip().casefold() for draft in drafts]
    taken = {
        sku.casefold(): sku
        for sku in Product.objects.filter(tenant=tenant)
        .filter(_any_sku([draft.sku.strip() for draft in drafts]))
        .values_list("sku", flat=True)
    }
    for index, draft in enumerate(drafts):
        sku, name = draft.sku.strip(), draft.name.strip()
        if draft.store.tenant_id != tenant.pk:
            raise ValidationError(_("This store belongs to another company."))
        if not sku:
            errors[f"sku_{index}"].append(_("Give the product a SKU."))
        elif len(sku) > SKU_MAX:
            errors[f"sku_{index}"].append(_("A SKU has at most %(max)d characters.") % {"max": SKU_MAX})
        elif sku.casefold() in taken:
            errors[f"sku_{index}"].append(
                _("Another product already has the SKU %(sku)s: map to it instead.") % {"sku": taken[sku.casefold()]}
            )
        elif keys.count(sku.casefold()) > 1:
            errors[f"sku_{index}"].append(_("Two rows would make the SKU %(sku)s.") % {"sku": sku})
        if not name:
            errors[f"name_{index}"].append(_("Give the product a name."))
        elif len(name) > NAME_MAX:
            errors[f"name_{index}"].append(_("A name has at most %(max)d characters.") % {"max": NAME_MAX})
        mapped = SkuMapping.objects.filter(store=draft.store).filter(
            (Q(channel_sku=draft.channel_sku) & ~Q(channel_sku=""))
            | (Q(channel_product_id=draft.channel_product_id) & ~Q(channel_product_id=""))
        )
        if mapped.exists():
            errors[f"sku_{index}"].append(
                _("%(sku)s of %(store)s was mapped meanwhile.")
                % {"sku": draft.channel_sku or draft.channel_product_id, "store": draft.store.name}
            )
    if errors:
        raise ValidationError(dict(errors))


def _any_sku(skus: Sequence[str]) -> Q:
    query = Q(pk__in=[])
    for sku in skus:
        if sku:
            query |= Q(sku__iexact=sku)
    return query


@transaction.atomic
def products_create_from_unmapped(
    *, tenant: Tenant, drafts: Sequence[ProductDraft], actor: User | None = None
) -> ProductsCreated:
    """Make each draft a master product and map its channel SKU (and product id) to it: the waiting order
    lines resolve and reserve stock at once. Validated as a whole (ValidationError keyed per row); nothing is
    written unless every row is good. Audited (product and mapping, as one by one)."""
    if not drafts:
        raise ValidationError(_("Choose at least one unmapped SKU."))
    _check(tenant, drafts)
    waiting = set()
    for draft in drafts:
        waiting |= set(
            LineAllocation.objects.filter(
                _waiting(tenant, draft.store, draft.channel_sku, draft.channel_product_id)
            ).values_list("pk", flat=True)
        )
    products = []
    for draft in drafts:
        product = product_save(tenant=tenant, actor=actor, sku=draft.sku.strip(), name=draft.name.strip())
        mapping_add(
            tenant=tenant,
            store=draft.store,
            product=product,
            channel_sku=draft.channel_sku,
            channel_product_id=draft.channel_product_id,
            actor=actor,
        )
        products.append(product)
    states = list(LineAllocation.objects.filter(pk__in=waiting).values_list("state", flat=True))
    return ProductsCreated(
        products=products,
        reserved=states.count(AllocationState.RESERVED),
        backordered=states.count(AllocationState.BACKORDERED),
    )
