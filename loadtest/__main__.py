"""`python -m loadtest [--users 50] [--duration 120] [--webhooks 500] [--faults] [--json]`: one bounded run.

1. The stack (loadtest.stack): private PostgreSQL and Redis on free loopback ports, migrate, seed, gunicorn
   (--web-workers), a Celery worker and beat (dispatching every ACORN_DISPATCH_INTERVAL_SECONDS).
2. Load (with --users > 0): locust, headless, --users console users for --duration seconds and a burst of
   --webhooks signed Shopify orders/create deliveries; then every delivery must become exactly one processed
   event and one order. Figures: requests, failures, p50 / p95 per page, error rate.
3. Faults (--faults): the simulated Amazon seller (--sync-orders orders, a child process) is connected and
   the beat starts its first sync; meanwhile a sender delivers --fault-webhooks webhooks the way Shopify does
   (a delivery that is not answered 2xx is sent again, same event id). During both, Redis is restarted, then
   PostgreSQL. Nobody intervenes; the run waits (at most --recovery-timeout s) until every delivery was
   answered, every event processed once, every order stored once, the sync caught up with every order the
   seller has, and every stock level equals its ledger — and reports how long that took.

Prints one JSON object with --json (else a summary); exits 1 when a check fails. Everything is bounded: each
phase has a timeout, and the stack is stopped and its directory removed whatever happens.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from loadtest.orders import SHOP, signed_webhook
from loadtest.stack import ROOT, Stack, simulator_child

LOAD_WEBHOOK_FIRST = 1_000_000
WEBHOOK_PAGE = "webhook orders/create"  # the locustfile's name for the burst's requests
FAULT_WEBHOOK_FIRST = 2_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="console users (0: no load phase)")
    parser.add_argument("--spawn-rate", type=float, default=2.0, help="users started a second")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--webhooks", type=int, default=500, help="webhook burst during the load")
    parser.add_argument("--orders", type=int, default=2000, help="orders seeded for the console pages")
    parser.add_argument("--faults", action="store_true", help="restart Redis and PostgreSQL during a sync")
    parser.add_argument("--sync-orders", type=int, default=3000, help="orders the simulated seller has")
    parser.add_argument("--fault-webhooks", type=int, default=300)
    parser.add_argument("--recovery-timeout", type=int, default=180)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args(argv)
    result = run(arguments)
    if arguments.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0 if result["ok"] else 1


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    # Fast enough for a bounded run: the beat ticks every few seconds, a lost webhook task or a claim whose
    # worker lost its database is taken up again within seconds, not minutes; tasks are killed well before that.
    extra_env = {
        "ACORN_DISPATCH_INTERVAL_SECONDS": "3",
        "ACORN_WEBHOOK_LOST_AFTER_SECONDS": "10",
        "ACORN_WEBHOOK_CLAIM_SECONDS": "45",
        "CELERY_TASK_TIME_LIMIT": "40",
        "CELERY_TASK_SOFT_TIME_LIMIT": "30",
        "ACORN_SYNC_TIME_BUDGET_SECONDS": "20",
        "ACORN_SYNC_LEASE_MARGIN_SECONDS": "10",
        "ACORN_SYNC_INITIAL_DAYS": "31",
        "ACORN_RATE_LIMIT_SCALE": "100000",  # the simulator's pace, not Amazon's
        # Every console user of the run signs in from 127.0.0.1: allauth's 30 sign-ins a minute per IP would
        # refuse most of 50 users who start within seconds (failed sign-ins stay limited as configured).
        "ACORN_LOGIN_RATE": "1000/m/ip",
    }
    result: dict[str, Any] = {"ok": False, "stack": {}}
    with Stack(
        web_workers=arguments.web_workers, celery_concurrency=arguments.celery_concurrency, extra_env=extra_env
    ) as stack:
        stack.migrate()
        seed = stack.seed(orders=arguments.orders)
        stack.supervise("web", stack.web_start)
        stack.supervise("worker", stack.worker_start)
        stack.supervise("beat", stack.beat_start)
        result["stack"] = {
            "postgresql": "private instance, loopback",
            "redis": "private instance, loopback, append-only",
            "web": f"gunicorn, {arguments.web_workers} workers",
            "worker": f"celery prefork, concurrency {arguments.celery_concurrency}, with beat",
            "seeded_orders": arguments.orders,
            "start_seconds": round(time.monotonic() - began, 1),
        }
        checks: list[bool] = []
        if arguments.users > 0:
            result["load"] = _load(stack, seed, arguments)
            checks.append(result["load"]["ok"])
        if arguments.faults:
            result["faults"] = _faults(stack, seed, arguments)
            checks.append(result["faults"]["ok"])
        result["stack"]["alive_at_end"] = stack.alive()
        # Processes their supervisor started again after they exited (a deployment's restart policy).
        result["stack"]["restarts"] = dict(stack.restarts)
    result["seconds"] = round(time.monotonic() - began, 1)
    result["ok"] = bool(checks) and all(checks)
    return result


# --- load -------------------------------------------------------------------------------------------------


def _load(stack: Stack, seed: dict[str, Any], arguments: argparse.Namespace) -> dict[str, Any]:
    prefix = stack.root / "locust"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOADTEST_SEED": json.dumps(seed),
        "LOADTEST_WEBHOOKS": str(arguments.webhooks),
        "LOADTEST_FIRST_WEBHOOK_ORDER": str(LOAD_WEBHOOK_FIRST),
    }
    users = arguments.users + (2 if arguments.webhooks else 0)  # the webhook users have a fixed count of 2
    argv = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(arguments.spawn_rate),
        "--run-time",
        f"{arguments.duration}s",
        "--stop-timeout",
        "10",
        "--host",
        stack.base_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    log = stack.root / "logs" / "locust.log"
    with open(log, "wb") as out:
        subprocess.run(  # noqa: S603 - locust from this venv, fixed arguments
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=arguments.duration + 120
        )
    pages = _locust_stats(Path(f"{prefix}_stats.csv"))
    total = pages.pop("Aggregated", {"requests": 0, "failures": 0})
    # The burst's deliveries carry consecutive order ids from LOAD_WEBHOOK_FIRST (one locust process): as many
    # as were sent within the run (on a busy machine, fewer than asked for).
    sent = pages.get(WEBHOOK_PAGE, {}).get("requests", 0)
    webhooks = _wait_webhooks(stack, LOAD_WEBHOOK_FIRST, sent, timeout=arguments.recovery_timeout)
    webhooks["burst_asked"] = arguments.webhooks
    error_rate = total["failures"] / total["requests"] if total["requests"] else 1.0
    return {
        "users": arguments.users,
        "duration_seconds": arguments.duration,
        "requests": total["requests"],
        "failures": total["failures"],
        "error_rate": round(error_rate, 5),
        "requests_per_second": total.get("rps"),
        "pages": pages,
        "webhooks": webhooks,
        "ok": total["requests"] > 0 and total["failures"] == 0 and webhooks["ok"],
        **({"locust_log_tail": log.read_text(errors="replace")[-2000:]} if total["failures"] else {}),
    }


def _locust_stats(path: Path) -> dict[str, dict[str, Any]]:
    pages: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return pages
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"]
            pages[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": _ms(row["50%"]),
                "p95_ms": _ms(row["95%"]),
                "max_ms": _ms(row["Max Response Time"]),
                "rps": round(float(row["Requests/s"] or 0), 2),
            }
    return pages


def _ms(value: str) -> float | None:
    try:
        return round(float(value), 1)
    except ValueError:
        return None


# --- what the database holds --------------------------------------------------------------------------------


def _webhook_figures(stack: Stack, first: int, count: int) -> dict[str, Any]:
    """The events and orders of deliveries first … first + count - 1 of the loadtest shop, read with SQL."""
    external = [str(order_id) for order_id in range(first, first + count)]
    with stack.pg_connect() as connection:
        events = connection.execute(
            "SELECT e.status, count(*) FROM sales_channels_webhookevent e JOIN sales_channels_store s "
            "ON s.id = e.store_id WHERE s.seller_id = %s AND e.resource_id = ANY(%s) GROUP BY e.status",
            [SHOP, external],
        ).fetchall()
        orders, distinct = connection.execute(
            "SELECT count(*), count(DISTINCT o.external_id) FROM orders_order o JOIN sales_channels_store s "
            "ON s.id = o.store_id WHERE s.seller_id = %s AND o.external_id = ANY(%s)",
            [SHOP, external],
        ).fetchone()
    by_status = {status: number for status, number in events}
    return {"events": sum(by_status.values()), "by_status": by_status, "orders": orders, "distinct_orders": distinct}


def _ledger_problems(stack: Stack) -> int:
    with stack.pg_connect() as connection:
        row = connection.execute(
            "SELECT count(*) FROM inventory_stocklevel l LEFT JOIN ("
            " SELECT product_id, warehouse_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved"
            " FROM inventory_stockmovement GROUP BY product_id, warehouse_id) m"
            " ON m.product_id = l.product_id AND m.warehouse_id = l.warehouse_id"
            " WHERE l.on_hand <> coalesce(m.on_hand, 0) OR l.reserved <> coalesce(m.reserved, 0)"
        ).fetchone()
    return int(row[0])


def _wait_webhooks(stack: Stack, first: int, count: int, *, timeout: float) -> dict[str, Any]:
    began = time.monotonic()
    figures: dict[str, Any] = {}
    while time.monotonic() - began < timeout:
        figures = _webhook_figures(stack, first, count)
        if figures["by_status"].get("processed", 0) == count and figures["orders"] == count:
            break
        time.sleep(1)
    figures["sent"] = count
    figures["ledger_mismatches"] = _ledger_problems(stack)
    figures["settle_seconds"] = round(time.monotonic() - began, 1)
    figures["ok"] = (
        figures.get("events") == count
        and figures["by_status"].get("processed", 0) == count
        and figures["orders"] == figures["distinct_orders"] == count
        and figures["ledger_mismatches"] == 0
    )
    return figures


# --- faults -----------------------------------------------------------------------------------------------


class _Sender(threading.Thread):
    """Delivers `count` webhooks as Shopify does: one after another at about `rate` a second, each sent again
    (same event id) until it is answered 2xx, at most until `deadline` (monotonic)."""

    def __init__(self, stack: Stack, secret: str, first: int, count: int, rate: float, deadline: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.secret, self.first, self.count = stack, secret, first, count
        self.interval, self.deadline = 1 / rate, deadline
        self.attempts = self.accepted = self.refused = 0
        self.errors: dict[str, int] = {}
        self.finished_at: float | None = None

    def run(self) -> None:
        for order_id in range(self.first, self.first + self.count):
            body, headers = signed_webhook(self.secret, order_id)
            while time.monotonic() < self.deadline:
                self.attempts += 1
                request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1:<port>, the run's own gunicorn
                    f"{self.stack.base_url}/webhooks/shopify/", data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                        if 200 <= response.status < 300:
                            self.accepted += 1
                            break
                except urllib.error.HTTPError as error:
                    self.errors[str(error.code)] = self.errors.get(str(error.code), 0) + 1
                except OSError as error:
                    name = type(error).__name__
                    self.errors[name] = self.errors.get(name, 0) + 1
                self.refused += 1
                time.sleep(0.5)
            time.sleep(self.interval)
        self.finished_at = time.monotonic()


def _sync_figures(stack: Stack, store_id: int) -> dict[str, Any]:
    with stack.pg_connect() as connection:
        orders = connection.execute("SELECT count(*) FROM orders_order WHERE store_id = %s", [store_id]).fetchone()
        runs = connection.execute(
            "SELECT status, count(*) FROM sales_channels_syncrun WHERE store_id = %s AND resource = 'orders' "
            "GROUP BY status",
            [store_id],
        ).fetchall()
        last = connection.execute(
            "SELECT status, caught_up FROM sales_channels_syncrun WHERE store_id = %s AND resource = 'orders' "
            "ORDER BY id DESC LIMIT 1",
            [store_id],
        ).fetchone()
    return {
        "orders": orders[0],
        "runs": {status: number for status, number in runs},
        "last_run": {"status": last[0], "caught_up": last[1]} if last else None,
    }


def _wait_until(predicate: Any, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: S110 - the database may be restarting: look again
            pass
        time.sleep(step)
    return False


def _critical_lines(stack: Stack) -> list[str]:
    """The CRITICAL messages the web and Celery processes logged (JSON lines), e.g. why a worker exited."""
    found = []
    for name in ("web", "worker", "beat"):
        path = stack.root / "logs" / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"level": "CRITICAL"' in line:
                try:
                    found.append(f"{name}: {json.loads(line)['message']}"[:300])
                except ValueError:
                    found.append(f"{name}: {line}"[:300])
    return found


def _faults(stack: Stack, seed: dict[str, Any], arguments: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    with simulator_child(orders=arguments.sync_orders) as seller:
        store_id = stack.seed(orders=0, amazon=seller)["amazon_store_id"]
        # The beat starts the store's first sync by itself; the faults come while it runs.
        sync_started = _wait_until(lambda: _sync_figures(stack, store_id)["runs"], timeout=60)
        deadline = time.monotonic() + arguments.recovery_timeout + 60
        sender = _Sender(stack, seed["api_secret"], FAULT_WEBHOOK_FIRST, arguments.fault_webhooks, 25, deadline)
        sender.start()
        time.sleep(1.5)
        before_redis = _sync_figures(stack, store_id)
        redis = stack.redis_restart()
        time.sleep(3)
        before_pg = _sync_figures(stack, store_id)
        postgres = stack.pg_restart()
        back = time.monotonic()
        timeline = {"redis_restart": redis, "postgresql_restart": postgres}

        def recovered() -> bool:
            if sender.is_alive():
                return False
            hooks = _webhook_figures(stack, FAULT_WEBHOOK_FIRST, arguments.fault_webhooks)
            sync = _sync_figures(stack, store_id)
            return (
                hooks["by_status"].get("processed", 0) == arguments.fault_webhooks
                and sync["orders"] == seller["orders"]
                and bool(sync["last_run"] and sync["last_run"]["caught_up"])
            )

        done = _wait_until(recovered, timeout=arguments.recovery_timeout, step=1.0)
        recovery_seconds = round(time.monotonic() - back, 1)
        sender.join(timeout=5)
        hooks = _wait_webhooks(stack, FAULT_WEBHOOK_FIRST, arguments.fault_webhooks, timeout=1)
        sync = _sync_figures(stack, store_id)
    with stack.pg_connect() as connection:
        duplicates = connection.execute(
            "SELECT count(*) FROM (SELECT store_id, external_id FROM orders_order GROUP BY store_id, external_id"
            " HAVING count(*) > 1) d"
        ).fetchone()[0]
    sync_ok = sync["orders"] == seller["orders"] and bool(sync["last_run"] and sync["last_run"]["caught_up"])
    return {
        "sync": {
            "seller_orders": seller["orders"],
            "started": sync_started,
            "at_redis_restart": before_redis,
            "at_postgresql_restart": before_pg,
            "after": sync,
            "ok": sync_ok,
        },
        "webhooks": {
            **hooks,
            "deliveries": sender.attempts,
            "accepted": sender.accepted,
            "not_accepted_then_retried": sender.refused,
            "errors_seen": sender.errors,
        },
        "duplicate_orders": duplicates,
        "process_restarts": dict(stack.restarts),
        "critical_log_lines": _critical_lines(stack),
        "timeline": timeline,
        "recovered": done,
        "recovery_seconds_after_postgresql_back": recovery_seconds,
        "seconds": round(time.monotonic() - began, 1),
        "ok": done and hooks["ok"] and sync_ok and duplicates == 0 and sender.accepted == arguments.fault_webhooks,
    }


if __name__ == "__main__":
    sys.exit(main())
