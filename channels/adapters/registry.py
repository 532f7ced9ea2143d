"""Which adapter serves which platform: an explicit list, no import-time discovery.

Domain code that has no credentials at hand (a form deciding what to offer, a beat task choosing stores)
asks the adapter class: `adapter_class_for(platform).supports(Capability.X)`, `platforms_supporting(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from channels.adapters.amazon import AmazonAdapter
from channels.adapters.base import Authorization, Capability, ChannelAdapter, UnknownChannel
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from channels.store_state import store_renew_secrets

if TYPE_CHECKING:
    from channels.models import Store

_ADAPTERS: dict[str, type[ChannelAdapter]] = {
    adapter.key: adapter for adapter in (AmazonAdapter, ShopifyAdapter, WooCommerceAdapter)
}


def adapter_classes() -> tuple[type[ChannelAdapter], ...]:
    """Every adapter ACORN has, one per platform."""
    return tuple(_ADAPTERS.values())


def adapter_class_for(platform: str) -> type[ChannelAdapter]:
    """The adapter class of a platform (its declarations need no credentials); UnknownChannel if none."""
    try:
        return _ADAPTERS[platform]
    except KeyError:
        raise UnknownChannel(f"No adapter for platform {platform!r}.") from None


def platform_supports(platform: str, capability: Capability) -> bool:
    """Whether the platform's adapter can do `capability` (False for a platform ACORN has no adapter for)."""
    adapter_class = _ADAPTERS.get(platform)
    return adapter_class is not None and adapter_class.supports(capability)


def platform_is_regional(platform: str) -> bool:
    """Whether one authorisation of the platform covers a selling region and marketplaces chosen in it."""
    adapter_class = _ADAPTERS.get(platform)
    return adapter_class is not None and adapter_class.regional


def platform_reauthorizes(platform: str) -> bool:
    """Whether the platform asks sellers to renew ACORN's authorisation periodically (Amazon: yearly)."""
    adapter_class = _ADAPTERS.get(platform)
    return adapter_class is not None and adapter_class.reauthorization_period is not None


def platform_authorized_by(platform: str, authorization: Authorization) -> bool:
    """Whether sellers of the platform let ACORN in that way (which connect / renew flow applies)."""
    adapter_class = _ADAPTERS.get(platform)
    return adapter_class is not None and adapter_class.authorization == authorization


def platforms_supporting(capability: Capability) -> frozenset[str]:
    """The platforms whose adapter can do `capability` (for queries over many stores)."""
    return frozenset(key for key, adapter_class in _ADAPTERS.items() if adapter_class.supports(capability))


def adapter_for(store: Store, *, secrets: Mapping[str, Any]) -> ChannelAdapter:
    """The adapter for the store's platform, bound to the store and its decrypted secrets. Secrets the
    adapter renews (Shopify's expiring token pairs) are renewed under a row lock on the store's credential and
    saved at once: the adapter itself writes nothing."""
    return adapter_class_for(store.platform)(
        store=store,
        secrets=secrets,
        renew_secrets=lambda renew: store_renew_secrets(store=store, renew=renew),
    )
