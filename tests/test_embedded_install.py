"""The embedded default from nothing: ``manage.py migrate`` on an empty SQLite database is the whole install.

The commands run in child processes with the embedded settings (no DATABASE_URL, no REDIS_URL: SQLite and the
database cache under a fresh ACORN_VAR_DIR), as a seller's engineer would type them, against the simulator.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine
from django.conf import settings

from simulator.server import SimulatorServer
from simulator.world import ManualClock, World

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def _manage(var_dir: Path, *args: str) -> str:
    """Run one manage.py command under the embedded default and return its standard output."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"} and not name.startswith("ACORN_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="acorn.settings.local",
        ACORN_VAR_DIR=str(var_dir),
        ACORN_RATE_LIMIT_SCALE="100000",  # the simulator's pace, not Amazon's
        ACORN_SYNC_INITIAL_DAYS="30",
    )
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrate_alone_makes_a_working_install_that_syncs_a_store(tmp_path: Path) -> None:
    # given: an empty folder, and Amazon (the simulator) with a seller whose orders are dated around the real
    # today (the child processes do not share a test's moved clock)
    hatch = time_machine.escape_hatch
    real_now = (hatch.datetime.datetime.now(UTC) if hatch.is_travelling() else datetime.now(UTC)).replace(microsecond=0)
    world = World(seed=3, clock=ManualClock(real_now), orders_per_day=4)
    with SimulatorServer(seed=3, world=world) as sim:
        # when: the database is migrated, and nothing else
        _manage(tmp_path, "migrate", "--noinput")
        # then: the database cache has its table
        assert "acorn_cache" in _tables(tmp_path / "acorn.sqlite3")

        # and when: a company connects an Amazon store and syncs its orders in the foreground
        created = json.loads(
            _manage(tmp_path, "create_tenant", "--name", "Fresh Start Ltd", "--owner-email", "owner@fresh.example",
                    "--password", "a-long-fresh-password-1")
        )  # fmt: skip
        connected = json.loads(
            _manage(tmp_path, "connect_store", "--tenant", created["tenant"], "--platform", "amazon",
                    "--name", "Amazon NA", "--endpoint", sim.url, "--marketplaces", "US", "--no-sync")
        )  # fmt: skip
        summary: dict[str, Any] = json.loads(
            _manage(tmp_path, "sync_store", str(connected["store_id"]), "--resource", "orders", "--json")
        )

    # then: the run succeeded and brought the seller's orders (the sync's rate limits live in that cache)
    assert summary["status"] == "succeeded", summary
    assert summary["created"] > 0 and summary["quarantined"] == 0
