"""The fixed-shape intent and outcome encoders give exactly the generic builder's bytes."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.audit import leaves, templates
from proxy.audit.records import (
    BodyRecord,
    FieldRecord,
    Intent,
    Operation,
    Outcome,
    Stamp,
    UtcText,
    rfc3339,
)

STAMP = Stamp(datetime(2026, 11, 22, 8, 6, 35, 123, tzinfo=UTC), "replica-a")
C = bytes(range(32))

# Any text, lone surrogates, controls and astral characters included.
_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
# Integers on both sides of the 2**53 - 1 limit, and bools (an int subclass JSON writes apart).
_ints = (
    st.integers(-(2**60), 2**60) | st.sampled_from([2**53 - 1, -(2**53) + 1, 2**53]) | st.booleans()
)
_opt_text = st.none() | _text
_bodies = st.builds(BodyRecord, _ints, st.just(C), _opt_text)
_fields = st.builds(FieldRecord, _text, _text, _text, st.just(C), _opt_text)
_intents = st.builds(
    Intent,
    request_id=_text,
    route=_text,
    direction=_text,
    operation=st.builds(Operation, _text, _opt_text, _opt_text),
    partner=_opt_text,
    order_ref=st.none() | st.just(C),
    policy_hash=_opt_text,
    body=_bodies,
    fields=st.lists(_fields, max_size=3).map(tuple),
)
_outcomes = st.builds(
    Outcome,
    intent_id=_text,
    status=st.none() | _ints,
    response=st.none() | _bodies,
    upstream_ms=st.none() | st.floats(0, 1e6) | st.floats(1e13, 1e20),
    error=_opt_text,
)
_stamps = st.builds(Stamp, st.just(STAMP.time), _text)


def _generic(build: Any, *args: Any) -> bytes | type[ValueError]:
    """The generic builder's bytes, or ValueError when it refuses the record."""
    try:
        return bytes(build(*args))
    except ValueError:
        return ValueError


@settings(max_examples=300, deadline=None)
@given(_stamps, _text, _intents)
def test_intent_template_matches_the_generic_builder(
    stamp: Stamp, intent_id: str, record: Intent
) -> None:
    """Whatever the record, leaves.intent gives the generic bytes (or refuses alike), and the
    template itself either matches them or declines."""
    time = rfc3339(stamp.time)
    expected = _generic(leaves._intent, time, stamp.replica, intent_id, record)
    if expected is ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - any refusal is the contract
            leaves.intent(stamp, intent_id, record)
        return
    assert leaves.intent(stamp, intent_id, record) == expected
    fast = templates.intent(time, stamp.replica, intent_id, record)
    assert fast is None or fast == expected


@settings(max_examples=300, deadline=None)
@given(_stamps, _outcomes)
def test_outcome_template_matches_the_generic_builder(stamp: Stamp, record: Outcome) -> None:
    """As for intents: byte-equal to the generic builder, or the same refusal."""
    us = None if record.upstream_ms is None else round(record.upstream_ms * 1000)
    time = rfc3339(stamp.time)
    expected = _generic(leaves._outcome, time, stamp.replica, record, us)
    if expected is ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - any refusal is the contract
            leaves.outcome(stamp, record)
        return
    assert leaves.outcome(stamp, record) == expected
    fast = templates.outcome(time, stamp.replica, record, us)
    assert fast is None or fast == expected


def test_ordinary_records_take_the_template() -> None:
    """The usual intent and outcome (ASCII ids, a SOAP action, fields with and without a token,
    a control character to escape) are encoded by the template, canonically."""
    record = Intent(
        "req-1",
        "soap-order",
        "outbound",
        Operation("POST", "/ws", 'urn:x:"Submit"\n'),
        "partner-9",
        C,
        "ab" * 32,
        BodyRecord(8123, C, "sealed-1"),
        (
            FieldRecord("$.phone", "r1", "replace", C),
            FieldRecord("$.name", "r2", "tokenise", C, "tok_1"),
        ),
    )
    outcome = Outcome("i-1", 201, BodyRecord(12, C), 1.2345, None)
    for fast, generic in (
        (templates.intent("t", "r", "i-1", record), leaves._intent("t", "r", "i-1", record)),
        (templates.outcome("t", "r", outcome, 1234), leaves._outcome("t", "r", outcome, 1234)),
    ):
        assert fast is not None
        assert fast == generic == rfc8785.dumps(json.loads(fast))


def test_a_clear_value_is_still_refused_as_a_commitment() -> None:
    """The template checks commitments like the generic builder: 32 bytes or ValueError."""
    record = Outcome("i-1", 200, BodyRecord(5, b"+39 347 555 0199"))
    with pytest.raises(ValueError, match="32-byte commitment"):
        leaves.outcome(STAMP, record)


def test_text_clock_reads_like_rfc3339_of_now() -> None:
    """UtcText gives the RFC 3339 form of the current UTC time, microseconds included, and its
    per-second cache follows the clock (a reading never goes back before the one it follows)."""
    clock = UtcText()
    for attempt in range(3):
        if attempt:
            time.sleep(0.6)  # cross a second at least once
        before = datetime.now(UTC)
        text = clock()
        after = datetime.now(UTC)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text)
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert before - timedelta(milliseconds=1) <= moment <= after + timedelta(milliseconds=1)
        assert rfc3339(moment) == text


def test_remembered_parts_stay_bounded_and_right() -> None:
    """More distinct field paths than the memo holds: it is emptied rather than grown, and
    every leaf still equals the generic encoding (also when a remembered part is reused)."""
    for n in range(templates._MEMO_MAX + 10):
        record = Intent(
            "req",
            "r",
            "outbound",
            Operation("POST", f"/p/{n % 3}"),
            None,
            None,
            None,
            BodyRecord(1, C),
            (FieldRecord(f"$.a[{n}]", "rule", "drop", C), FieldRecord("$.b", "rule", "drop", C)),
        )
        if n % 1000 == 0 or n > templates._MEMO_MAX:
            assert templates.intent("t", "r", "i", record) == leaves._intent("t", "r", "i", record)
        else:
            templates.intent("t", "r", "i", record)
        assert len(templates._FIELD_PARTS) <= templates._MEMO_MAX
