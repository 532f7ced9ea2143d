"""A faithful local stand-in for the vendor APIs (Amazon SP-API now), driven by one seeded world.

No database: pure in-memory state, deterministic from a seed, served over real HTTP on 127.0.0.1 so that
the adapters talk to it through the real client libraries. See `server.SimulatorServer`, `world.World`
and `faults.FaultProfile`.
"""

from simulator.faults import FaultProfile
from simulator.server import RecordedRequest, SimulatorServer
from simulator.world import ManualClock, World

__all__ = ["FaultProfile", "ManualClock", "RecordedRequest", "SimulatorServer", "World"]
