"""Locust users of a load run: seller staff in the console, and Shopify delivering a webhook burst.

Read by `locust -f loadtest/locustfile.py` as the runner starts it; what the seed made comes in through
LOADTEST_SEED (the seed's JSON). Each console user signs in (allauth's form, with its CSRF token) and then
reads what staff read all day: the dashboard, the orders list with filters and a search, an order page,
inventory, refunds and profit. The webhook user posts correctly signed Shopify orders/create deliveries,
each a new order, as fast as it is answered, until LOADTEST_WEBHOOKS of them were accepted (a burst). Every
request is named by its page, so the figures come per page.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, constant, task
from locust.exception import StopUser

from loadtest.orders import signed_webhook

SEED = json.loads(os.environ.get("LOADTEST_SEED", "{}"))
WEBHOOKS = int(os.environ.get("LOADTEST_WEBHOOKS", "0"))
FIRST_WEBHOOK_ORDER = int(os.environ.get("LOADTEST_FIRST_WEBHOOK_ORDER", "1000000"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_next_order = itertools.count(FIRST_WEBHOOK_ORDER)
_sent = 0

FILTERS = ("status=paid_unshipped", "country=DE", "platform=shopify", "sort=-purchased_at", "stock=short")


class ConsoleUser(HttpUser):
    wait_time = between(1, 3)
    weight = 10

    def on_start(self) -> None:
        page = self.client.get("/accounts/login/", name="sign in (form)")
        token = CSRF.search(page.text)
        response = self.client.post(
            "/accounts/login/",
            data={
                "login": SEED["email"],
                "password": SEED["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
        )
        if "/accounts/login/" in response.url:
            raise StopUser()

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/app/", name="dashboard")

    @task(4)
    def orders(self) -> None:
        self.client.get("/app/orders/", name="orders")

    @task(3)
    def orders_filtered(self) -> None:
        self.client.get(f"/app/orders/?{random.choice(FILTERS)}", name="orders (filter)")  # noqa: S311

    @task(2)
    def orders_search(self) -> None:
        self.client.get(f"/app/orders/?q=LT{random.randint(1, 500)}", name="orders (search)")  # noqa: S311

    @task(3)
    def order(self) -> None:
        order_id = random.choice(SEED["order_ids"])  # noqa: S311
        self.client.get(f"/app/orders/{order_id}/", name="order")

    @task(2)
    def inventory(self) -> None:
        self.client.get("/app/inventory/", name="inventory")

    @task(1)
    def refunds(self) -> None:
        self.client.get("/app/refunds/", name="refunds")

    @task(1)
    def profit(self) -> None:
        self.client.get("/app/finance/profit/", name="profit")


class WebhookUser(HttpUser):
    """Shopify delivering orders/create: a burst of WEBHOOKS deliveries, then the user stops."""

    wait_time = constant(0)
    fixed_count = 2
    abstract = not WEBHOOKS  # no burst asked for: locust leaves the class out

    @task
    def deliver(self) -> None:
        global _sent
        if _sent >= WEBHOOKS:
            raise StopUser()
        _sent += 1
        body, headers = signed_webhook(SEED["api_secret"], next(_next_order))
        self.client.post("/webhooks/shopify/", data=body, headers=headers, name="webhook orders/create")
