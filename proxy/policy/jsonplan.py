"""JSONPath steps compiled to plans: one specialised function per step, chosen at load.

The step interpreter (:func:`proxy.policy.jsonpath.run_steps`) asks, for every hit of every
step, what kind of step it runs. A plan asks once, when the policy loads: each step becomes a
closure that maps the whole list of hits at once (list comprehensions, no per-hit dispatch).
Plans give the same hits in the same order as the interpreter (a property test holds them to
it); the engine runs them on every message.

A selector that starts with recursive descent starts from the message's
:class:`~proxy.policy.jsonsteps.JsonIndex` rather than a walk of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from proxy.policy.jsonsteps import (
    Descend,
    Filter,
    Hit,
    Index,
    JsonIndex,
    Key,
    Step,
    Wild,
    preorder,
)

Stage = Callable[[list[Hit]], list[Hit]]
#: (holder, index or None) -> hits; ``holder[0]`` is the document.
Plan = Callable[[list[Any], JsonIndex | None], list[Hit]]


def _key(name: str) -> Stage:
    def key(hits: list[Hit]) -> list[Hit]:
        return [
            ((*path, name), value, name, value[name])
            for path, _, _, value in hits
            if isinstance(value, dict) and name in value
        ]

    return key


def _index(index: int) -> Stage:
    def item(hits: list[Hit]) -> list[Hit]:
        out: list[Hit] = []
        for path, _, _, value in hits:
            if isinstance(value, list) and -len(value) <= index < len(value):
                i = index % len(value)
                out.append(((*path, i), value, i, value[i]))
        return out

    return item


def _wild(hits: list[Hit]) -> list[Hit]:
    out: list[Hit] = []
    for path, _, _, value in hits:
        if isinstance(value, dict):
            out += [((*path, k), value, k, v) for k, v in value.items()]
        elif isinstance(value, list):
            out += [((*path, i), value, i, v) for i, v in enumerate(value)]
    return out


def _filter(step: Filter) -> Stage:
    predicate = step.predicate

    def filtered(hits: list[Hit]) -> list[Hit]:
        out: list[Hit] = []
        for hit in hits:
            path, _, _, value = hit
            if isinstance(value, list):
                out += [((*path, i), value, i, v) for i, v in enumerate(value) if predicate(v)]
            elif isinstance(value, dict) and predicate(value):
                out.append(hit)
        return out

    return filtered


def _wild_key(name: str) -> Stage:
    # '[*].name': straight to the members, no hit for every item or member on the way. Loops,
    # not comprehensions: arrays here hold a few items, and a comprehension is a call.
    def wild_key(hits: list[Hit]) -> list[Hit]:
        out: list[Hit] = []
        for path, _, _, value in hits:
            if isinstance(value, dict):
                items: Any = value.items()
            elif isinstance(value, list):
                items = enumerate(value)
            else:
                continue
            for i, v in items:
                if isinstance(v, dict) and name in v:
                    out.append(((*path, i, name), v, name, v[name]))
        return out

    return wild_key


def _filter_key(step: Filter, name: str) -> Stage:
    predicate = step.predicate

    # '[?(…)].name': as _wild_key, for the items the predicate keeps.
    def filter_key(hits: list[Hit]) -> list[Hit]:
        out: list[Hit] = []
        for path, _, _, value in hits:
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if predicate(v) and isinstance(v, dict) and name in v:
                        out.append(((*path, i, name), v, name, v[name]))
            elif isinstance(value, dict) and predicate(value) and name in value:
                out.append(((*path, name), value, name, value[name]))
        return out

    return filter_key


def _simple(step: Key | Index | Wild | Filter) -> Stage:
    if isinstance(step, Key):
        return _key(step.name)
    if isinstance(step, Index):
        return _index(step.index)
    if isinstance(step, Wild):
        return _wild
    return _filter(step)


def _descend(inner: Stage) -> Stage:
    return lambda hits: inner(preorder(hits))


def _stages(steps: Sequence[Step]) -> list[Stage]:
    """One stage per step; an item step followed by a member is one stage (see _wild_key)."""
    stages: list[Stage] = []
    i = 0
    while i < len(steps):
        step = steps[i]
        following = steps[i + 1] if i + 1 < len(steps) else None
        if isinstance(following, Key) and isinstance(step, Wild | Filter):
            stages.append(
                _wild_key(following.name)
                if isinstance(step, Wild)
                else _filter_key(step, following.name)
            )
            i += 2
            continue
        if isinstance(step, Descend):
            stages.append(_descend(_simple(step.inner)))
        else:
            stages.append(_simple(step))
        i += 1
    return stages


def _unique(hits: list[Hit]) -> list[Hit]:
    """The first hit of each path: two descents can reach one node twice."""
    seen: dict[Any, Hit] = {}
    for hit in hits:
        seen.setdefault(hit[0], hit)
    return list(seen.values())


def compile_plan(steps: Sequence[Step], dedupe: bool) -> Plan:
    """The plan of ``steps``; ``dedupe`` keeps the first hit of each path (two descents)."""
    stages = _stages(steps)
    first = steps[0] if steps else None
    rest = _stages(steps[1:])
    # A leading descent starts from the message's index: '$..name' from the hits it shares
    # between rules, any other from its containers.
    name = first.inner.name if isinstance(first, Descend) and isinstance(first.inner, Key) else None
    inner = _simple(first.inner) if isinstance(first, Descend) and name is None else None

    def plan(holder: list[Any], index: JsonIndex | None) -> list[Hit]:
        following = rest
        if index is not None and name is not None:
            hits = index.members(name)
        elif index is not None and inner is not None:
            hits = inner(index.containers)
        else:
            hits = [((), holder, 0, holder[0])]
            following = stages
        for stage in following:
            if not hits:
                break
            hits = stage(hits)
        # A copy when no stage made one: the index's lists are shared by the message's rules.
        return _unique(hits) if dedupe else hits if following else list(hits)

    return plan
