"""Shopify's calculated query cost: scalars and enums cost 0, objects 1, a connection 2 plus its page size
times the cost of one node, a list of objects its `first` (or 1) times the cost of one element, and every
mutation field 10. The requested cost is computed before execution from the page sizes asked for; the
actual cost afterwards from what came back, and the difference goes back into the bucket."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.utilities import value_from_ast_untyped

MUTATION_COST = 10
_STRUCTURE = ("edges", "node", "nodes", "pageInfo")


def _unwrap(type_: Any) -> tuple[GraphQLNamedType, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


class CostCalculator:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def _fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        found: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self._fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self._fields(fragment.selection_set))
        return found

    def _field_def(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field = parent.fields.get(name)
            if field is not None:
                return field
        # a field selected through a fragment on an implementing type
        for type_ in self.schema.type_map.values():
            if isinstance(type_, GraphQLObjectType) and name in type_.fields and parent in type_.interfaces:
                return type_.fields[name]
        return None

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, data: Any) -> int:
        """Cost of a selection on an object of type `parent`; `data` is the result (None: requested cost)."""
        total = 0
        for node in self._fields(selection_set):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = self._field_def(parent, name)
            if field is None:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, dict) else None
            if data is not None and value is None:
                continue
            total += self.field(node, field, value, data is not None)
        return total

    def field(self, node: FieldNode, field: GraphQLField, value: Any, actual: bool) -> int:
        type_, is_list = _unwrap(field.type)
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        if type_.name.endswith("Connection"):
            return self.connection(node, type_, value, actual)
        if is_list:
            if actual:
                return sum(1 + self.selection(type_, node.selection_set, item) for item in value or ())
            size = self._argument(node, "first") or 1
            return int(size) * (1 + self.selection(type_, node.selection_set, None))
        return 1 + self.selection(type_, node.selection_set, value if actual else None)

    def connection(self, node: FieldNode, type_: GraphQLNamedType, value: Any, actual: bool) -> int:
        assert isinstance(type_, GraphQLObjectType)
        node_type, _ = _unwrap(type_.fields["nodes"].type)
        per_node = 0
        items: list[Any] = []
        for part in self._fields(node.selection_set):
            alias = part.alias.value if part.alias else part.name.value
            if part.name.value == "nodes":
                per_node = max(
                    per_node, 1 + self._node_cost(node_type, part.selection_set, value, alias, actual, items)
                )
            elif part.name.value == "edges":
                for edge_part in self._fields(part.selection_set):
                    if edge_part.name.value == "node":
                        edge_alias = edge_part.alias.value if edge_part.alias else "node"
                        edges = (value or {}).get(alias) if actual else None
                        nodes = [edge.get(edge_alias) for edge in edges or () if isinstance(edge, dict)]
                        per_node = max(per_node, 1 + self._each(node_type, edge_part.selection_set, nodes, actual))
                        items = nodes or items
        if actual:
            count = len(items)
            return 2 + count * per_node if count else 2
        size = self._argument(node, "first") or self._argument(node, "last") or 0
        return 2 + int(size) * per_node

    def _node_cost(
        self, node_type: GraphQLNamedType, selection_set: Any, value: Any, alias: str, actual: bool, items: list[Any]
    ) -> int:
        if not actual:
            return self.selection(node_type, selection_set, None)
        nodes = (value or {}).get(alias) or []
        items[:] = nodes
        return self._each(node_type, selection_set, nodes, actual)

    def _each(self, node_type: GraphQLNamedType, selection_set: Any, nodes: list[Any], actual: bool) -> int:
        if not actual:
            return self.selection(node_type, selection_set, None)
        if not nodes:
            return self.selection(node_type, selection_set, None) if not actual else 0
        return max(self.selection(node_type, selection_set, item) for item in nodes)


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    data: Any = None,
) -> int:
    """The requested cost (data None) or the actual cost (data: the result's `data`)."""
    if operation.operation.value == "mutation":
        fields = [selection for selection in operation.selection_set.selections if isinstance(selection, FieldNode)]
        return MUTATION_COST * max(len(fields), 1)
    calculator = CostCalculator(schema, fragments, variables)
    root = schema.query_type
    assert root is not None
    if data is None:
        return calculator.selection(root, operation.selection_set, None)
    return calculator.selection(root, operation.selection_set, data if isinstance(data, dict) else {})
