"""``replace``: put the partner's contact (or a fixed value) where the customer's was.

``with: partner.phone | partner.email | partner.name`` substitutes the message's partner, so
the incumbent's technician calls a real, answered number (DOMAIN.md §5.2: wrong contacts get
orders suspended). ``value: …`` writes a fixed text. What is written is allowed in the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import Change, Env, ParamError, Phase, Reach, Syntax
from proxy.errors import PolicyError

#: The partner fields a rule may name, as written in YAML.
PARTNER_FIELDS = ("partner.phone", "partner.email", "partner.name")


#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("with", "value")


@dataclass(frozen=True, slots=True)
class Replace:
    """Substitute a partner field (``source``) or a fixed ``value``."""

    source: str | None
    value: str | None

    name: ClassVar[str] = "replace"
    reach: ClassVar[Reach] = Reach.SCALAR
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The substitute; the original is removed."""
        new = self.value if self.value is not None else self._partner_value(env)
        if new == value:
            # Already the substitute (a resent order): nothing of the customer's left here.
            return Change(None, False, True, new)  # (value, removed, record, allowed)
        return Change(new, True, False, new)  # positional: see keep

    def _partner_value(self, env: Env) -> str:
        partner = env.context.partner
        if partner is None:
            raise PolicyError(f"expected a partner for replace with {self.source}, got none")
        field = (self.source or "").removeprefix("partner.")
        found: str = getattr(partner, field)
        if not found:
            raise PolicyError(
                f"expected {self.source} to be set for the partner, got an empty value"
            )
        return found


def build(params: Mapping[str, Any], syntax: Syntax) -> Replace:
    """Exactly one of ``with`` (a partner field) and ``value`` (a fixed string)."""
    source, value = params.get("with"), params.get("value")
    if (source is None) == (value is None):
        raise ParamError(
            [("with", "expected exactly one of 'with' and 'value', got both or neither")]
        )
    if source is not None and source not in PARTNER_FIELDS:
        raise ParamError([("with", f"expected one of {', '.join(PARTNER_FIELDS)}, got {source!r}")])
    if value is not None and not isinstance(value, str):
        raise ParamError([("value", f"expected a string, got {type(value).__name__}")])
    return Replace(source, value)
