"""Benchmarks: one module per benchmark, run by `manage.py bench NAME [--scale N] [--threads N] --json`.

A benchmark module defines `BENCHMARK = Benchmark(...)`; its `run(options)` returns the figures as one
JSON-ready dict, with `ratio` where it measures against a baseline in the same run. The registry is an
explicit list of modules (no discovery), imported only when a benchmark is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# name → module that defines BENCHMARK
REGISTRY: dict[str, str] = {
    "ingest": "benchmarks.ingest",
    "order_list": "benchmarks.order_list",
    "refund_rate": "benchmarks.refund_rate",
    "reserve": "benchmarks.reserve",
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
    """Every registered benchmark, by name."""
    return [benchmark_get(name) for name in sorted(REGISTRY)]
