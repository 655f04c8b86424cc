"""How a contact on a decoy is classified: PURE, a function of the contact and the assignment.

* **expected**: the caller is one of the incumbent's configured operational numbers, prefixes
  or e-mail domains (``expected_callers``), and the contact falls in the order's active
  window: from the decoy's issue until the order closed or, while it is open, until
  ``active_window_days`` after its latest message. This is the technician doing the job.
* **suspicious**: anybody else (``unknown_caller``), a withheld caller (``withheld_caller``),
  or an expected caller outside the window (``after_order_closed``,
  ``outside_active_window``). Only the order's data could have led to this contact: evidence.
* **unattributed**: no order held the decoy at that time (``no_order_held_the_decoy``), e.g.
  a number in the pool never issued yet. It pins no order, so it raises no alert, but it is
  recorded: repeated hits show someone dialling through the operator's ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from proxy.decoys.callers import Caller, expected_match
from proxy.decoys.settings import DecoySettings
from proxy.storage.decoys import DecoyAssignment

CLASSES: Final = ("expected", "suspicious", "unattributed")


@dataclass(frozen=True, slots=True)
class Classified:
    """A classification, the reason for it, and the expected-caller entry matched (if any)."""

    classification: str
    reason: str
    #: The configured entry the caller matched, as written (an operational contact).
    match: str | None = None


def classify(
    caller: Caller, at: datetime, held: DecoyAssignment | None, settings: DecoySettings
) -> Classified:
    """Classify a contact at ``at`` by ``caller`` on a decoy ``held`` by an order (or None)."""
    if held is None:
        return Classified("unattributed", "no_order_held_the_decoy")
    entry = expected_match(settings.expected_callers, caller)
    if entry is None:
        reason = "withheld_caller" if caller.kind == "withheld" else "unknown_caller"
        return Classified("suspicious", reason)
    match = str(entry)
    if held.closed_at is not None and at > held.closed_at:
        return Classified("suspicious", "after_order_closed", match)
    if held.closed_at is None and at > held.seen_at + settings.active_window:
        return Classified("suspicious", "outside_active_window", match)
    return Classified("expected", "operational_caller_in_window", match)
