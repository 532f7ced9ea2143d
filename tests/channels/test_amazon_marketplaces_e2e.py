"""The new marketplaces and Amazon's word on them, end to end against the simulator through
python-amazon-sp-api over real HTTP: stores connected with `connect_store --marketplaces JP` (and NL, SE,
PL) import their orders with `sync_store`; getMarketplaceParticipations is asked on connect and on
re-authorisation and the store page warns about marketplaces the seller does not sell on; a run stopped by
a 429 in the middle of a window catches up in one more run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE
from channels.models import Store, StoreStatus, SyncCursor
from channels.services_lifecycle import store_complete_amazon_authorization
from orders.models import Order
from simulator.server import SimulatorServer
from tests.channels.test_amazon_e2e import NOW, _form_fields, _simulator, _stored, _truth
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db
ORDERS_PATH = "/orders/2026-01-01/orders"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not Amazon's 0.0056/s
    settings.ACORN_SYNC_INITIAL_DAYS = 90  # the simulated history is 60 days
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with _simulator() as server:
        yield server


def _json(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def _ids(query: dict[str, list[str]]) -> list[str]:
    """The marketplace ids a request named (the client library joins a list with commas)."""
    return sorted(",".join(query["marketplaceIds"]).split(","))


def _store(tenant: Tenant, pk: int) -> Store:
    with tenant_scope(tenant):
        return Store.objects.get(pk=pk)


@pytest.mark.parametrize(
    ("codes", "currencies"),
    [("JP", {"JPY"}), ("NL,SE,PL", {"EUR", "SEK", "PLN"})],
    ids=["japan", "netherlands-sweden-poland"],
)
def test_a_store_connected_by_command_imports_its_orders_from_the_new_marketplaces(
    tenant: Tenant, sim: SimulatorServer, codes: str, currencies: set[str]
) -> None:
    # given: a store connected through the simulator's Seller Central with those marketplaces
    result = _json(
        "connect_store",
        "--tenant",
        tenant.slug,
        "--platform",
        "amazon",
        "--name",
        f"Amazon {codes}",
        "--endpoint",
        sim.url,
        "--marketplaces",
        codes,
        "--no-sync",
    )
    chosen = codes.split(",")
    # Amazon was asked where the seller sells: everywhere chosen
    assert (result["marketplaces"], result["participating"], result["not_participating"]) == (chosen, chosen, [])
    store = _store(tenant, result["store_id"])
    assert store.status == StoreStatus.ACTIVE and store.participations_checked_at is not None

    # when: the orders are synced from the command line
    summary = _json("sync_store", str(store.pk), "--resource", "orders", "--json")

    # then: every order the seller has arrived, with the marketplaces' currencies, asked with Amazon's ids
    assert (summary["status"], summary["caught_up"]) == ("succeeded", True)
    truth = _truth(sim, store.seller_id)
    assert len(truth) > 100 and _stored(store) == truth
    with tenant_scope(tenant):
        assert set(Order.objects.filter(store=store).values_list("marketplace", flat=True)) == set(chosen)
        assert set(Order.objects.filter(store=store).values_list("currency", flat=True)) == currencies
    ids = sorted(AMAZON_MARKETPLACE_TABLE[code].marketplace_id for code in chosen)
    searches = [request.query for request in sim.requests if request.path == ORDERS_PATH]
    assert searches and all(_ids(query) == ids for query in searches if "marketplaceIds" in query)


def test_after_a_429_mid_window_and_new_orders_one_more_sync_store_run_brings_every_order_in(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given: a store with several pages of orders, and Amazon answering the third searchOrders call 429 with a
    # Retry-After longer than the run's time budget
    seller = sim.world.add_seller("EU", ["DE", "NL"])
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant, actor=None, membership=None, platform="amazon", name="Amazon EU", region="EU",
            marketplaces=["DE", "NL"], permissions=["orders"], endpoint=sim.url,
        )  # fmt: skip
        store_complete_amazon_authorization(
            store=store,
            actor=None,
            seller_id=seller.selling_partner_id,
            refresh_token=sim.world.issue_refresh_token(seller.selling_partner_id),
            queue_sync=False,
        )
    sim.world.generate_orders(seller.selling_partner_id, 400)
    sim.faults.inject("searchOrders", 429, retry_after=300, after_calls=2)

    # when: the first run stops in the middle of its window
    first = _json("sync_store", str(store.pk), "--resource", "orders", "--json")
    with tenant_scope(tenant):
        pinned_end = SyncCursor.objects.get(store=store).window_end

    # then: it says it is behind, how far it got, and that it continues
    assert (first["status"], first["caught_up"], first["error_code"]) == ("partial", False, "rate_limited")
    assert first["message"].startswith("Behind (")
    assert 0 < first["created"] < len(_truth(sim, seller.selling_partner_id))
    assert pinned_end is not None

    # and while ACORN is behind, time passes: orders are placed, shipped and cancelled after the pinned window
    sim.world.advance(timedelta(minutes=45))
    truth = _truth(sim, seller.selling_partner_id)
    later = {order_id for order_id, _ in _updated_after(sim, seller.selling_partner_id, pinned_end)}
    assert later, "the world should have changed after the pinned window"

    # when: one more run
    second = _json("sync_store", str(store.pk), "--resource", "orders", "--json")

    # then: it finished the pinned window, went on to the freshest time Amazon allows, and every order is in
    assert (second["status"], second["caught_up"]) == ("succeeded", True)
    assert _stored(store) == truth
    with tenant_scope(tenant):
        cursor = SyncCursor.objects.get(store=store)
        assert cursor.up_to_date_as_of == sim.world.now() - timedelta(minutes=2)
        assert cursor.last_status == "succeeded" and not cursor.is_behind


def _updated_after(sim: SimulatorServer, seller_id: str, moment: datetime) -> list[tuple[str, datetime]]:
    """Orders Amazon shows as last updated after the moment (those a pinned window cannot hold)."""
    updated = [
        (raw["orderId"], datetime.fromisoformat(raw["lastUpdatedTime"].replace("Z", "+00:00")))
        for raw in sim.world.visible_orders_for(seller_id)
    ]
    return [(order_id, when) for order_id, when in updated if when > moment]


def _japanese_store(tenant: Tenant, sim: SimulatorServer, *, sells_on: list[str], chosen: list[str]) -> Store:
    """A Far East seller who sells on `sells_on`, connected as a store that chose `chosen`."""
    seller = sim.world.add_seller("FE", sells_on, name="Tokyo Gadgets")
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant, actor=None, membership=None, platform="amazon", name="Amazon FE", region="FE",
            marketplaces=chosen, permissions=["orders", "inventory"], endpoint=sim.url,
        )  # fmt: skip
        return store_complete_amazon_authorization(
            store=store,
            actor=None,
            seller_id=seller.selling_partner_id,
            refresh_token=sim.world.issue_refresh_token(seller.selling_partner_id),
            queue_sync=False,
        )


def test_amazon_is_asked_where_the_seller_sells_and_the_store_page_warns_about_the_rest(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    # given: a seller who sells in Japan only, connected as a store that chose Japan and Australia
    sim.clear_requests()
    store = _japanese_store(tenant, sim, sells_on=["JP"], chosen=["JP", "AU"])

    # then: getMarketplaceParticipations was asked once, through the Sellers client, and kept
    assert [request.path for request in sim.requests].count(PARTICIPATIONS_PATH) == 1
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.participating_codes() == ["JP"]
        assert store.marketplaces_not_participating() == ["AU"] and store.sync_marketplaces() == ["JP"]
        assert {p["code"]: p["store_name"] for p in store.participations} == {
            "JP": "Tokyo Gadgets",
            "AU": "Tokyo Gadgets",
            "SG": "Tokyo Gadgets",
        }
        assert AuditEvent.objects.filter(action="store.participations_checked", object_id=str(store.pk)).exists()

    # and the store page warns, in English and in Chinese
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk]))
    assert "Amazon says this seller does not sell on AU — Australia (Amazon.com.au)" in page.content.decode()
    chinese = owner_client.get(reverse("channels:store-detail", args=[store.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "亚马逊表示该卖家不在 AU — 澳大利亚 (Amazon.com.au) 销售" in chinese.content.decode()

    # and the orders sync reads Japan only (Amazon would refuse Australia for this seller) and succeeds
    summary = _json("sync_store", str(store.pk), "--resource", "orders", "--json")
    assert summary["status"] == "succeeded"
    searches = [
        request.query for request in sim.requests if request.path == ORDERS_PATH and "marketplaceIds" in request.query
    ]
    assert searches and all(_ids(query) == ["A1VC38T7YXB528"] for query in searches)
    assert _stored(store) == _truth(sim, store.seller_id)


def test_the_marketplaces_page_offers_only_where_the_seller_sells(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    store = _japanese_store(tenant, sim, sells_on=["JP", "SG"], chosen=["JP", "AU"])
    url = reverse("channels:store-marketplaces", args=[store.pk])

    # the form offers JP and SG (not AU), and says AU goes
    page = owner_client.get(url).content.decode()
    assert 'value="JP"' in page and 'value="SG"' in page and 'value="AU"' not in page
    assert "Not offered because the seller does not sell there: AU — Australia (Amazon.com.au)" in page

    # choosing a marketplace the seller does not sell on is refused with a message
    refused = owner_client.post(url, {"marketplaces": ["AU"]})
    assert refused.status_code == 400
    assert "Select a valid choice. AU is not one of the available choices." in refused.content.decode()
    empty = owner_client.post(url, {})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()

    # adding Singapore keeps JP, drops AU, and makes the next sync read the history again
    with tenant_scope(tenant):
        SyncCursor.objects.create(tenant=tenant, store=store, resource="orders", high_water=NOW)
    done = owner_client.post(url, {"marketplaces": ["JP", "SG"]})
    assert done.status_code == 302
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.marketplaces == ["JP", "SG"] and store.marketplaces_not_participating() == []
        assert SyncCursor.objects.get(store=store).high_water is None
        event = AuditEvent.objects.get(action="store.marketplaces_changed")
        assert event.after == {"marketplaces": ["JP", "SG"], "added": ["SG"]}


def test_reauthorising_asks_amazon_again(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    django_capture_on_commit_callbacks: Callable,
    enqueued: EnqueuedTasks,
) -> None:
    # given: a connected Japanese store, and Amazon since then marking the seller's Japanese listings inactive
    store = _japanese_store(tenant, sim, sells_on=["JP"], chosen=["JP"])
    sim.world.set_suspended(store.seller_id, "JP")

    # when: the owner re-authorises through Seller Central
    consent = owner_client.post(reverse("channels:store-reauthorize", args=[store.pk]))["Location"]
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(consent)
        approved = browser.post(consent.split("?")[0], data=_form_fields(page.text))
    with django_capture_on_commit_callbacks(execute=True):
        back = owner_client.get(approved.headers["location"].removeprefix("http://testserver"), follow=True)

    # then: the same seller, asked again, and the page says so
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.status == StoreStatus.ACTIVE
        assert [p["suspended"] for p in store.participations if p["code"] == "JP"] == [True]
    assert "Amazon reports suspended (inactive) listings on JP — Japan (Amazon.co.jp)." in back.content.decode()


def test_participations_that_amazon_cannot_answer_now_are_asked_again_in_a_task(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    sim.faults.inject("getMarketplaceParticipations", 503)
    with django_capture_on_commit_callbacks(execute=True):
        store = _japanese_store(tenant, sim, sells_on=["JP"], chosen=["JP", "AU"])
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.status == StoreStatus.ACTIVE and store.participations_checked_at is None
        assert store.sync_marketplaces() == ["JP", "AU"]  # unknown yet: everything chosen
    assert [task.name for task, _ in enqueued] == ["channels.refresh_participations"]

    assert enqueued.run_all() == [["JP"]]
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.marketplaces_not_participating() == ["AU"]


def test_checking_participations_from_the_store_page_is_for_owners_and_admins(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    store = _japanese_store(tenant, sim, sells_on=["JP"], chosen=["JP"])
    url = reverse("channels:store-check-participations", args=[store.pk])
    operator = client_for(make_member(tenant, Role.OPERATOR))
    assert operator.post(url).status_code == 403
    assert operator.get(reverse("channels:store-marketplaces", args=[store.pk])).status_code == 403
    answer = owner_client.post(url, follow=True)
    assert "Amazon confirms the seller sells on every marketplace of this store." in answer.content.decode()
