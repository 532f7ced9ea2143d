"""Helpers for the simulator tests: an SP-API caller over real HTTP, a retrying search client, and two
shape checkers (against Amazon's example payloads, and against a Swagger 2.0 model)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from simulator import SimulatorServer
from tests.vendor import VENDOR_FIXTURES

VENDOR = VENDOR_FIXTURES / "amazon"
ORDERS_PATH = "/orders/2026-01-01/orders"
# Plain HTTP to 127.0.0.1 only: skipping the CA bundle makes each client ~25 ms cheaper to create.
HTTP = httpx.Client(timeout=10, verify=False)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Status of a call whose connection was dropped without an answer (no HTTP status exists for it).
DROPPED = 0


class Api:
    """Calls the simulator like an SP-API client: LWA refresh grant, then x-amz-access-token."""

    def __init__(self, sim: SimulatorServer, refresh_token: str) -> None:
        self.sim = sim
        self.refresh_token = refresh_token
        self._access_token: str | None = None
        # shorter than the simulator's hang (2 s): a timeout fault is seen as one
        self.http = httpx.Client(base_url=sim.url, timeout=1.5, verify=False)

    def lwa(self, **form: str) -> httpx.Response:
        data = {"client_id": self.sim.world.client_id, "client_secret": self.sim.world.client_secret, **form}
        return self.http.post("/auth/o2/token", data=data)

    @property
    def access_token(self) -> str:
        if self._access_token is None:
            response = self.lwa(grant_type="refresh_token", refresh_token=self.refresh_token)
            assert response.status_code == 200, response.text
            self._access_token = response.json()["access_token"]
        return self._access_token

    def get(self, path: str, params: Any = None) -> httpx.Response:
        """The answer, or a stand-in with status DROPPED when the server dropped the connection or hung
        past the client's timeout (the reset and timeout faults)."""
        headers = {"x-amz-access-token": self.access_token}
        try:
            return self.http.get(path, params=params, headers=headers)
        except (httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.ReadError):
            return httpx.Response(DROPPED, request=httpx.Request("GET", path))

    def post(self, path: str, body: Any) -> httpx.Response:
        headers = {"x-amz-access-token": self.access_token, "content-type": "application/json"}
        return self.http.post(path, content=json.dumps(body), headers=headers)


