"""The decoy tables in PostgreSQL (asyncpg), shared by every replica.

:meth:`PostgresDecoys.assign` runs in one READ COMMITTED transaction: it locks the order's live
row if there is one; otherwise it inserts candidates with ``ON CONFLICT DO NOTHING``. An insert
that collides with another replica's uncommitted insert waits for it, then does nothing; after
each miss the order's live row is read again (each statement sees what has committed), so two
replicas giving the same order a decoy at once both end up with the winner's. The partial
unique indexes, not this code, are what make a double assignment impossible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

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

_SELECT = f"SELECT {ASSIGNMENT_COLUMNS} FROM decoy_assignment"  # noqa: S608 - constant columns
_LIVE_OF_ORDER = f"{_SELECT} WHERE order_key = $1 AND kind = $2 AND released_at IS NULL"
_TOUCH = (
    "UPDATE decoy_assignment SET closed_at = NULL, seen_at = GREATEST(seen_at, $1), "  # noqa: S608 - constant columns
    "alias_index = CASE WHEN partner_id = $2 THEN alias_index END, partner_id = $2 "
    f"WHERE seq = $3 RETURNING {ASSIGNMENT_COLUMNS}"
)
_INSERT = (
    "INSERT INTO decoy_assignment (decoy_id, decoy, kind, order_key, partner_id, issued_at, "  # noqa: S608 - constant columns
    "seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING "
    f"RETURNING {ASSIGNMENT_COLUMNS}"
)
_GRAIN = SEEN_GRANULARITY // timedelta(microseconds=1)

Connect = Callable[[], AbstractAsyncContextManager[Any]]


async def _assign(
    conn: Any,
    kind: str,
    order_key: bytes,
    partner_id: str,
    candidates: Sequence[Candidate],
    now: int,
) -> DecoyAssignment | None:
    row = await conn.fetchrow(_LIVE_OF_ORDER + " FOR UPDATE", order_key, kind)
    if row is not None:
        found = assignment_of(row)
        stale = now - to_us(found.seen_at) >= _GRAIN
        if found.partner_id != partner_id or found.closed_at is not None or stale:
            found = assignment_of(await conn.fetchrow(_TOUCH, now, partner_id, found.seq))
        return found
    for candidate in candidates:
        made = await conn.fetchrow(
            _INSERT, candidate.decoy_id, candidate.decoy, kind, order_key, partner_id, now
        )
        if made is not None:
            return assignment_of(made)
        # The miss may be this order's decoy, just committed by another replica.
        row = await conn.fetchrow(_LIVE_OF_ORDER, order_key, kind)
        if row is not None:
            return assignment_of(row)
    return None


class PostgresDecoys:
    """PostgreSQL behind :class:`~proxy.storage.decoys.DecoyStore` (the store's pool)."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def _many(self, sql: str, *args: Any) -> list[DecoyAssignment]:
        async with self._connect() as conn:
            return [assignment_of(r) for r in await conn.fetch(sql, *args)]

    async def _count(self, sql: str, *args: Any) -> int:
        async with self._connect() as conn:
            status = await conn.execute(sql, *args)
        return int(str(status).rsplit(" ", 1)[-1])

    async def assign(
        self,
        kind: str,
        order_key: bytes,
        partner_id: str,
        candidates: Sequence[Candidate],
        at: datetime,
    ) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        async with self._connect() as conn, conn.transaction():
            return await _assign(conn, kind, order_key, partner_id, candidates, to_us(at))

    async def for_order(self, order_key: bytes, kind: str) -> DecoyAssignment | None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        found = await self._many(_LIVE_OF_ORDER, order_key, kind)
        return found[0] if found else None

    async def history(self, decoy: str) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._many(
            f"{_SELECT} WHERE decoy = $1 ORDER BY issued_at DESC, seq DESC", decoy
        )

    async def assignments_for(self, order_key: bytes) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._many(
            f"{_SELECT} WHERE order_key = $1 ORDER BY issued_at, seq", order_key
        )

    async def mark_announced(self, seq: int, leaf_index: int) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        await self._count(
            "UPDATE decoy_assignment SET alias_index = $1 WHERE seq = $2", leaf_index, seq
        )

    async def close_order(self, order_key: bytes, at: datetime) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._count(
            "UPDATE decoy_assignment SET closed_at = $1 "
            "WHERE order_key = $2 AND released_at IS NULL AND closed_at IS NULL",
            to_us(at),
            order_key,
        )

    async def release_expired(self, now: datetime, quarantine: timedelta) -> int:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._count(
            "UPDATE decoy_assignment SET released_at = $1 "
            "WHERE released_at IS NULL AND closed_at IS NOT NULL AND closed_at <= $2",
            to_us(now),
            to_us(now - quarantine),
        )

    async def live(self, kind: str | None = None) -> list[DecoyAssignment]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        return await self._many(
            f"{_SELECT} WHERE released_at IS NULL AND ($1::text IS NULL OR kind = $1) "
            "ORDER BY decoy",
            kind,
        )

    async def put_contact(self, record: ContactRecord) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        marks = ", ".join(f"${i + 1}" for i in range(len(CONTACT_COLUMNS.split(","))))
        async with self._connect() as conn:
            await conn.execute(
                f"INSERT INTO decoy_contact ({CONTACT_COLUMNS}) VALUES ({marks})",  # noqa: S608
                *contact_row(record),
            )

    async def contacts(
        self, decoy: str | None = None, order_key: bytes | None = None
    ) -> list[ContactRecord]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        async with self._connect() as conn:
            rows = await conn.fetch(
                f"SELECT {CONTACT_COLUMNS} FROM decoy_contact "  # noqa: S608 - constant columns
                "WHERE ($1::text IS NULL OR decoy = $1) "
                "AND ($2::bytea IS NULL OR order_key = $2) ORDER BY at, id",
                decoy,
                order_key,
            )
        return [contact_of(r) for r in rows]

    async def put_fingerprints(self, order_key: bytes, fingerprints: Sequence[bytes]) -> None:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        if not fingerprints:
            return
        async with self._connect() as conn:
            await conn.execute(
                "INSERT INTO decoy_fingerprint (order_key, fingerprint) "
                "SELECT $1::bytea, * FROM unnest($2::bytea[]) ON CONFLICT DO NOTHING",
                order_key,
                list(fingerprints),
            )

    async def fingerprints(self, order_key: bytes) -> frozenset[bytes]:
        """See :class:`~proxy.storage.decoys.DecoyStore`."""
        async with self._connect() as conn:
            rows = await conn.fetch(
                "SELECT fingerprint FROM decoy_fingerprint WHERE order_key = $1", order_key
            )
        return frozenset(bytes(r[0]) for r in rows)
