"""A JSONPath subset: compiled steps (parsed by :mod:`proxy.policy.jsonsyntax`) and their meaning.

Supported: ``$``; ``.name`` and ``['name']`` (names may start with ``@``, as in ``@type``);
``.*`` and ``[*]``; ``[n]`` (negative from the end); ``..name``, ``..*``, ``..[…]`` (recursive
descent); filters ``[?(…)]`` (see :mod:`proxy.policy.jsonfilter`; on an object the filter tests
the object itself, as Jayway does). A trailing ``..`` selects the node as a whole subtree, so
``$..`` is the whole document (for ``restore``, ``scrub``, ``keep``).

Matches carry concrete paths (tuples of keys and indices) and their parent, so that the engine
edits in place. :func:`run_steps` interprets the steps (:mod:`proxy.policy.jsonsteps`) one hit at
a time; a :class:`JsonPath` also carries them compiled to a plan (:mod:`proxy.policy.jsonplan`),
which gives the same hits faster and is what every message runs. :func:`index_json` walks a
message once, so that every ``$..name`` of a policy is a lookup rather than a walk.
:func:`proxy.policy.jsonpatch.find_in_op` maps a JSON Patch operation's pointer and value back
onto the document's shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy.policy.jsonplan import Plan, compile_plan
from proxy.policy.jsonsteps import (
    Descend,
    Filter,
    Hit,
    Index,
    JsonIndex,
    Key,
    Path,
    Seg,
    Step,
    Wild,
    children,
    index_json,
)

__all__ = [
    "Descend",
    "Filter",
    "Hit",
    "Index",
    "JsonIndex",
    "JsonMatch",
    "JsonPath",
    "Key",
    "Path",
    "Seg",
    "Step",
    "Wild",
    "index_json",
    "run_steps",
    "to_matches",
]


@dataclass(frozen=True, slots=True)
class JsonMatch:
    """One selected node: ``parent[key]`` is ``value``, at ``path`` in the document."""

    path: Path
    value: Any
    parent: Any
    key: Seg


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
        out.extend(children(path, value))
    elif isinstance(step, Filter):
        if isinstance(value, list):
            out.extend(c for c in children(path, value) if step.predicate(c[3]))
        elif isinstance(value, dict) and step.predicate(value):
            out.append(hit)
    else:
        stack = [hit]
        while stack:
            node = stack.pop()
            _apply(step.inner, node, out)
            stack.extend(
                c for c in reversed(children(node[0], node[3])) if isinstance(c[3], (dict, list))
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
    #: Starts with a descent: the message's :class:`JsonIndex` serves it.
    indexed: bool = field(init=False, compare=False)
    #: The steps compiled (:mod:`proxy.policy.jsonplan`): ``plan(holder, index)`` gives the hits
    #: (no match objects) in ``holder[0]``; what every message runs.
    plan: Plan = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Computed once at load; frozen dataclasses set derived fields through object.
        descents = sum(isinstance(s, Descend) for s in self.steps)
        object.__setattr__(self, "overlapping", descents > 0)
        object.__setattr__(self, "repeating", descents > 1)
        object.__setattr__(self, "indexed", bool(self.steps) and isinstance(self.steps[0], Descend))
        object.__setattr__(self, "plan", compile_plan(self.steps, descents > 1))

    def find(
        self, document: Any, index: JsonIndex | None = None, holder: list[Any] | None = None
    ) -> list[JsonMatch]:
        """Every match in ``document``; pass the holder (``[document]``) to edit the root."""
        found = self.plan(holder if holder is not None else [document], index)
        return [JsonMatch(p, v, parent, k) for p, parent, k, v in found]


def run_steps(steps: Iterable[Step], hits: list[Hit]) -> list[Hit]:
    """Apply ``steps`` in turn to ``hits``, one hit and one step at a time.

    The reference meaning of the steps: plans must agree with it, and the suffix of a selector
    inside a JSON Patch operation (:mod:`proxy.policy.jsonpatch`) runs here.
    """
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
