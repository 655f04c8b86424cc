"""JSON documents and JSON Patch op lists as the engine sees them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.engine import apply
from proxy.errors import PolicyError
from proxy.formats.patch import parse_json_patch
from proxy.policy.jsondoc import JsonDoc, JsonNode, render
from tests.actions.support import PARTNER, context, rule


def test_paths_render_as_jsonpath() -> None:
    """Identifiers with dots, other keys quoted and escaped, indices in brackets."""
    assert render(()) == "$"
    assert render(("note", 0, "text")) == "$.note[0].text"
    assert render(("@type", "a b", "it's", "-")) == "$.@type['a b']['it\\'s']['-']"


def test_numbers_are_text_to_actions() -> None:
    """A phone sent as a JSON number is masked like a string (and becomes one)."""
    out = apply([rule("$.tel", "mask")], {"tel": 3471234567}, context())
    assert out.document == {"tel": "******4567"}


def test_nulls_and_booleans_are_left_alone() -> None:
    """Merge-patch ``null`` means delete: it is not a value to replace."""
    doc = {"notificationContact": None, "flag": True}
    out = apply([rule("$.*", "replace", {"with": "partner.email"})], doc, context())
    assert out.document == {"notificationContact": None, "flag": True}
    assert out.decisions == ()
    assert not out.changed


def test_scalar_action_on_a_container_is_refused_with_the_path() -> None:
    """Replacing an object by a phone number would break the message: refuse and say where."""
    with pytest.raises(
        PolicyError,
        match=r"rule r1 \(test.yaml:1\): expected a string or number at \$.c, got an object",
    ):
        apply(
            [rule("$.c", "replace", {"with": "partner.phone"})],
            {"c": {"phoneNumber": "347"}},
            context(),
        )


def test_patch_ops_keep_identity_when_untouched_and_lose_dropped_values() -> None:
    """Ops the policy does not touch are returned as they were; an op whose value goes is left out."""
    ops = parse_json_patch(
        [
            {"op": "replace", "path": "/severity", "value": "Major"},
            {"op": "add", "path": "/place/0/relatedParty", "value": {"name": "Mario"}},
            {"op": "remove", "path": "/note/1"},
            {
                "op": "replace",
                "path": "/relatedParty/0/contactMedium/0/characteristic/phoneNumber",
                "value": "347",
            },
        ]
    )
    rules = [
        rule("$..place[*].relatedParty", "drop", rule_id="d"),
        rule("$..phoneNumber", "replace", {"with": "partner.phone"}, rule_id="p"),
    ]
    out = apply(rules, ops, context())
    assert [op.path for op in out.document] == [
        "/severity",
        "/note/1",
        "/relatedParty/0/contactMedium/0/characteristic/phoneNumber",
    ]
    assert out.document[0] is ops[0] and out.document[1] is ops[2]
    assert out.document[2].value == PARTNER.phone
    assert [(d.rule, d.path) for d in out.decisions] == [
        ("d", "$.place[0].relatedParty"),
        ("p", "$.relatedParty[0].contactMedium[0].characteristic.phoneNumber"),
    ]


def _segment(seg: str | int) -> str:
    """Path steps as first written: one pattern for names, no shortcut."""
    if isinstance(seg, int):
        return f"[{seg}]"
    if re.fullmatch(r"[A-Za-z_@$][\w@$]*", seg):
        return "." + seg
    return "['" + seg.replace("\\", "\\\\").replace("'", "\\'") + "']"


@given(
    paths=st.lists(
        st.lists(
            st.text(max_size=5)
            | st.sampled_from(["a", "_b2", "@type", "é", "1a"])
            | st.integers(0, 12),
            max_size=6,
        ).map(tuple),
        max_size=5,
    )
)
def test_remembered_paths_render_as_written(paths: list[tuple[str | int, ...]]) -> None:
    """Nodes' paths, the document's path cache and the identifier shortcut follow the pattern."""
    doc = JsonDoc({})
    for path in paths:
        expected = "$" + "".join(_segment(seg) for seg in path)
        assert render(path) == expected
        assert JsonNode(doc, path, {}, path[-1] if path else 0).path == expected
        assert doc.container_path(path) == expected
        assert doc.container_path(path) == expected  # again, from what the document remembered
