"""The Shopify plugin against Shopify's own GraphQL Admin API schema, version 2026-04.

The reference is the official schema's SDL cut down to the types, fields, arguments, input
fields and enum values that the plugin's documents and its sandbox use, copied verbatim
(``tests/reference/shopify``; its SOURCES.md says where it comes from and how it was cut),
read by these tests only, never by the plugin or its sandbox. Checked here:
every document the adapter sends is valid for Shopify; the sandbox's schema is a faithful
subset of Shopify's (so a document the sandbox accepts, Shopify accepts too); the
variables the adapter really sends coerce to Shopify's input types; the stock mutation is
compare-and-set and idempotent; and no document costs more than Shopify's 1,000 points.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DirectiveLocation,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLInputField,
    GraphQLNamedType,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    Undefined,
    VariableNode,
    build_schema,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
    is_union_type,
    parse,
    print_ast,
    validate,
)
from graphql.execution.values import get_variable_values

from hub import StockUpdate
from hub_plugins.shopify import ShopifyChannel, ShopifyConfig, ShopifySandbox
from hub_plugins.shopify.sandbox_cost import MAX_QUERY_COST, QueryCost
from hub_plugins.shopify.sandbox_graphql import SCHEMA

SLICE_FOLDER = Path(__file__).resolve().parents[2] / "reference" / "shopify"
REFERENCE = SLICE_FOLDER / "2026-04-admin-schema.graphql"
#: Said with every "not in Shopify's schema": the slice holds only what is used so far.
RECUT = (
    "(tests/reference/shopify holds what the plugin uses of Shopify's schema; if Shopify's "
    "full schema has it, run tools/reference/cut_shopify_schema.py)"
)
DOCUMENTS = resources.files("hub_plugins.shopify") / "graphql"
DOCUMENT_NAMES = sorted(p.name for p in DOCUMENTS.iterdir() if p.name.endswith(".graphql"))
#: The sandbox's roots are Query and Mutation; Shopify's are QueryRoot and Mutation.
SANDBOX_ROOTS = {"Query": "query", "Mutation": "mutation"}
SANDBOX_TYPES = sorted(name for name in SCHEMA.type_map if not name.startswith("__"))


@pytest.fixture(scope="module")
def official() -> GraphQLSchema:
    """Shopify's GraphQL Admin API 2026-04, built once per module (about 2 s)."""
    assert REFERENCE.is_file(), f"the official Shopify schema is missing at {REFERENCE}"
    schema = build_schema(REFERENCE.read_text(), assume_valid=True)
    assert schema.query_type is not None and schema.mutation_type is not None
    return schema


def test_the_official_slice_is_as_the_script_cut_it():
    """A field added to the slice by hand would make these tests pass against a schema
    that is no longer Shopify's: the cutting script writes the sha256 of what it cut."""
    first, _, body = REFERENCE.read_text().partition("\n")
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert first == f"# sha256 of the rest of this file: {digest}", (
        f"{REFERENCE} was edited after tools/reference/cut_shopify_schema.py cut it; "
        "run the script again instead"
    )


def source(name: str) -> str:
    return DOCUMENTS.joinpath(name).read_text()


def document(name: str) -> DocumentNode:
    try:
        return parse(source(name))
    except Exception as error:  # GraphQLSyntaxError, with the line and column
        pytest.fail(f"graphql/{name} does not parse: {error}")


def operation_of(doc: DocumentNode) -> OperationDefinitionNode:
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1, "one operation per document"
    return operations[0]


def fragments_of(doc: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}


def explain(errors: list[Any]) -> str:
    return "\n".join(
        f"  {e.message}"
        + (f" (line {e.locations[0].line}, column {e.locations[0].column})" if e.locations else "")
        for e in errors
    )


