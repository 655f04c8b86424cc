"""The token vault's SQL for SQLite: plain functions of a connection, run on a worker thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from proxy.storage.base import unique_tokens

# Far below SQLite's limit of 32766 bound parameters per statement.
_CHUNK = 400


def put_tokens(
    conn: sqlite3.Connection, order_key: bytes, items: Sequence[tuple[str, bytes]]
) -> None:
    """Insert the pairs in one ``BEGIN IMMEDIATE`` transaction; existing pairs stay as they are."""
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO vault_token (order_key, token, ciphertext) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(order_key, token, ciphertext) for token, ciphertext in items],
    )
    conn.execute("COMMIT")


def read_tokens_for(conn: sqlite3.Connection, order_key: bytes) -> dict[str, bytes]:
    """Every token of one order."""
    rows = conn.execute(
        "SELECT token, ciphertext FROM vault_token WHERE order_key = ?", (order_key,)
    ).fetchall()
    return {str(t): bytes(c) for t, c in rows}


def lookup_tokens(
    conn: sqlite3.Connection, tokens: Sequence[str]
) -> dict[str, tuple[bytes, bytes]]:
    """The rows of ``tokens`` (one statement per chunk of distinct tokens), ambiguous ones out."""
    unique = list(dict.fromkeys(tokens))
    rows: list[tuple[str, bytes, bytes]] = []
    for at in range(0, len(unique), _CHUNK):
        chunk = unique[at : at + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows.extend(
            (str(t), bytes(k), bytes(c))
            for t, k, c in conn.execute(
                f"SELECT token, order_key, ciphertext FROM vault_token WHERE token IN ({marks})",  # noqa: S608 - placeholders only
                chunk,
            )
        )
    return unique_tokens(rows)


def erase_tokens(conn: sqlite3.Connection, order_key: bytes) -> int:
    """Delete one order's tokens; then drop the WAL frames that still hold the old rows."""
    conn.execute("BEGIN IMMEDIATE")
    count = conn.execute("DELETE FROM vault_token WHERE order_key = ?", (order_key,)).rowcount
    conn.execute("COMMIT")
    if count:
        # secure_delete zeroes the rows in the new pages; truncating the WAL drops older frames
        # that may still hold them (as for a shredded data key).
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(count)
