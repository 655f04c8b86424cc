"""The audit log's SQL for SQLite: plain functions of a connection, run on a worker thread."""

from __future__ import annotations

import sqlite3
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

# Far below SQLite's limit of 32766 bound parameters per statement.
_CHUNK = 400


def append_batch(conn: sqlite3.Connection, batch: Batch) -> BatchResult:
    """The whole batch in one ``BEGIN IMMEDIATE`` transaction (the worker rolls back on error)."""
    # IMMEDIATE takes the write lock before the head is read: a second process on the same
    # file waits here instead of extending a head that is about to change.
    conn.execute("BEGIN IMMEDIATE")
    plan = plan_batch(read_head(conn), batch)
    conn.executemany(
        "INSERT INTO audit_leaf (idx, data, hash) VALUES (?, ?, ?)",
        [(leaf.index, leaf.data, leaf.hash) for leaf in plan.leaves],
    )
    conn.executemany("INSERT INTO audit_node (level, idx, hash) VALUES (?, ?, ?)", plan.nodes)
    conn.execute(
        "INSERT INTO audit_checkpoint (size, note) VALUES (?, ?)",
        (plan.result.size, plan.result.checkpoint),
    )
    conn.executemany(
        "INSERT INTO audit_pending (intent_id, replica, idx) VALUES (?, ?, ?)",
        [(p.intent_id, p.replica, p.index) for p in plan.opened],
    )
    conn.executemany("DELETE FROM audit_pending WHERE intent_id = ?", [(i,) for i in plan.closed])
    conn.executemany(
        "INSERT INTO audit_sealed (id, period, nonce, ciphertext) VALUES (?, ?, ?, ?)",
        [(c.sealed_id, c.period, c.nonce, c.ciphertext) for c in plan.sealed],
    )
    conn.executemany(
        "DELETE FROM audit_data_key WHERE period = ?", [(p,) for p in batch.erase_periods]
    )
    conn.execute(
        "UPDATE audit_head SET size = ?, root = ?, frontier = ? WHERE id = 1",
        (plan.head.size, plan.head.root, plan.head.frontier_blob()),
    )
    conn.execute("COMMIT")
    if batch.erase_periods:
        # secure_delete zeroed the key rows in the new pages; truncating the WAL drops the
        # older frames that may still hold them.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return plan.result


def read_head(conn: sqlite3.Connection) -> Head:
    """The head row."""
    row = conn.execute("SELECT size, root, frontier FROM audit_head WHERE id = 1").fetchone()
    if row is None:
        raise sqlite3.DatabaseError("audit_head row missing")
    return Head.from_row(int(row[0]), bytes(row[1]), bytes(row[2]))


def read_leaves(conn: sqlite3.Connection, start: int, end: int) -> list[Leaf]:
    """Leaves in [start, end), by index."""
    rows = conn.execute(
        "SELECT idx, data, hash FROM audit_leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
        (start, end),
    ).fetchall()
    return [Leaf(int(i), bytes(d), bytes(h)) for i, d, h in rows]


def read_nodes(conn: sqlite3.Connection, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Node hashes by id; level 0 comes from the leaf rows (one statement per chunk)."""
    found: dict[NodeId, bytes] = {}
    unique = list(dict.fromkeys(ids))
    for at in range(0, len(unique), _CHUNK):
        chunk = unique[at : at + _CHUNK]
        leaves = [i for level, i in chunk if level == 0]
        inner = [(level, i) for level, i in chunk if level > 0]
        parts: list[str] = []
        params: list[int] = []
        if inner:
            values = ", ".join("(?, ?)" for _ in inner)
            parts.append(
                f"SELECT level, idx, hash FROM audit_node WHERE (level, idx) IN (VALUES {values})"  # noqa: S608 - placeholders only
            )
            params.extend(x for node in inner for x in node)
        if leaves:
            marks = ", ".join("?" for _ in leaves)
            parts.append(f"SELECT 0, idx, hash FROM audit_leaf WHERE idx IN ({marks})")  # noqa: S608 - placeholders only
            params.extend(leaves)
        for level, index, h in conn.execute(" UNION ALL ".join(parts), params):
            found[(int(level), int(index))] = bytes(h)
    return found


def read_checkpoints(
    conn: sqlite3.Connection, after_size: int | None, limit: int | None
) -> list[StoredCheckpoint]:
    """Checkpoints with size > after_size, smallest first."""
    rows = conn.execute(
        "SELECT size, note FROM audit_checkpoint WHERE size > ? ORDER BY size LIMIT ?",
        (-1 if after_size is None else after_size, -1 if limit is None else limit),
    ).fetchall()
    return [StoredCheckpoint(int(s), bytes(n)) for s, n in rows]


def read_latest_checkpoint(conn: sqlite3.Connection) -> StoredCheckpoint | None:
    """The checkpoint of the largest tree."""
    row = conn.execute(
        "SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1"
    ).fetchone()
    return StoredCheckpoint(int(row[0]), bytes(row[1])) if row else None


def read_pending(conn: sqlite3.Connection, replica: str | None) -> list[PendingIntent]:
    """Pending intents, of one replica or all, by index."""
    rows = conn.execute(
        "SELECT intent_id, replica, idx FROM audit_pending "
        "WHERE ? IS NULL OR replica = ? ORDER BY idx",
        (replica, replica),
    ).fetchall()
    return [PendingIntent(str(i), str(r), int(x)) for i, r, x in rows]


def read_sealed(conn: sqlite3.Connection, sealed_id: str) -> SealedCopy | None:
    """One sealed copy."""
    row = conn.execute(
        "SELECT id, period, nonce, ciphertext FROM audit_sealed WHERE id = ?", (sealed_id,)
    ).fetchone()
    return SealedCopy(str(row[0]), str(row[1]), bytes(row[2]), bytes(row[3])) if row else None


def read_data_key(conn: sqlite3.Connection, period: str) -> bytes | None:
    """One wrapped data key."""
    row = conn.execute("SELECT wrapped FROM audit_data_key WHERE period = ?", (period,)).fetchone()
    return bytes(row[0]) if row else None


def put_data_key(conn: sqlite3.Connection, period: str, wrapped: bytes) -> bytes:
    """Insert unless present, then read back whichever key won."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO audit_data_key (period, wrapped) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (period, wrapped),
    )
    stored = read_data_key(conn, period)
    conn.execute("COMMIT")
    if stored is None:
        raise sqlite3.DatabaseError("data key vanished inside its transaction")
    return stored


def read_data_key_periods(conn: sqlite3.Connection) -> list[str]:
    """Periods with a data key, oldest first."""
    return [str(r[0]) for r in conn.execute("SELECT period FROM audit_data_key ORDER BY period")]
