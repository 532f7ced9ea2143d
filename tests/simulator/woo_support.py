"""Helpers for the WooCommerce simulator tests: the real `woocommerce` client pointed at a simulated shop
over HTTPS (certificate verified against the simulator's CA) or plain HTTP (OAuth 1.0a), a webhook
receiver that records deliveries, and the vendor's documented example payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from woocommerce import API

from simulator import SimulatorServer
from simulator.woocommerce.model import ApiKey
from tests.vendor import VENDOR_FIXTURES

VENDOR = VENDOR_FIXTURES / "woocommerce" / "wp-api-v3"
SLUG = "demo-shop"


def vendor_example(name: str) -> Any:
    return json.loads((VENDOR / name).read_text())


def first_key(sim: SimulatorServer, slug: str = SLUG) -> ApiKey:
    return next(iter(sim.woo.site(slug).keys.values()))


def client(
    sim: SimulatorServer, slug: str = SLUG, key: ApiKey | None = None, *, https: bool = True, **credentials: str
) -> API:
    """The `woocommerce` library as ACORN uses it: Basic auth over HTTPS, OAuth 1.0a over plain HTTP."""
    key = key or first_key(sim, slug)
    url = sim.woo.site_url(slug) if https else f"{sim.url}/woo/{slug}"
    return API(
        url=url,
        consumer_key=credentials.get("consumer_key", key.consumer_key),
        consumer_secret=credentials.get("consumer_secret", key.consumer_secret),
        version="wc/v3",
        timeout=5,
        verify_ssl=sim.tls_cert_path,
    )


@dataclass
class Receiver:
    """A webhook endpoint: records every delivery and answers with the next status from `answers`."""

    answers: list[int] = field(default_factory=list)
    default: int = 200
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        self.received.append((url, dict(headers), body))
        return self.answers.pop(0) if self.answers else self.default

    def json_bodies(self) -> list[Any]:
        return [json.loads(body) for _, headers, body in self.received if "X-WC-Webhook-Signature" in headers]


def keys_of(example: Any) -> set[str]:
    return set(example) - {"_links"}