def test_the_plugin_ships_its_documents():
    assert {"Orders.graphql", "ProductVariants.graphql", "SetQuantities.graphql"} <= set(
        DOCUMENT_NAMES
    ), f"graphql/ holds {DOCUMENT_NAMES}"


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_each_document_is_one_operation_named_like_its_file(name: str):
    operations = [d for d in document(name).definitions if isinstance(d, OperationDefinitionNode)]
    names = [op.name.value if op.name else None for op in operations]
    assert names == [name.removesuffix(".graphql")], (
        f"graphql/{name} must hold exactly one operation named like the file "
        f"(the client runs documents by file name); it holds {names}"
    )


# -- (a) and (c): the documents against both schemas -----------------------------------------


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_document_is_valid_for_the_official_schema(official: GraphQLSchema, name: str):
    errors = validate(official, document(name))
    assert not errors, (
        f"graphql/{name} is not valid for Shopify's GraphQL Admin API 2026-04:\n{explain(errors)}"
        f"\n{RECUT}"
    )


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_document_is_valid_for_the_sandbox_schema(name: str):
    errors = validate(SCHEMA, document(name))
    assert not errors, (
        f"graphql/{name} is not valid for the sandbox (sandbox_schema.graphql lacks what it "
        f"uses, so the sandbox would refuse it):\n{explain(errors)}"
    )


# -- (b): the sandbox's schema is a faithful subset of the official one ----------------------


def official_type(official: GraphQLSchema, name: str) -> GraphQLNamedType | None:
    """The official type that the sandbox's type ``name`` stands for."""
    if name in SANDBOX_ROOTS:
        return getattr(official, f"{SANDBOX_ROOTS[name]}_type")
    return official.get_type(name)


def kind(graphql_type: Any) -> str:
    for test, label in (
        (is_object_type, "object"),
        (is_interface_type, "interface"),
        (is_union_type, "union"),
        (is_enum_type, "enum"),
        (is_input_object_type, "input object"),
        (is_scalar_type, "scalar"),
    ):
        if test(graphql_type):
            return label
    return type(graphql_type).__name__


def type_string(graphql_type: Any) -> str:
    """A type reference as written in SDL, with the sandbox's roots named as Shopify's."""
    text = str(graphql_type)
    if get_named_type(graphql_type).name == "Query":
        text = text.replace("Query", "QueryRoot")
    return text


def required(argument: GraphQLArgument | GraphQLInputField) -> bool:
    return is_non_null_type(argument.type) and argument.default_value is Undefined


def member_problems(
    where: Callable[[str], str],
    ours: Mapping[str, GraphQLArgument | GraphQLInputField],
    theirs: Mapping[str, GraphQLArgument | GraphQLInputField],
) -> list[str]:
    """Arguments or input fields: each of ours exists in Shopify's with the same type, and
    every one Shopify requires is ours too; ``where`` names a member in messages."""
    problems = []
    for name, member in ours.items():
        official = theirs.get(name)
        if official is None:
            problems.append(f"{where(name)} does not exist in Shopify's schema")
        elif str(member.type) != str(official.type):
            problems.append(
                f"{where(name)} is {member.type} in the sandbox but {official.type} in Shopify's"
            )
    problems.extend(
        f"{where(name)} ({official.type}) is required by Shopify but missing from the sandbox"
        for name, official in theirs.items()
        if required(official) and name not in ours
    )
    return problems


def field_problems(where: str, ours: GraphQLField, theirs: GraphQLField) -> list[str]:
    problems = []
    if type_string(ours.type) != type_string(theirs.type):
        problems.append(f"{where} is {ours.type} in the sandbox but {theirs.type} in Shopify's")
    problems.extend(member_problems(lambda arg: f"{where}({arg}:)", ours.args, theirs.args))
    return problems


