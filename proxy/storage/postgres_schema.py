"""PostgreSQL schema: numbered migrations, applied under an advisory lock.

The tables mirror SQLite's (``proxy.storage.sqlite_schema``) with PostgreSQL types. Replicas
that start together serialise on the advisory lock, and each re-reads the version under it.
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE subscription (
        id TEXT PRIMARY KEY, route TEXT NOT NULL, callback TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL, upstream_id TEXT
    );
    """,
    """
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size BIGINT NOT NULL, root BYTEA NOT NULL, frontier BYTEA NOT NULL
    );
    INSERT INTO audit_head (id, size, root, frontier)
        VALUES (1, 0, sha256(''::bytea), ''::bytea);
    CREATE TABLE audit_leaf (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL, hash BYTEA NOT NULL);
    CREATE TABLE audit_node (
        level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE audit_checkpoint (size BIGINT PRIMARY KEY, note BYTEA NOT NULL);
    CREATE TABLE audit_pending (
        intent_id TEXT PRIMARY KEY, replica TEXT NOT NULL, idx BIGINT NOT NULL
    );
    CREATE INDEX audit_pending_replica ON audit_pending (replica, idx);
    CREATE TABLE audit_sealed (
        id TEXT PRIMARY KEY, period TEXT NOT NULL, nonce BYTEA NOT NULL, ciphertext BYTEA NOT NULL
    );
    CREATE TABLE audit_data_key (period TEXT PRIMARY KEY, wrapped BYTEA NOT NULL);
    """,
    # The token vault (proxy.vault), as in SQLite's migration 3.
    """
    CREATE TABLE vault_token (
        order_key BYTEA NOT NULL, token TEXT NOT NULL, ciphertext BYTEA NOT NULL,
        PRIMARY KEY (order_key, token)
    );
    CREATE INDEX vault_token_token ON vault_token (token);
    """,
    # Decoys, as in SQLite's migration 4: the partial unique indexes hold across replicas.
    """
    CREATE TABLE decoy_assignment (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        decoy_id TEXT NOT NULL, decoy TEXT NOT NULL, kind TEXT NOT NULL,
        order_key BYTEA NOT NULL, partner_id TEXT NOT NULL,
        issued_at BIGINT NOT NULL, seen_at BIGINT NOT NULL,
        closed_at BIGINT, released_at BIGINT, alias_index BIGINT
    );
    CREATE UNIQUE INDEX decoy_live_decoy ON decoy_assignment (decoy) WHERE released_at IS NULL;
    CREATE UNIQUE INDEX decoy_live_order ON decoy_assignment (order_key, kind)
        WHERE released_at IS NULL;
    CREATE INDEX decoy_history ON decoy_assignment (decoy, issued_at);
    CREATE INDEX decoy_order ON decoy_assignment (order_key, issued_at);
    CREATE INDEX decoy_closed ON decoy_assignment (closed_at) WHERE released_at IS NULL;
    CREATE TABLE decoy_contact (
        id TEXT PRIMARY KEY, decoy TEXT NOT NULL, channel TEXT NOT NULL,
        at BIGINT NOT NULL, recorded_at BIGINT NOT NULL,
        caller_commitment BYTEA, caller_masked TEXT NOT NULL, caller_match TEXT,
        classification TEXT NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL,
        decoy_id TEXT, order_key BYTEA, partner_id TEXT, note BYTEA, leaf_index BIGINT
    );
    CREATE INDEX decoy_contact_decoy ON decoy_contact (decoy, at);
    CREATE INDEX decoy_contact_order ON decoy_contact (order_key, at);
    CREATE TABLE decoy_fingerprint (
        order_key BYTEA NOT NULL, fingerprint BYTEA NOT NULL, PRIMARY KEY (order_key, fingerprint)
    );
    """,
)

#: Any fixed 64-bit number, shared by every civetta process migrating the same database.
_MIGRATION_LOCK = 0x63697665747461


async def migrate(conn: Any, schema: str | None = None) -> int:
    """Create ``schema`` if named and missing, apply the migrations it lacks; return the version.

    Everything runs under the advisory lock: two replicas creating one schema at once would
    otherwise collide in the catalogue (CREATE SCHEMA IF NOT EXISTS is not atomic).
    """
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            if schema is not None:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            version = 0
            if await conn.fetchval("SELECT to_regclass('meta') IS NOT NULL"):
                value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
                version = int(value) if value is not None else 0
            if version >= len(MIGRATIONS):
                return version
            await conn.execute(MIGRATIONS[version])
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                str(version + 1),
            )
