"""The shape of the code base, read from the source (nothing is imported): the dependency direction of
DESIGN.md, no Django signals for domain logic, and no import hidden inside a function to dodge a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("acorn", "channels", "inventory", "orders", "refunds", "finance")
# DESIGN.md: acorn core ← channels ← inventory ← orders ← refunds ← finance ← the composition on top
# (acorn/console, acorn/urls.py, settings), which may import every app. Imports only go down this list.
LAYERS = ("core", "channels", "inventory", "orders", "refunds", "finance", "composition")
COMPOSITION = ("acorn.console", "acorn.urls", "acorn.settings", "acorn.wsgi")


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the module the statement names
    function: str  # the enclosing function ("" at module level)
    type_checking: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> Iterator[Path]:
    """Every product module: no migrations, tests or benchmarks, and not the simulator (a development tool)."""
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).parts
            if "migrations" not in relative and "simulator" not in relative:
                yield path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # `from package import name` may name a submodule: count both
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports_in(source: str, *, module: str, is_package: bool = False) -> list[Import]:
    """Every import statement of a module's source, with where it stands."""
    found: list[Import] = []

    def walk(node: ast.AST, function: str, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, child.name, type_checking)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                walk(child, function, True)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(
                    Import(child.lineno, target, function, type_checking)
                    for target in _targets(child, module, is_package)
                )
            else:
                walk(child, function, type_checking)

    walk(ast.parse(source), "", False)
    return found


def imports_of(path: Path) -> list[Import]:
    return imports_in(path.read_text(encoding="utf-8"), module=module_name(path), is_package=path.name == "__init__.py")


def layer_of(module: str) -> int | None:
    """Where a module sits in the dependency direction; None for anything that is not ACORN's."""
    if any(module == name or module.startswith(name + ".") for name in COMPOSITION):
        return LAYERS.index("composition")
    top = module.split(".", 1)[0]
    if top == "acorn":
        return LAYERS.index("core")
    return LAYERS.index(top) if top in LAYERS else None


def upward_imports(imports: list[Import], *, module: str) -> list[Import]:
    own = layer_of(module)
    return [
        found
        for found in imports
        if own is not None and (target := layer_of(found.target)) is not None and target > own
    ]


# --- the dependency direction -----------------------------------------------------------------------------


def test_no_module_imports_an_app_above_its_own() -> None:
    # given every import of every product module, at module level or inside a function
    upward = [
        f"{path.relative_to(ROOT)}:{found.line} imports {found.target}"
        for path in product_modules()
        for found in upward_imports(imports_of(path), module=module_name(path))
    ]
    # then: none goes up the list (a lower app that must let an upper one react exposes a registry)
    assert not upward, "imports against the dependency direction (DESIGN.md):\n" + "\n".join(upward)


def test_the_layering_check_sees_an_upward_import_even_inside_a_function() -> None:
    # given an inventory module that imports refunds inside a function, and core importing nothing above
    source = "from acorn.money import Money\n\ndef f():\n    from refunds.models import Refund\n    return Refund\n"
    # when
    found = upward_imports(imports_in(source, module="inventory.example"), module="inventory.example")
    # then
    assert [(item.target, item.function) for item in found] == [
        ("refunds.models", "f"),
        ("refunds.models.Refund", "f"),
    ]
    assert (
        upward_imports(
            imports_in("from refunds.models import Refund\n", module="acorn.console.demo"), module="acorn.console.demo"
        )
        == []
    )


# --- no Django signals for domain logic -------------------------------------------------------------------

# A module that needs a framework signal for infrastructure (never for a domain step) is named here with the
# reason.
SIGNALS_ALLOWED: dict[str, str] = {
    "acorn.celery": "Celery's publish/prerun/postrun signals carry the log trace id into every task's headers "
    "and bind it for the task's log lines: infrastructure around every task, no domain step",
}