@pytest.mark.parametrize("name", SANDBOX_TYPES)
def test_sandbox_type_exists_in_the_official_schema(official: GraphQLSchema, name: str):
    ours = SCHEMA.type_map[name]
    theirs = official_type(official, name)
    assert theirs is not None, (
        f"type {name} of sandbox_schema.graphql is not in Shopify's schema {RECUT}"
    )
    assert kind(ours) == kind(theirs), (
        f"type {name} is an {kind(ours)} in the sandbox but an {kind(theirs)} in Shopify's schema"
    )

    problems: list[str] = []
    if is_object_type(ours) or is_interface_type(ours):
        assert is_object_type(theirs) or is_interface_type(theirs)
        for field_name, field in ours.fields.items():
            where = f"{name}.{field_name}"
            official_field = theirs.fields.get(field_name)
            if official_field is None:
                problems.append(f"field {where} does not exist in Shopify's {theirs.name}")
            else:
                problems.extend(field_problems(where, field, official_field))
    if is_object_type(ours):
        assert is_object_type(theirs)
        implemented = {i.name for i in theirs.interfaces}
        problems.extend(
            f"{name} implements {i.name} in the sandbox but not in Shopify's schema "
            f"(there: {sorted(implemented)})"
            for i in ours.interfaces
            if i.name not in implemented
        )
    if is_input_object_type(ours):
        assert is_input_object_type(theirs)
        problems.extend(
            member_problems(lambda field: f"input {name}.{field}", ours.fields, theirs.fields)
        )
    if is_enum_type(ours):
        assert is_enum_type(theirs)
        problems.extend(
            f"enum value {name}.{value} does not exist in Shopify's schema"
            for value in ours.values
            if value not in theirs.values
        )
    assert not problems, "\n".join([*problems, RECUT])


@pytest.mark.parametrize("name", sorted(d.name for d in SCHEMA.directives))
def test_sandbox_directive_exists_in_the_official_schema(official: GraphQLSchema, name: str):
    ours = SCHEMA.get_directive(name)
    theirs = official.get_directive(name)
    assert ours is not None
    assert theirs is not None, (
        f"directive @{name} of the sandbox is not in Shopify's schema {RECUT}"
    )
    ours_args = {a: str(v.type) for a, v in ours.args.items()}
    theirs_args = {a: str(v.type) for a, v in theirs.args.items()}
    assert ours_args == theirs_args, f"@{name} takes {ours_args} here, {theirs_args} at Shopify"
    assert set(ours.locations) <= set(theirs.locations), (
        f"@{name} is allowed on {ours.locations} here, on {theirs.locations} at Shopify"
    )


def test_the_sandbox_roots_stand_for_shopifys(official: GraphQLSchema):
    assert official.query_type is not None and official.query_type.name == "QueryRoot"
    assert official.mutation_type is not None and official.mutation_type.name == "Mutation"
    assert SCHEMA.query_type is not None and SCHEMA.query_type.name in SANDBOX_ROOTS
    assert SCHEMA.mutation_type is not None and SCHEMA.mutation_type.name in SANDBOX_ROOTS


# -- (d): compare-and-set stock, idempotent ----------------------------------------------------


