"""The JSON Schema model of the cross-check: schema files, nodes, facets and members.

A node is a schema together with the file its ``$ref`` values point into (the TMF files are
self-contained). Its *facets* are the node and every schema it combines with through ``$ref``,
``allOf`` / ``anyOf`` / ``oneOf`` and ``if`` / ``then`` / ``else`` (the v5 ``@type``
polymorphism), so a member exists when any facet declares it in ``properties``,
``patternProperties`` or ``additionalProperties``. A schema that declares no structure at all
(``{}``, ``{"type": "object"}``, the v4 ``Characteristic.value``) is free-form: anything below
it is possible, which lookups say by answering None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STRUCTURE = frozenset(
    {"properties", "patternProperties", "additionalProperties", "items", "prefixItems", "$ref"}
    | {"allOf", "anyOf", "oneOf", "then", "else", "enum", "const"}
)


class JsonFile:
    """One JSON Schema file; ``$ref`` is resolved inside it (the TMF files are self-contained)."""

    def __init__(self, name: str, root: dict[str, Any]) -> None:
        self.name = name
        self.root = root
        #: Facets by node identity: the walks ask for the same nodes over and over.
        self.facets: dict[int, tuple[list[JNode], set[str]]] = {}
        #: Declared nodes below a set of nodes (``..``), by the set's identity.
        self.below: dict[frozenset[tuple[int, int]], list[JNode]] = {}
        #: Free-form or not, and member lookups, by node identity: a ``..`` step asks every
        #: node below for both, and without these the cross-check of the shipped policies
        #: took most of a second at every start and reload.
        self.free: dict[int, bool] = {}
        self.member: dict[tuple[int, str], list[JNode] | None] = {}

    def pointer(self, fragment: str) -> Any:
        """The node at a JSON Pointer fragment (``/$defs/ProductOrder``), or None."""
        node: Any = self.root
        for token in fragment.split("/")[1:] if fragment else ():
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return node


class JNode:
    """A schema node together with the file its ``$ref`` values point into."""

    __slots__ = ("file", "schema")

    def __init__(self, file: JsonFile, schema: Any) -> None:
        self.file = file
        self.schema = schema

    @property
    def key(self) -> tuple[int, int]:
        """Identity of the node (schemas are dicts: not hashable)."""
        return (id(self.file), id(self.schema))

    def follow(self) -> tuple[JNode, list[str]]:
        """The node after its ``$ref`` chain, and the ``$defs`` names passed on the way."""
        node, names, seen = self, [], set()
        while isinstance(node.schema, dict) and isinstance(node.schema.get("$ref"), str):
            ref = node.schema["$ref"]
            if ref in seen or not ref.startswith("#"):
                break
            seen.add(ref)
            names.append(ref.rsplit("/", 1)[-1])
            target = node.file.pointer(ref[1:])
            if target is None:
                break
            node = JNode(node.file, target)
        return node, names

    def free(self) -> bool:
        """Free-form: a schema without structure admits any member and item below it."""
        known = self.file.free.get(id(self.schema))
        if known is None:
            known = self.file.free[id(self.schema)] = self._free()
        return known

    def _free(self) -> bool:
        node, _ = self.follow()
        schema = node.schema
        if schema is True:
            return True
        if not isinstance(schema, dict) or _STRUCTURE & schema.keys():
            return False
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        return kind is None or "object" in kinds or "array" in kinds

    def facets(self) -> tuple[list[JNode], set[str]]:
        """The node and every schema it combines with, and the ``$defs`` names among them."""
        known = self.file.facets.get(id(self.schema))
        if known is None:
            known = self.file.facets[id(self.schema)] = self._facets()
        return known

    def _facets(self) -> tuple[list[JNode], set[str]]:
        out: list[JNode] = []
        names: set[str] = set()
        seen: set[tuple[int, int]] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if node.key in seen or not isinstance(node.schema, dict):
                continue
            seen.add(node.key)
            out.append(node)
            schema = node.schema
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target = node.file.pointer(ref[1:])
                if target is not None:
                    names.add(ref.rsplit("/", 1)[-1])
                    stack.append(JNode(node.file, target))
            for key in ("allOf", "anyOf", "oneOf"):
                stack.extend(JNode(node.file, s) for s in schema.get(key) or ())
            for key in ("then", "else"):
                if isinstance(schema.get(key), dict):
                    stack.append(JNode(node.file, schema[key]))
        return out, names

    def member(self, name: str) -> list[JNode] | None:
        """Schemas of member ``name``; None when the node is free-form (anything is possible)."""
        key = (id(self.schema), name)
        memo = self.file.member
        if key not in memo:
            memo[key] = self._member(name)
        found = memo[key]
        return None if found is None else list(found)  # callers may extend their copy

    def _member(self, name: str) -> list[JNode] | None:
        if self.free():
            return None
        out: list[JNode] = []
        for facet in self.facets()[0]:
            schema = facet.schema
            props = schema.get("properties")
            if isinstance(props, dict) and name in props:
                out.append(JNode(facet.file, props[name]))
            for pattern, sub in (schema.get("patternProperties") or {}).items():
                if re.search(pattern, name):
                    out.append(JNode(facet.file, sub))
            extra = schema.get("additionalProperties")
            if extra is True:
                return None
            if isinstance(extra, dict):
                out.append(JNode(facet.file, extra))
        return out

    def items(self) -> list[JNode] | None:
        """Schemas of the node's array items; None when free-form."""
        if self.free():
            return None
        out: list[JNode] = []
        for facet in self.facets()[0]:
            items = facet.schema.get("items")
            if items is True:
                return None
            if isinstance(items, dict):
                out.append(JNode(facet.file, items))
            out.extend(JNode(facet.file, s) for s in facet.schema.get("prefixItems") or ())
        return out

    def members(self) -> list[tuple[str, JNode]] | None:
        """Every declared member (``*`` for additional ones); None when free-form."""
        if self.free():
            return None
        out: list[tuple[str, JNode]] = []
        for facet in self.facets()[0]:
            schema = facet.schema
            for name, sub in (schema.get("properties") or {}).items():
                out.append((name, JNode(facet.file, sub)))
            for sub in (schema.get("patternProperties") or {}).values():
                out.append(("*", JNode(facet.file, sub)))
            extra = schema.get("additionalProperties")
            if extra is True:
                return None
            if isinstance(extra, dict):
                out.append(("*", JNode(facet.file, extra)))
        return out


@dataclass(slots=True)
class JStates:
    """Where a selector may be in the schema: nodes, and whether a free-form region was entered."""

    nodes: list[JNode]
    open: bool = False

    def add(self, found: list[JNode] | None) -> None:
        """Add the result of a member or items lookup."""
        if found is None:
            self.open = True
        else:
            self.nodes.extend(found)

    def unique(self) -> JStates:
        """The same states without repeats."""
        seen: dict[tuple[int, int], JNode] = {}
        for node in self.nodes:
            seen.setdefault(node.key, node)
        return JStates(list(seen.values()), self.open)