def signal_uses(source: str) -> list[tuple[int, str]]:
    """Where a module's source imports the signal machinery or a signals module (nothing can be connected or
    sent without one of these imports), or makes a Signal or a @receiver."""
    uses: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        signal_modules = [name for name in names if name == "django.dispatch" or name.split(".")[-1] == "signals"]
        if signal_modules:
            uses.append((node.lineno, f"imports {signal_modules[0]}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Signal", "receiver"):
            uses.append((node.lineno, f"{node.func.id}()"))
    return uses


def test_no_module_uses_django_signals_for_domain_logic() -> None:
    # given every product module
    found = []
    for path in product_modules():
        if module_name(path) in SIGNALS_ALLOWED:
            continue
        if path.stem.startswith("signals"):
            found.append(f"{path.relative_to(ROOT)}: a signals module")
        found.extend(f"{path.relative_to(ROOT)}:{line} {what}" for line, what in signal_uses(path.read_text("utf-8")))
    # then: none; the apps above react through registries filled in their AppConfig.ready()
    assert not found, "Django signals (DESIGN.md: expose a registry filled in AppConfig.ready()):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from django.dispatch import Signal\nchanged = Signal()\n", [(1, "imports django.dispatch"), (2, "Signal()")]),
        ("from django.db.models.signals import post_save\n", [(1, "imports django.db.models.signals")]),
        (
            "def ready(self):\n    from django.db.models import signals\n    signals.post_save.connect(f)\n",
            [(2, "imports django.db.models.signals")],
        ),
        ("import django.dispatch\n", [(1, "imports django.dispatch")]),
        ("from celery import signals\n", [(1, "imports celery.signals")]),
        ("from orders.hooks import register_orders_upserted_listener\n", []),
    ],
)
def test_the_signal_check_sees_each_way_of_using_a_signal(source: str, expected: list[tuple[int, str]]) -> None:
    assert signal_uses(source) == expected


# --- imports at the top -----------------------------------------------------------------------------------

# A function-local import of ACORN code is allowed in AppConfig.ready() (the registries are filled there, once
# every app is loaded) and nowhere else: an import inside a function is how a cycle used to be dodged. One that
# is really needed elsewhere is named here with its reason; there is none.
LOCAL_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}


def local_project_imports(imports: list[Import], *, module: str) -> list[Import]:
    return [
        found
        for found in imports
        if found.function
        and not found.type_checking
        and layer_of(found.target) is not None
        and not (module.endswith(".apps") and found.function == "ready")
        and (module, found.function) not in LOCAL_IMPORTS_ALLOWED
    ]


def test_acorn_code_is_imported_at_the_top_of_the_module() -> None:
    # given every product module
    hidden: dict[str, str] = {}
    for path in product_modules():
        for found in local_project_imports(imports_of(path), module=module_name(path)):
            where = f"{path.relative_to(ROOT)}:{found.line} {found.function}()"
            hidden[where] = min(hidden.get(where, found.target), found.target, key=len)  # the statement's module
    hidden_list = [f"{where} imports {target}" for where, target in sorted(hidden.items())]
    # then: none imports ACORN code inside a function, except AppConfig.ready()
    assert not hidden_list, "move these imports to the top (and break the cycle, if one appears):\n" + "\n".join(
        hidden_list
    )


def test_the_local_import_check_tells_ready_from_other_functions() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from channels.models import Store\n"
        "class Config:\n    def ready(self):\n        from orders.hooks import register_orders_upserted_listener\n"
        "def service():\n    from orders.tasks import confirm_shipment_task\n    import json\n"
    )
    in_apps = local_project_imports(imports_in(source, module="refunds.apps"), module="refunds.apps")
    elsewhere = local_project_imports(imports_in(source, module="refunds.services"), module="refunds.services")
    assert {item.function for item in in_apps} == {"service"}
    assert {item.function for item in elsewhere} == {"ready", "service"}


# --- one helper for every spreadsheet -----------------------------------------------------------------------

