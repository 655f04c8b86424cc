"""Sealed copies during verification: each intent's encrypted bytes against its body record.

Copies are checked in small concurrent groups while the walk goes on. A copy whose period's
data key is gone is fine only if the log records that destruction with an ``erasure`` leaf;
that is known at the end of the walk, so shredded copies wait until then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from proxy.audit.verify_report import Failure, FailureClass
from proxy.audit.verify_source import SealedChecker, SealedResult

#: Copies opened concurrently; the store serialises reads anyway, this only hides latency.
GROUP = 64

_REASONS = {
    "missing": "expected the sealed copy the intent cites, got none stored",
    "tampered": "expected the sealed copy to decrypt, got one altered or moved",
    "mismatch": "expected the sealed copy to open the intent's body commitment, got other bytes",
}


@dataclass(frozen=True, slots=True)
class _Queued:
    index: int
    intent_id: str
    leaf: Mapping[str, object]


class SealedAudit:
    """Queues intents that cite a sealed copy and checks them with a :class:`SealedChecker`."""

    def __init__(self, checker: SealedChecker | None) -> None:
        self._checker = checker
        self._queue: list[_Queued] = []
        self._shredded: list[tuple[_Queued, str | None]] = []
        self.checked = 0

    def add(self, index: int, intent_id: str, leaf: Mapping[str, object]) -> None:
        """Queue an intent leaf if it cites a sealed copy (and a checker is set)."""
        body = leaf.get("body")
        if self._checker is not None and isinstance(body, dict) and body.get("sealed_id"):
            self._queue.append(_Queued(index, intent_id, leaf))

    @property
    def full(self) -> bool:
        """Say whether a group is ready to check."""
        return len(self._queue) >= GROUP

    async def flush(self) -> list[Failure]:
        """Check the queued copies; return the failures found (shredded ones wait)."""
        queued, self._queue = self._queue, []
        if self._checker is None or not queued:
            return []
        checker = self._checker
        results: list[SealedResult] = await asyncio.gather(*(checker.check(q.leaf) for q in queued))
        failures = []
        for q, result in zip(queued, results, strict=True):
            self.checked += 1
            if result.status == "shredded":
                self._shredded.append((q, result.period))
            elif result.status != "ok":
                reason = _REASONS.get(
                    result.status, f"expected a good sealed copy, got {result.status}"
                )
                failures.append(
                    Failure(FailureClass.LEAF, "sealed_copy", reason, q.index, None, q.intent_id)
                )
        return failures

    def finish(self, erased: set[str]) -> list[Failure]:
        """Failures for copies whose data key is gone with no ``erasure`` leaf saying so."""
        return [
            Failure(
                FailureClass.LEAF,
                "sealed_copy",
                "expected the data key of this copy's period, got none and no erasure leaf",
                q.index,
                None,
                q.intent_id,
            )
            for q, period in self._shredded
            if period not in erased
        ]

    @property
    def shredded(self) -> int:
        """Copies found unreadable because their period was shredded."""
        return len(self._shredded)
