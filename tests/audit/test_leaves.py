"""Typed leaves: canonical JSON, common fields, commitments, and no personal value in any leaf."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit import canonical, leaves
from proxy.audit.leaves import (
    BodyRecord,
    FieldRecord,
    Intent,
    Operation,
    Outcome,
    Stamp,
    commit_bytes,
    commit_value,
)
from proxy.audit.records import Committer, random_id

KEY = b"k" * 32
STAMP = Stamp(datetime(2026, 11, 22, 8, 6, 35, 123, tzinfo=UTC), "replica-a")
# Planted markers: values a careless builder might copy into a leaf.
PHONE, EMAIL, NAME, ORDER = (
    "+39 347 555 0199",
    "mario.rossi@example.org",
    "Mario Rossi",
    "ORD-77812",
)


def sample_intent(body: bytes = b"<order/>") -> Intent:
    """An intent whose removed values are the planted markers."""
    return Intent(
        request_id="req-1",
        route="tmf622",
        direction="outbound",
        operation=Operation("POST", template="/tmf-api/productOrder"),
        partner="partner-9",
        order_ref=commit_value(KEY, "order_ref", ORDER),
        policy_hash="ab" * 32,
        body=BodyRecord(len(body), commit_bytes(b"s" * 32, body), "sealed-1"),
        fields=(
            FieldRecord("$.phone", "r-phone", "replace", commit_value(KEY, "$.phone", PHONE)),
            FieldRecord("$.email", "r-mail", "alias", commit_value(KEY, "$.email", EMAIL), "tok-1"),
            FieldRecord("$.name", "r-name", "tokenise", commit_value(KEY, "$.name", NAME), "tok-2"),
        ),
    )


def every_leaf() -> dict[str, bytes]:
    """One leaf of every type that has a builder."""
    c = commit_value(KEY, "$.x", PHONE)
    return {
        "log_init": leaves.log_init(STAMP, "civetta.example/olo-log", "olo", b"\x01" * 32, 0xABCD),
        "key": leaves.key(STAMP, "olo", b"\x02" * 32, 0x1234, 0xABCD),
        "policy": leaves.policy(STAMP, "tmf622", "rules: []\n"),
        "intent": leaves.intent(STAMP, "i-1", sample_intent()),
        "outcome": leaves.outcome(
            STAMP, Outcome("i-1", 201, BodyRecord(12, commit_value(KEY, "$response", "x")), 12.5)
        ),
        "recovery": leaves.recovery(STAMP, "i-1", 42),
        "block": leaves.block(STAMP, "req-2", "tmf622", "outbound", "CIVETTA-LEAK", ("$.note",)),
        "echo": leaves.echo(STAMP, "req-3", "tmf622", "$.contact", c, "phone"),
        "erasure": leaves.erasure(STAMP, "2026-09", date(2026, 11, 1)),
        "heartbeat": leaves.heartbeat(STAMP),
    }


@pytest.mark.parametrize(("kind", "data"), every_leaf().items())
def test_every_leaf_is_canonical_and_stamped(kind: str, data: bytes) -> None:
    """Each leaf is its own RFC 8785 encoding and carries type, v, time (RFC 3339 UTC), replica."""
    value: dict[str, Any] = json.loads(data)
    assert rfc8785.dumps(value) == data
    assert value["type"] == kind and value["v"] == leaves.SCHEMA_VERSION
    assert value["time"] == "2026-11-22T08:06:35.000123Z"
    assert value["replica"] == "replica-a"


def test_intent_shape() -> None:
    """An intent records paths, rules, actions, commitments and token ids, never values."""
    value = json.loads(leaves.intent(STAMP, "i-1", sample_intent()))
    assert value["operation"] == {"method": "POST", "path": "/tmf-api/productOrder"}
    assert value["order_ref"] == base64.b64encode(commit_value(KEY, "order_ref", ORDER)).decode()
    assert value["fields"][0] == {
        "path": "$.phone",
        "rule": "r-phone",
        "action": "replace",
        "commitment": base64.b64encode(commit_value(KEY, "$.phone", PHONE)).decode(),
    }
    assert value["fields"][1]["token_id"] == "tok-1"
    assert value["body"]["length"] == len(b"<order/>") and value["body"]["sealed_id"] == "sealed-1"


def test_no_planted_value_reaches_any_leaf() -> None:
    """No marker appears in any leaf, in clear, in lower case or base64-encoded."""
    blob = b"\n".join(every_leaf().values())
    for marker in (PHONE, EMAIL, NAME, ORDER, "3475550199"):
        raw = marker.encode()
        assert raw not in blob and raw.lower() not in blob.lower()
        for shift in range(3):
            # base64 of the marker at each alignment, minus the edge characters that depend
            # on neighbouring bytes
            encoded = base64.b64encode(b"\x00" * shift + raw)[4:-4]
            assert encoded not in blob


def test_commitments() -> None:
    """commit_value is HMAC-SHA256(key, path || 0x00 || value), so the path and the key matter;
    commit_bytes is SHA-256(salt || data)."""
    expected = hmac.new(KEY, b"$.phone\x00" + PHONE.encode(), hashlib.sha256).digest()
    assert (
        commit_value(KEY, "$.phone", PHONE)
        == expected
        == commit_value(KEY, "$.phone", PHONE.encode())
    )
    assert commit_value(KEY, "$.fax", PHONE) != expected
    assert commit_value(b"j" * 32, "$.phone", PHONE) != expected
    assert commit_bytes(b"salt", b"data") == hashlib.sha256(b"saltdata").digest()


def test_a_clear_value_cannot_pass_for_a_commitment() -> None:
    """Anything but 32 bytes where a commitment belongs is refused."""
    with pytest.raises(ValueError, match="32-byte commitment, got 16 bytes"):
        leaves.echo(STAMP, "r", "t", "$.p", PHONE.encode(), "phone")


def test_stamps_and_types() -> None:
    """Times are converted to UTC; naive times and unknown leaf types are refused."""
    cet = timezone(timedelta(hours=1))
    value = json.loads(leaves.heartbeat(Stamp(datetime(2026, 1, 1, 1, 0, tzinfo=cet), "r")))
    assert value["time"] == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="aware datetime"):
        leaves.heartbeat(Stamp(datetime(2026, 1, 1), "r"))
    with pytest.raises(ValueError, match="leaf type"):
        leaves.build("gossip", STAMP)
    assert json.loads(leaves.build("alias", STAMP, alias_id="a1"))["type"] == "alias"


def test_soap_operation_and_absent_response() -> None:
    """A SOAP operation records its action; an outcome without a response records null."""
    op = Operation("POST", soap_action="urn:submitOrder").to_json()
    assert op == {"method": "POST", "action": "urn:submitOrder"}
    value = json.loads(
        leaves.outcome(STAMP, Outcome("i-1", None, error="CIVETTA-UPSTREAM-TIMEOUT"))
    )
    assert value["response"] is None and value["error"] == "CIVETTA-UPSTREAM-TIMEOUT"


def test_timings_are_whole_microseconds() -> None:
    """upstream_ms becomes an integer upstream_us (no float in any leaf)."""
    value = json.loads(leaves.outcome(STAMP, Outcome("i-1", 200, upstream_ms=12.3456)))
    assert value["upstream_us"] == 12346


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.text()
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(_json_values)
def test_fast_encoding_is_byte_equal_to_the_reference(value: Any) -> None:
    """canonical.encode gives exactly rfc8785's bytes, or refuses what rfc8785 refuses."""
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(ValueError):  # noqa: PT011 - any refusal is the contract
            canonical.encode(value)
        return
    assert canonical.encode(value) == expected