def test_set_quantities_is_idempotent_and_compare_and_set(official: GraphQLSchema):
    doc = document("SetQuantities.graphql")
    op = operation_of(doc)
    assert op.operation.value == "mutation", "SetQuantities.graphql must be a mutation"
    variables = {v.variable.name.value: v for v in op.variable_definitions or ()}
    fields = [s for s in op.selection_set.selections if isinstance(s, FieldNode)]
    assert [f.name.value for f in fields] == ["inventorySetQuantities"], (
        "SetQuantities.graphql must run inventorySetQuantities alone"
    )
    mutation = fields[0]

    idempotent = [d for d in mutation.directives if d.name.value == "idempotent"]
    assert len(idempotent) == 1, (
        "SetQuantities.graphql: inventorySetQuantities lacks @idempotent(key:), mandatory "
        "from 2026-04"
    )
    arguments = {a.name.value: a.value for a in idempotent[0].arguments}
    assert list(arguments) == ["key"], f"@idempotent takes key: only, got {list(arguments)}"
    key = arguments["key"]
    assert isinstance(key, VariableNode), "@idempotent(key:) must be a variable, new per call"
    declared = variables.get(key.name.value)
    assert declared is not None, f"SetQuantities.graphql does not declare ${key.name.value}"
    assert print_ast(declared.type) == "String!", (
        f"${key.name.value} is {print_ast(declared.type)}; @idempotent(key:) takes String!"
    )

    # changeFromQuantity travels inside $input: the variable is Shopify's input type, whose
    # quantities are InventoryQuantityInput rows, which carry changeFromQuantity.
    input_arguments = {a.name.value: a.value for a in mutation.arguments}
    value = input_arguments.get("input")
    assert isinstance(value, VariableNode), "inventorySetQuantities(input:) takes a variable"
    input_type = variables[value.name.value].type
    assert isinstance(input_type, NonNullTypeNode)
    assert print_ast(input_type) == "InventorySetQuantitiesInput!"
    set_input = official.get_type("InventorySetQuantitiesInput")
    assert is_input_object_type(set_input)
    assert str(set_input.fields["quantities"].type) == "[InventoryQuantityInput!]!"

    row = official.get_type("InventoryQuantityInput")
    assert is_input_object_type(row)
    assert "changeFromQuantity" in row.fields, (
        "Shopify's 2026-04 InventoryQuantityInput has no changeFromQuantity"
    )
    assert str(row.fields["changeFromQuantity"].type) == "Int"
    assert "compareQuantity" not in row.fields  # gone in 2026-04: changeFromQuantity replaces it

    directive = official.get_directive("idempotent")
    assert directive is not None, "Shopify's 2026-04 schema has no @idempotent directive"
    assert {a: str(v.type) for a, v in directive.args.items()} == {"key": "String!"}
    assert DirectiveLocation.FIELD in directive.locations

    selected = {s.name.value for s in mutation.selection_set.selections if isinstance(s, FieldNode)}
    assert "userErrors" in selected, "SetQuantities.graphql must select userErrors"


# -- the variables the adapter really sends are valid for Shopify ------------------------------


