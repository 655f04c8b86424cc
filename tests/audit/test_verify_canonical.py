"""The verifier's canonical-form check: its fast path agrees with the reference encoder."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.verify_canonical import CanonicalParser, NotCanonical, es6_number

PARSER = CanonicalParser()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def reference(value: Any) -> bytes | None:
    """The RFC 8785 bytes, or None where JCS refuses the value (big integers)."""
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        return None


@given(json_values)
def test_reference_encodings_are_accepted_and_parse_back(value: Any) -> None:
    """Whatever rfc8785 writes is canonical, and parses back to an equal value."""
    data = reference(value)
    if data is None:
        return
    assert PARSER.parse(data) == value


@given(json_values)
def test_other_encodings_are_refused(value: Any) -> None:
    """Python's own spacing, key order or number forms differ from JCS: refused unless equal."""
    data = reference(value)
    other = json.dumps(value, ensure_ascii=True).encode()
    if data is None or other == data:
        return
    with pytest.raises(NotCanonical):
        PARSER.parse(other)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1, "b":2}',  # space
        b'{"b":1,"a":2}',  # key order
        b'{"a":1,"a":2}',  # duplicate key
        b'{"a":1.0}',  # 1.0 is written 1
        b'{"a":1e2}',  # 1e2 is written 100
        b'{"a":0.00001}',  # 1e-5 is written 0.00001 ... in ES6 form: 0.00001 is canonical
        b'{"a":NaN}',
        b'{"a":9007199254740993}',  # beyond 2**53
        b'{"a":"\\ud800"}',  # a lone surrogate
        b'{"a":"\\u0041"}',  # A escaped needlessly
        b'{"a":"\xff"}',  # not UTF-8
        b'{"\xef\xbc\xa1":2,"\xf0\x9f\x98\x80":1}',  # UTF-16 order puts the emoji first
        b"[1,2",
        b"\xef\xbb\xbf{}",  # a byte-order mark
    ],
)
def test_non_canonical_bytes_are_refused(data: bytes) -> None:
    """Each departure from RFC 8785 (one accepted form aside) is refused."""
    if data == b'{"a":0.00001}':
        assert PARSER.parse(data) == {"a": 1e-5}
        return
    with pytest.raises(NotCanonical):
        PARSER.parse(data)


def test_accepted_edge_forms() -> None:
    """Forms that are canonical: UTF-16 key order with an emoji, ES6 numbers, escapes."""
    assert PARSER.parse(b'{"\xf0\x9f\x98\x80":1,"\xef\xbc\xa1":2}') is not None
    assert PARSER.parse(b'{"a":9007199254740992}') == {"a": 2**53}
    assert PARSER.parse(b'{"a":1e+21,"b":-0.5,"c":"\\n\\u001f"}') == {
        "a": 1e21,
        "b": -0.5,
        "c": "\n\x1f",
    }


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_es6_numbers_match_the_reference(value: float) -> None:
    """The float form used by the fast path is rfc8785's, for every finite double."""
    assert es6_number(value) == rfc8785.dumps(value).decode()
