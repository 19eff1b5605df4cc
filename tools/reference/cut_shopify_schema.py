"""Cut Shopify's official GraphQL Admin API schema down to what the Shopify plugin uses.

Run by hand when the plugin's documents (``plugins/shopify/graphql/*.graphql``) or the
sandbox's schema (``plugins/shopify/sandbox_schema.graphql``) start using something the
slice lacks::

    .venv/bin/python tools/reference/cut_shopify_schema.py [--reference DIR]

``DIR`` holds ``shopify/2026-04-admin-schema.graphql`` (default: the ``shared/reference``
folder beside the repository). The slice, ``tests/reference/shopify/2026-04-admin-schema.graphql``,
keeps the schema definition and, of Shopify's own SDL, copied character for character with
their descriptions and official types:

- every type, field, argument, input field, enum value, union member and directive that the
  sandbox's schema declares (its ``Query`` standing for Shopify's ``QueryRoot``) or that a
  document selects, passes, spreads on or writes as a literal;
- every argument and input field Shopify requires of what is kept;
- every type that what is kept refers to, and of each kept object type the kept interfaces
  it implements. An enum or input type reached only as a reference keeps all its values or
  only its required fields.

Nothing the sandbox declares is added when Shopify lacks it: the reference tests then fail,
as they would against the whole schema. The first line records the sha256 of the rest, so
a hand edit of the slice fails ``test_the_official_slice_is_as_the_script_cut_it``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    ObjectFieldNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    Source,
    TypeDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    TypeNode,
    UnionTypeDefinitionNode,
    Visitor,
    build_schema,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_object_type,
    is_union_type,
    parse,
    visit,
)

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "reference"  # where the slices live
OFFICIAL_NAME = "shopify/2026-04-admin-schema.graphql"
SLICE = HERE / OFFICIAL_NAME
PLUGIN = REPO / "plugins" / "shopify"
SANDBOX_ROOTS = {"Query": "QueryRoot", "Mutation": "Mutation"}
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
HEADER = "# sha256 of the rest of this file: {digest}\n"


class Wanted:
    """What the slice keeps: types, and per type the names of its kept members."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.members: dict[str, set[str]] = defaultdict(set)  # fields, input fields, values
        self.arguments: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.directives: set[str] = set()

    def member(self, type_name: str, name: str) -> None:
        self.types.add(type_name)
        self.members[type_name].add(name)

    def argument(self, type_name: str, field: str, name: str) -> None:
        self.member(type_name, field)
        self.arguments[type_name, field].add(name)


def named(type_node: TypeNode) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value


def required(value: InputValueDefinitionNode) -> bool:
    return value.type.kind == "non_null_type" and value.default_value is None


def from_sandbox(sandbox: GraphQLSchema, wanted: Wanted) -> None:
    """Everything the sandbox's schema declares, under Shopify's names."""
    for name, graphql_type in sandbox.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        official = SANDBOX_ROOTS.get(name, name)
        wanted.types.add(official)
        if is_object_type(graphql_type) or is_interface_type(graphql_type):
            for field_name, field in graphql_type.fields.items():
                wanted.member(official, field_name)
                for argument in field.args:
                    wanted.argument(official, field_name, argument)
            for interface in graphql_type.interfaces:
                wanted.types.add(interface.name)
        elif is_input_object_type(graphql_type):
            for field_name in graphql_type.fields:
                wanted.member(official, field_name)
        elif is_enum_type(graphql_type):
            for value in graphql_type.values:
                wanted.member(official, value)
        elif is_union_type(graphql_type):
            for member in graphql_type.types:
                wanted.member(official, member.name)
    wanted.directives.update(d.name for d in sandbox.directives)


class DocumentUse(Visitor):
    """Records what one document uses, resolved against the official schema."""

    def __init__(self, type_info: TypeInfo, wanted: Wanted) -> None:
        super().__init__()
        self.type_info = type_info
        self.wanted = wanted

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and not node.name.value.startswith("__"):
            self.wanted.member(parent.name, node.name.value)
            for argument in node.arguments or ():
                self.wanted.argument(parent.name, node.name.value, argument.name.value)

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        argument = self.type_info.get_argument()
        if argument is not None:
            self.wanted.types.add(get_named_type(argument.type).name)

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_input_type()
        if parent is not None:
            self.wanted.member(get_named_type(parent).name, node.name.value)

    def enter_enum_value(self, node: EnumValueNode, *_: Any) -> None:
        enum = self.type_info.get_input_type()
        if enum is not None:
            self.wanted.member(get_named_type(enum).name, node.value)

    def enter_named_type(self, node: NamedTypeNode, *_: Any) -> None:
        self.wanted.types.add(node.name.value)  # variable types, type conditions

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.wanted.directives.add(node.name.value)


def from_documents(
    official: GraphQLSchema, documents: Iterable[DocumentNode], wanted: Wanted
) -> None:
    for document in documents:
        type_info = TypeInfo(official)
        visit(document, TypeInfoVisitor(type_info, DocumentUse(type_info, wanted)))


def close(definitions: dict[str, TypeDefinitionNode], wanted: Wanted) -> None:
    """Add what the kept members require or refer to, until nothing changes."""
    seen = -1
    while seen != (size := _size(wanted)):
        seen = size
        for name in sorted(wanted.types):
            node = definitions.get(name)
            if node is None:
                continue  # not Shopify's: left out, so the reference tests say so
            _close_type(node, wanted)
        for directive in sorted(wanted.directives):
            node = definitions.get(f"@{directive}")
            for argument in getattr(node, "arguments", None) or ():
                wanted.types.add(named(argument.type))


