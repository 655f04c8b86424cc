"""The audit log's SQL for PostgreSQL (asyncpg): one function per operation.

Arrays go in through ``unnest``, so that a batch of any size costs the same few round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

_HEAD = "SELECT size, root, frontier FROM audit_head WHERE id = 1"
_HEAD_FOR_UPDATE = _HEAD + " FOR UPDATE"


async def append_batch(conn: Any, batch: Batch) -> BatchResult:
    """The whole batch in one transaction that holds the head row's lock until COMMIT."""
    async with conn.transaction():
        plan = plan_batch(await read_head(conn, lock=True), batch)
        await conn.execute(
            "INSERT INTO audit_leaf (idx, data, hash) "
            "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
            [leaf.index for leaf in plan.leaves],
            [leaf.data for leaf in plan.leaves],
            [leaf.hash for leaf in plan.leaves],
        )
        if plan.nodes:
            await conn.execute(
                "INSERT INTO audit_node (level, idx, hash) "
                "SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])",
                *(list(column) for column in zip(*plan.nodes, strict=True)),
            )
        await conn.execute(
            "INSERT INTO audit_checkpoint (size, note) VALUES ($1, $2)",
            plan.result.size,
            plan.result.checkpoint,
        )
        if plan.opened:
            await conn.execute(
                "INSERT INTO audit_pending (intent_id, replica, idx) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
                [p.intent_id for p in plan.opened],
                [p.replica for p in plan.opened],
                [p.index for p in plan.opened],
            )
        if plan.closed:
            await conn.execute(
                "DELETE FROM audit_pending WHERE intent_id = ANY($1::text[])", list(plan.closed)
            )
        if plan.sealed:
            await conn.execute(
                "INSERT INTO audit_sealed (id, period, nonce, ciphertext) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[])",
                [c.sealed_id for c in plan.sealed],
                [c.period for c in plan.sealed],
                [c.nonce for c in plan.sealed],
                [c.ciphertext for c in plan.sealed],
            )
        if batch.erase_periods:
            await conn.execute(
                "DELETE FROM audit_data_key WHERE period = ANY($1::text[])",
                list(batch.erase_periods),
            )
        await conn.execute(
            "UPDATE audit_head SET size = $1, root = $2, frontier = $3 WHERE id = 1",
            plan.head.size,
            plan.head.root,
            plan.head.frontier_blob(),
        )
    return plan.result


async def read_head(conn: Any, *, lock: bool) -> Head:
    """The head row; ``lock`` takes its row lock (inside a transaction) until COMMIT."""
    row = await conn.fetchrow(_HEAD_FOR_UPDATE if lock else _HEAD)
    if row is None:
        raise ValueError("expected the audit_head row, got none")
    return Head.from_row(int(row[0]), bytes(row[1]), bytes(row[2]))


async def read_leaves(conn: Any, start: int, end: int) -> list[Leaf]:
    """Leaves in [start, end), by index."""
    rows = await conn.fetch(
        "SELECT idx, data, hash FROM audit_leaf WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        start,
        end,
    )
    return [Leaf(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


async def read_nodes(conn: Any, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Node hashes by id in one query; level 0 comes from the leaf rows."""
    unique = list(dict.fromkeys(ids))
    inner = [(level, i) for level, i in unique if level > 0]
    rows = await conn.fetch(
        "SELECT n.level, n.idx, n.hash FROM audit_node n "
        "JOIN unnest($1::integer[], $2::bigint[]) AS q (level, idx) "
        "ON n.level = q.level AND n.idx = q.idx "
        "UNION ALL SELECT 0, idx, hash FROM audit_leaf WHERE idx = ANY($3::bigint[])",
        [level for level, _ in inner],
        [i for _, i in inner],
        [i for level, i in unique if level == 0],
    )
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


async def read_checkpoints(
    conn: Any, after_size: int | None, limit: int | None
) -> list[StoredCheckpoint]:
    """Checkpoints with size > after_size, smallest first (LIMIT NULL means no limit)."""
    rows = await conn.fetch(
        "SELECT size, note FROM audit_checkpoint WHERE size > $1 ORDER BY size LIMIT $2",
        -1 if after_size is None else after_size,
        limit,
    )
    return [StoredCheckpoint(int(r[0]), bytes(r[1])) for r in rows]


async def read_latest_checkpoint(conn: Any) -> StoredCheckpoint | None:
    """The checkpoint of the largest tree."""
    row = await conn.fetchrow("SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1")
    return None if row is None else StoredCheckpoint(int(row[0]), bytes(row[1]))


async def read_pending(conn: Any, replica: str | None) -> list[PendingIntent]:
    """Pending intents, of one replica or all, by index."""
    rows = await conn.fetch(
        "SELECT intent_id, replica, idx FROM audit_pending "
        "WHERE $1::text IS NULL OR replica = $1 ORDER BY idx",
        replica,
    )
    return [PendingIntent(str(r[0]), str(r[1]), int(r[2])) for r in rows]


async def read_sealed(conn: Any, sealed_id: str) -> SealedCopy | None:
    """One sealed copy."""
    row = await conn.fetchrow(
        "SELECT id, period, nonce, ciphertext FROM audit_sealed WHERE id = $1", sealed_id
    )
    return None if row is None else SealedCopy(row[0], row[1], bytes(row[2]), bytes(row[3]))


async def put_data_key(conn: Any, period: str, wrapped: bytes) -> bytes:
    """Insert unless present, then read back whichever replica's key won."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO audit_data_key (period, wrapped) VALUES ($1, $2) "
            "ON CONFLICT (period) DO NOTHING",
            period,
            wrapped,
        )
        value = await conn.fetchval("SELECT wrapped FROM audit_data_key WHERE period = $1", period)
    return bytes(value)