# CSV and XLSX files are written through acorn/spreadsheets.py only (csv_lines, csv_writer, xlsx_file,
# xlsx_cell), so that no export can put a live formula in front of the staff who open it. A module that still
# makes a writer or a workbook itself is named here with its reason.
SPREADSHEET_WRITERS_ALLOWED: dict[str, str] = {
    "acorn.spreadsheets": "the helper itself",
    "acorn.csv_import": "the import side: an uploaded workbook's first sheet turned into CSV text for the CSV "
    "reader; nothing it writes leaves ACORN",
    "finance.profit.views": "the profit export writes every cell through csv_lines / xlsx_cell; its Workbook is to "
    "move to xlsx_file with the next change of finance/profit",
}
_CSV_WRITERS = ("writer", "DictWriter")


def spreadsheet_writers(source: str) -> list[tuple[int, str]]:
    """Where a module's source makes a CSV writer or a workbook of its own (or imports what makes one)."""
    uses: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".", 1)[0]
            for alias in node.names:
                if (top == "csv" and alias.name in _CSV_WRITERS) or (top == "openpyxl" and alias.name == "Workbook"):
                    uses.append((node.lineno, f"imports {node.module}.{alias.name}"))
                elif top == "xlsxwriter":
                    uses.append((node.lineno, f"imports {node.module}"))
        elif isinstance(node, ast.Import):
            uses.extend((node.lineno, f"imports {a.name}") for a in node.names if a.name.startswith("xlsxwriter"))
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if (owner == "csv" and node.attr in _CSV_WRITERS) or (owner == "openpyxl" and node.attr == "Workbook"):
                uses.append((node.lineno, f"{owner}.{node.attr}"))
            elif node.attr in ("to_csv", "to_excel"):
                uses.append((node.lineno, f".{node.attr}()"))
    return sorted(uses)


def test_every_csv_and_workbook_is_written_through_the_spreadsheet_helper() -> None:
    # given every product module
    found = [
        f"{path.relative_to(ROOT)}:{line} {what}"
        for path in product_modules()
        if module_name(path) not in SPREADSHEET_WRITERS_ALLOWED
        for line, what in spreadsheet_writers(path.read_text("utf-8"))
    ]
    # then: none writes a CSV or a workbook itself
    assert not found, "write CSV and XLSX through acorn.spreadsheets (csv_lines, xlsx_file):\n" + "\n".join(found)
    # and every exception named above is still needed
    modules = {module_name(path): path for path in product_modules()}
    stale = [name for name in SPREADSHEET_WRITERS_ALLOWED if not spreadsheet_writers(modules[name].read_text("utf-8"))]
    assert not stale, f"no longer writes a spreadsheet itself, take it off SPREADSHEET_WRITERS_ALLOWED: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import csv\nw = csv.writer(out)\n", [(2, "csv.writer")]),
        ("import csv\nw = csv.DictWriter(out, fieldnames=[])\n", [(2, "csv.DictWriter")]),
        ("from csv import writer\n", [(1, "imports csv.writer")]),
        ("from openpyxl import Workbook\nbook = Workbook(write_only=True)\n", [(1, "imports openpyxl.Workbook")]),
        ("from openpyxl.workbook import Workbook\n", [(1, "imports openpyxl.workbook.Workbook")]),
        ("import openpyxl\nbook = openpyxl.Workbook()\n", [(2, "openpyxl.Workbook")]),
        ("import xlsxwriter\n", [(1, "imports xlsxwriter")]),
        ("frame.to_excel(path)\n", [(1, ".to_excel()")]),
        ("import csv\nrows = csv.reader(text)\nfrom openpyxl import load_workbook\n", []),
        ("from acorn.spreadsheets import csv_lines, xlsx_file\n", []),
    ],
)
def test_the_spreadsheet_check_sees_each_way_of_writing_one(source: str, expected: list[tuple[int, str]]) -> None:
    assert spreadsheet_writers(source) == expected
