"""A thread that owns one SQLite connection and runs calls on it, one after the other.

A whole audit batch runs as one call on the writer's thread: one hop between the event loop and
the thread per batch, instead of one per statement, and the event loop never waits on fsync.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from proxy.storage.base import StoreError
from proxy.storage.sqlite_schema import connect

P = ParamSpec("P")
T = TypeVar("T")


class Worker:
    """One thread, one connection; a failed call is rolled back before the next one runs."""

    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        """Start the thread and connect on it."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"civetta-sqlite-{self._name}")
        try:
            self._conn = await self._submit(lambda: connect(self._path))
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(
                f"expected a usable SQLite database, got {type(exc).__name__}"
            ) from exc

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreError("expected an open SQLite store, got a closed one")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def call(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, ...)`` on the thread; SQLite errors become StoreError."""
        try:
            return await self._submit(lambda: self._guarded(fn, *args, **kwargs))
        except sqlite3.Error as exc:
            raise StoreError(f"expected a committed SQLite call, got {type(exc).__name__}") from exc

    def _guarded(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError("expected an open SQLite store, got a closed one")
        try:
            return fn(conn, *args, **kwargs)
        except BaseException:
            self._rollback(conn)
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot even roll back is in an unknown state: replace it, so
            # that the next batch starts from what is on disk (the writer must not wedge).
            conn.close()
            self._conn = connect(self._path)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)
