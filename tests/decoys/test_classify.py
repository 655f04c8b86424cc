"""Contact classification, PURE: who called, when, on a decoy held by which order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proxy.decoys.callers import Caller, parse_caller
from proxy.decoys.classify import classify
from proxy.storage.decoys import DecoyAssignment
from tests.decoys.conftest import INCUMBENT_NOC, decoy_settings

ISSUED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEEN = ISSUED + timedelta(days=3)
SETTINGS = decoy_settings()  # active window 10 days


def held(closed: datetime | None = None) -> DecoyAssignment:
    """The decoy's assignment: issued, last message three days later, maybe closed."""
    return DecoyAssignment(
        1, "d1", "+390299990001", "phone", b"o" * 32, "P-001", ISSUED, SEEN, closed_at=closed
    )


def caller(text: str | None) -> Caller:
    """A parsed caller (the texts below are all valid)."""
    found = parse_caller(text)
    assert found is not None
    return found


NOC = caller(INCUMBENT_NOC)
PREFIXED = caller("+39 06 9991 2345")
STRANGER = caller("+39 347 000 1111")
WITHHELD = caller("anonymous")
MAIL_OK = caller("tecnico@wholesale.incumbent.example.it")
MAIL_RETAIL = caller("offerte@retail.incumbent.example.it")


@pytest.mark.parametrize(
    ("who", "at", "closed", "expected"),
    [
        (NOC, SEEN + timedelta(days=1), None, ("expected", "operational_caller_in_window")),
        (PREFIXED, ISSUED, None, ("expected", "operational_caller_in_window")),
        (MAIL_OK, SEEN + timedelta(days=10), None, ("expected", "operational_caller_in_window")),
        (NOC, SEEN + timedelta(days=10, seconds=1), None, ("suspicious", "outside_active_window")),
        (
            NOC,
            ISSUED + timedelta(days=2),
            ISSUED + timedelta(days=1),
            ("suspicious", "after_order_closed"),
        ),
        (
            NOC,
            ISSUED + timedelta(hours=1),
            ISSUED + timedelta(days=1),
            ("expected", "operational_caller_in_window"),
        ),
        (STRANGER, SEEN, None, ("suspicious", "unknown_caller")),
        (MAIL_RETAIL, SEEN, None, ("suspicious", "unknown_caller")),
        (WITHHELD, SEEN, None, ("suspicious", "withheld_caller")),
    ],
)
def test_classification_matrix(
    who: Caller, at: datetime, closed: datetime | None, expected: tuple[str, str]
) -> None:
    """Expected only for a configured operational caller inside the active window (until the
    order closes, or 10 days after its latest message while open); suspicious otherwise."""
    verdict = classify(who, at, held(closed), SETTINGS)
    assert (verdict.classification, verdict.reason) == expected


def test_the_matched_operational_entry_is_named_even_when_suspicious() -> None:
    """The configured entry a caller matched is kept (a company contact), also outside the
    window, so a reviewer sees it was the incumbent's own line; a stranger matches nothing."""
    late = classify(PREFIXED, SEEN + timedelta(days=20), held(), SETTINGS)
    assert late.match == "+3906999*" and late.classification == "suspicious"
    assert classify(MAIL_OK, SEEN, held(), SETTINGS).match == "@wholesale.incumbent.example.it"
    assert classify(STRANGER, SEEN, held(), SETTINGS).match is None


def test_a_decoy_no_order_held_is_unattributed() -> None:
    """Without an assignment at that time there is no order to pin: unattributed, even for
    the incumbent's own number."""
    verdict = classify(NOC, SEEN, None, SETTINGS)
    assert (verdict.classification, verdict.reason) == ("unattributed", "no_order_held_the_decoy")
