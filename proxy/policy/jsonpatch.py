"""JSONPath selectors applied inside JSON Patch operations (RFC 6902, TMF JSON Patch Query).

A rule written for the resource (``$.note[*].text``) must hit the same data when it arrives as
an operation: ``add /note/-`` with a note, ``add /note`` with one note or a list of notes,
``replace /note/0/text`` with a string. The op's pointer is consumed step by step against the
selector; what the pointer cannot tell (a filter's verdict, whether ``-`` is index 0) counts as
a match, because the proxy errs on minimising. The rest of the selector then runs on the value.

At the boundary, a value that is not an array under a pointer ending in a member name stands
for one item of that array (TMF servers read ``add /note {…}`` as an append), so an array step
(``[*]``, ``[n]``) is taken as already satisfied. With JSON Patch Query (``/note?id=7``) arrays
along the pointer carry no index, so array steps may be skipped anywhere on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from proxy.formats.patch import JsonPatchOp, pointer_tokens
from proxy.policy.jsonpath import (
    Descend,
    Filter,
    Hit,
    Index,
    JsonMatch,
    JsonPath,
    Key,
    Seg,
    Step,
    Wild,
    run_steps,
    to_matches,
)

_ARRAY_STEPS = (Index, Wild, Filter)
_UNKNOWN = object()


def prefix_of(op: JsonPatchOp) -> tuple[Seg, ...]:
    """The op's pointer as path segments; canonical array indices become integers."""
    # With JSON Patch Query the selected item sits between the pointer and the sub-path; the
    # array step it stands for is skippable (see _close), so the tokens simply follow on.
    return tuple(
        int(t) if t.isascii() and t.isdigit() and (t == "0" or t[0] != "0") else t
        for t in (*pointer_tokens(op.path), *pointer_tokens(op.subpath))
    )


def _seg_matches(step: Key | Index | Wild | Filter, seg: Seg, item: Any) -> bool:
    """Whether ``step`` accepts pointer segment ``seg``; ``item`` is what it names, if known."""
    if isinstance(step, Key):
        return str(seg) == step.name
    if isinstance(step, Index):
        # '-' (append) and negative indices depend on the array's length: assume a match.
        return seg == "-" or step.index < 0 or seg == step.index
    if isinstance(step, Filter) and item is not _UNKNOWN:
        return step.predicate(item)
    return True  # '*' always; a filter on an item the op does not carry: assume a match


def _close(steps: Sequence[Step], states: set[int]) -> set[int]:
    """JSON Patch Query: an array step may match an array the pointer does not index."""
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(steps) and isinstance(steps[i], _ARRAY_STEPS) and i + 1 not in states:
            states.add(i + 1)
            todo.append(i + 1)
    return states


def consume(
    steps: Sequence[Step], prefix: Sequence[Seg], implicit: bool, value: Any = _UNKNOWN
) -> tuple[set[int], bool]:
    """Selector positions reached after the pointer, and whether an ancestor of it matched.

    The last segment names ``value`` itself, so a filter there is evaluated on it.
    """
    states = {0}
    ancestor = False
    for n, seg in enumerate(prefix):
        item = value if n == len(prefix) - 1 else _UNKNOWN
        if implicit:
            states = _close(steps, states)
        following: set[int] = set()
        for i in states:
            if i == len(steps):
                ancestor = True  # the selector picked a node above the op's target
                continue
            step = steps[i]
            if isinstance(step, Descend):
                following.add(i)
                if _seg_matches(step.inner, seg, item):
                    following.add(i + 1)
            elif _seg_matches(step, seg, item):
                following.add(i + 1)
        states = following
    if implicit:
        states = _close(steps, states)
    return states, ancestor


def rest_after(rest: Sequence[Step], prefix: Sequence[Seg], value: Any) -> Sequence[Step]:
    """The steps still to run on the op's value (see the module's boundary rule)."""
    last = prefix[-1] if prefix else None
    if (
        isinstance(last, str)
        and last != "-"
        and not isinstance(value, list)
        and isinstance(rest[0], (Index, Wild))
    ):
        return rest[1:]
    return rest


def find_in_op(
    selector: JsonPath, prefix: tuple[Seg, ...], value: Any, holder: list[Any], implicit: bool
) -> list[JsonMatch]:
    """Matches inside ``value`` (held in ``holder[0]``) when it sits at ``prefix``."""
    steps = selector.steps
    states, ancestor = consume(steps, prefix, implicit, value)
    root: Hit = (prefix, holder, 0, value)
    hits: list[Hit] = [root] if ancestor or len(steps) in states else []
    for i in sorted(states):
        if i < len(steps):
            hits.extend(run_steps(rest_after(steps[i:], prefix, value), [root]))
    return to_matches(hits, dedupe=True)
