"""The load and fault run (loadtest/), CI-sized: the whole stack on private PostgreSQL and Redis on loopback,
a few console users and a small webhook burst, then Redis and PostgreSQL restarted during a store sync and a
webhook burst. `python -m loadtest` runs the same in full (README: "Load and faults").

Marked `loadtest` (deselect with `-m "not loadtest"`); skipped, saying why, only where initdb, postgres or
redis-server are not installed. Each run is bounded by the runner's own timeouts and by this test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.stack import missing_binaries

ROOT = Path(__file__).resolve().parents[2]
MISSING = missing_binaries()

pytestmark = [
    pytest.mark.loadtest,
    pytest.mark.skipif(
        bool(MISSING), reason=f"the load run needs {', '.join(MISSING)} (Debian: postgresql, redis-server)"
    ),
]


def _run(*arguments: str, timeout: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "loadtest", "--json", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.stdout.strip(), completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_console_users_and_a_webhook_burst_then_redis_and_postgresql_restarted_during_a_sync() -> None:
    # given the stack, 5 console users for 30 s with a burst of up to 40 webhooks; then a sync of 600 orders and
    # 40 more webhooks during which Redis and then PostgreSQL restart
    result = _run(
        "--users", "5", "--spawn-rate", "5", "--duration", "30", "--webhooks", "40", "--orders", "200",
        "--faults", "--sync-orders", "600", "--fault-webhooks", "40", "--recovery-timeout", "90",
        "--web-workers", "2",
        timeout=420,
    )  # fmt: skip

    # then the load had no error, and the users signed in and read console pages (how many depends on the
    # machine: a busy one serves fewer)
    load = result["load"]
    assert load["failures"] == 0 and load["error_rate"] == 0, load
    assert load["pages"]["sign in"]["requests"] >= 1, load["pages"]
    pages = {"dashboard", "orders", "orders (filter)", "orders (search)", "order", "inventory", "refunds", "profit"}
    assert pages & set(load["pages"]), load["pages"]
    # and every delivery of the burst became one processed event and one order, the ledger intact
    assert load["webhooks"]["ok"], load["webhooks"]

    # and after the restarts, with nobody intervening: every webhook was processed once, no order twice, the
    # sync caught up with every order of the seller, and the stock ledger equals the levels
    faults = result["faults"]
    assert faults["webhooks"]["events"] == faults["webhooks"]["orders"] == 40, faults["webhooks"]
    assert faults["webhooks"]["by_status"] == {"processed": 40}, faults["webhooks"]
    assert faults["duplicate_orders"] == 0 and faults["webhooks"]["ledger_mismatches"] == 0
    assert faults["sync"]["after"]["orders"] == faults["sync"]["seller_orders"], faults["sync"]
    assert faults["recovered"], faults
    assert result["ok"]
    # and every process of the stack was still up at the end
    assert all(result["stack"]["alive_at_end"].values()), result["stack"]
