"""The JSONPath subset: steps, recursive descent, filters, errors, and the per-message index."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.policy.jsonpath import index_json
from proxy.policy.jsonsyntax import compile_jsonpath
from proxy.policy.selectorerror import SelectorError

ORDER: dict[str, Any] = {
    "@type": "ProductOrder",
    "relatedParty": [
        {"name": "Mario Rossi", "role": "customer", "@referredType": "Individual"},
        {"name": "Fibra Veloce", "role": "buyer"},
        {"name": "Anna Verdi", "role": "reporter", "flag": True},
    ],
    "note": [{"text": "a"}, {"text": "b"}],
    "item": [{"product": {"relatedParty": [{"name": "Luca", "role": "customer", "n": 1}]}}],
}


def paths(selector: str, doc: Any = ORDER) -> list[tuple[str | int, ...]]:
    """Concrete paths of every match, in order."""
    return [m.path for m in compile_jsonpath(selector).find(doc)]


def values(selector: str, doc: Any = ORDER) -> list[Any]:
    """Values of every match, in order."""
    return [m.value for m in compile_jsonpath(selector).find(doc)]


def test_root_child_and_bracket_names() -> None:
    """``$``, ``.name`` and ``['name']`` (including ``@type``-style names) select members."""
    assert paths("$") == [()]
    assert values("$['@type']") == values("$.@type") == ["ProductOrder"]
    assert values("$.relatedParty[0].@referredType") == ["Individual"]


def test_wildcards_and_indices() -> None:
    """``[*]`` and ``.*`` select every item or member; ``[n]`` counts from the end when negative."""
    assert values("$.note[*].text") == ["a", "b"]
    assert values("$.note.*.text") == ["a", "b"]
    assert values("$.relatedParty[-1].name") == ["Anna Verdi"]
    assert values("$.relatedParty[5].name") == []
    assert len(values("$.relatedParty[0].*")) == 3


def test_recursive_descent_reaches_every_depth() -> None:
    """``$..name`` finds names at the top and inside nested items, in document order."""
    assert values("$..relatedParty[*].name") == [
        "Mario Rossi",
        "Fibra Veloce",
        "Anna Verdi",
        "Luca",
    ]
    assert paths("$..product..name") == [("item", 0, "product", "relatedParty", 0, "name")]


def test_recursive_wildcard_and_whole_document() -> None:
    """``$..*`` is every node below the root; a trailing ``..`` is the node as one subtree."""
    assert len(values("$..*", {"a": {"b": 1}, "c": [2]})) == 4
    assert paths("$..") == [()]
    assert paths("$.note..") == [("note",)]


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("$.relatedParty[?(@.role=='customer')].name", ["Mario Rossi"]),
        ('$.relatedParty[?(@.role!="customer")].name', ["Fibra Veloce", "Anna Verdi"]),
        ("$.relatedParty[?(@.role in ['buyer', 'reporter'])].name", ["Fibra Veloce", "Anna Verdi"]),
        ("$.relatedParty[?(@.flag)].name", ["Anna Verdi"]),
        ("$.relatedParty[?(!@.flag)].name", ["Mario Rossi", "Fibra Veloce"]),
        ("$.relatedParty[?(@['@referredType']=='Individual')].name", ["Mario Rossi"]),
        (
            "$.relatedParty[?(@.role=='buyer' || @.flag == true)].name",
            ["Fibra Veloce", "Anna Verdi"],
        ),
        (
            "$.relatedParty[?(@.role=='customer' && (@.flag || @.name=='Mario Rossi'))].name",
            ["Mario Rossi"],
        ),
        ("$..relatedParty[?(@.n==1)].name", ["Luca"]),
        ("$..relatedParty[?@.role=='customer'].name", ["Mario Rossi", "Luca"]),
    ],
)
def test_filters(selector: str, names: list[str]) -> None:
    """Filters compare, test membership, existence and absence, and combine with && and ||."""
    assert values(selector) == names


def test_filter_on_an_object_tests_the_object_itself() -> None:
    """As in Jayway: ``$.a[?(…)]`` on an object keeps or drops that object."""
    doc = {"a": {"role": "customer", "name": "x"}}
    assert values("$.a[?(@.role=='customer')].name", doc) == ["x"]
    assert values("$.a[?(@.role=='buyer')].name", doc) == []


def test_booleans_never_equal_numbers() -> None:
    """JSON ``true`` is not ``1``, although Python says so."""
    doc = {"l": [{"v": True}, {"v": 1}]}
    assert paths("$.l[?(@.v==1)]", doc) == [("l", 1)]
    assert paths("$.l[?(@.v==true)]", doc) == [("l", 0)]


def test_missing_member_compares_unequal() -> None:
    """RFC 9535: ``@.x != 'a'`` holds when x is absent (the conservative reading)."""
    assert values("$.relatedParty[?(@.flag != true)].name") == ["Mario Rossi", "Fibra Veloce"]


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("relatedParty", "at character 1: expected '$', got 'r'"),
        ("$.note[*", "at character 9: expected ']', got the end"),
        ("$.note[?(@.text=='a']", "at character 21: expected ')', got ']'"),
        ("$.note[?(@.text==a)]", "expected a string, number, true, false or null"),
        ("$.note.", "at character 8: expected a member name or '*', got the end"),
        ("$note", "at character 2: expected '.', '..' or '[', got 'n'"),
        ("$.note[x]", "expected '*', '?', a quoted name or an index, got 'x'"),
    ],
)
def test_syntax_errors_name_the_position(selector: str, message: str) -> None:
    """Errors say where and what was expected."""
    with pytest.raises(SelectorError, match=re.escape(message)):
        compile_jsonpath(selector)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["x", "y", "phone"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "phone", "name"]), inner, max_size=3)
    ),
    max_leaves=20,
)


@given(
    doc=JSON, selector=st.sampled_from(["$..phone", "$..*", "$..[?(@.name)]", "$..[0]", "$..a.b"])
)
def test_index_gives_the_same_matches_as_a_walk(doc: Any, selector: str) -> None:
    """The per-message index is an optimisation only: same paths, same order."""
    compiled = compile_jsonpath(selector)
    plain = [m.path for m in compiled.find(doc)]
    indexed = [m.path for m in compiled.find(doc, index_json([doc]))]
    assert indexed == plain
