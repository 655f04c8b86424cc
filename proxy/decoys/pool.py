"""The decoy pools: which numbers and addresses are decoys, and candidates for a new order.

Candidates are drawn at random, not in sequence: a sequential pool would let whoever sees one
decoy guess its neighbours and count the operator's orders. Phone decoys come from the
configured DID ranges; e-mail decoys are ``o-<16 base32 characters>@<email_domain>``, 80 random
bits, so that pool never runs out. The store, not the pool, decides which candidate becomes
live (:meth:`proxy.storage.decoys.DecoyStore.assign`): the pool only proposes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection
from typing import Final

from proxy.decoys.callers import email_key, phone_e164
from proxy.decoys.settings import DecoySettings
from proxy.errors import VaultError

#: Beyond this share of a pool in use, sampling at random wastes draws: enumerate instead.
_SAMPLE_UNTIL: Final = 0.5
_ALIAS_PREFIX: Final = "o-"


class PoolExhausted(VaultError):
    """Every decoy of a kind is live or in quarantine: the message is refused, never reused."""

    status = 503
    code = "CIVETTA-DECOY-POOL"


class DecoyPool:
    """The configured pools of one process (phone ranges and the alias domain)."""

    def __init__(self, settings: DecoySettings) -> None:
        self._ranges = settings.phone_ranges
        self._domain = settings.email_domain
        self._random = secrets.SystemRandom()

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this pool can issue."""
        return frozenset(
            kind for kind, present in (("phone", self._ranges), ("email", self._domain)) if present
        )

    def size(self, kind: str) -> int | None:
        """How many phone decoys there are; None for e-mail (practically unbounded)."""
        if kind == "phone":
            return sum(r.size for r in self._ranges)
        return None

    def canonical(self, text: str) -> tuple[str, str] | None:
        """``(kind, decoy)`` for a contact in any spelling, when it is one of the pools' own."""
        if "@" in text:
            key = email_key(text)
            if key is None or self._domain is None:
                return None
            local, _, domain = key.partition("@")
            if domain != self._domain or not local.startswith(_ALIAS_PREFIX):
                return None
            return "email", key
        number = phone_e164(text)
        if number is None or not any(number in r for r in self._ranges):
            return None
        return "phone", number

    def _phone(self, index: int) -> str:
        for rng in self._ranges:
            if index < rng.size:
                return rng.number(index)
            index -= rng.size
        raise IndexError(f"expected an index below the pool's size, got {index}")

    def random(self, kind: str, count: int) -> list[str]:
        """Up to ``count`` distinct random decoys of ``kind`` (live or not: the store checks)."""
        self._check(kind)
        if kind == "email":
            return [self._alias() for _ in range(count)]
        total = self.size("phone") or 0
        picks = self._random.sample(range(total), min(count, total))
        return [self._phone(i) for i in picks]

    def free(self, kind: str, live: Collection[str], count: int) -> list[str]:
        """Up to ``count`` random decoys of ``kind`` not in ``live``; empty when none is left."""
        self._check(kind)
        if kind == "email":
            return [a for a in self.random(kind, count) if a not in live]
        total = self.size("phone") or 0
        in_pool = sum(1 for decoy in live if any(decoy in r for r in self._ranges))
        if in_pool >= total:
            return []
        if in_pool <= total * _SAMPLE_UNTIL:
            found: set[str] = set()
            for _ in range(count * 8):
                pick = self._phone(self._random.randrange(total))
                if pick not in live:
                    found.add(pick)
                    if len(found) == count:
                        break
            picked = list(found)
            self._random.shuffle(picked)
            return picked
        taken = set(live)
        rest = [n for i in range(total) if (n := self._phone(i)) not in taken]
        return self._random.sample(rest, min(count, len(rest)))

    def _alias(self) -> str:
        token = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
        return f"{_ALIAS_PREFIX}{token}@{self._domain}"

    def _check(self, kind: str) -> None:
        if kind not in self.kinds:
            raise PoolExhausted(f"expected a configured {kind} decoy pool, got none")
