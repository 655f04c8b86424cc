"""``keep``: an operational value that must reach the incumbent as it is.

The codice migrazione, the number to port, the faulty line's directory number, the OLO's own
NOC contact: they look personal, so the egress guard and the scrubber must be told they are
allowed. Every string under the selected node is kept and recorded as allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import UNCHANGED, Change, Env, Phase, Reach, Syntax

#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Keep:
    """Leave the value unchanged and allow it in the output."""

    name: ClassVar[str] = "keep"
    reach: ClassVar[Reach] = Reach.LEAVES
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """Record ``value`` as allowed; an empty value needs no allowance."""
        if not value.strip():
            return UNCHANGED
        # Positional (value, removed, record, allowed): one per kept leaf, and keywords cost
        # a named tuple twice as much.
        return Change(None, False, True, value)


def build(params: Mapping[str, Any], syntax: Syntax) -> Keep:
    """``keep`` takes no parameters."""
    return Keep()
