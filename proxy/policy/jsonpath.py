"""A JSONPath subset: compiled steps (parsed by :mod:`proxy.policy.jsonsyntax`) and their meaning.

Supported: ``$``; ``.name`` and ``['name']`` (names may start with ``@``, as in ``@type``);
``.*`` and ``[*]``; ``[n]`` (negative from the end); ``..name``, ``..*``, ``..[…]`` (recursive
descent); filters ``[?(…)]`` (see :mod:`proxy.policy.jsonfilter`; on an object the filter tests
the object itself, as Jayway does). A trailing ``..`` selects the node as a whole subtree, so
``$..`` is the whole document (for ``restore``, ``scrub``, ``keep``).

Matches carry concrete paths (tuples of keys and indices) and their parent, so that the engine
edits in place. :func:`index_json` walks a message once, so that every ``$..name`` of a policy is
a lookup rather than a walk. :func:`proxy.policy.jsonpatch.find_in_op` maps a JSON Patch
operation's pointer and value back onto the document's shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy.policy.jsonfilter import Predicate

Seg = str | int
Path = tuple[Seg, ...]
#: (path, parent, key, value): parent[key] is value; the root's parent is a one-item holder.
Hit = tuple[Path, Any, Seg, Any]


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


@dataclass(frozen=True, slots=True)
class JsonMatch:
    """One selected node: ``parent[key]`` is ``value``, at ``path`` in the document."""

    path: Path
    value: Any
    parent: Any
    key: Seg


@dataclass(slots=True)
class JsonIndex:
    """Every container of a document in document order, built once per message for ``$..``.

    ``owners`` maps a member name to the objects that have it, so ``$..name`` is one lookup.
    """

    containers: list[Hit]
    owners: dict[str, list[Hit]]


def index_json(holder: list[Any]) -> JsonIndex:
    """Index the document held in ``holder[0]``: one walk, reused by every ``$..`` selector."""
    containers: list[Hit] = []
    owners: dict[str, list[Hit]] = {}

    def visit(hit: Hit) -> None:
        containers.append(hit)
        path, _, _, value = hit
        if isinstance(value, dict):
            # Owners first, children after: the same container pre-order as a plain walk.
            for key in value:
                found = owners.get(key)
                if found is None:
                    owners[key] = [hit]
                else:
                    found.append(hit)
            for key, child in value.items():
                if isinstance(child, dict | list):
                    visit(((*path, key), value, key, child))
        else:
            for i, child in enumerate(value):
                if isinstance(child, dict | list):
                    visit(((*path, i), value, i, child))

    if isinstance(holder[0], dict | list):
        visit(((), holder, 0, holder[0]))
    return JsonIndex(containers, owners)


def _children(path: Path, value: Any) -> list[Hit]:
    if isinstance(value, dict):
        return [((*path, k), value, k, v) for k, v in value.items()]
    if isinstance(value, list):
        return [((*path, i), value, i, v) for i, v in enumerate(value)]
    return []


def _apply(step: Step, hit: Hit, out: list[Hit]) -> None:
    path, _, _, value = hit
    if isinstance(step, Key):
        if isinstance(value, dict) and step.name in value:
            out.append(((*path, step.name), value, step.name, value[step.name]))
    elif isinstance(step, Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            i = step.index % len(value)
            out.append(((*path, i), value, i, value[i]))
    elif isinstance(step, Wild):
        out.extend(_children(path, value))
    elif isinstance(step, Filter):
        if isinstance(value, list):
            out.extend(c for c in _children(path, value) if step.predicate(c[3]))
        elif isinstance(value, dict) and step.predicate(value):
            out.append(hit)
    else:
        stack = [hit]
        while stack:
            node = stack.pop()
            _apply(step.inner, node, out)
            stack.extend(
                c for c in reversed(_children(node[0], node[3])) if isinstance(c[3], (dict, list))
            )


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled JSONPath; ``source`` is the text as written in the policy."""

    source: str
    steps: tuple[Step, ...]
    #: One match may lie inside another (then the engine deduplicates leaves).
    overlapping: bool = field(init=False, compare=False)
    #: Two descents may reach one node twice (then matches are deduplicated).
    repeating: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once at load; frozen dataclasses set derived fields through object.
        descents = sum(isinstance(s, Descend) for s in self.steps)
        object.__setattr__(self, "overlapping", descents > 0)
        object.__setattr__(self, "repeating", descents > 1)

    def find(
        self, document: Any, index: JsonIndex | None = None, holder: list[Any] | None = None
    ) -> list[JsonMatch]:
        """Every match in ``document``; pass the holder (``[document]``) to edit the root."""
        holder = holder if holder is not None else [document]
        hits: list[Hit] = [((), holder, 0, holder[0])]
        steps = self.steps
        if index is not None and steps and isinstance(steps[0], Descend):
            hits = self._indexed(steps[0].inner, index)
            steps = steps[1:]
        return to_matches(run_steps(steps, hits), self.repeating)

    @staticmethod
    def _indexed(inner: Key | Index | Wild | Filter, index: JsonIndex) -> list[Hit]:
        out: list[Hit] = []
        if isinstance(inner, Key):
            name = inner.name  # the common case, $..name: the objects that have the member
            for path, _, _, value in index.owners.get(name, ()):
                out.append(((*path, name), value, name, value[name]))
            return out
        for hit in index.containers:
            _apply(inner, hit, out)
        return out


def run_steps(steps: Iterable[Step], hits: list[Hit]) -> list[Hit]:
    """Apply ``steps`` in turn to ``hits``."""
    for step in steps:
        out: list[Hit] = []
        for hit in hits:
            _apply(step, hit, out)
        hits = out
        if not hits:
            break
    return hits


def to_matches(hits: list[Hit], dedupe: bool) -> list[JsonMatch]:
    """Public match objects, the first of each path only when ``dedupe``."""
    if dedupe:
        unique: dict[Path, Hit] = {}
        for hit in hits:
            unique.setdefault(hit[0], hit)
        hits = list(unique.values())
    return [JsonMatch(p, v, parent, k) for p, parent, k, v in hits]
