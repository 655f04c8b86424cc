"""``scrub``: remove personal data from free text, keep the rest of the sentence.

Detection is not done here: the :class:`~proxy.actions.base.Scrubber` in the context (the
detectors of :mod:`proxy.detect`) finds phones, e-mails, codici fiscali and the message's known
values. The engine runs scrub rules after every structured rule, so ``known`` holds every value
the policy removed from a structured field of the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import Change, Env, Phase, Reach, Syntax
from proxy.errors import PolicyError

#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scrub:
    """Delegate each string under the node to the context's scrubber."""

    name: ClassVar[str] = "scrub"
    reach: ClassVar[Reach] = Reach.LEAVES
    phase: ClassVar[Phase] = Phase.FREE_TEXT

    def apply(self, value: str, env: Env) -> Change:
        """The scrubbed text when anything was found; otherwise no change and no decision."""
        scrubber = env.context.scrubber
        if scrubber is None:
            raise PolicyError("expected a scrubber in the context for scrub, got none")
        text, hits = scrubber.scrub(value, env.known, env.allowed)
        if hits == 0 and text == value:
            return Change()
        return Change(value=text, removed=True)


def build(params: Mapping[str, Any], syntax: Syntax) -> Scrub:
    """``scrub`` takes no parameters."""
    return Scrub()
