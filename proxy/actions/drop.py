"""``drop``: remove the selected node (JSON member or element, XML element or attribute).

On XML the element goes even when the schema requires it: a rule that drops a mandatory
element is the policy author's choice; use ``replace``, ``tokenise`` or ``mask`` to stay valid.
The engine's document adapters carry out the removal; this object only names the action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import Change, Env, Phase, Reach, Syntax, no_value

#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Drop:
    """Remove the node; its original is committed to and becomes a known value."""

    name: ClassVar[str] = "drop"
    reach: ClassVar[Reach] = Reach.NODE
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """Never called: the engine removes nodes itself."""
        raise no_value(self.name)


def build(params: Mapping[str, Any], syntax: Syntax) -> Drop:
    """``drop`` takes no parameters."""
    return Drop()
