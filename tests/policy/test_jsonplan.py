"""JSON plans: compiled selectors give the step interpreter's hits, in its order, on any document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.policy import jsonfilter
from proxy.policy.jsonpath import Filter, Hit, index_json, run_steps
from proxy.policy.jsonsyntax import compile_jsonpath

NAMES = ["a", "b", "name", "@type"]
SCALARS = st.none() | st.booleans() | st.integers(-1, 2) | st.sampled_from(["x", "y", "", 1.0])
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
    ),
    max_leaves=25,
)
FILTERS = [
    "[?(@.a == 'x')]",
    "[?(@.a != 'x')]",
    "[?(@.a == 1)]",
    "[?(@.a != true)]",
    "[?(@.a == null)]",
    "[?(@.a)]",
    "[?(!@.b)]",
    "[?(@['@type'] == 'y')]",
    "[?(@.a.b == 'x' || @.name in ['x', 'y'])]",
    "[?(@.a == 'x' && @.b != 'y')]",
    "[?(@.a == 'x' || @.b == 'x' || @.name)]",
    "[?((@.a == 'y' || @.b) && !@.name && @.a != 2)]",
]
STEP = st.sampled_from(
    [".a", ".b", ".name", "['@type']", ".*", "[*]", "[0]", "[1]", "[-1]", "[-3]"]
    + ["..a", "..name", "..*", "..[0]", "..[*]"]
    + FILTERS
    + ["..a" + f for f in FILTERS[:3]]
    + [".." + f for f in FILTERS[-3:]]
)
SELECTORS = st.builds(
    lambda steps, tail: "$" + "".join(steps) + tail,
    st.lists(STEP, max_size=4),
    st.sampled_from(["", ".."]),
)


def reference(selector: str, holder: list[Any]) -> list[Hit]:
    """The interpreter's hits: one step and one hit at a time, first of each path if repeating."""
    compiled = compile_jsonpath(selector)
    hits = run_steps(compiled.steps, [((), holder, 0, holder[0])])
    if not compiled.repeating:
        return hits
    firsts: dict[Any, Hit] = {}
    for hit in hits:
        firsts.setdefault(hit[0], hit)
    return list(firsts.values())


def same(a: list[Hit], b: list[Hit]) -> bool:
    """Same paths, keys and values, and the very same parent objects (edits go through them)."""
    return [(p, k, v) for p, _, k, v in a] == [(p, k, v) for p, _, k, v in b] and all(
        x[1] is y[1] for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=500)
@given(doc=JSON, selectors=st.lists(SELECTORS, min_size=1, max_size=4))
def test_plan_gives_the_interpreters_hits(doc: Any, selectors: list[str]) -> None:
    """Walking from the root, and from one index shared by several selectors, as in a message."""
    holder = [doc]
    index = index_json(holder)
    for selector in selectors:
        compiled = compile_jsonpath(selector)
        expected = reference(selector, holder)
        assert same(compiled.plan(holder, None), expected)
        shared = compiled.plan(holder, index)
        assert same(shared, expected)
        shared.clear()  # what a caller does with its hits never reaches the index


@given(doc=JSON)
def test_index_owners_are_the_objects_with_the_member(doc: Any) -> None:
    """``owners`` lists every object having the member, in document order, each once."""
    index = index_json([doc])
    for name in NAMES:
        expected = [h for h in index.containers if isinstance(h[3], dict) and name in h[3]]
        assert index.owners(name) == expected
        assert index.owners(name) is index.owners(name)  # worked out once per message


def _is(node: Any, key: str, literal: Any) -> bool:
    """RFC 9535 equality of member ``key`` and a literal, as the general rule states it."""
    return jsonfilter._same(jsonfilter._get(node, (key,)), literal)


#: Filters whose compiled predicates take shortcuts, and what they mean, written out.
MEANINGS: dict[str, Callable[[Any], bool]] = {
    "@.a == 'x'": lambda n: _is(n, "a", "x"),
    "@.a != 'x'": lambda n: not _is(n, "a", "x"),
    "@.a == 'x' || @.a == ''": lambda n: _is(n, "a", "x") or _is(n, "a", ""),
    "@.a == 'x' || (@.a in ['1', 'y'] || @.a == 'x')": lambda n: any(
        _is(n, "a", o) for o in ("x", "1", "y")
    ),
    "@.a != 'x' && @.a != 'y' && @.a != ''": lambda n: (
        not any(_is(n, "a", o) for o in ("x", "y", ""))
    ),
    "@.a in ['x', 1]": lambda n: _is(n, "a", "x") or _is(n, "a", 1),
    "@.a == 'x' || @.b == 'x'": lambda n: _is(n, "a", "x") or _is(n, "b", "x"),
    "@.a != 'x' || @.a != 'y'": lambda n: not _is(n, "a", "x") or not _is(n, "a", "y"),
    "@.a == 'x' && @.a == 'x'": lambda n: _is(n, "a", "x"),
    "@.a == 1 || @.a == 'x'": lambda n: _is(n, "a", 1) or _is(n, "a", "x"),
}


@given(node=JSON, text=st.sampled_from(sorted(MEANINGS)))
def test_filter_shortcuts_mean_what_the_comparisons_say(node: Any, text: str) -> None:
    """One-member string comparisons, joined by || or &&, become one membership test."""
    step = compile_jsonpath(f"$[?({text})]").steps[0]
    assert isinstance(step, Filter)
    assert bool(step.predicate(node)) == MEANINGS[text](node)