@dataclass
class SyncResult:
    """What a careful client ended with."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0
    restarts: int = 0
    pages: int = 0
    deliveries: int = 0
    window_end: str = ""


def well_formed(order: Mapping[str, Any]) -> bool:
    """The checks a parser would make before accepting an order."""
    try:
        datetime.fromisoformat(str(order["createdTime"]))
        for item in order["orderItems"]:
            if not isinstance(item["quantityOrdered"], int):
                return False
            float(item["product"]["price"]["unitPrice"]["amount"])
        float(order.get("proceeds", {}).get("grandTotal", {}).get("amount", "0"))
    except (KeyError, TypeError, ValueError):
        return False
    return isinstance(order.get("orderId"), str)


def sync_orders(api: Api, params: Mapping[str, Any], *, page_size: int = 100, max_calls: int = 2000) -> SyncResult:
    """Search like a production client: retry 429/5xx, restart an expired pagination from the window start
    (same window end), upsert by order id, set malformed records aside."""
    result = SyncResult()
    window = {**params, "maxResultsPerPage": page_size}
    token: str | None = None
    for _ in range(max_calls):
        # includedData is not pinned by the token: it is sent again with every page.
        query: Any = window
        if token:
            query = {"paginationToken": token, "maxResultsPerPage": page_size}
            if "includedData" in window:
                query["includedData"] = window["includedData"]
        response = api.get(ORDERS_PATH, query)
        if response.status_code in (429, 500, 503, DROPPED):
            result.retries += 1
            continue
        if response.status_code == 400 and token and "token" in response.text.lower():
            result.restarts += 1
            token = None
            continue
        assert response.status_code == 200, response.text
        body = response.json()
        result.pages += 1
        if not result.window_end:
            result.window_end = body.get("lastUpdatedBefore") or body.get("createdBefore") or ""
            end_key = "lastUpdatedBefore" if "lastUpdatedAfter" in window else "createdBefore"
            window[end_key] = result.window_end
        for order in body["orders"]:
            result.deliveries += 1
            if well_formed(order):
                result.orders[order["orderId"]] = order
            else:
                result.rejected.append(order)
        token = (body.get("pagination") or {}).get("nextToken")
        if not token:
            return result
    raise AssertionError("the client never reached the last page")


# -- shape checking -----------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def merge_shapes(samples: Iterable[Any]) -> dict[str, Any]:
    """The union shape of example values: {"type": ..., "keys": {...}, "items": {...}}."""
    shape: dict[str, Any] = {"types": set()}
    for sample in samples:
        _merge(shape, sample)
    return shape


def _merge(shape: dict[str, Any], sample: Any) -> None:
    kind = json_type(sample)
    shape["types"].add(kind)
    if kind == "object":
        keys = shape.setdefault("keys", {})
        for key, value in sample.items():
            _merge(keys.setdefault(key, {"types": set()}), value)
    elif kind == "array":
        items = shape.setdefault("items", {"types": set()})
        for value in sample:
            _merge(items, value)


def shape_errors(value: Any, shape: dict[str, Any], path: str = "$") -> list[str]:
    """Every key of `value` must exist in the example shape, with the same JSON type."""
    kind = json_type(value)
    if kind not in shape["types"]:
        return [f"{path}: {kind}, the examples have {sorted(shape['types'])}"]
    errors: list[str] = []
    if kind == "object":
        for key, child in value.items():
            if key not in shape.get("keys", {}):
                errors.append(f"{path}.{key}: not in the vendor examples")
            else:
                errors.extend(shape_errors(child, shape["keys"][key], f"{path}.{key}"))
    elif kind == "array" and value:
        if "items" not in shape or not shape["items"]["types"]:
            return [f"{path}: the examples only have empty arrays here"]
        for index, child in enumerate(value):
            errors.extend(shape_errors(child, shape["items"], f"{path}[{index}]"))
    return errors


def vendor_bodies(folder: str, pattern: str) -> list[Any]:
    """Bodies of the vendor example files (`response` of sandbox files, the whole file otherwise)."""
    bodies = []
    for file in sorted((VENDOR / "sandbox" / folder).glob(pattern)):
        data = json.loads(file.read_text())
        bodies.append(data["response"] if "sandbox-static" in file.name else data)
    return bodies


class SwaggerModel:
    """Validates JSON against a definition of a Swagger 2.0 model: types, required keys, enums, date-times,
    and (stricter than Swagger) no keys that the definition does not declare."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    @classmethod
    def load(cls, name: str) -> SwaggerModel:
        """One of the vendor models in amazon/models/ (e.g. "fbaInventory.json")."""
        return cls(json.loads((VENDOR / "models" / name).read_text()))

    def errors(self, value: Any, definition: str) -> list[str]:
        return self._check(value, {"$ref": f"#/definitions/{definition}"}, "$")

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.spec["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _properties(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        properties = dict(schema.get("properties", {}))
        required = list(schema.get("required", []))
        for part in schema.get("allOf", []):
            more, needed = self._properties(self._resolve(part))
            properties.update(more)
            required.extend(needed)
        return properties, required

    def _check(self, value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
        schema = self._resolve(schema)
        expected = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema else None)
        kind = json_type(value)
        if expected == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return [f"{path}: expected integer, got {value!r}"]
        elif expected and expected != kind:
            return [f"{path}: expected {expected}, got {kind}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{path}: {value!r} not in {schema['enum']}"]
        if schema.get("format") == "date-time" and isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                return [f"{path}: {value!r} is not a date-time"]
        errors: list[str] = []
        if kind == "object":
            properties, required = self._properties(schema)
            errors.extend(f"{path}.{key}: required" for key in required if key not in value)
            for key, child in value.items():
                if key not in properties:
                    errors.append(f"{path}.{key}: not in the model")
                else:
                    errors.extend(self._check(child, properties[key], f"{path}.{key}"))
        elif kind == "array" and "items" in schema:
            for index, child in enumerate(value):
                errors.extend(self._check(child, schema["items"], f"{path}[{index}]"))
        return errors
