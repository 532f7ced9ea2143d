"""Which adapter serves which platform: an explicit list, no import-time discovery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from channels.adapters.amazon import AmazonAdapter
from channels.adapters.base import ChannelAdapter, UnknownChannel
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from channels.store_state import store_update_secrets

if TYPE_CHECKING:
    from channels.models import Store

_ADAPTERS: dict[str, type[ChannelAdapter]] = {
    adapter.key: adapter for adapter in (AmazonAdapter, ShopifyAdapter, WooCommerceAdapter)
}


def adapter_for(store: Store, *, secrets: Mapping[str, Any]) -> ChannelAdapter:
    """The adapter for the store's platform, bound to the store and its decrypted secrets."""
    try:
        adapter_class = _ADAPTERS[store.platform]
    except KeyError:
        raise UnknownChannel(f"No adapter for platform {store.platform!r}.") from None
    if adapter_class is ShopifyAdapter:
        # Shopify rotates expiring tokens: a refreshed pair is saved at once (the adapter writes nothing).
        return ShopifyAdapter(
            store=store,
            secrets=secrets,
            on_secrets_changed=lambda fresh: store_update_secrets(store=store, secrets=fresh),
        )
    return adapter_class(store=store, secrets=secrets)