def test_fast_path_edge_cases() -> None:
    """Control characters, DEL, U+2028, astral characters in values and keys, big integers."""
    for value in (
        {"a": '\x00\x1f\x7f\u2028\b\t\n\f\r"\\/'},
        {"k": "😀"},
        {"😀": 1, "\uffff": 2},
        {"n": 2**53 - 1, "m": -(2**53) + 1},
        [1.5, 0.1, 1e21],
    ):
        assert canonical.encode(value) == rfc8785.dumps(value)
    with pytest.raises(ValueError, match="RFC 8785"):
        canonical.encode({"big": 2**60})


@given(st.binary(max_size=100), st.text(max_size=8), st.binary(max_size=200) | st.text(max_size=20))
def test_committer_is_commit_value(key: bytes, path: str, value: bytes | str) -> None:
    """The precomputed-state Committer gives commit_value's HMAC for any key length (short keys
    are padded, keys over one block hashed first) and any value."""
    assert Committer(key)(path, value) == commit_value(key, path, value)


def test_random_ids_look_like_uuid4_hex() -> None:
    """Intent ids keep the uuid4().hex shape (version 4, RFC 4122 variant) and do not repeat."""
    ids = {random_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        assert uuid.UUID(hex=value).version == 4 and uuid.UUID(hex=value).hex == value
