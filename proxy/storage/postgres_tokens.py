"""The token vault's SQL for PostgreSQL (asyncpg): one statement per operation.

Pairs go in through ``unnest`` and lookups through ``= ANY``, so any number of tokens costs one
round trip. Each statement is its own transaction: it has committed when asyncpg returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from proxy.storage.base import unique_tokens


async def put_tokens(conn: Any, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
    """Insert the pairs; a pair already stored (by this or another replica) stays as it is."""
    await conn.execute(
        "INSERT INTO vault_token (order_key, token, ciphertext) "
        "SELECT $1::bytea, * FROM unnest($2::text[], $3::bytea[]) ON CONFLICT DO NOTHING",
        order_key,
        [token for token, _ in items],
        [ciphertext for _, ciphertext in items],
    )


async def read_tokens_for(conn: Any, order_key: bytes) -> dict[str, bytes]:
    """Every token of one order."""
    rows = await conn.fetch(
        "SELECT token, ciphertext FROM vault_token WHERE order_key = $1", order_key
    )
    return {str(r[0]): bytes(r[1]) for r in rows}


async def lookup_tokens(conn: Any, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
    """The rows of ``tokens``, ambiguous ones out."""
    rows = await conn.fetch(
        "SELECT token, order_key, ciphertext FROM vault_token WHERE token = ANY($1::text[])",
        list(dict.fromkeys(tokens)),
    )
    return unique_tokens((str(r[0]), bytes(r[1]), bytes(r[2])) for r in rows)


async def erase_tokens(conn: Any, order_key: bytes) -> int:
    """Delete one order's tokens; the count comes from the command tag (``DELETE n``)."""
    status = await conn.execute("DELETE FROM vault_token WHERE order_key = $1", order_key)
    return int(str(status).rsplit(" ", 1)[-1])
