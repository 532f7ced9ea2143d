"""The simulator is a development tool beside the product, not part of it: it imports nothing of ACORN, and
what it knows of Amazon's marketplaces agrees with ACORN's table without being read from it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, REGION_MARKETPLACES, fba_pools
from simulator.catalogue import FBA_POOL_MARKETPLACES, MARKETPLACES, REGIONS

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "simulator"
# ACORN's own packages, and what the simulator has no use for: it runs without settings or a database.
ACORN_PACKAGES = frozenset({"acorn", "channels", "orders", "inventory", "refunds", "finance", "benchmarks", "tests"})
FORBIDDEN_IN_SIMULATOR = ACORN_PACKAGES | {"django"}


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute
    at_import_time: bool  # outside any function: runs when the module is imported


class _ImportWalk(ast.NodeVisitor):
    """Collects the imports of one module: statements (relative ones resolved), and
    ``importlib.import_module("…")`` / ``__import__("…")`` with a literal name."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.function_depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, line: int, module: str) -> None:
        self.found.append(Import(line, module, self.function_depth == 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node.lineno, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = ".".join(self.package[: len(self.package) - (node.level - 1)]) if node.level else ""
        if node.module is None:  # "from .. import world": the names are modules of that package
            for alias in node.names:
                self._add(node.lineno, f"{base}.{alias.name}")
        else:
            self._add(node.lineno, f"{base}.{node.module}" if base else node.module)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if (
            name in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self._add(node.lineno, node.args[0].value)
        self.generic_visit(node)


def module_name(path: Path) -> str:
    """The dotted name of a module of this repository."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str | None = None) -> list[Import]:
    """Every import written in a file (module: its dotted name, by default from its place in the repository)."""
    walk = _ImportWalk(module or module_name(path), is_package=path.name == "__init__.py")
    walk.visit(ast.parse(path.read_text(), filename=str(path)))
    return walk.found


def test_no_simulator_module_imports_acorn_code() -> None:
    # given every module of the simulator
    modules = sorted(SIMULATOR.rglob("*.py"))
    assert len(modules) > 60  # the whole package, not an empty glob

    # when their imports are read
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules
        for line, module, _runs_on_import in ((i.line, i.module, i.at_import_time) for i in imports_of(path))
        if module.partition(".")[0] in FORBIDDEN_IN_SIMULATOR
    ]

    # then none reaches into ACORN (or Django): the simulator stands on its own, like the vendors it plays
    assert offending == []


def test_the_import_walk_sees_every_way_of_importing(tmp_path: Path) -> None:
    # given a module of the simulator that reaches ACORN in each way the walk must notice
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import channels.models\n"
        "from orders import services\n"
        "import acorn.money as money\n"
        "from .. import world\n"
        "from .world import World\n"
        "try:\n    from refunds.models import Refund\nexcept ImportError:\n    pass\n"
        "class Later:\n    from django.conf import settings\n"
        "    def run(self):\n        from finance import ledger\n"
        "        importlib.import_module('inventory.fba')\n"
        "handler = lambda: __import__('benchmarks')\n"
    )

    # when it is read as simulator.amazon.probe
    found = {(i.module, i.at_import_time) for i in imports_of(probe, "simulator.amazon.probe")}

    # then every import is seen, relative ones resolved, and only those outside functions run on import
    assert found == {
        ("channels.models", True),
        ("orders", True),
        ("acorn.money", True),
        ("simulator.world", True),
        ("simulator.amazon.world", True),
        ("refunds.models", True),
        ("django.conf", True),
        ("finance", False),
        ("inventory.fba", False),
        ("benchmarks", False),
    }


def test_the_simulator_knows_amazons_marketplaces_as_acorn_does() -> None:
    # given ACORN's one marketplace table and the simulator's own (both from python-amazon-sp-api and Amazon's pages)
    ours = {
        code: (m.marketplace_id, m.region, m.currency, m.country, m.domain, m.site_name, m.fba_pool)
        for code, m in AMAZON_MARKETPLACE_TABLE.items()
    }
    simulated = {
        code: (m.marketplace_id, m.region, m.currency, m.country, m.domain, m.name, m.fba_pool)
        for code, m in MARKETPLACES.items()
    }

    # then they agree on every marketplace, every field and the order, and so on regions and FBA pools
    assert list(simulated.items()) == list(ours.items())
    assert len(simulated) == 23
    assert list(REGIONS.items()) == list(REGION_MARKETPLACES.items())
    assert fba_pools() == FBA_POOL_MARKETPLACES
    assert MARKETPLACES["JP"].marketplace_id == "A1VC38T7YXB528" and MARKETPLACES["UK"].name == "Amazon.co.uk"
