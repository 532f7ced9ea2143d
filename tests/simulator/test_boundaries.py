"""The simulator is a development tool beside the product, not part of it.

It imports nothing of ACORN, and what it knows of Amazon's marketplaces agrees with ACORN's table without being
read from it. The product imports it only in its development entry points, which say how to install it where
it is not; the wheel and the production image leave it (and graphql-core, which only it needs) out."""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_scopes import scopes_disabled

from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.devtools import SimulatorNotInstalled
from acorn.tenancy.models import Tenant
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE, REGION_MARKETPLACES, fba_pools
from simulator.catalogue import FBA_POOL_MARKETPLACES, MARKETPLACES, REGIONS

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "simulator"
# The product's packages (what the wheel ships); with the benchmarks and the tests, ACORN's own code, none of
# which the simulator may import, nor Django: it runs without settings or a database.
PRODUCT_PACKAGES = ("acorn", "channels", "orders", "inventory", "refunds", "finance")
ACORN_PACKAGES = frozenset({*PRODUCT_PACKAGES, "benchmarks", "loadtest", "tests"})
FORBIDDEN_IN_SIMULATOR = ACORN_PACKAGES | {"django"}
# The product modules that are development entry points: they may import the simulator, inside a function and
# through acorn.devtools.simulator_required. (benchmarks/ and tests/ are not product packages.)
SIMULATOR_ENTRY_POINTS = frozenset({"channels/management/commands/simulate_channels.py", "acorn/console/demo.py"})
INSTALL_HINT = "pip install -e '.[dev]'"


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
        f"{path.relative_to(ROOT)}:{found.line} imports {found.module}"
        for path in modules
        for found in imports_of(path)
        if found.module.partition(".")[0] in FORBIDDEN_IN_SIMULATOR
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


def _imports_simulator(module: str) -> bool:
    return module == "simulator" or module.startswith("simulator.")


def test_the_product_imports_the_simulator_only_in_its_development_entry_points() -> None:
    # given every module of the product's packages (what the wheel ships)
    modules = sorted(path for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py"))
    assert len(modules) > 200

    # when their imports of the simulator are read
    found = [
        (str(path.relative_to(ROOT)), found.line, found.at_import_time)
        for path in modules
        for found in imports_of(path)
        if _imports_simulator(found.module)
    ]

    # then only the development entry points import it, and never when they are imported themselves (Django
    # loads every command module to list them; a missing simulator must not break `manage.py help`)
    assert {module for module, _line, _runs in found} == SIMULATOR_ENTRY_POINTS
    assert [(module, line) for module, line, runs_on_import in found if runs_on_import] == []


def test_the_wheel_holds_the_product_and_not_the_simulator() -> None:
    # given the packages of the repository, and the patterns setuptools picks the wheel's packages with
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = [
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("*/**/__init__.py")
        if init.parent.relative_to(ROOT).parts[0] not in {".venv", "var", "static"}
    ]

    # when they are matched as setuptools does (fnmatch on the dotted name, include then exclude)
    def packaged(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in found["include"]) and not any(
            fnmatch.fnmatchcase(name, pattern) for pattern in found.get("exclude", ())
        )

    wheel = {name for name in packages if packaged(name)}

    # then every product package is there and nothing of the simulator, the benchmarks or the tests
    assert set(PRODUCT_PACKAGES) <= wheel and "channels.adapters" in wheel
    assert "simulator.shopify" in packages  # (the walk does see the simulator's packages)
    development = {"simulator", "benchmarks", "loadtest", "tests"}
    assert sorted(name for name in wheel if name.partition(".")[0] in development) == []


def test_graphql_core_is_a_development_dependency_only() -> None:
    # given the project's dependencies, and every module of the product
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    modules = [path for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py")]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}

    # then `pip install .` does not bring graphql-core, the dev extra does, and only the simulator uses it
    assert "graphql-core" not in names(project["dependencies"])
    assert "graphql-core" in names(project["optional-dependencies"]["dev"])
    assert [
        str(path.relative_to(ROOT)) for path in modules if any(i.module.startswith("graphql") for i in imports_of(path))
    ] == []


def _docker_context() -> list[str]:
    """The repository files `docker build .` sends, after .dockerignore (Docker's rules: patterns match a path
    or a folder above it; later lines win; "!" re-includes)."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    def ignored(path: str) -> bool:
        verdict = False
        candidates = ["/".join(path.split("/")[: index + 1]) for index in range(path.count("/") + 1)]
        for rule in rules:
            pattern = rule.removeprefix("!").strip("/").replace("**/", "*")
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                verdict = not rule.startswith("!")
        return verdict

    return [path for path in files if not ignored(path)]


def test_the_production_image_leaves_the_simulator_out() -> None:
    # given the files the production image is built from, and its Dockerfile
    context = _docker_context()
    dockerfile = (ROOT / "Dockerfile").read_text()

    # then the image has the product and not the simulator (nor the tests that run against it) ...
    assert "manage.py" in context and any(path.startswith("channels/adapters/") for path in context)
    assert [path for path in context if path.startswith(("simulator/", "tests/"))] == []
    # ... installs the product without extras (no graphql-core), and refuses to build if either slipped in
    installs = re.findall(r"pip install[^\n]*", dockerfile)
    assert installs and all("[" not in install for install in installs)
    assert "find_spec" in dockerfile and "'simulator', 'graphql'" in dockerfile


def _manage_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a child process in which `module` cannot be imported: an install without the
    simulator (a wheel: `simulator`) or a checkout without the dev extra (`graphql`)."""
    program = (
        f"import runpy, sys; sys.modules[{module!r}] = None; sys.argv = ['manage.py', *{list(args)!r}]; "
        f"runpy.run_path({str(ROOT / 'manage.py')!r}, run_name='__main__')"
    )
    environment = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}}
    environment["DJANGO_SETTINGS_MODULE"] = "acorn.settings.test"
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("missing", ["simulator", "graphql"])
def test_simulate_channels_says_how_to_install_the_simulator_where_it_is_missing(missing: str) -> None:
    # when the simulator is started where it (or its dependency) is not installed
    done = _manage_without(missing, "simulate_channels", "--port", "0", "--tls-port", "0")

    # then it exits 1 with one clear line, not a traceback
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    expected = "manage.py simulate_channels needs the channel simulator, which is not installed here"
    assert f"SimulatorNotInstalled: {expected} (no module named {missing!r})" in done.stderr
    assert INSTALL_HINT in done.stderr and "make setup" in done.stderr
    assert "listening" not in done.stdout


