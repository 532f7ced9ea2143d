"""A small simulated world on a frozen clock, and a running simulator in front of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from simulator import FaultProfile, ManualClock, SimulatorServer, World
from simulator.model import Seller
from tests.simulator.support import Api

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clock: ManualClock) -> World:
    return World(seed=7, clock=clock, orders_per_day=5, live_orders_per_hour=6)


@pytest.fixture
def sim(world: World) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, world=world) as server:
        yield server


@pytest.fixture
def seller(world: World) -> Seller:
    return world.add_seller("NA", ["US", "CA", "MX"])


@pytest.fixture
def api(sim: SimulatorServer, seller: Seller) -> Iterator[Api]:
    client = Api(sim, seller.refresh_token)
    yield client
    client.http.close()


@pytest.fixture
def faulty_sim(world: World) -> Iterator[Callable[..., SimulatorServer]]:
    """Start a simulator with a fault profile (slow responses made fast for the test suite)."""
    servers: list[SimulatorServer] = []

    def start(name: str, **overrides: object) -> SimulatorServer:
        profile = FaultProfile.named(name, **{"slow_seconds": 0.001, **overrides})
        server = SimulatorServer(seed=11, faults=profile, world=world).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