def _size(wanted: Wanted) -> int:
    return (
        len(wanted.types)
        + sum(map(len, wanted.members.values()))
        + sum(map(len, wanted.arguments.values()))
        + len(wanted.directives)
    )


def _close_type(node: TypeDefinitionNode, wanted: Wanted) -> None:
    name = node.name.value
    kept = wanted.members[name]
    if isinstance(node, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        for field in node.fields or ():
            if field.name.value not in kept:
                continue
            wanted.types.add(named(field.type))
            arguments = wanted.arguments[name, field.name.value]
            for argument in field.arguments or ():
                if required(argument):
                    arguments.add(argument.name.value)
                if argument.name.value in arguments:
                    wanted.types.add(named(argument.type))
    elif isinstance(node, InputObjectTypeDefinitionNode):
        for field in node.fields or ():
            if required(field):
                kept.add(field.name.value)
            if field.name.value in kept:
                wanted.types.add(named(field.type))
    elif isinstance(node, EnumTypeDefinitionNode) and not kept:
        kept.update(value.name.value for value in node.values or ())


def cut(text: str, definitions: Sequence[Any], wanted: Wanted) -> str:
    """The kept definitions, in Shopify's order, each member's text verbatim."""
    parts = []
    for node in definitions:
        if isinstance(node, SchemaDefinitionNode):
            parts.append(_text(text, node))
        elif isinstance(node, DirectiveDefinitionNode):
            if node.name.value in wanted.directives:
                parts.append(_text(text, node))
        elif node.name.value in wanted.types:
            parts.append(_cut_type(text, node, wanted))
    return "\n\n".join(parts) + "\n"


def _text(text: str, node: Any) -> str:
    return text[node.loc.start : node.loc.end]


def _members(node: Any) -> list[Any]:
    if isinstance(node, EnumTypeDefinitionNode):
        return list(node.values or ())
    if isinstance(node, UnionTypeDefinitionNode):
        return list(node.types or ())
    return list(getattr(node, "fields", None) or ())


def _cut_type(text: str, node: Any, wanted: Wanted) -> str:
    name = node.name.value
    members = _members(node)
    if not members:  # scalars
        return _text(text, node)
    if isinstance(node, UnionTypeDefinitionNode):
        kept = [m.name.value for m in members if m.name.value in wanted.types]
        return text[node.loc.start : members[0].loc.start] + " | ".join(kept)
    kept = [m for m in members if m.name.value in wanted.members[name]]
    if not kept:
        raise SystemExit(f"{name}: kept as a type, but none of its members is used")
    header = text[node.loc.start : node.name.loc.end]
    interfaces = [i.name.value for i in getattr(node, "interfaces", None) or ()]
    after_name = node.interfaces[-1].loc.end if interfaces else node.name.loc.end
    implemented = [i for i in interfaces if i in wanted.types]
    if implemented:
        header += " implements " + " & ".join(implemented)
    header += text[after_name : members[0].loc.start]
    separator = text[members[0].loc.end : members[1].loc.start] if len(members) > 1 else "\n\n  "
    body = separator.join(_cut_member(text, m, wanted.arguments[name, m.name.value]) for m in kept)
    return header + body + text[members[-1].loc.end : node.loc.end]


def _cut_member(text: str, node: Any, arguments: set[str]) -> str:
    if not isinstance(node, FieldDefinitionNode) or not node.arguments:
        return _text(text, node)
    given = list(node.arguments)
    kept = [a for a in given if a.name.value in arguments]
    if not kept:
        close_paren = text.index(")", given[-1].loc.end)
        return text[node.loc.start : node.name.loc.end] + text[close_paren + 1 : node.loc.end]
    separator = text[given[0].loc.end : given[1].loc.start] if len(given) > 1 else "\n\n    "
    return (
        text[node.loc.start : given[0].loc.start]
        + separator.join(_text(text, a) for a in kept)
        + text[given[-1].loc.end : node.loc.end]
    )


def slice_schema(official_text: str) -> str:
    """The slice of ``official_text`` that the plugin's documents and sandbox use."""
    official_ast = parse(Source(official_text), no_location=False)
    official = build_schema(official_text, assume_valid=True)
    definitions: dict[str, Any] = {}
    for node in official_ast.definitions:
        if isinstance(node, DirectiveDefinitionNode):
            definitions[f"@{node.name.value}"] = node
        elif not isinstance(node, SchemaDefinitionNode):
            definitions[node.name.value] = node
    wanted = Wanted()
    from_sandbox(build_schema((PLUGIN / "sandbox_schema.graphql").read_text()), wanted)
    documents = sorted((PLUGIN / "graphql").glob("*.graphql"))
    from_documents(official, (parse(p.read_text()) for p in documents), wanted)
    close(definitions, wanted)
    return cut(official_text, official_ast.definitions, wanted)


def with_header(body: str) -> str:
    return HEADER.format(digest=hashlib.sha256(body.encode()).hexdigest()) + body


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=REPO.parent / "shared/reference",
        help="folder holding shopify/2026-04-admin-schema.graphql "
        "(default: the shared/reference folder beside the repository)",
    )
    args = parser.parse_args(argv)
    source = args.reference / OFFICIAL_NAME
    if not source.is_file():
        sys.exit(f"no official schema at {source}: pass --reference DIR")
    body = slice_schema(source.read_text())
    build_schema(body, assume_valid=True)  # the slice stands on its own
    SLICE.write_text(with_header(body))
    print(f"wrote {SLICE.relative_to(REPO)}: {len(body):,} characters of {source.stat().st_size:,}")


if __name__ == "__main__":
    main()
