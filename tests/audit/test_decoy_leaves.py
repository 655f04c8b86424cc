"""The decoys' leaves: canonical, stamped, commitments only where values were."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import rfc8785

from proxy.audit.decoy_leaves import alias, contact
from proxy.audit.leaves import LEAF_TYPES, Stamp, commit_value

KEY = b"k" * 32
STAMP = Stamp(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "replica-a")
AT = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)
# Planted markers: a caller, a customer's order reference, a note.
CALLER, ORDER, NOTE = "+393471112233", "OLO-ORD-2026-000101", "solo una linea TIM"


def leaves() -> dict[str, bytes]:
    """One alias and one contact leaf built from the planted markers."""
    return {
        "alias": alias(
            STAMP, "d1a2", "+390299990007", "phone", commit_value(KEY, "$order_ref", ORDER), "P-1"
        ),
        "contact": contact(
            STAMP,
            "c-1",
            decoy="+390299990007",
            channel="call",
            at=AT,
            caller=commit_value(KEY, "$caller", f"number:{CALLER}"),
            caller_match=None,
            classification="suspicious",
            reason="unknown_caller",
            source="switch",
            decoy_id="d1a2",
            order_ref=commit_value(KEY, "$order_ref", ORDER),
            partner="P-1",
            note=commit_value(KEY, "$note", NOTE),
        ),
    }


@pytest.mark.parametrize(("kind", "data"), leaves().items())
def test_decoy_leaves_are_canonical_typed_and_free_of_values(kind: str, data: bytes) -> None:
    """Each is its own RFC 8785 encoding, of a known type, with the common fields, and holds
    no planted value (the decoy itself is the operator's and is meant to be readable)."""
    leaf = json.loads(data)
    assert rfc8785.dumps(leaf) == data
    assert leaf["type"] == kind and kind in LEAF_TYPES
    assert (leaf["v"], leaf["time"], leaf["replica"]) == (
        1,
        "2026-03-02T09:00:00.000000Z",
        "replica-a",
    )
    for marker in (CALLER, CALLER[3:], ORDER, NOTE):
        assert marker.encode() not in data
    assert leaf["decoy"] == "+390299990007"


def test_contact_leaf_records_when_the_contact_happened() -> None:
    """``at`` is the contact's own time (RFC 3339 UTC), distinct from the leaf's ``time``."""
    leaf = json.loads(leaves()["contact"])
    assert leaf["at"] == "2026-03-02T10:15:30.000000Z"
    assert leaf["caller_match"] is None and leaf["partner"] == "P-1"


def test_a_value_where_a_commitment_belongs_is_refused() -> None:
    """A caller or order reference passed in clear is not 32 bytes: the builders refuse it."""
    with pytest.raises(ValueError, match="32-byte commitment"):
        alias(STAMP, "d", "+390299990007", "phone", ORDER.encode(), "P-1")
    with pytest.raises(ValueError, match="32-byte commitment"):
        contact(
            STAMP,
            "c",
            decoy="+390299990007",
            channel="call",
            at=AT,
            caller=CALLER.encode(),
            caller_match=None,
            classification="suspicious",
            reason="unknown_caller",
            source="switch",
        )


def test_a_withheld_caller_and_an_unattributed_contact_leave_nulls() -> None:
    """No caller, no order: the fields are present and null, not left out."""
    leaf = json.loads(
        contact(
            STAMP,
            "c-2",
            decoy="o-abc@alias.example.it",
            channel="mail",
            at=AT,
            caller=None,
            caller_match=None,
            classification="unattributed",
            reason="no_order_held_the_decoy",
            source="relay",
        )
    )
    assert [leaf[k] for k in ("caller", "decoy_id", "order_ref", "partner", "note")] == [None] * 5
