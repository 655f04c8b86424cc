"""PostgreSQL behind the Store protocol (asyncpg): several proxy replicas share one log.

The log is sequenced by ONE head row: a batch locks it with ``SELECT … FOR UPDATE``, so batches
from every replica queue on that lock and each extends the head the previous one committed.
There is never a second head and never a second primary. ``?schema=NAME`` in the URL keeps the
tables in their own schema (created if missing), which is how parallel test runs stay apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

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
from proxy.storage import postgres_audit as sql
from proxy.storage import postgres_tokens
from proxy.storage.base import StoreError, Subscription, batch_failures
from proxy.storage.postgres_decoys import PostgresDecoys
from proxy.storage.postgres_schema import migrate

#: What asyncpg and the network raise when the server cannot do what was asked.
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


def split_url(url: str) -> tuple[str, str | None]:
    """Split ``?schema=NAME`` off a PostgreSQL URL; asyncpg would take it for a server setting."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    if schema is not None and not (schema.isidentifier() and schema.isascii()):
        raise StoreError("expected a schema name of letters, digits and underscores, got another")
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore:
    """An asyncpg pool behind the Store protocol."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self._dsn, self._schema = split_url(url)
        self._pool_size = pool_size
        self._pool: Any = None
        self.decoys = PostgresDecoys(self._conn)

    async def open(self) -> None:
        """Create the schema if named, migrate, then open the pool."""
        try:
            conn = await asyncpg.connect(self._dsn)
            try:
                await migrate(conn, self._schema)
            finally:
                await conn.close()
            settings = {} if self._schema is None else {"search_path": f'"{self._schema}"'}
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._pool_size, server_settings=settings
            )
        except _FAILURES as exc:
            raise StoreError(
                f"expected a usable PostgreSQL database, got {type(exc).__name__}"
            ) from exc

    async def close(self) -> None:
        """Close the pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise StoreError("expected an open PostgreSQL store, got a closed one")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _FAILURES as exc:
            raise StoreError(
                f"expected a committed PostgreSQL call, got {type(exc).__name__}"
            ) from exc

    async def ping(self) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            await conn.fetchval("SELECT 1")

    async def get_meta(self, key: str) -> str | None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            value = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
                value,
            )

    async def put_subscription(self, sub: Subscription) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO subscription (id, route, callback, created, upstream_id) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
                "route = excluded.route, callback = excluded.callback, created = excluded.created, "
                "upstream_id = excluded.upstream_id",
                sub.id,
                sub.route,
                sub.callback,
                sub.created,
                sub.upstream_id,
            )

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT id, route, callback, created, upstream_id FROM subscription WHERE id = $1",
                sub_id,
            )
        return None if row is None else Subscription(*row)

    async def set_subscription_upstream_id(self, sub_id: str, upstream_id: str) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            await conn.execute(
                "UPDATE subscription SET upstream_id = $1 WHERE id = $2", upstream_id, sub_id
            )

    async def delete_subscription(self, sub_id: str) -> bool:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            status = await conn.execute("DELETE FROM subscription WHERE id = $1", sub_id)
        return bool(status != "DELETE 0")

    async def append_batch(self, batch: Batch) -> BatchResult:
        """See :class:`~proxy.storage.base.Store`."""
        with batch_failures():
            async with self._conn() as conn:
                return await sql.append_batch(conn, batch)

    async def head(self) -> Head:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_head(conn, lock=False)

    async def leaves(self, start: int, end: int) -> list[Leaf]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_leaves(conn, start, end)

    async def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_nodes(conn, ids)

    async def checkpoints(
        self, after_size: int | None = None, limit: int | None = None
    ) -> list[StoredCheckpoint]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_checkpoints(conn, after_size, limit)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_latest_checkpoint(conn)

    async def pending_intents(self, replica: str | None = None) -> list[PendingIntent]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_pending(conn, replica)

    async def sealed(self, sealed_id: str) -> SealedCopy | None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.read_sealed(conn, sealed_id)

    async def data_key(self, period: str) -> bytes | None:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            value = await conn.fetchval(
                "SELECT wrapped FROM audit_data_key WHERE period = $1", period
            )
        return None if value is None else bytes(value)

    async def put_data_key(self, period: str, wrapped: bytes) -> bytes:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await sql.put_data_key(conn, period, wrapped)

    async def data_key_periods(self) -> list[str]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            rows = await conn.fetch("SELECT period FROM audit_data_key ORDER BY period")
        return [str(r[0]) for r in rows]

    async def put_tokens(self, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
        """See :class:`~proxy.storage.base.Store`."""
        if items:
            async with self._conn() as conn:
                await postgres_tokens.put_tokens(conn, order_key, items)

    async def tokens_for(self, order_key: bytes) -> dict[str, bytes]:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await postgres_tokens.read_tokens_for(conn, order_key)

    async def lookup_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """See :class:`~proxy.storage.base.Store`."""
        if not tokens:
            return {}
        async with self._conn() as conn:
            return await postgres_tokens.lookup_tokens(conn, tokens)

    async def erase_tokens(self, order_key: bytes) -> int:
        """See :class:`~proxy.storage.base.Store`."""
        async with self._conn() as conn:
            return await postgres_tokens.erase_tokens(conn, order_key)
