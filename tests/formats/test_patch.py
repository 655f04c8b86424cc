"""Tests for :mod:`proxy.formats.patch`: JSON Patch, JSON Patch Query and JSON Pointer."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.errors import BodyError
from proxy.formats.json_body import JsonPatchOp, PatchOp, parse_json_patch, pointer_tokens

MARKER = "Zq7MarkerValue"


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("", ()),
        ("/foo", ("foo",)),
        ("/foo/0", ("foo", "0")),
        ("/", ("",)),
        ("/a~1b", ("a/b",)),
        ("/m~0n", ("m~n",)),
        ("/~01", ("~1",)),
        ("/~10", ("/0",)),
        ('/c%d/ /k"l', ("c%d", " ", 'k"l')),
        ("/note?id=1", ("note?id=1",)),
    ],
)
def test_pointer_tokens_follow_rfc_6901(pointer: str, tokens: tuple[str, ...]) -> None:
    """RFC 6901 §5 examples: ~1 is '/', ~0 is '~', and ~01 is '~1' (not '/')."""
    assert pointer_tokens(pointer) == tokens


@pytest.mark.parametrize("pointer", ["foo", "#/foo", "/a~2", "/a~", f"/{MARKER}~x"])
def test_invalid_pointers_are_refused_without_echo(pointer: str) -> None:
    """A pointer not starting with '/' or with a bad '~' escape is a 400."""
    with pytest.raises(BodyError, match="JSON Pointer") as info:
        pointer_tokens(pointer)
    assert MARKER not in str(info.value)


def test_every_operation_kind_parses() -> None:
    """The six RFC 6902 operations, each with the members it needs."""
    ops = parse_json_patch(
        [
            {"op": "add", "path": "/a", "value": None},
            {"op": "remove", "path": "/b"},
            {"op": "replace", "path": "/c/0", "value": {"x": 1}},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "copy", "from": "/f", "path": "/g"},
            {"op": "test", "path": "/h", "value": 3},
        ]
    )
    assert [op.op for op in ops] == list(PatchOp)
    assert ops[0] == JsonPatchOp(0, PatchOp.ADD, "/a", value=None, has_value=True)
    assert ops[1].has_value is False
    assert ops[3].from_ == "/d"
    assert ops[2].value == {"x": 1}


def test_empty_patch_is_valid() -> None:
    """An empty array changes nothing and is a valid patch."""
    assert parse_json_patch([]) == ()


def test_query_form_keeps_the_filter_apart() -> None:
    """JSON Patch Query: '/note?id=77456' is pointer '/note' with filter 'id=77456'."""
    (op,) = parse_json_patch(
        [{"op": "replace", "path": "/note?id=77456&author=x", "value": {}}], query=True
    )
    assert (op.path, op.query) == ("/note", "id=77456&author=x")


def test_question_mark_is_part_of_the_pointer_in_plain_json_patch() -> None:
    """In RFC 6902, '?' is an ordinary pointer character."""
    (op,) = parse_json_patch([{"op": "remove", "path": "/note?id=1"}])
    assert (op.path, op.query) == ("/note?id=1", None)


@pytest.mark.parametrize("path", ["/note?", "/note?id", "/note?=1", "/note?a=1&&b=2"])
def test_malformed_query_is_refused(path: str) -> None:
    """The filter must be name=value terms joined by '&'."""
    with pytest.raises(BodyError, match="operation 0: expected name=value"):
        parse_json_patch([{"op": "remove", "path": path}], query=True)


def test_jsonpath_form_of_patch_query_is_refused() -> None:
    """Only the pointer?filter form is supported: '$...' is not a pointer."""
    with pytest.raises(BodyError, match="JSON Pointer"):
        parse_json_patch([{"op": "remove", "path": "$.note[?(@.id=='1')]"}], query=True)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"op": "add"}, "array of operations, got an object"),
        ("add", "array of operations, got a string"),
        ([1], "operation 0: expected an object, got a number"),
        ([[]], "operation 0: expected an object, got an array"),
        ([{"path": "/a"}], "operation 0: expected 'op' to be one of .*, got none"),
        ([{"op": "ADD", "path": "/a", "value": 1}], "got another string"),
        ([{"op": True, "path": "/a"}], "got a boolean"),
        ([{"op": "remove"}], "'path' to be a JSON Pointer string, got none"),
        ([{"op": "remove", "path": 3}], "'path' to be a JSON Pointer string, got a number"),
        ([{"op": "remove", "path": "a"}], "'path': expected a JSON Pointer"),
        ([{"op": "add", "path": "/a"}], "expected a 'value' member for add"),
        ([{"op": "move", "path": "/a"}], "'from' to be a JSON Pointer string, got none"),
        ([{"op": "copy", "path": "/a", "from": "x"}], "'from': expected a JSON Pointer"),
        ([{"op": "remove", "path": "/a", "value": 1}], r"only members \['op', 'path'\]"),
        ([{"op": "add", "path": "/a", "value": 1, "from": "/b"}], "got 'from'"),
        ([{"op": "test", "path": "/a", "value": 1, "extra": None}], "got 'extra'"),
    ],
)
def test_structural_errors_name_the_operation_and_member(doc: Any, message: str) -> None:
    """Each RFC 6902 structural rule, and civetta's refusal of undefined members."""
    with pytest.raises(BodyError, match=message):
        parse_json_patch(doc)


def test_errors_name_the_index_of_the_bad_operation() -> None:
    """The index in the message is that of the first bad operation."""
    ok = {"op": "remove", "path": "/a"}
    with pytest.raises(BodyError, match="operation 2:"):
        parse_json_patch([ok, ok, {"op": "replace", "path": "/a"}, ok])


@pytest.mark.parametrize(
    "doc",
    [
        [{"op": MARKER, "path": "/a"}],
        [{"op": "add", "path": MARKER, "value": MARKER}],
        [{"op": "remove", "path": "/a", "value": MARKER}],
        [{"op": "move", "path": "/a", "from": f"{MARKER}~"}],
        [{"op": "add", "path": f"/a?{MARKER}", "value": 1}],
        MARKER,
    ],
)
def test_patch_errors_never_quote_values(doc: Any) -> None:
    """Ops, paths and values from the body never appear in messages."""
    with pytest.raises(BodyError) as info:
        parse_json_patch(doc, query=True)
    assert MARKER not in str(info.value)
