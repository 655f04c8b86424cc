"""The steps of a compiled JSONPath, and the hits they produce.

A selector compiles (:mod:`proxy.policy.jsonsyntax`) to a tuple of steps. Two things give them
meaning: the step interpreter of :mod:`proxy.policy.jsonpath` (the reference, also used inside
JSON Patch operations) and the plans of :mod:`proxy.policy.jsonplan` (what the engine runs on
every message). A hit is a plain tuple, not an object: selectors produce many of them.

A selector that starts with recursive descent (``$..name``, the shape of most TMF rules) starts
from the message's :class:`JsonIndex`, built once per message and shared by all its rules: the
document's containers in pre-order, and for each member name asked about, the objects that
have it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from proxy.policy.jsonfilter import Predicate

Seg = str | int
Path = tuple[Seg, ...]
#: (path, parent, key, value): parent[key] is value; the root's parent is a one-item holder.
Hit = tuple[Path, Any, Seg, Any]
#: A constant tuple: ``isinstance(v, dict | list)`` would build a union object on every call.
_CONTAINERS = (dict, list)
_IDENTIFIER = re.compile(r"[A-Za-z_@$][\w@$]*")


@dataclass(frozen=True, slots=True)
class Key:
    """``.name`` / ``['name']``."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``[n]``."""

    index: int


@dataclass(frozen=True, slots=True)
class Wild:
    """``*`` / ``[*]``: every member or item."""


@dataclass(frozen=True, slots=True)
class Filter:
    """``[?(…)]``: items of an array (or an object itself) for which the predicate holds."""

    predicate: Predicate = field(compare=False)
    source: str = ""


@dataclass(frozen=True, slots=True)
class Descend:
    """``..step``: ``step`` applied to the node and to every container below it."""

    inner: Key | Index | Wild | Filter


Step = Key | Index | Wild | Filter | Descend


def segment(seg: Seg) -> str:
    """One step of a rendered path: ``[0]``, ``.name`` or ``['odd key']``."""
    if isinstance(seg, int):
        return f"[{seg}]"
    # An ASCII identifier ([A-Za-z_][A-Za-z0-9_]*) always fits the pattern: skip the regex.
    if (seg.isascii() and seg.isidentifier()) or _IDENTIFIER.fullmatch(seg):
        return "." + seg
    return "['" + seg.replace("\\", "\\\\").replace("'", "\\'") + "']"


def render(path: Path) -> str:
    """A JSONPath for ``path`` (``$.note[0].text``, ``$['odd key']``)."""
    return "$" + "".join(segment(seg) for seg in path)


def children(path: Path, value: Any) -> list[Hit]:
    """The members of an object or the items of an array, in order; nothing for a scalar."""
    if isinstance(value, dict):
        return [((*path, k), value, k, v) for k, v in value.items()]
    if isinstance(value, list):
        return [((*path, i), value, i, v) for i, v in enumerate(value)]
    return []


class JsonIndex:
    """Every container of a document in document order, built once per message for ``$..``.

    :meth:`owners` lists the objects that have a member (``$..name`` is a lookup, not a walk);
    it is worked out for the names a policy asks about only, the first time each is asked.
    """

    __slots__ = ("_members", "_objects", "_owners", "containers")

    def __init__(self, containers: list[Hit]) -> None:
        self.containers = containers
        self._objects: list[Hit] | None = None
        self._owners: dict[str, list[Hit]] = {}
        self._members: dict[str, list[Hit]] = {}

    def members(self, name: str) -> list[Hit]:
        """The hits of ``$..name``: member ``name`` of every object that has it.

        Shared by the rules that start alike (ten ``$..place[*].…`` rules). A hit's value is
        the member's when first asked: within a message containers stay the same objects, and
        the engine reads strings through their parents, never from a hit.
        """
        found = self._members.get(name)
        if found is None:
            found = [((*p, name), v, name, v[name]) for p, _, _, v in self.owners(name)]
            self._members[name] = found
        return found

    def owners(self, name: str) -> list[Hit]:
        """The objects that have member ``name``, in document order."""
        found = self._owners.get(name)
        if found is None:
            objects = self._objects
            if objects is None:
                objects = self._objects = [h for h in self.containers if isinstance(h[3], dict)]
            found = self._owners[name] = [hit for hit in objects if name in hit[3]]
        return found


def preorder(hits: Sequence[Hit]) -> list[Hit]:
    """Each hit, then every container below it, depth first in document order."""
    nodes: list[Hit] = []
    add = nodes.append

    def visit(path: Path, parent: Any, key: Seg, value: Any) -> None:
        add((path, parent, key, value))
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in children:
            # Exact types first: isinstance against a tuple costs several times as much, and
            # almost every member is a plain string, object or array (subclasses still count).
            t = type(v)
            if t is dict or t is list or (t is not str and isinstance(v, _CONTAINERS)):
                visit((*path, k), value, k, v)

    for path, parent, key, value in hits:
        if isinstance(value, _CONTAINERS):
            visit(path, parent, key, value)
        else:
            add((path, parent, key, value))
    return nodes


def index_json(holder: list[Any]) -> JsonIndex:
    """Index the document held in ``holder[0]``: one walk, reused by every ``$..`` selector."""
    root = holder[0]
    if not isinstance(root, _CONTAINERS):
        return JsonIndex([])
    return JsonIndex(preorder([((), holder, 0, root)]))
