"""Fixtures shared across test packages.

PostgreSQL: tests marked ``postgres`` use the server named by ``CIVETTA_TEST_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Each test gets its own schema, created before
and dropped after, so parallel runs against one server never see each other's tables. When the
server cannot be reached the test is skipped with the reason, except under ``CI=true``, where
the PostgreSQL run is part of the contract and must fail instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, TypeVar

import asyncpg
import pytest

T = TypeVar("T")

#: Every Store implementation, for fixtures parametrised over them.
STORE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def pg_dsn() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("CIVETTA_TEST_PG_DSN", DEFAULT_PG_DSN)


def _unavailable(reason: str) -> NoReturn:
    message = f"PostgreSQL at {pg_dsn()} unavailable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the PostgreSQL contract tests must run)")
    print(message)  # shown with -s; the skip reason carries it too
    pytest.skip(message)


def with_schema(dsn: str, schema: str) -> str:
    """``dsn`` with ``schema`` selected (see ``proxy.storage.postgres.split_url``)."""
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"


def run_in_thread(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a fresh loop in another thread.

    Sync fixtures use it, so that they work the same whether or not a test's loop is running
    (an async fixture cannot be requested lazily from another async fixture).
    """

    async def main() -> T:
        return await fn()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(pg_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A storage URL for a fresh schema on the test server; the schema is dropped afterwards."""
    try:
        run_in_thread(lambda: _admin("SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        _unavailable(type(exc).__name__)
    schema = f"civetta_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield with_schema(pg_dsn(), schema)
    run_in_thread(lambda: _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL of each kind: memory, SQLite under ``tmp_path``, a fresh PostgreSQL schema."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/civetta.db"
    url: str = request.getfixturevalue("pg_url")
    return url
