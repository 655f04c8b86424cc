"""``mask``: keep the last N characters, hide the rest (``******4567``).

For values a human at the incumbent needs to recognise but not to use. Separators are masked
like any other character so that the length, not the layout, is all that survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import UNCHANGED, Change, Env, ParamError, Phase, Reach, Syntax

#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("keep_last", "mask_char")


@dataclass(frozen=True, slots=True)
class Mask:
    """Replace all but the last ``keep_last`` characters with ``mask_char``."""

    keep_last: int = 4
    mask_char: str = "*"

    name: ClassVar[str] = "mask"
    reach: ClassVar[Reach] = Reach.SCALAR
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The masked value; the original is removed."""
        hidden = max(len(value) - self.keep_last, 0)
        text = self.mask_char * hidden + value[hidden:]
        if text == value:
            return UNCHANGED
        return Change(text, True, False, text)  # (value, removed, record, allowed)


def build(params: Mapping[str, Any], syntax: Syntax) -> Mask:
    """``keep_last`` (default 4, >= 0) and ``mask_char`` (default ``*``, one character)."""
    keep, char = params.get("keep_last", 4), params.get("mask_char", "*")
    errors: list[tuple[str, str]] = []
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
        errors.append(("keep_last", f"expected a non-negative integer, got {keep!r}"))
    if not isinstance(char, str) or len(char) != 1:
        errors.append(("mask_char", "expected exactly one character"))
    if errors:
        raise ParamError(errors)
    return Mask(keep, char)
