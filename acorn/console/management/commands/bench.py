"""`manage.py bench NAME [--scale N] [--threads N] [--json]` and `manage.py bench --list`: run one benchmark
of `benchmarks/` and print its figures (with `ratio` where it measures against a baseline).

Benchmarks run with DEBUG off, as production does: with it on, Django keeps every SQL statement in
`connection.queries`, which costs time on every statement and would be measured with the code."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from benchmarks import REGISTRY, BenchOptions, UnknownBenchmark, benchmark_get, benchmark_list


class Command(BaseCommand):
    help = "Run one benchmark and print its figures; --list names them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help=f"One of: {', '.join(sorted(REGISTRY))}")
        parser.add_argument("--scale", type=int, default=None, help="Units of work (default: the benchmark's)")
        parser.add_argument(
            "--threads", type=int, default=None, help="Concurrent workers, one connection each (default: per database)"
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object")
        parser.add_argument("--list", action="store_true", help="List the benchmarks")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            listing = [
                {"name": b.name, "summary": b.summary, "default_scale": b.default_scale} for b in benchmark_list()
            ]
            if options["json"]:
                self.stdout.write(json.dumps({"benchmarks": listing}))
            else:
                for entry in listing:
                    scale = f" (scale {entry['default_scale']})" if entry["default_scale"] else ""
                    self.stdout.write(f"{entry['name']:<12} {entry['summary']}{scale}")
            return
        if not options["name"]:
            raise CommandError(f"Name a benchmark ({', '.join(sorted(REGISTRY))}) or use --list.")
        for flag in ("scale", "threads"):
            if options[flag] is not None and options[flag] < 1:
                raise CommandError(f"--{flag} must be at least 1.")
        try:
            benchmark = benchmark_get(options["name"])
        except UnknownBenchmark as error:
            raise CommandError(str(error)) from None
        with override_settings(DEBUG=False):
            result = benchmark.run(BenchOptions(scale=options["scale"], threads=options["threads"]))
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {json.dumps(value)}")
        if result.get("oversold"):
            raise CommandError("The benchmark oversold: a level holds more reserved than on hand.")
