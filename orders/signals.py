"""Signals orders sends for the apps above it (refunds) to react to, without orders importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside order_upsert_page's transaction once new or changed orders of a store are stored.
# Keyword arguments: store (channels.models.Store), external_ids (list[str]: the orders created),
# updated_external_ids (list[str]: known orders the channel changed: status, lines, amounts).
orders_upserted = Signal()
