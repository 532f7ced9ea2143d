"""``POST /shopify/{shop}/admin/api/{version}/graphql.json``: the GraphQL Admin API.

Around every call, as Shopify does: the shop must exist and the version be one Shopify serves (a retired
quarterly version falls forward to the oldest supported one, anything else is 404); the
X-Shopify-Access-Token must be valid for the shop (else 401); the fault profile may answer 502/503 or drop
the connection, and its throttling shows up as GraphQL's THROTTLED error; the query is parsed and
validated by graphql-core, its requested cost checked against the single-query limit (MAX_COST_EXCEEDED)
and paid from the shop's leaky bucket (THROTTLED when it cannot be paid), then executed. Every answer
carries ``extensions.cost``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from simulator.faults import DROP_CONNECTION
from simulator.http import Request, Response, Route
from simulator.shopify.context import SINGLE_QUERY_MAX_COST, ShopifyContext
from simulator.shopify.cost import query_cost
from simulator.shopify.mutations import MUTATION_RESOLVERS
from simulator.shopify.queries import QUERY_RESOLVERS
from simulator.shopify.schema import schema
from simulator.shopify.views import RequestContext

SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
RELEASE_CANDIDATE = "2027-01"
GRAPHQL_PATH = "/shopify/{shop}/admin/api/{version}/graphql.json"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
DOCUMENTATION = "https://shopify.dev/api/usage/rate-limits"
_QUARTERLY = re.compile(r"^(\d{4})-(01|04|07|10)$")


def resolve_version(version: str) -> str | None:
    """The version Shopify answers with: itself, the oldest supported one for a retired version, or None."""
    if version in (*SUPPORTED_VERSIONS, RELEASE_CANDIDATE, "unstable"):
        return version
    if _QUARTERLY.match(version) and "2019-04" <= version < SUPPORTED_VERSIONS[0]:
        return SUPPORTED_VERSIONS[0]
    return None


def _wire_resolvers() -> None:
    built = schema()
    query_type, mutation_type = built.query_type, built.mutation_type
    assert query_type is not None and mutation_type is not None
    for name, query_resolver in QUERY_RESOLVERS.items():
        query_type.fields[name].resolve = query_resolver
    for name, mutation_resolver in MUTATION_RESOLVERS.items():
        mutation_type.fields[name].resolve = mutation_resolver


_wire_resolvers()


def _json(body: dict[str, Any], status: int = 200, version: str | None = None) -> Response:
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": str(uuid.uuid4())}
    if version:
        headers["X-Shopify-API-Version"] = version
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return Response(status=status, body=data, headers=headers)


def _cost(context: ShopifyContext, domain: str, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": context.throttle_status(domain),
        }
    }


def _throttled(context: ShopifyContext, domain: str, requested: int, version: str) -> Response:
    return _json(
        {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": DOCUMENTATION}}],
            "extensions": _cost(context, domain, requested, None),
        },
        version=version,
    )


def _read_body(request: Request) -> tuple[str, dict[str, Any], str | None] | None:
    content_type = request.header("content-type").split(";")[0].strip().lower()
    if content_type == "application/graphql":
        return request.body.decode("utf-8", errors="replace"), {}, None
    try:
        payload = request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        return None
    name = payload.get("operationName")
    return payload["query"], variables, name if isinstance(name, str) else None


def graphql_endpoint(context: ShopifyContext, request: Request, params: dict[str, str]) -> Response:
    domain = params["shop"].lower()
    version = resolve_version(params["version"])
    if not context.has_shop(domain) or version is None:
        return _json({"errors": "Not Found"}, 404)
    token = request.header("x-shopify-access-token")
    grant = context.auth.token_shop(token) if token else None
    if grant is None or grant[0] != domain:
        return _json({"errors": INVALID_TOKEN}, 401)
    fingerprint = hashlib.sha256(repr((domain, token, request.body)).encode()).hexdigest()
    fault = context.faults.before_call("shopify.graphql", fingerprint)
    if fault is not None and fault.status == DROP_CONNECTION:
        return Response.drop(fault.hang_seconds)
    if fault is not None and fault.status == 429:
        return _throttled(context, domain, 0, version)
    if fault is not None:
        status = 502 if context.faults.chance(0.3) else 503
        text = "Bad Gateway" if status == 502 else "Service Unavailable"
        return _json({"errors": text}, status, version)
    body = _read_body(request)
    if body is None:
        return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400, version)
    query, variables, operation_name = body
    with context.lock:
        return _run(context, domain, version, frozenset(grant[1].split(",")), query, variables, operation_name)


def _run(
    context: ShopifyContext,
    domain: str,
    version: str,
    scopes: frozenset[str],
    query: str,
    variables: dict[str, Any],
    operation_name: str | None,
) -> Response:
    built = schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return _json({"errors": [error.formatted], "extensions": _cost(context, domain, 0, 0)}, version=version)
    errors = validate(built, document)
    if errors:
        return _json(
            {"errors": [e.formatted for e in errors], "extensions": _cost(context, domain, 0, 0)}, version=version
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = (
        next((op for op in operations if op.name and op.name.value == operation_name), None) if operation_name else None
    )
    if operation is None:
        if len(operations) != 1:
            message = (
                "An operation name is required" if len(operations) > 1 else "No operation named " + repr(operation_name)
            )
            return _json(
                {"errors": [{"message": message}], "extensions": _cost(context, domain, 0, 0)}, version=version
            )
        operation = operations[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    requested = query_cost(built, operation, fragments, variables)
    if requested > SINGLE_QUERY_MAX_COST:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit ({SINGLE_QUERY_MAX_COST}).\n\n"
            "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
            "cost of a query is calculated.\n\n"
            "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
            "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
        )
        cost_error = {
            "message": message,
            "extensions": {
                "code": "MAX_COST_EXCEEDED",
                "cost": requested,
                "maxCost": SINGLE_QUERY_MAX_COST,
                "documentation": DOCUMENTATION,
            },
        }
        return _json({"errors": [cost_error], "extensions": _cost(context, domain, requested, None)}, version=version)
    if not context.take_points(domain, requested):
        return _throttled(context, domain, requested, version)
    shop = context.sync(domain)
    profile = context.faults.profile
    request_context = RequestContext(
        shopify=context,
        shop=shop,
        version=version,
        scopes=scopes,
        now=context.now(),
        malformed=profile.malformed_records,
        duplicate_pages=profile.duplicate_page_rate > 0,
    )
    result = execute(
        built,
        document,
        context_value=request_context,
        variable_values=variables,
        operation_name=operation.name.value if operation.name else None,
    )
    assert isinstance(result, ExecutionResult)
    actual = query_cost(built, operation, fragments, variables, result.data) if result.data is not None else requested
    actual = min(actual, requested)
    context.return_points(domain, requested - actual)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    body["data"] = result.data
    extensions = _cost(context, domain, requested, actual)
    if request_context.search:
        extensions["search"] = request_context.search
    body["extensions"] = extensions
    return _json(body, version=version)


def routes(context: ShopifyContext) -> list[Route]:
    return [
        Route(
            "POST",
            GRAPHQL_PATH,
            lambda request, params: graphql_endpoint(context, request, params),
            "shopifyGraphQL",
        )
    ]