@pytest.fixture(scope="module")
def sent() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The variables of every document the adapter sent through one day's work."""
    shop = ShopifySandbox(bucket_size=10_000.0, restore_rate=100_000.0)
    for n in range(3):
        shop.add_product(f"Mug {n}", [{"sku": f"MUG-{n}", "price": "12.50", "stock": 7}])
    shop.add_product("Poster", [{"sku": "POSTER", "price": "5.00", "stock": None}])
    with shop.serve() as server:
        # one line per order page: longer orders fetch the rest with OrderLineItems
        config = shop.config_for(server.url, lines_per_order=1)
        channel = ShopifyChannel("shop", ShopifyConfig(**config))
        assert channel.check_connection() == []
        listings = {item.sku: item for item in channel.fetch_listings()}
        order = shop.sell("MUG-0", 2)
        longer = shop.create_order([("MUG-0", 1), ("POSTER", 1)])
        pulled = [o for page in channel.fetch_orders(None, None) for o in page.orders]
        assert [(o.external_id, len(o.lines)) for o in pulled] == [
            (str(order.id), 1),
            (str(longer.id), 2),
        ]
        shop.sell("MUG-1", 1)  # the hub last confirmed 7: this push comes back stale
        results = channel.push_stock(
            [StockUpdate(s, listings[s].external_id, 5, expected=7) for s in ("MUG-1", "MUG-2")]
        )
        assert [(r.sku, r.ok, r.stale) for r in results] == [
            ("MUG-1", False, True),
            ("MUG-2", True, False),
        ]
        channel.fulfill(str(order.id), "UPS", "1Z999", "https://ups.example/1Z999")
        # a returned order with more refunded lines than a page (RefundLineItems), and a
        # custom item without SKU next to a SKU-less variant (LineItemVariants)
        cards = [f"CARD-{n}" for n in range(251)]
        for sku in cards:
            shop.add_product(sku, [{"sku": sku, "price": "1.00", "stock": 3}])
        big = shop.create_order([(sku, 1) for sku in cards])
        shop.ship(big.id)
        shop.refund(big.id, [(sku, 1) for sku in cards], restock_type="RETURN")
        unnamed = shop.add_product("Print", [{"sku": "", "price": "9.00", "stock": 4}])
        mixed = shop.create_order(
            [
                {"variant_id": unnamed["variant_ids"][0], "quantity": 1},
                {"title": "Wrap", "quantity": 1},
            ]
        )
        pulled = [o for page in channel.fetch_orders(None, None) for o in page.orders]
        returned = next(o for o in pulled if o.external_id == str(big.id))
        assert sum(ln.returned_quantity for ln in returned.lines) == 251
        lines = next(o for o in pulled if o.external_id == str(mixed.id)).lines
        assert [(ln.sku, ln.stocked) for ln in lines] == [("", True), ("", False)]
        body = json.dumps(shop.store.order_payload(shop.store.order(longer.id))).encode()
        webhook = channel.parse_webhook({"X-Shopify-Topic": "orders/create"}, body)
        assert webhook.order is not None and webhook.order.risk_level == "low"
    calls: dict[str, list[dict[str, Any]]] = {}
    for call in shop.calls:
        calls.setdefault(call.operation, []).append(call.variables)
    yield calls


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_the_variables_the_adapter_sends_are_valid_for_the_official_schema(
    official: GraphQLSchema, sent: dict[str, list[dict[str, Any]]], name: str
):
    operation = operation_of(document(name))
    calls = sent.get(name.removesuffix(".graphql"), [])
    assert calls, f"the adapter never sent graphql/{name} in the scenario; extend `sent`"
    for variables in calls:
        coerced = get_variable_values(official, operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list), (
            f"graphql/{name}: the adapter's variables {variables} are refused by Shopify's "
            f"2026-04 types:\n{explain(coerced)}"
        )


def test_every_stock_row_carries_change_from_quantity(sent: dict[str, list[dict[str, Any]]]):
    for variables in sent["SetQuantities"]:
        assert variables["key"], "each SetQuantities call carries an @idempotent key"
        for row in variables["input"]["quantities"]:
            assert "changeFromQuantity" in row, f"a stock row without changeFromQuantity: {row}"
    keys = [v["key"] for v in sent["SetQuantities"]]
    assert len(set(keys)) == len(keys), "each SetQuantities call needs a key of its own"


# -- (e): the requested cost stays under Shopify's cap ------------------------------------------

DEFAULTS = {name: field.default for name, field in ShopifyConfig.model_fields.items()}
ITEM_IDS = [f"gid://shopify/InventoryItem/{n}" for n in range(ShopifyChannel.stock_batch_size)]
#: The variables the adapter sends with each document, at the configuration's defaults.
ADAPTER_VARIABLES: dict[str, dict[str, Any]] = {
    "AccessScopes": {},
    "Locations": {"first": 50, "after": None},
    "ProductVariants": {
        "first": DEFAULTS["variant_page_size"],
        "after": None,
        "locationId": "gid://shopify/Location/1",
    },
    "Orders": {
        "first": DEFAULTS["order_page_size"],
        "after": None,
        "query": None,
        "lines": DEFAULTS["lines_per_order"],
    },
    "OrderLineItems": {"id": "gid://shopify/Order/1", "first": 250, "after": None},
    "OrderRefunds": {"id": "gid://shopify/Order/1"},
    "RefundLineItems": {"id": "gid://shopify/Refund/1", "first": 250, "after": None},
    "LineItemVariants": {"ids": [f"gid://shopify/LineItem/{n}" for n in range(250)]},
    "InventoryLevels": {"ids": ITEM_IDS, "locationId": "gid://shopify/Location/1"},
    "FulfillmentOrders": {"id": "gid://shopify/Order/1"},
    "OrderRisk": {"id": "gid://shopify/Order/1"},
    "FulfillmentCreate": {"fulfillment": {"lineItemsByFulfillmentOrder": []}},
    "SetQuantities": {"input": {"name": "available", "reason": "correction"}, "key": "k"},
}


