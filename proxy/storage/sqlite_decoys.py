"""The decoy tables in SQLite: every write one ``BEGIN IMMEDIATE`` transaction on the writer.

``BEGIN IMMEDIATE`` takes SQLite's write lock before the first read, so the look-up of an
order's live decoy and the insert of a new one cannot interleave with another writer (another
thread or another process on the same file); the partial unique indexes of migration 4 hold
the invariants even so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from proxy.storage.decoys import (
    ASSIGNMENT_COLUMNS,
    CONTACT_COLUMNS,
    SEEN_GRANULARITY,
    Candidate,
    ContactRecord,
    DecoyAssignment,
    assignment_of,
    contact_of,
    contact_row,
    to_us,
)
from proxy.storage.sqlite_worker import Worker

_SELECT = f"SELECT {ASSIGNMENT_COLUMNS} FROM decoy_assignment"  # noqa: S608 - constant columns
_LIVE_OF_ORDER = f"{_SELECT} WHERE order_key = ? AND kind = ? AND released_at IS NULL"


def _one(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> DecoyAssignment | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else assignment_of(row)


def _assign(
    conn: sqlite3.Connection,
    kind: str,
    order_key: bytes,
    partner_id: str,
    candidates: Sequence[Candidate],
    at: datetime,
) -> DecoyAssignment | None:
    now = to_us(at)
    conn.execute("BEGIN IMMEDIATE")
    found = _one(conn, _LIVE_OF_ORDER, (order_key, kind))
    if found is not None:
        stale = now - to_us(found.seen_at) >= SEEN_GRANULARITY // timedelta(microseconds=1)
        if found.partner_id != partner_id or found.closed_at is not None or stale:
            conn.execute(
                "UPDATE decoy_assignment SET closed_at = NULL, seen_at = max(seen_at, ?), "
                "alias_index = CASE WHEN partner_id = ? THEN alias_index END, partner_id = ? "
                "WHERE seq = ?",
                (now, partner_id, partner_id, found.seq),
            )
            found = _one(conn, f"{_SELECT} WHERE seq = ?", (found.seq,))
        conn.execute("COMMIT")
        return found
    for candidate in candidates:
        cur = conn.execute(
            "INSERT INTO decoy_assignment (decoy_id, decoy, kind, order_key, partner_id, "
            "issued_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (candidate.decoy_id, candidate.decoy, kind, order_key, partner_id, now, now),
        )
        if cur.rowcount == 1:
            made = _one(conn, f"{_SELECT} WHERE seq = ?", (cur.lastrowid,))
            conn.execute("COMMIT")
            return made
    conn.execute("COMMIT")
    return None


def _write(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> int:
    conn.execute("BEGIN IMMEDIATE")
    count = conn.execute(sql, params).rowcount
    conn.execute("COMMIT")
    return int(count)


def _many(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[DecoyAssignment]:
    return [assignment_of(row) for row in conn.execute(sql, params)]


def _contacts(
    conn: sqlite3.Connection, sql: str, params: tuple[object, ...]
) -> list[ContactRecord]:
    return [contact_of(row) for row in conn.execute(sql, params)]


def _put_fingerprints(
    conn: sqlite3.Connection, order_key: bytes, fingerprints: Sequence[bytes]
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO decoy_fingerprint (order_key, fingerprint) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING",
        [(order_key, fp) for fp in fingerprints],
    )
    conn.execute("COMMIT")


def _fingerprints(conn: sqlite3.Connection, order_key: bytes) -> frozenset[bytes]:
    rows = conn.execute(
        "SELECT fingerprint FROM decoy_fingerprint WHERE order_key = ?", (order_key,)
    )
    return frozenset(bytes(r[0]) for r in rows)


class SqliteDecoys:
    """SQLite behind :class:`~proxy.storage.decoys.DecoyStore` (the store's worker threads)."""

    def __init__(self, writer: Worker, reader: Worker) -> None:
        self._writer = writer
        self._reader = reader

    async def assign(
        self,
        kind: str,
        order_key: bytes,
        partner_id: str,
        candidates: Sequence[Candidate],
        at: datetime,
    ) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._writer.call(_assign, kind, order_key, partner_id, candidates, at)

    async def for_order(self, order_key: bytes, kind: str) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._reader.call(_one, _LIVE_OF_ORDER, (order_key, kind))

    async def history(self, decoy: str) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = f"{_SELECT} WHERE decoy = ? ORDER BY issued_at DESC, seq DESC"
        return await self._reader.call(_many, sql, (decoy,))

    async def assignments_for(self, order_key: bytes) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = f"{_SELECT} WHERE order_key = ? ORDER BY issued_at, seq"
        return await self._reader.call(_many, sql, (order_key,))

    async def mark_announced(self, seq: int, leaf_index: int) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = "UPDATE decoy_assignment SET alias_index = ? WHERE seq = ?"
        await self._writer.call(_write, sql, (leaf_index, seq))

    async def close_order(self, order_key: bytes, at: datetime) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = (
            "UPDATE decoy_assignment SET closed_at = ? "
            "WHERE order_key = ? AND released_at IS NULL AND closed_at IS NULL"
        )
        return await self._writer.call(_write, sql, (to_us(at), order_key))

    async def release_expired(self, now: datetime, quarantine: timedelta) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = (
            "UPDATE decoy_assignment SET released_at = ? "
            "WHERE released_at IS NULL AND closed_at IS NOT NULL AND closed_at <= ?"
        )
        return await self._writer.call(_write, sql, (to_us(now), to_us(now - quarantine)))

    async def live(self, kind: str | None = None) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = f"{_SELECT} WHERE released_at IS NULL AND (? IS NULL OR kind = ?) ORDER BY decoy"
        return await self._reader.call(_many, sql, (kind, kind))

    async def put_contact(self, record: ContactRecord) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        marks = ", ".join("?" for _ in CONTACT_COLUMNS.split(","))
        sql = f"INSERT INTO decoy_contact ({CONTACT_COLUMNS}) VALUES ({marks})"  # noqa: S608
        await self._writer.call(_write, sql, contact_row(record))

    async def contacts(
        self, decoy: str | None = None, order_key: bytes | None = None
    ) -> list[ContactRecord]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        sql = (
            f"SELECT {CONTACT_COLUMNS} FROM decoy_contact "  # noqa: S608 - constant columns
            "WHERE (? IS NULL OR decoy = ?) AND (? IS NULL OR order_key = ?) ORDER BY at, id"
        )
        return await self._reader.call(_contacts, sql, (decoy, decoy, order_key, order_key))

    async def put_fingerprints(self, order_key: bytes, fingerprints: Sequence[bytes]) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        if fingerprints:
            await self._writer.call(_put_fingerprints, order_key, fingerprints)

    async def fingerprints(self, order_key: bytes) -> frozenset[bytes]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._reader.call(_fingerprints, order_key)
