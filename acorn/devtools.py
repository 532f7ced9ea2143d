"""How the product's development entry points reach the channel simulator, which is not part of the product.

The simulator (`simulator/` at the top of a source checkout) is a development and test tool: it is not in
the wheel nor in the production image, and graphql-core, the one dependency only it needs, is in the `dev`
extra. Only the development entry points use it — `manage.py simulate_channels`, `manage.py demo` (its
stores live on the simulator) and the `ingest` benchmark — and they import it inside
`simulator_required()`, which turns its absence into a message that says how to install it, instead of a
traceback. tests/simulator/test_boundaries.py holds every other product module to never importing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

SIMULATOR_INSTALL_HINT = (
    "The simulator is a development tool: it is not in the wheel or the production image. "
    "To use it, work in a source checkout of ACORN and install it with its dev extra: "
    "`make setup` (or `pip install -e '.[dev]'`), then run the command from the checkout."
)


class SimulatorNotInstalled(CommandError):
    """The simulator, or a dependency it needs, cannot be imported here.

    A CommandError, so that a management command that needs the simulator exits with status 1 and this
    message (Django prints it without a traceback), with nothing else to catch."""


@contextmanager
def simulator_required(purpose: str) -> Iterator[None]:
    """Import simulator modules in the `with` block; a missing module raises SimulatorNotInstalled naming
    `purpose` (e.g. "manage.py demo"), the module that is missing and how to install the simulator.

    Keep only imports in the block, so that a missing module can only be the simulator or its dependency."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = error.name or str(error)
        raise SimulatorNotInstalled(
            f"{purpose} needs the channel simulator, which is not installed here (no module named {missing!r}). "
            f"{SIMULATOR_INSTALL_HINT}"
        ) from error
