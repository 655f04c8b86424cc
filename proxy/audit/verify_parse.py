"""Leaf parsing for the walk, in this process or in worker processes.

Parsing and the canonical-form check (decode, re-encode, compare) are two thirds of a full
verification's CPU time and need no state, so large runs hand chunks of leaf bytes to worker
processes while this process reads the next chunk, hashes and checks the meaning in order.
Workers send back only the fields the walk needs (the whole leaf for ``log_init`` and ``key``),
which keeps the results cheap to pickle.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Awaitable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from proxy.audit.verify_canonical import CanonicalParser, NotCanonical

#: What the walk reads from a leaf (see ``verify_semantics`` and ``verify_sealed``).
FIELDS = ("type", "v", "time", "replica", "intent_id", "intent_index", "period", "body")
#: Below this many leaves a worker's start-up (~0.2 s) costs more than it saves.
MIN_LEAVES_FOR_WORKERS = 50_000

Parsed = tuple[Any, str | None]  # (value, None) or (None, why it is not canonical)
_parser = CanonicalParser()  # one per process: a parser is reusable, not thread-safe


def parse_chunk(chunk: Sequence[bytes], reduce: bool) -> list[Parsed]:
    """Parse each leaf; keep only :data:`FIELDS` of objects when ``reduce`` (for pickling)."""
    out: list[Parsed] = []
    for data in chunk:
        try:
            value = _parser.parse(data)
        except NotCanonical as exc:
            out.append((None, str(exc)))
            continue
        if reduce and isinstance(value, dict) and value.get("type") not in ("log_init", "key"):
            value = {k: value[k] for k in FIELDS if k in value}
        out.append((value, None))
    return out


def default_workers(leaves: int) -> int:
    """Worker processes for a run of ``leaves``: none for small runs, else one per idle core.

    Idle means not claimed by the load average: on a busy machine a worker only adds the cost
    of shipping leaves to it (measured: no faster at a load of 5 on 2 cores).
    """
    if leaves < MIN_LEAVES_FOR_WORKERS:
        return 0
    idle = (os.cpu_count() or 1) - os.getloadavg()[0] - 1  # this process takes one core
    return max(0, min(4, int(idle)))


class Parsers:
    """Parses chunks in ``workers`` processes (0: in this process); an async context manager."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Executor | None = None
        if workers > 0:
            # spawn, not fork: the parent runs threads (the SQLite worker) that fork would copy.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(workers, mp_context=context)

    @property
    def depth(self) -> int:
        """How many chunks to keep in flight."""
        return self.workers + 1

    def submit(self, chunk: Sequence[bytes]) -> Awaitable[list[Parsed]]:
        """Start parsing a chunk; await the result in order."""
        loop = asyncio.get_running_loop()
        if self._pool is None:
            done: asyncio.Future[list[Parsed]] = loop.create_future()
            done.set_result(parse_chunk(chunk, reduce=False))
            return done
        data = list(chunk)
        pending = loop.run_in_executor(self._pool, parse_chunk, data, True)
        return _fallback(pending, data)

    async def __aenter__(self) -> Parsers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


async def _fallback(pending: Awaitable[list[Parsed]], data: list[bytes]) -> list[Parsed]:
    """A worker that died (killed, out of memory) costs speed, not the verification."""
    try:
        return await pending
    except BrokenProcessPool:
        return parse_chunk(data, reduce=False)
