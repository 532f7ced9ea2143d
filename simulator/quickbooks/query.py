"""The part of Intuit's query language (IDS QL) the simulator answers.

``SELECT * FROM <Entity> [WHERE <Field> = '<value>' | <Field> = true|false | <Field> IN ('a', 'b') [AND …]]
[ORDERBY <Field> [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]`` and ``SELECT COUNT(*) FROM <Entity> …``;
keywords in any case. Intuit documents that OR is not supported, that STARTPOSITION is 1-based and that
MAXRESULTS is at most 1000 (default 100). Anything else raises QueryError, which the front answers with
Intuit's QueryParserError fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100

_SELECT = re.compile(
    r"^\s*select\s+(?P<what>\*|count\(\*\))\s+from\s+(?P<entity>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+orderby\s+(?P<order>\w+)(?:\s+(?P<direction>asc|desc))?)?"
    r"(?:\s+startposition\s+(?P<start>\d+))?"
    r"(?:\s+maxresults\s+(?P<max>\d+))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>[\w.]+)\s*(?:(?P<op>=)\s*(?P<value>'(?:[^'\\]|\\.)*'|true|false|-?\d+(?:\.\d+)?)"
    r"|\s+in\s*\((?P<values>[^)]*)\))\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


class QueryError(ValueError):
    """The query is not one Intuit's parser would accept."""


@dataclass(frozen=True)
class Condition:
    field: str
    values: tuple[Any, ...]  # one value for "=", several for "IN"


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    conditions: tuple[Condition, ...] = field(default_factory=tuple)
    order_by: str = ""
    descending: bool = False
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        return _unquote(text[1:-1])
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _split_and(where: str) -> list[str]:
    """Split on AND outside quotes; refuse OR (Intuit's parser does not support it)."""
    parts: list[str] = []
    current: list[str] = []
    tokens = re.split(r"('(?:[^'\\]|\\.)*')", where)
    for token in tokens:
        if token.startswith("'") and token.endswith("'") and len(token) >= 2:
            current.append(token)
            continue
        if re.search(r"\bor\b", token, re.IGNORECASE):
            raise QueryError("OR is not supported")
        pieces = re.split(r"\band\b", token, flags=re.IGNORECASE)
        current.append(pieces[0])
        for piece in pieces[1:]:
            parts.append("".join(current))
            current = [piece]
    parts.append("".join(current))
    return parts


def parse(text: str) -> Query:
    """Parse one query or raise QueryError."""
    match = _SELECT.match(text or "")
    if match is None:
        raise QueryError(f"Error parsing query: {text!r}")
    conditions = []
    if match["where"]:
        for part in _split_and(match["where"]):
            condition = _CONDITION.match(part)
            if condition is None:
                raise QueryError(f"Error parsing the condition {part.strip()!r}")
            if condition["op"]:
                values: tuple[Any, ...] = (_value(condition["value"]),)
            else:
                values = tuple(_unquote(value) for value in _QUOTED.findall(condition["values"]))
                if not values:
                    raise QueryError("IN needs at least one quoted value")
            conditions.append(Condition(condition["field"], values))
    start = int(match["start"] or 1)
    maximum = int(match["max"] or DEFAULT_MAX_RESULTS)
    if start < 1:
        raise QueryError("STARTPOSITION starts at 1")
    if maximum > MAX_RESULTS:
        raise QueryError(f"MAXRESULTS is at most {MAX_RESULTS}")
    return Query(
        entity=match["entity"],
        count=match["what"] != "*",
        conditions=tuple(conditions),
        order_by=match["order"] or "",
        descending=(match["direction"] or "").lower() == "desc",
        start_position=start,
        max_results=maximum,
    )


def _field(entity: dict[str, Any], name: str) -> Any:
    value: Any = entity
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = next((item for key, item in value.items() if key.lower() == part.lower()), None)
    return value


def _matches(entity: dict[str, Any], condition: Condition) -> bool:
    value = _field(entity, condition.field)
    if isinstance(value, bool):
        return value in condition.values
    return str(value) in {str(wanted) for wanted in condition.values}


def run(query: Query, entities: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The page of entities the query selects, and how many matched in all."""
    found = [entity for entity in entities if all(_matches(entity, condition) for condition in query.conditions)]
    if query.order_by:
        found.sort(key=lambda entity: str(_field(entity, query.order_by) or ""), reverse=query.descending)
    start = query.start_position - 1
    return found[start : start + query.max_results], len(found)
