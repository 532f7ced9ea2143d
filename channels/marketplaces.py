"""Amazon's marketplaces: one table, derived from python-amazon-sp-api's `Marketplaces` enum.

The marketplace id, the SP-API endpoint and the AWS region come from the library (which copies Amazon's
"Marketplace IDs" page, developer-docs.amazon.com/sp-api/docs/marketplace-ids); the selling region
(NA / EU / FE) follows from the endpoint's host. Kept here is only what the library lacks: the currency,
the country, Amazon's domain (how Finances v0 events and settlement reports name a marketplace), an
English name for people, and the FBA stock pool. Every other table of marketplaces in ACORN — region
choices, forms, the connect command, the refund rule form, the adapters and the FBA pools — is derived
from `AMAZON_MARKETPLACE_TABLE`; none is written by hand. The simulator, which stands in for Amazon and
imports nothing of ACORN, keeps Amazon's facts itself (simulator/catalogue.py, built the same way);
tests/simulator/test_boundaries.py holds the two equal.

Codes. ACORN stores the library's member name, except that Great Britain is "UK" (the library keeps a
"UK" alias of "GB"; stores saved before this table say "UK", and so does Amazon's own page). "GB" is
accepted as input and normalised (`marketplace_code`).

FBA pools (see inventory/fba.py). Amazon sells FBA stock per pool, not per marketplace. North America
Remote Fulfilment sells US stock in CA and MX. Pan-European FBA treats the seller's EU stock as "a single
inventory pool that is sellable in all Amazon Europe stores" (Seller Central help "Pan-European FBA: How
it Works"); since 2021 that excludes the UK ("UK inventory is handled separately", help page
"Pan-European FBA ASIN Enrolment", and "Amazon cannot move inventory across the UK-EU border" since
Brexit). The EU stores of the pool are DE, FR, IT, ES and, since September 2021, NL, SE and PL ("three
new store options", same page), then BE (launched 2022 in the EU fulfilment network) and IE (launched
2025, EU). Every other marketplace (UK, TR, AE, SA, EG, IN, ZA, JP, AU, SG, BR) is a pool of its own.

This module imports no Django model and no ACORN domain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sp_api.base import Marketplaces


def gettext_noop(message: str) -> str:
    """Marks a name for translation where it is shown (Django's own needs settings; the simulator has none)."""
    return message


# The selling region of an SP-API endpoint host ("sellingpartnerapi-eu.amazon.com" → "EU").
_ENDPOINT_REGIONS = {"na": "NA", "eu": "EU", "fe": "FE"}

# ACORN's stored code → the library's member name, where they differ.
_LIBRARY_NAMES = {"UK": "GB"}

# What the library does not know, per ACORN code: currency, country (ISO 3166-1), Amazon's domain, an
# English name (translated where shown: zh_Hans in locale/), and the FBA stock pool.
_EXTRA: dict[str, tuple[str, str, str, str, str]] = {
    # North America (sellingpartnerapi-na)
    "US": ("USD", "US", "amazon.com", gettext_noop("United States"), "NA"),
    "CA": ("CAD", "CA", "amazon.ca", gettext_noop("Canada"), "NA"),
    "MX": ("MXN", "MX", "amazon.com.mx", gettext_noop("Mexico"), "NA"),
    "BR": ("BRL", "BR", "amazon.com.br", gettext_noop("Brazil"), "BR"),
    # Europe (sellingpartnerapi-eu), including the Middle East, Africa and India
    "UK": ("GBP", "GB", "amazon.co.uk", gettext_noop("United Kingdom"), "UK"),
    "DE": ("EUR", "DE", "amazon.de", gettext_noop("Germany"), "EU"),
    "FR": ("EUR", "FR", "amazon.fr", gettext_noop("France"), "EU"),
    "IT": ("EUR", "IT", "amazon.it", gettext_noop("Italy"), "EU"),
    "ES": ("EUR", "ES", "amazon.es", gettext_noop("Spain"), "EU"),
    "NL": ("EUR", "NL", "amazon.nl", gettext_noop("Netherlands"), "EU"),
    "SE": ("SEK", "SE", "amazon.se", gettext_noop("Sweden"), "EU"),
    "PL": ("PLN", "PL", "amazon.pl", gettext_noop("Poland"), "EU"),
    "BE": ("EUR", "BE", "amazon.com.be", gettext_noop("Belgium"), "EU"),
    "IE": ("EUR", "IE", "amazon.ie", gettext_noop("Ireland"), "EU"),
    "TR": ("TRY", "TR", "amazon.com.tr", gettext_noop("Turkey"), "TR"),
    "AE": ("AED", "AE", "amazon.ae", gettext_noop("United Arab Emirates"), "AE"),
    "SA": ("SAR", "SA", "amazon.sa", gettext_noop("Saudi Arabia"), "SA"),
    "EG": ("EGP", "EG", "amazon.eg", gettext_noop("Egypt"), "EG"),
    "IN": ("INR", "IN", "amazon.in", gettext_noop("India"), "IN"),
    "ZA": ("ZAR", "ZA", "amazon.co.za", gettext_noop("South Africa"), "ZA"),
    # Far East (sellingpartnerapi-fe)
    "JP": ("JPY", "JP", "amazon.co.jp", gettext_noop("Japan"), "JP"),
    "AU": ("AUD", "AU", "amazon.com.au", gettext_noop("Australia"), "AU"),
    "SG": ("SGD", "SG", "amazon.sg", gettext_noop("Singapore"), "SG"),
}


@dataclass(frozen=True, slots=True)
class AmazonMarketplace:
    """One Amazon marketplace: the library's id, endpoint and AWS region, and what ACORN adds."""

    code: str  # what ACORN stores: the library's member name, "UK" for Great Britain
    marketplace_id: str  # from the library
    endpoint: str  # from the library: the production SP-API endpoint of the marketplace's region
    aws_region: str  # from the library
    region: str  # NA / EU / FE, from the endpoint
    currency: str  # ISO 4217
    country: str  # ISO 3166-1 alpha-2 ("GB" for the UK)
    domain: str  # "amazon.co.jp": Finances v0's MarketplaceName and the settlement's marketplace-name
    name: str  # English, for people (translate with gettext where shown)
    fba_pool: str  # the FBA stock pool it sells from: "NA", "EU", or a pool of its own (its code)

    @property
    def site_name(self) -> str:
        """Amazon's own name of the marketplace, as in Sellers API and report payloads: "Amazon.co.jp"."""
        return "A" + self.domain[1:]

    @property
    def library_member(self) -> Marketplaces:
        """The member of sp_api's Marketplaces enum, for building clients."""
        return Marketplaces[_LIBRARY_NAMES.get(self.code, self.code)]


def _region_of(endpoint: str) -> str:
    host = urlsplit(endpoint).hostname or ""
    suffix = host.split(".", 1)[0].rsplit("-", 1)[-1]
    try:
        return _ENDPOINT_REGIONS[suffix]
    except KeyError:
        raise RuntimeError(f"python-amazon-sp-api endpoint {endpoint!r} names no known selling region") from None


def _build() -> dict[str, AmazonMarketplace]:
    """The table in ACORN's display order (region by region, the big marketplaces first), one entry per
    library marketplace that ACORN knows the currency and pool of."""
    members = {member.name: member for member in Marketplaces}  # aliases (UK of GB) are not iterated
    table: dict[str, AmazonMarketplace] = {}
    for code, (currency, country, domain, name, pool) in _EXTRA.items():
        member = members.get(_LIBRARY_NAMES.get(code, code))
        if member is None:  # dropped by the library: ACORN cannot call it (tests/channels/test_marketplaces.py)
            continue
        table[code] = AmazonMarketplace(
            code=code,
            marketplace_id=member.marketplace_id,
            endpoint=member.endpoint,
            aws_region=member.region,
            region=_region_of(member.endpoint),
            currency=currency,
            country=country,
            domain=domain,
            name=name,
            fba_pool=pool,
        )
    return table


def library_marketplace_codes() -> set[str]:
    """The codes of every marketplace the library knows (a new one without a row here is left out)."""
    return {next((ours for ours, theirs in _LIBRARY_NAMES.items() if theirs == m.name), m.name) for m in Marketplaces}


AMAZON_MARKETPLACE_TABLE: dict[str, AmazonMarketplace] = _build()
MARKETPLACES_BY_ID: dict[str, AmazonMarketplace] = {m.marketplace_id: m for m in AMAZON_MARKETPLACE_TABLE.values()}
MARKETPLACES_BY_DOMAIN: dict[str, AmazonMarketplace] = {m.domain: m for m in AMAZON_MARKETPLACE_TABLE.values()}
# Selling region → its marketplace codes, in Amazon's order within the region.
_REGION_ORDER = ("NA", "EU", "FE")
REGION_MARKETPLACES: dict[str, tuple[str, ...]] = {
    region: tuple(m.code for m in AMAZON_MARKETPLACE_TABLE.values() if m.region == region) for region in _REGION_ORDER
}


def marketplace_code(value: str) -> str:
    """ACORN's code for what a person or a file wrote ("gb", " uk " → "UK"); "" when it names none."""
    code = value.strip().upper()
    code = next((ours for ours, theirs in _LIBRARY_NAMES.items() if theirs == code), code)
    return code if code in AMAZON_MARKETPLACE_TABLE else ""


def marketplace_get(code: str) -> AmazonMarketplace | None:
    """The marketplace of a stored code, or None."""
    return AMAZON_MARKETPLACE_TABLE.get(code)


def marketplace_by_id(marketplace_id: str) -> AmazonMarketplace | None:
    """The marketplace of an Amazon marketplace id, or None."""
    return MARKETPLACES_BY_ID.get(marketplace_id)


def marketplace_by_domain(name: str) -> AmazonMarketplace | None:
    """The marketplace Amazon names by domain ("Amazon.de", "www.amazon.co.jp"), or None."""
    return MARKETPLACES_BY_DOMAIN.get(name.strip().lower().removeprefix("www."))


def region_of_marketplaces(codes: list[str] | tuple[str, ...]) -> str | None:
    """The one selling region all the codes belong to, or None (unknown codes, or several regions)."""
    regions = {AMAZON_MARKETPLACE_TABLE[code].region for code in codes if code in AMAZON_MARKETPLACE_TABLE}
    if len(regions) != 1 or any(code not in AMAZON_MARKETPLACE_TABLE for code in codes):
        return None
    return regions.pop()


def fba_pools() -> dict[str, tuple[str, ...]]:
    """FBA pool → its marketplaces, for the pools that span several (a marketplace alone is its own pool)."""
    pools: dict[str, list[str]] = {}
    for marketplace in AMAZON_MARKETPLACE_TABLE.values():
        pools.setdefault(marketplace.fba_pool, []).append(marketplace.code)
    return {pool: tuple(codes) for pool, codes in pools.items() if len(codes) > 1}
