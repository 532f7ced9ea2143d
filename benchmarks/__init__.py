"""Benchmarks: one module per benchmark, run by `manage.py bench NAME [--scale N] [--threads N] --json`.

A benchmark module defines `BENCHMARK = Benchmark(...)`; its `run(options)` returns the figures as one
JSON-ready dict, with `ratio` where it measures against a baseline in the same run. The registry is an
explicit list of modules (no discovery), imported only when a benchmark is asked for (or listed).

`ingest` runs the channel simulator's orders: where the simulator (a development tool) is not installed,
`bench --list` shows it as unavailable and `bench ingest` says how to install it (acorn.devtools).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acorn.devtools import SIMULATOR_INSTALL_HINT, SimulatorNotInstalled

# name → module that defines BENCHMARK
REGISTRY: dict[str, str] = {
    "backfill": "benchmarks.backfill",
    "dispatch": "benchmarks.dispatch",
    "ingest": "benchmarks.ingest",
    "order_list": "benchmarks.order_list",
    "profit": "benchmarks.profit",
    "refund_rate": "benchmarks.refund_rate",
    "reserve": "benchmarks.reserve",
    "settlement_import": "benchmarks.settlement_import",
}


@dataclass(frozen=True)
class BenchOptions:
    scale: int | None = None  # the benchmark's unit of work (None: its default)
    threads: int | None = None  # concurrent workers, each with its own database connection (None: its default)


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    default_scale: int
    run: Callable[[BenchOptions], dict[str, Any]]


class UnknownBenchmark(LookupError):
    """No benchmark of that name."""


def benchmark_get(name: str) -> Benchmark:
    """The registered benchmark `name` (its module is imported now). Raises UnknownBenchmark."""
    try:
        module = REGISTRY[name]
    except KeyError:
        raise UnknownBenchmark(f"No benchmark {name!r}; known: {', '.join(sorted(REGISTRY))}.") from None
    benchmark: Benchmark = importlib.import_module(module).BENCHMARK
    return benchmark


def benchmark_list() -> list[Benchmark]:
    """Every registered benchmark, by name; one that needs the simulator where it is not installed is listed as
    unavailable (default scale 0), and running it raises SimulatorNotInstalled with how to install it."""
    listed = []
    for name in sorted(REGISTRY):
        try:
            listed.append(benchmark_get(name))
        except SimulatorNotInstalled:
            listed.append(_unavailable(name))
    return listed


def _unavailable(name: str) -> Benchmark:
    def run(options: BenchOptions) -> dict[str, Any]:
        return benchmark_get(name).run(options)  # raises SimulatorNotInstalled again, with its message

    summary = f"unavailable here: needs the channel simulator. {SIMULATOR_INSTALL_HINT}"
    return Benchmark(name=name, summary=summary, default_scale=0, run=run)
