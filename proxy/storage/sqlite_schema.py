"""SQLite connections and schema: durability pragmas and numbered migrations.

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction and re-reads the schema version
inside it, so two processes opening the same new file cannot both apply a migration.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE subscription (
        id TEXT PRIMARY KEY, route TEXT NOT NULL, callback TEXT NOT NULL,
        created REAL NOT NULL, upstream_id TEXT
    );
    """,
    # The empty root, SHA-256 of nothing (merkle.EMPTY_ROOT; a test holds them equal).
    """
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size INTEGER NOT NULL, root BLOB NOT NULL, frontier BLOB NOT NULL
    );
    INSERT INTO audit_head (id, size, root, frontier) VALUES (
        1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', X''
    );
    CREATE TABLE audit_leaf (idx INTEGER PRIMARY KEY, data BLOB NOT NULL, hash BLOB NOT NULL);
    CREATE TABLE audit_node (
        level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE audit_checkpoint (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
    CREATE TABLE audit_pending (
        intent_id TEXT PRIMARY KEY, replica TEXT NOT NULL, idx INTEGER NOT NULL
    );
    CREATE INDEX audit_pending_replica ON audit_pending (replica, idx);
    CREATE TABLE audit_sealed (
        id TEXT PRIMARY KEY, period TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL
    );
    CREATE TABLE audit_data_key (period TEXT PRIMARY KEY, wrapped BLOB NOT NULL);
    """,
    # The token vault (proxy.vault): order_key is an HMAC of the order reference, ciphertext the
    # AES-GCM sealed original. The token index answers lookups for messages of unknown order.
    """
    CREATE TABLE vault_token (
        order_key BLOB NOT NULL, token TEXT NOT NULL, ciphertext BLOB NOT NULL,
        PRIMARY KEY (order_key, token)
    ) WITHOUT ROWID;
    CREATE INDEX vault_token_token ON vault_token (token);
    """,
    # Decoys (proxy.decoys, proxy.storage.decoys). The partial unique indexes are the contract:
    # a decoy is live in one assignment at most, an order has one live decoy per kind at most.
    """
    CREATE TABLE decoy_assignment (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        decoy_id TEXT NOT NULL, decoy TEXT NOT NULL, kind TEXT NOT NULL,
        order_key BLOB NOT NULL, partner_id TEXT NOT NULL,
        issued_at INTEGER NOT NULL, seen_at INTEGER NOT NULL,
        closed_at INTEGER, released_at INTEGER, alias_index INTEGER
    );
    CREATE UNIQUE INDEX decoy_live_decoy ON decoy_assignment (decoy) WHERE released_at IS NULL;
    CREATE UNIQUE INDEX decoy_live_order ON decoy_assignment (order_key, kind)
        WHERE released_at IS NULL;
    CREATE INDEX decoy_history ON decoy_assignment (decoy, issued_at);
    CREATE INDEX decoy_order ON decoy_assignment (order_key, issued_at);
    CREATE INDEX decoy_closed ON decoy_assignment (closed_at) WHERE released_at IS NULL;
    CREATE TABLE decoy_contact (
        id TEXT PRIMARY KEY, decoy TEXT NOT NULL, channel TEXT NOT NULL,
        at INTEGER NOT NULL, recorded_at INTEGER NOT NULL,
        caller_commitment BLOB, caller_masked TEXT NOT NULL, caller_match TEXT,
        classification TEXT NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL,
        decoy_id TEXT, order_key BLOB, partner_id TEXT, note BLOB, leaf_index INTEGER
    );
    CREATE INDEX decoy_contact_decoy ON decoy_contact (decoy, at);
    CREATE INDEX decoy_contact_order ON decoy_contact (order_key, at);
    CREATE TABLE decoy_fingerprint (
        order_key BLOB NOT NULL, fingerprint BLOB NOT NULL, PRIMARY KEY (order_key, fingerprint)
    ) WITHOUT ROWID;
    """,
)


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with the durability and privacy pragmas set.

    ``secure_delete`` overwrites deleted rows, so that a shredded data key does not linger in
    a free page of the file.
    """
    # check_same_thread is off because a worker thread, not the opening thread, uses it; one
    # thread at a time does (see proxy.storage.sqlite_worker).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if has_meta is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks; return the schema version."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _version(conn)
            if version >= len(MIGRATIONS):
                conn.execute("COMMIT")
                return version
            for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(version + 1),),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
