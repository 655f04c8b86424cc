"""The embedded default store: SQLite in WAL mode with ``synchronous=FULL``.

Three connections, each on its own thread: a writer, through which every write goes as one
committed ``BEGIN IMMEDIATE`` transaction (a whole audit batch is one call); a reader, so that
the verifier, proofs and readiness checks never queue behind an fsync; and a checkpointer that
copies the WAL back into the database in the background (PASSIVE), so that this copy and its
fsync are not paid inside a batch's commit, as SQLite's automatic checkpoint would. Schema
changes are the numbered migrations in :data:`MIGRATIONS`, recorded in ``meta``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from proxy.audit.batch import (
    Batch,
    BatchResult,
    Head,
    Leaf,
    PendingIntent,
    SealedCopy,
    StoredCheckpoint,
)
from proxy.audit.merkle import NodeId
from proxy.storage import sqlite_audit as sql
from proxy.storage import sqlite_tokens
from proxy.storage.base import Subscription, batch_failures
from proxy.storage.sqlite_decoys import SqliteDecoys
from proxy.storage.sqlite_schema import MIGRATIONS, migrate
from proxy.storage.sqlite_worker import Worker

__all__ = ["MIGRATIONS", "SqliteStore"]


def _write(conn: sqlite3.Connection, statement: str, params: tuple[object, ...]) -> int:
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(statement, params)
    conn.execute("COMMIT")
    return cur.rowcount


def _no_autocheckpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_autocheckpoint=0")


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _one(
    conn: sqlite3.Connection, statement: str, params: tuple[object, ...]
) -> tuple[object, ...] | None:
    row: tuple[object, ...] | None = conn.execute(statement, params).fetchone()
    return row


class SqliteStore:
    """SQLite behind the Store protocol."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._writer = Worker(self.path, "writer")
        self._reader = Worker(self.path, "reader")
        self._checkpointer = Worker(self.path, "checkpointer")
        self._checkpointing: asyncio.Future[None] | None = None
        self._last_checkpoint = 0.0
        self.decoys = SqliteDecoys(self._writer, self._reader)

    async def open(self) -> None:
        """Create the directory (0700), connect both threads, set pragmas, migrate."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        await self._writer.start()
        try:
            await self._writer.call(migrate)
            await self._writer.call(_no_autocheckpoint)
            os.chmod(self.path, 0o600)
            await self._reader.start()
            await self._checkpointer.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Finish a running checkpoint, close every connection (SQLite checkpoints on close)."""
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
            self._checkpointing = None
        await self._checkpointer.close()
        await self._reader.close()
        await self._writer.close()

    def _maybe_checkpoint(self) -> None:
        """Start a background checkpoint unless one runs or one ran in the last 100 ms."""
        now = time.monotonic()
        running = self._checkpointing is not None and not self._checkpointing.done()
        if running or now - self._last_checkpoint < 0.1:
            return
        self._last_checkpoint = now
        self._checkpointing = asyncio.ensure_future(self._checkpointer.call(_checkpoint))
        # A failed checkpoint loses nothing (the WAL keeps every frame); the next one retries.
        self._checkpointing.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def ping(self) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        await self._reader.call(_one, "SELECT 1", ())

    async def get_meta(self, key: str) -> str | None:
        """See :class:`~proxy.storage.base.Store`."""
        row = await self._reader.call(_one, "SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        await self._writer.call(
            _write,
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    async def put_subscription(self, sub: Subscription) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        await self._writer.call(
            _write,
            "INSERT OR REPLACE INTO subscription(id, route, callback, created, upstream_id) "
            "VALUES(?, ?, ?, ?, ?)",
            (sub.id, sub.route, sub.callback, sub.created, sub.upstream_id),
        )

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        """See :class:`~proxy.storage.base.Store`."""
        row = await self._reader.call(
            _one,
            "SELECT id, route, callback, created, upstream_id FROM subscription WHERE id = ?",
            (sub_id,),
        )
        if row is None:
            return None
        upstream = None if row[4] is None else str(row[4])
        return Subscription(str(row[0]), str(row[1]), str(row[2]), float(str(row[3])), upstream)

    async def set_subscription_upstream_id(self, sub_id: str, upstream_id: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        await self._writer.call(
            _write, "UPDATE subscription SET upstream_id = ? WHERE id = ?", (upstream_id, sub_id)
        )

    async def delete_subscription(self, sub_id: str) -> bool:
        """See :class:`~proxy.storage.base.Store`."""
        return (
            await self._writer.call(_write, "DELETE FROM subscription WHERE id = ?", (sub_id,)) > 0
        )

    async def append_batch(self, batch: Batch) -> BatchResult:
        """See :class:`~proxy.storage.base.Store`."""
        with batch_failures():
            result = await self._writer.call(sql.append_batch, batch)
        self._maybe_checkpoint()
        return result

    async def head(self) -> Head:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_head)

    async def leaves(self, start: int, end: int) -> list[Leaf]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_leaves, start, end)

    async def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_nodes, ids)

    async def checkpoints(
        self, after_size: int | None = None, limit: int | None = None
    ) -> list[StoredCheckpoint]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_checkpoints, after_size, limit)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_latest_checkpoint)

    async def pending_intents(self, replica: str | None = None) -> list[PendingIntent]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_pending, replica)

    async def sealed(self, sealed_id: str) -> SealedCopy | None:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_sealed, sealed_id)

    async def data_key(self, period: str) -> bytes | None:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_data_key, period)

    async def put_data_key(self, period: str, wrapped: bytes) -> bytes:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._writer.call(sql.put_data_key, period, wrapped)

    async def data_key_periods(self) -> list[str]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sql.read_data_key_periods)

    async def put_tokens(self, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        if items:
            await self._writer.call(sqlite_tokens.put_tokens, order_key, items)

    async def tokens_for(self, order_key: bytes) -> dict[str, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._reader.call(sqlite_tokens.read_tokens_for, order_key)

    async def lookup_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """See :class:`~proxy.storage.base.Store`."""
        if not tokens:
            return {}
        return await self._reader.call(sqlite_tokens.lookup_tokens, tokens)

    async def erase_tokens(self, order_key: bytes) -> int:
        """See :class:`~proxy.storage.base.Store`."""
        return await self._writer.call(sqlite_tokens.erase_tokens, order_key)
