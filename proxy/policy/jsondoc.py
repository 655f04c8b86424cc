"""JSON documents, merge-patch bodies and JSON Patch operation lists, as engine documents.

A merge-patch body (RFC 7396) has the resource's shape, with ``null`` for "delete": it is a
plain document here, and nulls are left alone. JSON Patch ops are minimised through their
values (see :mod:`proxy.policy.jsonpatch`); an op whose whole value a rule drops is removed
from the patch, so the incumbent keeps what it had rather than receiving the customer's data.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from typing import Any

from proxy.errors import PolicyError
from proxy.formats.patch import JsonPatchOp
from proxy.policy.document import Node, Slot
from proxy.policy.jsonpatch import find_in_op, prefix_of
from proxy.policy.jsonpath import JsonIndex, JsonPath, Path, Seg, index_json
from proxy.policy.jsonsteps import render, segment
from proxy.policy.selectors import Selector

__all__ = ["STRUCTURAL", "JsonDoc", "JsonNode", "JsonPatchDoc", "render"]

#: Members whose values are enumerations, not identities: never "known values" of a removal.
STRUCTURAL = frozenset({"role", "mediumType", "contactType", "valueType", "preferred"})
MIN_KNOWN = 3
# Constant tuples: ``isinstance(v, dict | list)`` builds a union object on every call.
_CONTAINERS = (dict, list)
_NUMBERS = (int, float)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, _NUMBERS) and not isinstance(value, bool))


class JsonNode:
    """``parent[key]`` at ``path`` in ``doc``; when it holds a string or number, also its slot."""

    __slots__ = ("doc", "key", "parent", "raw")

    def __init__(self, doc: JsonDoc, path: Path, parent: Any, key: Seg) -> None:
        self.doc, self.raw, self.parent, self.key = doc, path, parent, key

    @property
    def path(self) -> str:
        """JSONPath of the node."""
        raw = self.raw  # the container's remembered path and the last step: no cache per leaf
        if not raw:
            return "$"
        prefix = self.doc.container_paths.get(raw[:-1]) or self.doc.container_path(raw[:-1])
        return prefix + segment(raw[-1])

    @property
    def text(self) -> str:
        """The string, or the number's JSON text."""
        value = self.parent[self.key]
        return value if isinstance(value, str) else json.dumps(value)

    @property
    def ident(self) -> object:
        """The container and the key (the document keeps the container alive)."""
        return (id(self.parent), self.key)

    def set(self, text: str) -> None:
        """Write ``text`` (a number becomes a string: actions produce text)."""
        self.parent[self.key] = text

    def scalar(self) -> Slot | None:
        """The node itself as a slot; containers are refused, null and booleans skipped."""
        value = self.parent[self.key]
        if isinstance(value, str):
            return self
        if isinstance(value, _CONTAINERS):
            kind = "an object" if isinstance(value, dict) else "an array"
            raise PolicyError(f"expected a string or number at {self.path}, got {kind}")
        return self if _is_text(value) else None

    def leaves(self) -> Iterator[Slot]:
        """Strings and numbers at or below the node, in document order."""
        value = self.parent[self.key]
        if isinstance(value, str) or (isinstance(value, _NUMBERS) and not isinstance(value, bool)):
            return iter((self,))  # a leaf selected itself (keep a member): no walk
        return self._leaves()

    def _leaves(self) -> Iterator[JsonNode]:
        doc = self.doc
        stack: list[tuple[Path, Any, Seg]] = [(self.raw, self.parent, self.key)]
        dropped = doc.dropped
        while stack:
            path, parent, key = stack.pop()
            value = parent[key]
            if _is_text(value):
                yield JsonNode(doc, path, parent, key)
                continue
            if not isinstance(value, _CONTAINERS):
                continue
            keys = list(value) if isinstance(value, dict) else range(len(value))
            below = [((*path, k), value, k) for k in keys]
            stack.extend(c for c in reversed(below) if not dropped or c[0] not in dropped)

    def drop(self) -> None:
        """Mark for removal."""
        self.doc.drop(self.raw, self.parent, self.key)

    def canonical(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces, UTF-8) of the node."""
        value = self.parent[self.key]
        if isinstance(value, str):
            return value.encode()
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def removed_texts(self) -> list[str]:
        """Strings and numbers below, except enumerations and ``@``-members."""
        out: list[str] = []
        for slot in self._leaves():
            key = slot.key
            if (
                isinstance(key, str)
                and (key in STRUCTURAL or key.startswith("@"))
                and slot.parent is not self.parent
            ):
                continue
            text = slot.text
            if len(text.strip()) >= MIN_KNOWN:
                out.append(text)
        return out

    def children(self) -> Iterator[tuple[str, Node]]:
        """Members of an object, or of each object in an array."""
        value = self.parent[self.key]
        owners = [(self.raw, value)] if isinstance(value, dict) else []
        if isinstance(value, list):
            owners = [
                ((*self.raw, i), item) for i, item in enumerate(value) if isinstance(item, dict)
            ]
        for path, owner in owners:
            for key in owner:
                yield key, JsonNode(self.doc, (*path, key), owner, key)


class JsonDoc:
    """A JSON document (or one JSON Patch op's value, placed at ``prefix``)."""

    def __init__(
        self, root: Any, prefix: tuple[Seg, ...] | None = None, implicit: bool = False
    ) -> None:
        self.holder: list[Any] = [root]
        self.prefix = prefix
        self.implicit = implicit
        self.dropped: set[Path] = set()
        #: The lengths of the dropped paths: the only prefixes of a path worth looking up.
        self.depths: set[int] = set()
        self.removals: list[tuple[Any, Seg]] = []
        self._index: JsonIndex | None = None
        #: Rendered paths of containers: siblings and cousins share most of their paths.
        self.container_paths: dict[Path, str] = {(): "$"}

    def container_path(self, path: Path) -> str:
        """``render(path)``, remembered for this message (containers: their paths are shared)."""
        text = self.container_paths.get(path)
        if text is None:
            text = self.container_path(path[:-1]) + segment(path[-1])
            self.container_paths[path] = text
        return text

    def select(self, selector: Selector) -> Iterator[Node]:
        """Nodes matched by a JSONPath selector."""
        if not isinstance(selector, JsonPath):
            raise PolicyError(
                f"expected a JSONPath selector for a JSON body, got {selector.source}"
            )
        hits: list[tuple[Path, Any, Seg, Any]]
        if self.prefix is not None:
            matches = find_in_op(selector, self.prefix, self.holder[0], self.holder, self.implicit)
            hits = [(m.path, m.parent, m.key, m.value) for m in matches]
        else:
            if self._index is None and selector.indexed:
                self._index = index_json(self.holder)
            hits = selector.plan(self.holder, self._index)
        # Checked as the engine goes: an earlier match of this very rule may drop a later one.
        for path, parent, key, _ in hits:
            if self.dropped and self._under_dropped(path):
                continue
            yield JsonNode(self, path, parent, key)

    def drop(self, path: Path, parent: Any, key: Seg) -> None:
        """Mark ``parent[key]``, at ``path``, for removal at :meth:`finish`."""
        self.dropped.add(path)
        self.depths.add(len(path))
        self.removals.append((parent, key))

    def _under_dropped(self, path: Path) -> bool:
        dropped, size = self.dropped, len(path)
        for depth in self.depths:  # noqa: SIM110 (a loop: any() would add a generator per hit)
            if depth <= size and path[:depth] in dropped:
                return True
        return False

    def finish(self) -> Any:
        """Remove what was dropped (list items from the end, so indices hold)."""
        value, whole = self.finish_value()
        if whole:
            raise PolicyError("expected drop below the document root, got a rule dropping $")
        return value

    def finish_value(self) -> tuple[Any, bool]:
        """The edited value, and whether the value as a whole was dropped."""
        whole = (self.prefix or ()) in self.dropped
        by_list: dict[int, tuple[list[Any], list[int]]] = {}
        for parent, key in self.removals:
            if parent is self.holder:
                continue
            if isinstance(parent, dict):
                parent.pop(key, None)
            else:
                by_list.setdefault(id(parent), (parent, []))[1].append(int(key))
        for items, indices in by_list.values():
            for i in sorted(set(indices), reverse=True):
                del items[i]
        return self.holder[0], whole


class JsonPatchDoc:
    """A JSON Patch (or JSON Patch Query): each op's value is a document at the op's pointer."""

    def __init__(self, ops: Sequence[JsonPatchOp]) -> None:
        self.parts = [
            (op, JsonDoc(op.value, prefix_of(op), op.query is not None) if op.has_value else None)
            for op in ops
        ]

    def select(self, selector: Selector) -> Iterator[Node]:
        """Matches inside every op's value."""
        for _, doc in self.parts:
            if doc is not None:
                yield from doc.select(selector)

    def finish(self) -> tuple[JsonPatchOp, ...]:
        """The ops with minimised values; ops whose value was dropped are left out."""
        out: list[JsonPatchOp] = []
        for op, doc in self.parts:
            if doc is None:
                out.append(op)
                continue
            value, whole = doc.finish_value()
            if not whole:
                out.append(op if value is op.value else dataclasses.replace(op, value=value))
        return tuple(out)
