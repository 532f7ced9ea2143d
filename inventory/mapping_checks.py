"""The checks a SKU mapping passes before it is saved, shared by the console's create and edit and the CSV
import."""

from __future__ import annotations

import re
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from inventory.models import SkuMapping

MAX_MULTIPLIER = 10_000
ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")
# Excel shows long ids (Shopify variant ids) as 4.47E+13 and saves them that way: the id is lost.
EXCEL_NUMBER_RE = re.compile(r"^\d+(\.\d+)?E\+\d+$", re.IGNORECASE)


def mapping_check(mapping: SkuMapping) -> None:
    """Tidy a mapping about to be saved (spaces, ASIN case) and validate it, with one readable message per
    field: it names something, a sane multiplier, a well-formed ASIN, and no other mapping of the store
    has the same channel SKU or product id. Raises ValidationError; writes nothing."""
    mapping.channel_sku = mapping.channel_sku.strip()
    mapping.channel_product_id = mapping.channel_product_id.strip()
    mapping.asin = mapping.asin.strip().upper()
    errors: dict[str, list[str]] = defaultdict(list)
    if not mapping.channel_sku and not mapping.channel_product_id:
        errors["channel_sku"].append(_("Give the channel SKU, the channel product id, or both."))
    if mapping.quantity_multiplier is None or not 1 <= mapping.quantity_multiplier <= MAX_MULTIPLIER:
        errors["quantity_multiplier"].append(
            _("Units per channel unit is a whole number from 1 to %(max)d.") % {"max": MAX_MULTIPLIER}
        )
    if mapping.asin and not ASIN_RE.match(mapping.asin):
        errors["asin"].append(_("An ASIN is 10 letters and digits, e.g. B08N5WRWNW."))
    if EXCEL_NUMBER_RE.match(mapping.channel_product_id):
        errors["channel_product_id"].append(excel_number_message(mapping.channel_product_id))
    others = SkuMapping.objects.filter(store_id=mapping.store_id).exclude(pk=mapping.pk).select_related("product")
    if mapping.channel_sku:
        clash = others.filter(channel_sku=mapping.channel_sku).first()
        if clash is not None:
            errors["channel_sku"].append(
                _("This store already maps the channel SKU %(sku)s (to %(product)s).")
                % {"sku": mapping.channel_sku, "product": clash.product.sku}
            )
    if mapping.channel_product_id:
        clash = others.filter(channel_product_id=mapping.channel_product_id).first()
        if clash is not None:
            errors["channel_product_id"].append(
                _("This store already maps the channel product id %(id)s (to %(product)s).")
                % {"id": mapping.channel_product_id, "product": clash.product.sku}
            )
    if errors:
        raise ValidationError(dict(errors))
    mapping.full_clean()


def excel_number_message(value: str) -> str:
    return _(
        "%(value)s is how a spreadsheet shows a long number: the real id is lost. "
        "Format the column as text and copy the id again."
    ) % {"value": value}
