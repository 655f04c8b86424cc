"""Tests for :mod:`proxy.formats.json_body`: strict parsing, limits and round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.errors import BodyError
from proxy.formats.json_body import parse_json, serialise_json

MARKER = "Zq7MarkerValue"


@pytest.mark.parametrize(
    ("data", "doc"),
    [
        (b'{"a":1}', {"a": 1}),
        (b"[1,2]", [1, 2]),
        (b'"text"', "text"),
        (b"42", 42),
        (b"-1.5e3", -1500.0),
        (b"true", True),
        (b"null", None),
        (b' \n{"a" : [ ] }\t', {"a": []}),
        (b'"\\u00e9\\ud83d\\ude00"', "\u00e9\U0001f600"),
    ],
)
def test_any_json_value_is_accepted_at_the_top(data: bytes, doc: Any) -> None:
    """RFC 8259 allows any value at the top level; whitespace and paired escapes are fine."""
    assert parse_json(data) == doc


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b'{"a":1,"a":2}', "$.a"),
        (b'{"order":{"note":[{"id":1},{"id":2,"text":"x","id":3}]}}', "$.order.note[1].id"),
        (b'[[{"x":{"y":0,"y":0}}]]', "$[0][0].x.y"),
        (b'{"a b":{"c\\"d":1,"c\\"d":2}}', '$["a b"]["c\\"d"]'),
        (b'{"\\n":1,"\\n":2}', '$["\\n"]'),
    ],
)
def test_duplicate_keys_anywhere_are_refused_naming_the_path(data: bytes, path: str) -> None:
    """One parser keeps the first, another the last: refused, with an escaped JSON path."""
    with pytest.raises(BodyError, match="duplicate key") as info:
        parse_json(data)
    assert str(info.value).endswith(f"at {path}")


def test_duplicate_is_reported_even_before_an_overlong_number() -> None:
    """Finding the path does not trip over numbers later in the document."""
    with pytest.raises(BodyError, match=r"duplicate key at \$\[0\]\.a"):
        parse_json(b'[{"a":1,"a":2},' + b"9" * 5000 + b"]")


def test_duplicate_key_message_does_not_contain_the_values() -> None:
    """The path names keys; the values (possibly personal data) never appear."""
    data = json.dumps({"contact": "PLACEHOLDER"}).replace(
        '"PLACEHOLDER"', f'{{"phone":"{MARKER}-1","phone":"{MARKER}-2"}}'
    )
    with pytest.raises(BodyError) as info:
        parse_json(data.encode())
    assert MARKER not in str(info.value)
    assert "$.contact.phone" in str(info.value)


def test_long_keys_are_shortened_in_the_path() -> None:
    """A key longer than 64 characters is cut, so a message stays a message."""
    key = "k" * 500
    with pytest.raises(BodyError) as info:
        parse_json(f'{{"{key}":1,"{key}":2}}'.encode())
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf{}",
        "{}".encode("utf-16"),
        "{}".encode("utf-16-le"),
        "{}".encode("utf-16-be"),
        "{}".encode("utf-32"),
        "[1]".encode("utf-32-be"),
    ],
    ids=["utf-8 bom", "utf-16 bom", "utf-16le", "utf-16be", "utf-32 bom", "utf-32be"],
)
def test_boms_and_utf16_or_32_are_refused(data: bytes) -> None:
    """Only BOM-less UTF-8 JSON is accepted (RFC 8259 §8.1)."""
    with pytest.raises(BodyError, match="UTF-8"):
        parse_json(data)


def test_invalid_utf8_is_refused_with_its_offset() -> None:
    """Bytes that are not UTF-8 are a 400 naming the offset."""
    with pytest.raises(BodyError, match="byte 6"):
        parse_json(b'{"a":"\xff"}')


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(token: str) -> None:
    """NaN and Infinity are not JSON, however Python's json module feels about them."""
    with pytest.raises(BodyError, match="finite"):
        parse_json(f'{{"a":[1,{token}]}}'.encode())


def test_unpaired_surrogate_escape_is_refused() -> None:
    """A lone \\ud800 cannot be written back as UTF-8 and parsers disagree on it."""
    with pytest.raises(BodyError, match="surrogate"):
        parse_json(b'{"a":"x\\ud800y"}')


def test_escaped_backslash_before_u_is_not_a_surrogate() -> None:
    """'\\\\ud800' is a backslash then text: the surrogate check must not fire."""
    assert parse_json(b'"\\\\ud800"') == "\\ud800"


def test_overlong_integer_is_refused() -> None:
    """Integers past Python's digit limit are a 400, not a crash."""
    with pytest.raises(BodyError, match="4300 digits"):
        parse_json(b"[" + b"9" * 5000 + b"]")


def nest(depth: int, inner: str = "0") -> bytes:
    """``depth`` alternating objects and arrays around ``inner``, objects innermost."""
    levels = range(depth)
    opens = "".join('{"k":' if level % 2 == 0 else "[" for level in reversed(levels))
    closes = "".join("}" if level % 2 == 0 else "]" for level in levels)
    return f"{opens}{inner}{closes}".encode()


