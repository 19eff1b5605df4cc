"""Calculated query cost, as the GraphQL Admin API charges it, and the leaky bucket.

Shopify prices a document before running it (``requestedQueryCost``) from the
selection: scalars and enums cost 0, an object 1, a connection 2 plus its page size
times the cost of one node, a mutation 10 plus what it selects. After running it, the
cost of what was really returned (``actualQueryCost``) is charged and the difference
refunded. A document over 1,000 points is refused; a bucket without room for the
requested cost answers ``THROTTLED``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

MAX_QUERY_COST = 1000
MUTATION_COST = 10
CONNECTION_COST = 2


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                return int(variables.get(value.name.value) or 0)
    return 0


class QueryCost:
    """Price one operation of a document against a schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables

    def requested(self) -> int:
        """The cost before running: connections priced at their full page size."""
        return self._operation(None)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """The cost of what came back: connections priced at the nodes returned."""
        return self._operation(data or {})

    def _operation(self, data: Mapping[str, Any] | None) -> int:
        mutation = self.operation.operation.value == "mutation"
        root = self.schema.mutation_type if mutation else self.schema.query_type
        assert root is not None
        cost = self._selection(self.operation.selection_set, root, data)
        if mutation:
            cost += MUTATION_COST * len(self.operation.selection_set.selections)
        return cost

    def _fields(self, selection_set: SelectionSetNode, parent: Any) -> list[tuple[FieldNode, Any]]:
        """The fields selected, each with the type it is selected on (fragments flattened)."""
        fields: list[tuple[FieldNode, Any]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append((selection, parent))
                continue
            if isinstance(selection, InlineFragmentNode):
                fragment: Any = selection
            else:
                fragment = self.fragments.get(selection.name.value)  # type: ignore[attr-defined]
                if fragment is None:
                    continue
            condition = fragment.type_condition
            on = self.schema.get_type(condition.name.value) if condition else parent
            fields.extend(self._fields(fragment.selection_set, on))
        return fields

    def _selection(self, selection_set: SelectionSetNode, parent: Any, data: Any) -> int:
        total = 0
        for node, on in self._fields(selection_set, parent):
            definition = getattr(on, "fields", {}).get(node.name.value)
            if definition is None or node.selection_set is None:
                continue
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            key = node.alias.value if node.alias else node.name.value
            value = data.get(key) if isinstance(data, Mapping) else None
            total += self._field_cost(node, definition.type, named, value, data is None)
        return total

    def _field_cost(
        self, node: FieldNode, field_type: Any, named: Any, value: Any, planned: bool
    ) -> int:
        assert node.selection_set is not None
        if named.name.endswith("Connection"):
            size = _page_size(node, self.variables)
            inner = self._connection_node_cost(node.selection_set, named, value, planned)
            if not planned:
                nodes = (value or {}).get("nodes") or (value or {}).get("edges") or []
                size = len(nodes)
            return CONNECTION_COST + size * inner
        if self._is_list(field_type):  # a plain list: one element's cost, times first
            size = _page_size(node, self.variables)
            items = value if isinstance(value, list) else []
            one = items[0] if items else None
            each = 1 + self._selection(node.selection_set, named, None if planned else one)
            if planned:
                return each * (size or 1)
            return each * (min(len(items), size) if size else min(len(items), 1))
        if not planned and value is None:
            return 0
        return 1 + self._selection(node.selection_set, named, None if planned else value)

    def _connection_node_cost(
        self, selection_set: SelectionSetNode, connection: Any, value: Any, planned: bool
    ) -> int:
        """The cost of one node of a connection, selected through ``nodes`` or ``edges``."""
        node_type = get_named_type(connection.fields["nodes"].type)
        first = None
        if not planned and value:
            items = value.get("nodes") or [e.get("node") for e in value.get("edges") or []]
            first = items[0] if items else None
        cost = 0
        for node, _ in self._fields(selection_set, connection):
            inner_set = node.selection_set
            if inner_set is not None and node.name.value == "edges":
                edge = next(
                    (f for f, _ in self._fields(inner_set, None) if f.name.value == "node"), None
                )
                inner_set = edge.selection_set if edge is not None else None
            if inner_set is None or node.name.value == "pageInfo":
                continue
            cost = max(cost, 1 + self._selection(inner_set, node_type, None if planned else first))
        return cost

    @staticmethod
    def _is_list(field_type: Any) -> bool:
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        return isinstance(field_type, GraphQLList)


class CostBucket:
    """The leaky bucket of one app on one shop, in query-cost points."""

    def __init__(
        self,
        maximum: float = 2000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._clock = clock
        self._available = maximum
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(
            self.maximum, self._available + (now - self._stamp) * self.restore_rate
        )
        self._stamp = now

    def take(self, cost: float) -> bool:
        """Charge ``cost`` points if the bucket holds them; False means throttled."""
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: float) -> None:
        """Give back what was charged but not used."""
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + max(0.0, points))

    def drain(self, points: float | None = None) -> None:
        """Empty the bucket (or take ``points`` out): other apps' load, for tests and demos."""
        with self._lock:
            self._refill()
            self._available = 0.0 if points is None else max(0.0, self._available - points)

    def status(self) -> dict[str, float]:
        """``throttleStatus`` as Shopify reports it."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": round(self._available, 1),
                "restoreRate": self.restore_rate,
            }
