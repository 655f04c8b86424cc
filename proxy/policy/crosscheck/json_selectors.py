"""JSONPath selectors walked over JSON Schemas (:mod:`.json_schema`).

From the ``$defs`` entries a policy names, each step moves the set of schema nodes the selector
may be at: ``.name`` to the member's schemas, ``[n]`` to the items, ``*`` to every declared
member and item, ``..`` to every declared node below (free-form regions excluded, or no
recursive selector could ever be wrong), a filter to the items it tests, whose ``@.member``
paths must resolve too (``[?(@.rol == 'x')]`` would silently change which nodes a rule edits).
A step that leaves no node is a problem, ``expected …, got …``; once a free-form region is
entered, anything below it is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from proxy.actions.allow import Allow
from proxy.policy.crosscheck.json_schema import JNode, JStates
from proxy.policy.jsonpath import Descend, Filter, Index, JsonPath, Key, Step, Wild
from proxy.policy.model import Rule

_FILTER_REL = re.compile(
    r"@((?:\.[A-Za-z_@$][\w@$\-]*|\[\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\])+)"
)
_FILTER_PART = re.compile(
    r"\.([A-Za-z_@$][\w@$\-]*)|\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")"
)


def _child_states(node: JNode) -> JStates:
    out = JStates([])
    members = node.members()
    if members is None:
        return JStates([], True)
    out.nodes.extend(sub for _, sub in members)
    out.add(node.items())
    return out


def _below_states(states: JStates) -> JStates:
    """The nodes and every declared node below them (``..``).

    Free-form regions below do not count: ``$..name`` is meant for the declared structure, and
    if a free-form value somewhere (v4 ``Characteristic.value``) made any name possible, no
    recursive selector could ever be found wrong.
    """
    if not states.nodes:
        return JStates([], states.open)
    memo = states.nodes[0].file.below
    key = frozenset(n.key for n in states.nodes)
    if key not in memo:
        found: dict[tuple[int, int], JNode] = {}
        stack = list(states.nodes)
        while stack:
            node = stack.pop()
            if node.key not in found:
                found[node.key] = node
                stack.extend(_child_states(node).nodes)
        memo[key] = list(found.values())
    return JStates(list(memo[key]), states.open)


def _step_text(step: Step) -> str:
    """A step as written (for messages)."""
    if isinstance(step, Key):
        return (
            f".{step.name}"
            if re.fullmatch(r"[A-Za-z_@$][\w@$\-]*", step.name)
            else f"['{step.name}']"
        )
    if isinstance(step, Index):
        return f"[{step.index}]"
    if isinstance(step, Wild):
        return "[*]"
    if isinstance(step, Filter):
        return step.source
    return ".." + _step_text(step.inner).lstrip(".")


def _filter_subjects(states: JStates) -> JStates:
    """What a filter tests: the items of arrays, and objects themselves (as Jayway does)."""
    out = JStates([], states.open)
    for node in states.nodes:
        out.add(node.items())
        if node.members():
            out.nodes.append(node)
    return out


def _filter_paths(source: str) -> list[list[str]]:
    """The member paths a filter reads (``@.role``, ``@['@type']``)."""
    paths: list[list[str]] = []
    for rel in _FILTER_REL.finditer(source):
        parts = [
            next(g for g in m.groups() if g is not None).replace("\\'", "'")
            for m in _FILTER_PART.finditer(rel.group(1))
        ]
        if parts:
            paths.append(parts)
    return paths


def _resolves(subjects: JStates, path: list[str]) -> bool:
    states = subjects
    for name in path:
        if states.open:
            return True
        nxt = JStates([])
        for node in states.nodes:
            nxt.add(node.member(name))
        states = nxt
        if not states.nodes and not states.open:
            return False
    return True


def _json_step(step: Step, states: JStates) -> tuple[JStates, str | None]:
    """The states after ``step``, or a problem (what was expected, what was found)."""
    inner: Step = step
    if isinstance(step, Descend):
        below = _below_states(states)
        states = JStates([n for n in below.nodes if not n.free()], below.open)
        inner = step.inner
    nxt = JStates([], states.open)
    if isinstance(inner, Key):
        for node in states.nodes:
            nxt.add(node.member(inner.name))
        if not nxt.nodes and not nxt.open:
            where = "anywhere below" if isinstance(step, Descend) else "on"
            return nxt, f"expected a member the schema declares {where} {{at}}, got {inner.name!r}"
    elif isinstance(inner, Index):
        for node in states.nodes:
            nxt.add(node.items())
        if not nxt.nodes and not nxt.open:
            return nxt, f"expected an array at {{at}} for [{inner.index}], got none in the schema"
    elif isinstance(inner, Wild):
        for node in states.nodes:
            below = _child_states(node)
            nxt.nodes.extend(below.nodes)
            nxt.open |= below.open
    elif isinstance(inner, Filter):
        nxt = _filter_subjects(states)
        for path in _filter_paths(inner.source):
            if not _resolves(nxt, path):
                member = ".".join(path)
                return nxt, f"expected filter members the items at {{at}} declare, got @.{member}"
    return nxt.unique(), None


def check_jsonpath(selector: JsonPath, roots: Sequence[JNode]) -> str | None:
    """None when ``selector`` can match in the schema, else why not (``expected …, got …``)."""
    states = JStates(list(roots))
    done = "$"
    for step in selector.steps:
        if states.open:
            return None
        states, problem = _json_step(step, states)
        if problem is not None:
            return problem.replace("{at}", done)
        done += _step_text(step)
    return None


def json_children(rule: Rule, roots: Sequence[JNode]) -> str | None:
    """An ``allow`` must list children the selected nodes can have (a typo drops a field)."""
    if not isinstance(rule.handler, Allow) or not isinstance(rule.selector, JsonPath):
        return None
    states = JStates(list(roots))
    for step in rule.selector.steps:
        if states.open:
            return None
        states, _ = _json_step(step, states)
    subjects = _filter_subjects(states)  # allow on an array applies to each item
    if subjects.open:
        return None
    for child in sorted(rule.handler.children):
        if not _resolves(subjects, [child]):
            return f"expected allow children the selected nodes declare, got {child!r}"
    return None
