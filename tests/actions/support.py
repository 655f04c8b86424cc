"""Builders shared by the action, policy and engine tests: keys, a partner, a fake scrubber."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from proxy.actions.base import Context, Env, Keys, Partner, Scrubber
from proxy.actions.registry import build_action
from proxy.policy.model import Rule
from proxy.policy.selectors import compile_selector, syntax_of

KEYS = Keys(commit=b"c" * 32, token=b"t" * 32, hash=b"h" * 32)
PARTNER = Partner(
    "P-001", "Installatori Riuniti", "+390212345678", "ordini@installatori.example.it"
)
ORDER = "OLO-ORD-2025-004711"
REDACTED = "[omissis]"
# Digit runs with separators, or e-mail addresses: enough for tests, not a detector.
_FINDINGS = re.compile(r"\+?\d[\d .\-/()]{5,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class FakeScrubber:
    """Replaces phone-like digit runs, e-mails and known values; records every call."""

    calls: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    def scrub(self, text: str, known: Sequence[str], allowed: Sequence[str]) -> tuple[str, int]:
        """The text with findings replaced by :data:`REDACTED`, and their number."""
        self.calls.append((text, tuple(known), tuple(allowed)))
        hits = 0
        for value in known:
            if value not in allowed and value in text:
                hits += text.count(value)
                text = text.replace(value, REDACTED)

        def replace(match: re.Match[str]) -> str:
            nonlocal hits
            if match.group() in allowed:
                return match.group()
            hits += 1
            return REDACTED

        return _FINDINGS.sub(replace, text), hits


def context(
    *,
    partner: Partner | None = PARTNER,
    order_ref: str | None = ORDER,
    scrubber: Scrubber | None = None,
    restore: Mapping[str, str] | None = None,
) -> Context:
    """A context with the test keys and, by default, the test partner and order."""
    return Context(KEYS, partner, order_ref, scrubber or FakeScrubber(), restore or {})


def env(known: Sequence[str] = (), allowed: Sequence[str] = (), **kwargs: Any) -> Env:
    """An action environment over :func:`context`."""
    return Env(context(**kwargs), tuple(known), tuple(allowed))


def rule(
    select: str, action: str, params: Mapping[str, Any] | None = None, rule_id: str = "r1"
) -> Rule:
    """A compiled rule, as the loader would build it."""
    syntax = syntax_of(select)
    assert syntax is not None
    handler = build_action(action, dict(params or {}), syntax)
    return Rule(
        rule_id, compile_selector(select), action, dict(params or {}), "test.yaml", 1, handler
    )
