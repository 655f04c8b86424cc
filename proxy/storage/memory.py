"""An in-memory :class:`~proxy.storage.base.Store` for tests: same contract, no durability."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from proxy.audit.batch import (
    Batch,
    BatchResult,
    Head,
    Leaf,
    PendingIntent,
    SealedCopy,
    StoredCheckpoint,
    plan_batch,
)
from proxy.audit.merkle import NodeId
from proxy.storage.base import StoreError, Subscription, batch_failures, unique_tokens
from proxy.storage.memory_decoys import MemoryDecoys


class MemoryStore:
    """Dictionaries behind the Store protocol."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._subs: dict[str, Subscription] = {}
        self._open = False
        self._head = Head.empty()
        # Leaves and sealed copies are kept as plain tuples (of bytes and ints): the collector
        # stops tracking those after one look, where a slotted object is scanned by every full
        # collection for as long as the store lives (a bench runs millions of them).
        self._leaves: list[tuple[int, bytes, bytes]] = []
        self._nodes: dict[NodeId, bytes] = {}
        self._checkpoints: dict[int, bytes] = {}
        self._pending: dict[str, PendingIntent] = {}
        self._sealed: dict[str, tuple[str, str, bytes, bytes]] = {}
        self._data_keys: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._tokens: dict[bytes, dict[str, bytes]] = {}
        self.decoys = MemoryDecoys(self.ping)

    async def open(self) -> None:
        """Nothing to connect to."""
        self._open = True

    async def close(self) -> None:
        """Nothing to release."""
        self._open = False

    async def ping(self) -> None:
        """Fail when closed, like a real store."""
        if not self._open:
            raise StoreError("expected an open store, got a closed one")

    async def get_meta(self, key: str) -> str | None:
        """See :class:`~proxy.storage.base.Store`."""
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        self._meta[key] = value

    async def put_subscription(self, sub: Subscription) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        self._subs[sub.id] = sub

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        """See :class:`~proxy.storage.base.Store`."""
        return self._subs.get(sub_id)

    async def set_subscription_upstream_id(self, sub_id: str, upstream_id: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        if sub_id in self._subs:
            self._subs[sub_id] = dataclasses.replace(self._subs[sub_id], upstream_id=upstream_id)

    async def delete_subscription(self, sub_id: str) -> bool:
        """See :class:`~proxy.storage.base.Store`."""
        return self._subs.pop(sub_id, None) is not None

    async def append_batch(self, batch: Batch) -> BatchResult:
        """Plan first, then apply with no await in between: all of the batch or none of it."""
        await self.ping()
        async with self._lock:
            with batch_failures():
                plan = plan_batch(self._head, batch)
            self._leaves.extend([(leaf.index, leaf.data, leaf.hash) for leaf in plan.leaves])
            for level, index, h in plan.nodes:
                self._nodes[(level, index)] = h
            self._checkpoints[plan.result.size] = plan.result.checkpoint
            for pending in plan.opened:
                self._pending[pending.intent_id] = pending
            for intent_id in plan.closed:
                self._pending.pop(intent_id, None)
            for copy in plan.sealed:
                self._sealed[copy.sealed_id] = (
                    copy.sealed_id,
                    copy.period,
                    copy.nonce,
                    copy.ciphertext,
                )
            for period in batch.erase_periods:
                self._data_keys.pop(period, None)
            self._head = plan.head
            return plan.result

    async def head(self) -> Head:
        """See :class:`~proxy.storage.base.Store`."""
        return self._head

    async def leaves(self, start: int, end: int) -> list[Leaf]:
        """See :class:`~proxy.storage.base.Store`."""
        return [Leaf(*row) for row in self._leaves[max(start, 0) : max(end, 0)]]

    async def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        found: dict[NodeId, bytes] = {}
        for level, index in ids:
            if level == 0 and 0 <= index < len(self._leaves):
                found[(0, index)] = self._leaves[index][2]
            elif (level, index) in self._nodes:
                found[(level, index)] = self._nodes[(level, index)]
        return found

    async def checkpoints(
        self, after_size: int | None = None, limit: int | None = None
    ) -> list[StoredCheckpoint]:
        """See :class:`~proxy.storage.base.Store`."""
        floor = -1 if after_size is None else after_size
        sizes = sorted(s for s in self._checkpoints if s > floor)[:limit]
        return [StoredCheckpoint(s, self._checkpoints[s]) for s in sizes]

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """See :class:`~proxy.storage.base.Store`."""
        if not self._checkpoints:
            return None
        size = max(self._checkpoints)
        return StoredCheckpoint(size, self._checkpoints[size])

    async def pending_intents(self, replica: str | None = None) -> list[PendingIntent]:
        """See :class:`~proxy.storage.base.Store`."""
        rows = (p for p in self._pending.values() if replica is None or p.replica == replica)
        return sorted(rows, key=lambda p: p.index)

    async def sealed(self, sealed_id: str) -> SealedCopy | None:
        """See :class:`~proxy.storage.base.Store`."""
        row = self._sealed.get(sealed_id)
        return None if row is None else SealedCopy(*row)

    async def data_key(self, period: str) -> bytes | None:
        """See :class:`~proxy.storage.base.Store`."""
        return self._data_keys.get(period)

    async def put_data_key(self, period: str, wrapped: bytes) -> bytes:
        """See :class:`~proxy.storage.base.Store`."""
        return self._data_keys.setdefault(period, wrapped)

    async def data_key_periods(self) -> list[str]:
        """See :class:`~proxy.storage.base.Store`."""
        return sorted(self._data_keys)

    async def put_tokens(self, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        await self.ping()
        if not items:
            return
        stored = self._tokens.setdefault(order_key, {})
        for token, ciphertext in items:
            stored.setdefault(token, ciphertext)

    async def tokens_for(self, order_key: bytes) -> dict[str, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        await self.ping()
        return dict(self._tokens.get(order_key, {}))

    async def lookup_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """See :class:`~proxy.storage.base.Store`."""
        await self.ping()
        wanted = set(tokens)
        return unique_tokens(
            (token, order_key, ciphertext)
            for order_key, stored in self._tokens.items()
            for token, ciphertext in stored.items()
            if token in wanted
        )

    async def erase_tokens(self, order_key: bytes) -> int:
        """See :class:`~proxy.storage.base.Store`."""
        await self.ping()
        return len(self._tokens.pop(order_key, {}))