def test_depth_at_the_limit_is_accepted() -> None:
    """max_depth nested containers are fine."""
    assert parse_json(nest(64)) is not None


@pytest.mark.parametrize("depth", [65, 1000, 200_000])
def test_depth_past_the_limit_is_refused(depth: int) -> None:
    """One level too deep, or a nesting bomb, is refused before any object is built."""
    with pytest.raises(BodyError, match="at most 64 deep"):
        parse_json(nest(depth))


def test_custom_depth_limit_applies() -> None:
    """The max_depth keyword is honoured."""
    with pytest.raises(BodyError, match="at most 3 deep"):
        parse_json(b"[[[[]]]]", max_depth=3)
    assert parse_json(b"[[[]]]", max_depth=3) == [[[]]]


def test_brackets_inside_strings_do_not_count_towards_depth() -> None:
    """Brackets and escaped quotes in strings are text, not nesting."""
    text = '"' + "[{" * 100 + '\\"\\\\' + "]}" * 3 + '"'
    assert parse_json(f"[{text},{text}]".encode(), max_depth=1) == [json.loads(text)] * 2


def test_depth_of_a_wide_document_is_exact() -> None:
    """A document with many containers (the linear counting path) is measured exactly."""
    wide = b"[" + b",".join([b"[]"] * 5000) + b"]"
    assert len(parse_json(wide, max_depth=2)) == 5000
    with pytest.raises(BodyError, match="deep"):
        parse_json(b"[" + b"[]," * 5000 + nest(3) + b"]", max_depth=3)


@pytest.mark.parametrize("unit", [b"[[],", b'{"a":[],"b":'])
def test_deep_unclosed_nesting_is_refused_before_the_decoder_recurses(unit: bytes) -> None:
    """Malformed input that never closes is still measured: no RecursionError, a 400."""
    with pytest.raises(BodyError, match="deep"):
        parse_json(unit * 1300)


def test_unbalanced_brackets_are_a_syntax_error() -> None:
    """Depth counting leaves malformed input to the decoder's own message."""
    with pytest.raises(BodyError, match="syntax error at line 1"):
        parse_json(b"[[]")


@pytest.mark.parametrize(
    "data",
    [
        f'{{"a":"{MARKER}"'.encode(),
        f'{{"a":{MARKER}}}'.encode(),
        f'["{MARKER}\n"]'.encode(),
        f'{{"a":"{MARKER}"}} trailing'.encode(),
        f'"{MARKER}\\x"'.encode(),
        b"",
    ],
)
def test_syntax_errors_name_the_position_not_the_content(data: bytes) -> None:
    """Messages carry line and column, never the offending text."""
    with pytest.raises(BodyError, match="syntax error") as info:
        parse_json(data)
    assert MARKER not in str(info.value)


def test_serialise_json_is_compact_utf8() -> None:
    """Compact separators, UTF-8 rather than \\u escapes."""
    assert serialise_json({"a": ["é", 1, None]}) == '{"a":["é",1,null]}'.encode()


def test_serialise_json_refuses_nan() -> None:
    """What civetta writes is JSON: a NaN introduced by an edit is an error, not 'NaN'."""
    with pytest.raises(ValueError, match="Out of range float"):
        serialise_json([float("nan")])


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def depth_of(doc: Any) -> int:
    """Reference nesting depth, by walking the parsed value."""
    if isinstance(doc, dict):
        return 1 + max(map(depth_of, doc.values()), default=0)
    if isinstance(doc, list):
        return 1 + max(map(depth_of, doc), default=0)
    return 0


TRICKY_TEXT = st.text(st.sampled_from('[]{}"\\/a\n'), max_size=6)
TRICKY_VALUES = st.recursive(
    st.integers() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=40,
)


@given(TRICKY_VALUES, st.booleans())
def test_depth_limit_is_exact_whatever_the_strings_hold(doc: Any, ascii_only: bool) -> None:
    """Brackets, quotes and backslashes in strings never change the measured depth."""
    data = json.dumps(doc, ensure_ascii=ascii_only).encode()
    depth = depth_of(doc)
    assert parse_json(data, max_depth=depth) == doc
    if depth:
        with pytest.raises(BodyError, match="deep"):
            parse_json(data, max_depth=depth - 1)


@given(JSON_VALUES)
def test_parse_of_serialise_gives_back_the_document(doc: Any) -> None:
    """Round trip: any JSON value survives serialise_json then parse_json."""
    assert parse_json(serialise_json(doc)) == doc


@given(JSON_VALUES)
def test_compact_utf8_input_round_trips_byte_identical(doc: Any) -> None:
    """Bytes already in civetta's form come back unchanged after parse and serialise."""
    data = serialise_json(doc)
    assert serialise_json(parse_json(data)) == data