def requested_cost(schema: GraphQLSchema, name: str, variables: dict[str, Any]) -> int:
    doc = document(f"{name}.graphql")
    return QueryCost(schema, operation_of(doc), fragments_of(doc), variables).requested()


def test_the_cap_is_shopifys():
    assert MAX_QUERY_COST == 1000
    assert (
        DEFAULTS["order_page_size"],
        DEFAULTS["lines_per_order"],
        DEFAULTS["variant_page_size"],
        ShopifyChannel.stock_batch_size,
    ) == (10, 25, 100, 250)


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_requested_cost_with_default_variables_is_under_the_cap(name: str):
    stem = name.removesuffix(".graphql")
    assert stem in ADAPTER_VARIABLES, f"add the variables the adapter sends with graphql/{name}"
    cost = requested_cost(SCHEMA, stem, ADAPTER_VARIABLES[stem])
    assert 0 < cost < MAX_QUERY_COST, (
        f"graphql/{name} requests {cost} points with {ADAPTER_VARIABLES[stem]}; Shopify refuses "
        f"documents over {MAX_QUERY_COST}"
    )


@pytest.mark.parametrize("name", ["InventoryLevels", "LineItemVariants"])
def test_documents_by_ids_stay_under_the_cap_even_priced_per_id(name: str):
    """``nodes(ids:)`` has no ``first``: QueryCost prices one element. Shopify may charge an
    object per id, so the worst case is the element's cost times the 250 ids."""
    one = requested_cost(SCHEMA, name, {"ids": ITEM_IDS[:1]})
    assert one * len(ITEM_IDS) < MAX_QUERY_COST, (
        f"graphql/{name}.graphql costs {one} per id, {one * len(ITEM_IDS)} for {len(ITEM_IDS)} ids"
    )


@pytest.mark.parametrize(("orders", "lines"), [(1, 1), (1, 250), (10, 25), (30, 7), (2, 160)])
def test_the_configs_cost_formulas_are_the_documents_costs(orders, lines):
    from hub_plugins.shopify.channel import orders_cost, variants_cost

    order_vars = {"first": orders, "lines": lines, "after": None, "query": None}
    assert orders_cost(orders, lines) == requested_cost(SCHEMA, "Orders", order_vars)
    variant_vars = {"first": orders, "locationId": "x"}
    assert variants_cost(orders) == requested_cost(SCHEMA, "ProductVariants", variant_vars)


def test_the_largest_accepted_pages_are_under_the_cap_and_larger_ones_refused():
    base = {"type": "shopify", "shop": "acme.myshopify.com", "access_token": "shpat_1"}
    ShopifyConfig(**base, order_page_size=11, lines_per_order=25, variant_page_size=199)
    for too_big in (
        {"order_page_size": 12, "lines_per_order": 25},
        {"order_page_size": 1, "lines_per_order": 250, "variant_page_size": 200},
    ):
        with pytest.raises(ValueError, match="over Shopify's 1000 per query"):
            ShopifyConfig(**base, **too_big)
    orders = requested_cost(
        SCHEMA, "Orders", {"first": 11, "lines": 25, "after": None, "query": None}
    )
    variants = requested_cost(SCHEMA, "ProductVariants", {"first": 199, "locationId": "x"})
    assert orders <= MAX_QUERY_COST and variants <= MAX_QUERY_COST, (orders, variants)
