"""``restore``: the way back; tokens in responses and notifications become the originals again.

The context's ``restore`` mapping (token -> original, loaded from the vault for the message's
order) drives it. A value that is exactly a token is restored; so is a token quoted inside a
longer text (the incumbent echoing a ticket's contact in a note). Tokens shorter than
:data:`MIN_EMBEDDED` are only restored as whole values, never inside text, where a short digit
string could be a coincidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import UNCHANGED, Change, Env, Phase, Reach, Syntax
from proxy.actions.tokenise import token_id

MIN_EMBEDDED = 8


#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Restore:
    """Replace tokens by their originals."""

    name: ClassVar[str] = "restore"
    reach: ClassVar[Reach] = Reach.LEAVES
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The restored text, or no change when it holds no token."""
        mapping = env.context.restore
        if not mapping:
            return UNCHANGED
        original = mapping.get(value)
        if original is not None:
            return Change(value=original, record=True, token_id=self._id(env, original))
        text = value
        first: str | None = None
        for token, orig in mapping.items():
            if len(token) >= MIN_EMBEDDED and token in text:
                text = text.replace(token, orig)
                first = first or orig
        if first is None:
            return UNCHANGED
        return Change(value=text, record=True, token_id=self._id(env, first))

    @staticmethod
    def _id(env: Env, original: str) -> str | None:
        ref = env.context.order_ref
        return token_id(env.context.keys.token, ref, original) if ref else None


def build(params: Mapping[str, Any], syntax: Syntax) -> Restore:
    """``restore`` takes no parameters."""
    return Restore()