def test_without_the_simulator_the_product_checks_and_simulate_channels_still_explains_itself() -> None:
    # when the system checks run, and simulate_channels is asked for help, where the simulator is not installed
    checked = _manage_without("simulator", "check")
    helped = _manage_without("simulator", "simulate_channels", "--help")

    # then the product is whole without it
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert "--faults" in helped.stdout


@pytest.fixture
def simulator_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process behaves as if the simulator were not installed (its modules cannot be imported)."""
    for name in [name for name in sys.modules if _imports_simulator(name)] + ["simulator"]:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.django_db
@pytest.mark.usefixtures("simulator_missing")
def test_the_demo_says_how_to_install_the_simulator_and_keeps_nothing() -> None:
    # when the demo is seeded where the simulator is not installed
    with pytest.raises(SimulatorNotInstalled) as raised:
        call_command("demo", "--json", PUBLISH_FLAG, stdout=StringIO())

    # then it says what is missing and how to install it ...
    message = str(raised.value)
    assert message.startswith("manage.py demo needs the channel simulator, which is not installed here")
    assert INSTALL_HINT in message
    # ... and nothing of a half-seeded demo is left: no tenant, no demo login
    with scopes_disabled():
        assert not Tenant.objects.exists()
    assert not get_user_model().objects.filter(email__endswith="@demo.acorn.local").exists()


@pytest.mark.usefixtures("simulator_missing")
def test_the_ingest_benchmark_says_how_to_install_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the benchmark module not yet imported in this process
    monkeypatch.delitem(sys.modules, "benchmarks.ingest", raising=False)

    # when it is run where the simulator is not installed
    with pytest.raises(SimulatorNotInstalled) as raised:
        call_command("bench", "ingest", "--json", stdout=StringIO())

    # then it says so, and the benchmarks that need no simulator are still listed
    assert str(raised.value).startswith("manage.py bench ingest needs the channel simulator")
    assert INSTALL_HINT in str(raised.value)
    listing = StringIO()
    call_command("bench", "--list", "--json", stdout=listing)
    benchmarks = {entry["name"]: entry for entry in json.loads(listing.getvalue())["benchmarks"]}
    assert benchmarks["ingest"]["summary"].startswith("unavailable here: needs the channel simulator")
    assert benchmarks["reserve"]["default_scale"] > 0 and "unavailable" not in benchmarks["reserve"]["summary"]
