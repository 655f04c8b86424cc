"""The decoy tables in memory (tests): the same contract as SQL, one lock instead of indexes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from proxy.storage.base import StoreError
from proxy.storage.decoys import (
    SEEN_GRANULARITY,
    Candidate,
    ContactRecord,
    DecoyAssignment,
)


class MemoryDecoys:
    """Lists and dictionaries behind :class:`~proxy.storage.decoys.DecoyStore`."""

    def __init__(self, ping: Callable[[], Awaitable[None]]) -> None:
        self._ping = ping
        self._lock = asyncio.Lock()
        self._rows: list[DecoyAssignment] = []
        self._contacts: dict[str, ContactRecord] = {}
        self._fingerprints: dict[bytes, set[bytes]] = {}

    def _live(self) -> list[tuple[int, DecoyAssignment]]:
        return [(i, row) for i, row in enumerate(self._rows) if row.released_at is None]

    async def assign(
        self,
        kind: str,
        order_key: bytes,
        partner_id: str,
        candidates: Sequence[Candidate],
        at: datetime,
    ) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        async with self._lock:
            for i, row in self._live():
                if row.order_key == order_key and row.kind == kind:
                    updated = _touched(row, partner_id, at)
                    self._rows[i] = updated
                    return updated
            taken = {row.decoy for _, row in self._live()}
            for candidate in candidates:
                if candidate.decoy in taken:
                    continue
                row = DecoyAssignment(
                    len(self._rows) + 1,
                    candidate.decoy_id,
                    candidate.decoy,
                    kind,
                    order_key,
                    partner_id,
                    at,
                    at,
                )
                self._rows.append(row)
                return row
            return None

    async def for_order(self, order_key: bytes, kind: str) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        found = (r for _, r in self._live() if r.order_key == order_key and r.kind == kind)
        return next(found, None)

    async def history(self, decoy: str) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        return [r for r in reversed(self._rows) if r.decoy == decoy]

    async def assignments_for(self, order_key: bytes) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        return [r for r in self._rows if r.order_key == order_key]

    async def mark_announced(self, seq: int, leaf_index: int) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        self._rows[seq - 1] = dataclasses.replace(self._rows[seq - 1], alias_index=leaf_index)

    async def close_order(self, order_key: bytes, at: datetime) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        count = 0
        for i, row in self._live():
            if row.order_key == order_key and row.closed_at is None:
                self._rows[i] = dataclasses.replace(row, closed_at=at)
                count += 1
        return count

    async def release_expired(self, now: datetime, quarantine: timedelta) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        count = 0
        for i, row in self._live():
            if row.closed_at is not None and row.closed_at <= now - quarantine:
                self._rows[i] = dataclasses.replace(row, released_at=now)
                count += 1
        return count

    async def live(self, kind: str | None = None) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        rows = [r for _, r in self._live() if kind is None or r.kind == kind]
        return sorted(rows, key=lambda r: r.decoy)

    async def put_contact(self, record: ContactRecord) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        if record.id in self._contacts:
            raise StoreError("expected a new contact id, got one already stored")
        self._contacts[record.id] = record

    async def contacts(
        self, decoy: str | None = None, order_key: bytes | None = None
    ) -> list[ContactRecord]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        rows = [
            c
            for c in self._contacts.values()
            if (decoy is None or c.decoy == decoy)
            and (order_key is None or c.order_key == order_key)
        ]
        return sorted(rows, key=lambda c: (c.at, c.id))

    async def put_fingerprints(self, order_key: bytes, fingerprints: Sequence[bytes]) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        if fingerprints:
            self._fingerprints.setdefault(order_key, set()).update(fingerprints)

    async def fingerprints(self, order_key: bytes) -> frozenset[bytes]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._ping()
        return frozenset(self._fingerprints.get(order_key, ()))


def _touched(row: DecoyAssignment, partner_id: str, at: datetime) -> DecoyAssignment:
    """The live row after another message of its order (see ``DecoyStore.assign``)."""
    if row.partner_id != partner_id:
        row = dataclasses.replace(row, partner_id=partner_id, alias_index=None)
    if row.closed_at is not None:
        row = dataclasses.replace(row, closed_at=None, seen_at=max(row.seen_at, at))
    if at - row.seen_at >= SEEN_GRANULARITY:
        row = dataclasses.replace(row, seen_at=at)
    return row
