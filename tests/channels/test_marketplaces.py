"""The one marketplace table: Amazon's published ids, the library's endpoints, and everything derived from it
(region choices, forms, the connect command, the refund rule form, the adapters, FBA pools, the simulator)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sp_api.base import Marketplaces

from channels.adapters.amazon.parse import _marketplace_code_from_name, parse_participation
from channels.forms import AmazonConnectForm
from channels.marketplaces import (
    AMAZON_MARKETPLACE_TABLE,
    REGION_MARKETPLACES,
    fba_pools,
    library_marketplace_codes,
    marketplace_by_domain,
    marketplace_code,
    region_of_marketplaces,
)
from channels.models import AMAZON_MARKETPLACES, Region, Store
from inventory.fba import fba_pool
from refunds.forms_rules import RuleForm
from simulator.amazon.sellers import participations
from simulator.catalogue import MARKETPLACES as SIMULATED
from simulator.model import Seller

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "amazon"
REGION_HEADINGS = {"North America": "NA", "Europe": "EU", "Far East": "FE"}


def _published() -> dict[str, tuple[str, str]]:
    """Amazon's Marketplace IDs page: country code → (marketplace id, region)."""
    lines = [line for line in (FIXTURES / "marketplace-ids.tsv").read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return {row["country_code"]: (row["marketplace_id"], REGION_HEADINGS[row["region"]]) for row in rows}


def test_every_marketplace_id_is_the_one_amazon_publishes() -> None:
    # given: Amazon's published list (23 marketplaces)
    published = _published()
    assert len(published) == 23

    # then: the table has exactly those, with Amazon's ids and regions: Japan is A1VC38T7YXB528
    table = {code: (m.marketplace_id, m.region) for code, m in AMAZON_MARKETPLACE_TABLE.items()}
    assert table == published
    assert AMAZON_MARKETPLACE_TABLE["JP"].marketplace_id == "A1VC38T7YXB528"


def test_the_table_covers_every_marketplace_of_the_library_and_takes_ids_and_endpoints_from_it() -> None:
    assert library_marketplace_codes() == set(AMAZON_MARKETPLACE_TABLE)
    for code, marketplace in AMAZON_MARKETPLACE_TABLE.items():
        member = Marketplaces["GB" if code == "UK" else code]
        assert (marketplace.marketplace_id, marketplace.endpoint, marketplace.aws_region) == (
            member.marketplace_id,
            member.endpoint,
            member.region,
        )
        assert marketplace.library_member is member
        assert f"-{marketplace.region.lower()}." in marketplace.endpoint


def test_codes_currency_country_and_domains() -> None:
    uk = AMAZON_MARKETPLACE_TABLE["UK"]
    assert (uk.country, uk.currency, uk.site_name) == ("GB", "GBP", "Amazon.co.uk")
    assert [(m.code, m.currency) for m in AMAZON_MARKETPLACE_TABLE.values() if m.code in {"SE", "PL", "BR", "IN"}] == [
        ("BR", "BRL"),
        ("SE", "SEK"),
        ("PL", "PLN"),
        ("IN", "INR"),
    ]
    # stored codes stay "UK"; people and files may write GB
    assert [marketplace_code(value) for value in ("gb", " uk ", "jp", "XX", "")] == ["UK", "UK", "JP", "", ""]
    # Finances v0 and settlements name marketplaces by domain
    assert [
        _marketplace_code_from_name(name) for name in ("Amazon.co.jp", "www.amazon.nl", "Amazon.ie", "ebay.com")
    ] == [
        "JP",
        "NL",
        "IE",
        "",
    ]
    belgium = marketplace_by_domain("Amazon.com.be")
    assert belgium is not None and belgium.code == "BE"
    assert AMAZON_MARKETPLACES["JP"] == ("A1VC38T7YXB528", "JPY", "JP")  # the older name, derived


def test_regions_and_region_choices_come_from_the_table() -> None:
    assert set(REGION_MARKETPLACES) == set(Region.values)
    assert REGION_MARKETPLACES["NA"] == ("US", "CA", "MX", "BR")
    assert REGION_MARKETPLACES["FE"] == ("JP", "AU", "SG")
    assert sum(len(codes) for codes in REGION_MARKETPLACES.values()) == 23
    assert region_of_marketplaces(["NL", "SE", "PL"]) == "EU"
    assert region_of_marketplaces(["JP", "US"]) is None
    assert region_of_marketplaces(["JP", "XX"]) is None


def test_fba_pools_pan_european_and_north_america_the_rest_alone() -> None:
    assert fba_pools() == {
        "NA": ("US", "CA", "MX"),
        "EU": ("DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "IE"),
    }
    assert [fba_pool(code) for code in ("NL", "UK", "JP", "TR", "CA")] == ["EU", "UK", "JP", "TR", "NA"]


def test_the_simulator_reads_the_same_table() -> None:
    assert {code: m.marketplace_id for code, m in SIMULATED.items()} == {
        code: m.marketplace_id for code, m in AMAZON_MARKETPLACE_TABLE.items()
    }
    assert {code: (m.region, m.currency, m.country) for code, m in SIMULATED.items()} == {
        code: (m.region, m.currency, m.country) for code, m in AMAZON_MARKETPLACE_TABLE.items()
    }
    from simulator.stock import FBA_POOLS

    assert set(FBA_POOLS) == {frozenset(codes) for codes in fba_pools().values()}


def test_the_simulated_participations_are_shaped_as_amazon_documents_them() -> None:
    # given: Amazon's example response and required fields (selling-partner-api-models, sellers.json)
    vendor = json.loads((FIXTURES / "sellers-getMarketplaceParticipations.200.example.json").read_text())
    required = vendor["_source"]["required"]
    example = vendor["example"]["payload"][0]
    seller = Seller(
        selling_partner_id="A1TEST",
        name="Tokyo Gadgets",
        region="FE",
        marketplaces=(SIMULATED["JP"],),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),  # not read here
        orders_per_day=0,
        live_orders_per_hour=0,
        suspended={"JP"},
    )

    # when
    payload = participations(seller)

    # then: one entry per marketplace of the region, with Amazon's keys and value types
    assert [entry["marketplace"]["id"] for entry in payload] == [
        AMAZON_MARKETPLACE_TABLE[code].marketplace_id for code in ("JP", "AU", "SG")
    ]
    for entry in payload:
        assert set(entry) == set(example) == set(required["MarketplaceParticipation"])
        assert set(entry["marketplace"]) == set(required["Marketplace"])
        assert set(entry["participation"]) == set(required["Participation"])
    japan = payload[0]
    assert japan["marketplace"]["name"] == "Amazon.co.jp" and japan["marketplace"]["domainName"] == "www.amazon.co.jp"
    assert japan["participation"] == {"isParticipating": True, "hasSuspendedListings": True}
    assert payload[1]["participation"]["isParticipating"] is False
    # and ACORN's parser reads Amazon's own example
    parsed = parse_participation(example)
    assert (parsed.code, parsed.participating, parsed.suspended, parsed.store_name) == (
        "US",
        True,
        False,
        "BestSellerStore",
    )


@pytest.mark.django_db
def test_the_connect_form_offers_all_23_and_keeps_one_region() -> None:
    form = AmazonConnectForm(
        {"name": "Amazon EU", "region": "EU", "marketplaces": ["NL", "gb", "PL"], "permissions": ["orders"]}
    )
    offered = [code for _group, options in form.fields["marketplaces"].choices for code, _label in options]
    assert offered == [code for codes in REGION_MARKETPLACES.values() for code in codes]
    assert form.is_valid(), form.errors
    assert form.cleaned_data["marketplaces"] == ["NL", "UK", "PL"]

    wrong = AmazonConnectForm(
        {"name": "Mixed", "region": "FE", "marketplaces": ["JP", "US"], "permissions": ["orders"]}
    )
    assert not wrong.is_valid()
    assert "US not in the Far East region" in str(wrong.errors["marketplaces"])


def test_the_refund_rule_form_knows_every_marketplace(in_scope: None) -> None:
    form = RuleForm(data={"name": "EU", "marketplaces": "nl, SE, gb, ZA"}, stores=Store.objects.none())
    form.is_valid()
    assert "marketplaces" not in form.errors
    assert form.cleaned_data["marketplaces"] == "NL, SE, UK, ZA"
    bad = RuleForm(data={"name": "EU", "marketplaces": "XX"}, stores=Store.objects.none())
    bad.is_valid()
    assert "XX" in str(bad.errors["marketplaces"])
