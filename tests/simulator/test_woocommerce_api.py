"""The WooCommerce front read through the real `woocommerce` client over HTTPS: paging with WordPress's
headers, date filters in GMT and local time, the vendor's record shapes, and how a client tells a
WooCommerce shop from a plain WordPress site and from no WordPress at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from simulator import SimulatorServer
from simulator.woocommerce.site import WooSite
from tests.simulator.woo_support import SLUG, client, keys_of, vendor_example


@pytest.fixture
def shop(sim: SimulatorServer) -> WooSite:
    return sim.woo.add_site(SLUG, currency="EUR", timezone="Europe/Berlin", orders_per_day=6)


def _all_pages(api, **params: object) -> tuple[list[dict], list[requests.Response]]:
    page, orders, responses = 1, [], []
    while True:
        response = api.get("orders", params={"per_page": 100, "page": page, **params})
        response.raise_for_status()
        responses.append(response)
        orders.extend(response.json())
        if page >= int(response.headers["X-WP-TotalPages"]):
            return orders, responses
        page += 1


def test_pages_to_the_end_with_total_headers_and_links(sim: SimulatorServer, shop: WooSite) -> None:
    # given a shop with about 360 orders of history
    api = client(sim)
    truth = sim.woo.visible_orders(SLUG)

    # when a client reads every page of 100
    orders, responses = _all_pages(api, status="any")

    # then it holds exactly the shop's orders, and every page said how many there are
    assert sorted(order["id"] for order in orders) == [order["id"] for order in truth]
    assert len(responses) == -(-len(truth) // 100) > 2
    assert {response.headers["X-WP-Total"] for response in responses} == {str(len(truth))}
    assert all(
        response.links["next"]["url"].endswith(f"page={index + 2}") for index, response in enumerate(responses[:-1])
    )
    assert "next" not in responses[-1].links
    assert responses[-1].links["prev"]["url"].startswith(f"{sim.woo.site_url(SLUG)}/wp-json/wc/v3/orders?")
    # and a page past the end is empty, with the same totals
    beyond = api.get("orders", params={"per_page": 100, "page": len(responses) + 1})
    assert beyond.status_code == 200
    assert beyond.json() == []
    assert beyond.headers["X-WP-Total"] == str(len(truth))


def test_default_page_is_ten_newest_orders(sim: SimulatorServer, shop: WooSite) -> None:
    orders = client(sim).get("orders").json()

    created = [order["date_created_gmt"] for order in orders]
    assert len(orders) == 10
    assert created == sorted(created, reverse=True)


def test_modified_after_is_exclusive_in_gmt_and_local_time(sim: SimulatorServer, shop: WooSite) -> None:
    # given an order modified at some moment T
    api = client(sim)
    truth = sim.woo.visible_orders(SLUG)
    pivot = sorted(truth, key=lambda order: order["date_modified_gmt"])[len(truth) // 2]
    moment = datetime.fromisoformat(pivot["date_modified_gmt"]).replace(tzinfo=UTC)
    expected = sorted(order["id"] for order in truth if order["date_modified_gmt"] > pivot["date_modified_gmt"])

    # when the client asks for orders modified after T: in GMT, in the site's local time, and with an offset
    in_gmt, _ = _all_pages(api, modified_after=moment.strftime("%Y-%m-%dT%H:%M:%S"), dates_are_gmt="true")
    local = moment.astimezone(shop.zone).strftime("%Y-%m-%dT%H:%M:%S")
    in_local, _ = _all_pages(api, modified_after=local)
    with_offset, _ = _all_pages(api, modified_after=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))

    # then each answer holds exactly the orders modified later than T (T itself excluded)
    assert sorted(order["id"] for order in in_gmt) == expected
    assert sorted(order["id"] for order in in_local) == expected
    assert sorted(order["id"] for order in with_offset) == expected
    assert pivot["id"] not in expected


def test_orderby_modified_ascending_and_status_filter(sim: SimulatorServer, shop: WooSite) -> None:
    api = client(sim)

    by_modified, _ = _all_pages(api, orderby="modified", order="asc")
    done, _ = _all_pages(api, status="completed,refunded")

    modified = [(order["date_modified_gmt"], order["id"]) for order in by_modified]
    assert modified == sorted(modified)
    assert done
    assert {order["status"] for order in done} <= {"completed", "refunded"}
    truth = sim.woo.visible_orders(SLUG)
    assert len(done) == sum(order["status"] in ("completed", "refunded") for order in truth)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"per_page": 101}, "per_page"),
        ({"page": 0}, "page"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"status": "shipped"}, "status"),
        ({"orderby": "total"}, "orderby"),
    ],
)
def test_invalid_parameters_answer_rest_invalid_param(
    sim: SimulatorServer, shop: WooSite, params: dict, name: str
) -> None:
    response = client(sim).get("orders", params=params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {name}"
    assert name in body["data"]["params"]


def test_order_records_follow_the_vendor_examples(sim: SimulatorServer, shop: WooSite) -> None:
    # given an order that was refunded in part or in full
    api = client(sim)
    refund = sim.woo.refunds(SLUG)[0]
    order = api.get(f"orders/{refund['order_id']}").json()
    refunds = api.get(f"orders/{refund['order_id']}/refunds").json()
    notes = api.get(f"orders/{refund['order_id']}/notes").json()

    # then every field of WooCommerce's documented examples is there, with the same types
    example = vendor_example("orders/retrieve-an-order.response.json")
    assert keys_of(example) <= keys_of(order)
    assert set(example["line_items"][1]) <= set(order["line_items"][0])
    assert set(example["billing"]) == set(order["billing"])
    assert set(example["shipping"]) == set(order["shipping"])
    assert set(example["tax_lines"][0]) <= set(order["tax_lines"][0])
    assert set(example["shipping_lines"][0]) <= set(order["shipping_lines"][0])
    for name in ("total", "total_tax", "shipping_total", "discount_total", "date_created", "date_modified_gmt"):
        assert isinstance(order[name], str)
    assert {"id", "reason", "total"} == set(order["refunds"][0])
    assert order["refunds"][0]["total"] == f"-{refund['amount']}"
    assert keys_of(vendor_example("order-refunds/retrieve-a-refund.response.json")) <= keys_of(refunds[0])
    refund_line = vendor_example("order-refunds/list-all-refunds.response.json")[1]["line_items"][0]
    assert set(refund_line) <= set(refunds[0]["line_items"][0])
    assert refunds[0]["line_items"][0]["quantity"] < 0
    assert keys_of(vendor_example("order-notes/create-an-order-note.response.json")) == keys_of(notes[0])
    # and the local and GMT dates differ by the site's offset (Berlin is UTC+1 in winter)
    created = datetime.fromisoformat(order["date_created"])
    created_gmt = datetime.fromisoformat(order["date_created_gmt"])
    assert created - created_gmt == timedelta(hours=1)


def test_product_records_follow_the_vendor_examples(sim: SimulatorServer, shop: WooSite) -> None:
    api = client(sim)
    products = api.get("products", params={"per_page": 100}).json()
    variable = next(product for product in products if product["type"] == "variable")
    variations = api.get(f"products/{variable['id']}/variations", params={"per_page": 100}).json()

    assert keys_of(vendor_example("products/retrieve-a-product.response.json")) <= keys_of(products[0])
    example = vendor_example("product-variations/retrieve-a-product-variation.response.json")
    assert keys_of(example) <= keys_of(variations[0])
    assert sorted(variable["variations"]) == sorted(variation["id"] for variation in variations)
    assert all(variation["manage_stock"] is True for variation in variations)
    assert all(isinstance(variation["stock_quantity"], int) for variation in variations)


def test_sku_lookup_finds_products_but_not_variations(sim: SimulatorServer, shop: WooSite) -> None:
    # given a simple product and a variation, each with its SKU
    api = client(sim)
    simple = next(product for product in shop.products.values() if product.type == "simple")
    variation = next(product for product in shop.products.values() if product.type == "variation")

    # when the client looks both up by SKU on /products
    found = api.get("products", params={"sku": simple.sku}).json()
    not_found = api.get("products", params={"sku": variation.sku}).json()
    in_parent = api.get(f"products/{variation.parent_id}/variations", params={"sku": variation.sku}).json()

    # then only the product is there; the variation is under its parent
    assert [product["id"] for product in found] == [simple.id]
    assert not_found == []
    assert [entry["id"] for entry in in_parent] == [variation.id]


def test_unknown_ids_and_routes(sim: SimulatorServer, shop: WooSite) -> None:
    api = client(sim)

    order = api.get("orders/999999999")
    product = api.get("products/999999999")
    route = api.get("coupons-and-more")

    assert order.status_code == 404
    assert order.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert product.status_code == 404
    assert product.json()["code"] == "woocommerce_rest_product_invalid_id"
    assert route.status_code == 404
    assert route.json() == vendor_example("introduction/error-example-1.json")


def test_rest_index_tells_woocommerce_from_wordpress_and_from_nothing(sim: SimulatorServer, shop: WooSite) -> None:
    # given a WooCommerce shop and a WordPress site without WooCommerce
    sim.woo.add_site("just-a-blog", woocommerce=False)
    verify = sim.tls_cert_path

    # when a client looks at /wp-json/ of each, and of an address where no WordPress runs
    shop_index = requests.get(f"{sim.woo.site_url(SLUG)}/wp-json/", timeout=5, verify=verify)
    blog_index = requests.get(f"{sim.woo.site_url('just-a-blog')}/wp-json/", timeout=5, verify=verify)
    blog_orders = client(sim, "just-a-blog").get("orders")
    nothing = requests.get(f"{sim.woo.site_url('nobody-here')}/wp-json/", timeout=5, verify=verify)

    # then only the shop names wc/v3; the blog has no such route; the last is not WordPress at all
    assert "wc/v3" in shop_index.json()["namespaces"]
    assert shop_index.json()["timezone_string"] == "Europe/Berlin"
    assert blog_index.status_code == 200
    assert "wc/v3" not in blog_index.json()["namespaces"]
    assert "wp/v2" in blog_index.json()["namespaces"]
    assert blog_orders.status_code == 404
    assert blog_orders.json()["code"] == "rest_no_route"
    assert nothing.status_code == 404
    assert nothing.headers["Content-Type"].startswith("text/html")


def test_settings_and_system_status(sim: SimulatorServer, shop: WooSite) -> None:
    api = client(sim)

    manage = api.get("settings/products/woocommerce_manage_stock").json()
    status = api.get("system_status").json()
    unknown = api.get("settings/products/woocommerce_does_not_exist")

    assert manage["id"] == "woocommerce_manage_stock"
    assert manage["value"] == "yes"
    assert status["environment"]["version"].startswith("9.")
    assert status["environment"]["site_url"] == sim.woo.site_url(SLUG)
    assert status["settings"]["currency"] == "EUR"
    assert unknown.status_code == 404


def test_a_shop_without_stock_management_ignores_stock_updates(sim: SimulatorServer) -> None:
    # given a shop whose stock management is off
    sim.woo.add_site("no-stock", manage_stock=False, orders_per_day=1)
    api = client(sim, "no-stock")
    product = api.get("products", params={"type": "simple"}).json()[0]

    # when the client reads the setting and pushes a quantity anyway
    setting = api.get("settings/products/woocommerce_manage_stock").json()
    updated = api.put(f"products/{product['id']}", {"stock_quantity": 5})

    # then the setting says no, and WooCommerce answers 200 but keeps no quantity
    assert setting["value"] == "no"
    assert product["manage_stock"] is False
    assert updated.status_code == 200
    assert updated.json()["stock_quantity"] is None
    assert sim.woo.stock("no-stock") == {}


def test_the_listener_can_be_turned_off(world) -> None:
    with SimulatorServer(world=world, tls_port=None) as sim:
        sim.woo.add_site("plain-shop", orders_per_day=1)

        assert sim.woo.site_url("plain-shop") == f"{sim.url}/woo/plain-shop"
        assert requests.get(f"{sim.url}/woo/plain-shop/wp-json/", timeout=5).json()["url"] == sim.woo.site_url(
            "plain-shop"
        )


def test_certificates_can_live_in_a_given_directory(world, tmp_path) -> None:
    with SimulatorServer(world=world, tls_dir=tmp_path) as first:
        first.woo.add_site("cert-shop", orders_per_day=1)
        answer = requests.get(f"{first.woo.site_url('cert-shop')}/wp-json/", timeout=5, verify=first.tls_cert_path)
        ca = (tmp_path / "acorn-simulator-ca.pem").read_bytes()
    with SimulatorServer(world=world, tls_dir=tmp_path) as second:
        reused = second.tls_cert_path

    assert answer.status_code == 200
    assert first.tls_cert_path == reused == str(tmp_path / "acorn-simulator-ca.pem")
    assert (tmp_path / "acorn-simulator-ca.pem").read_bytes() == ca
