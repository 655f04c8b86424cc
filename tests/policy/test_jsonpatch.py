"""Selectors written for the resource also hit JSON Patch operation values."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.formats.patch import JsonPatchOp, PatchOp
from proxy.policy.jsonpatch import find_in_op, prefix_of
from proxy.policy.jsonsyntax import compile_jsonpath


def op(path: str, value: Any, query: str | None = None, kind: PatchOp = PatchOp.ADD) -> JsonPatchOp:
    """An op as :func:`proxy.formats.patch.parse_json_patch` returns it."""
    return JsonPatchOp(0, kind, path, query, None, value, True)


def hits(selector: str, operation: JsonPatchOp) -> list[tuple[tuple[str | int, ...], Any]]:
    """(path, value) of every match inside the op's value."""
    holder = [operation.value]
    found = find_in_op(
        compile_jsonpath(selector),
        prefix_of(operation),
        holder[0],
        holder,
        operation.query is not None,
    )
    return [(m.path, m.value) for m in found]


NOTE = {"text": "richiamare al 347 123 4567", "author": "Laura"}


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (op("/note/-", NOTE), [(("note", "-", "text"), NOTE["text"])]),
        (op("/note", [NOTE]), [(("note", 0, "text"), NOTE["text"])]),
        (op("/note", NOTE), [(("note", "text"), NOTE["text"])]),
        (op("/note/0/text", "x", kind=PatchOp.REPLACE), [(("note", 0, "text"), "x")]),
        (op("/note/0", NOTE, kind=PatchOp.REPLACE), [(("note", 0, "text"), NOTE["text"])]),
        (
            op("/note", NOTE, query="id=77456", kind=PatchOp.REPLACE),
            [(("note", "text"), NOTE["text"])],
        ),
        (op("/severity", "Major", kind=PatchOp.REPLACE), []),
        (op("/note/0/author", "Laura", kind=PatchOp.REPLACE), []),
    ],
)
def test_note_text_selector_maps_onto_ops(operation: JsonPatchOp, expected: list[Any]) -> None:
    """``$.note[*].text`` hits appends, whole lists, single notes, replaced texts and queries."""
    assert hits("$.note[*].text", operation) == expected


def test_index_mismatch_does_not_hit() -> None:
    """``$.note[1].text`` says nothing about note 0."""
    assert hits("$.note[1].text", op("/note/0/text", "x", kind=PatchOp.REPLACE)) == []
    assert hits("$.note[1].text", op("/note/-", NOTE)) != []  # '-' could be index 1: assume so


def test_filter_on_the_pointer_is_assumed_to_match() -> None:
    """The op does not show the party's role: the customer filter errs on minimising."""
    operation = op("/relatedParty/0/name", "Mario Rossi", kind=PatchOp.REPLACE)
    assert hits("$.relatedParty[?(@.role=='customer')].name", operation) == [
        (("relatedParty", 0, "name"), "Mario Rossi")
    ]


def test_filter_inside_the_value_is_evaluated() -> None:
    """When the op carries the party, its role decides."""
    buyer = op("/relatedParty/-", {"role": "buyer", "name": "Fibra Veloce"})
    customer = op("/relatedParty/-", {"role": "customer", "name": "Mario Rossi"})
    selector = "$.relatedParty[?(@.role=='customer')].name"
    assert hits(selector, buyer) == []
    assert [v for _, v in hits(selector, customer)] == ["Mario Rossi"]


def test_recursive_descent_spans_pointer_and_value() -> None:
    """``$..phoneNumber`` finds a phone whether the pointer or the value holds the path to it."""
    deep = op(
        "/relatedParty/0/contactMedium/0/characteristic",
        {"phoneNumber": "347"},
        kind=PatchOp.REPLACE,
    )
    direct = op(
        "/relatedParty/0/contactMedium/0/characteristic/phoneNumber", "347", kind=PatchOp.REPLACE
    )
    assert [v for _, v in hits("$..phoneNumber", deep)] == ["347"]
    assert [v for _, v in hits("$..phoneNumber", direct)] == ["347"]


def test_selector_above_the_op_target_selects_the_whole_value() -> None:
    """``$.note`` selected, op adds inside it: the op's value as a whole is inside the selection."""
    assert hits("$.note", op("/note/-", NOTE)) == [(("note", "-"), NOTE)]


def test_pointer_escapes_and_non_canonical_indices() -> None:
    """``~1`` is ``/``; ``01`` is a member name, not an index."""
    assert prefix_of(op("/a~1b/01/0", 1)) == ("a/b", "01", 0)
