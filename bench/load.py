"""A small HTTP/1.1 load generator that runs in its own process(es), loopback only.

Two modes:

* **closed** (fixed concurrency): N keep-alive connections, each sending its next request as
  soon as the previous answer is complete. Measures the maximum throughput at that concurrency.
* **open** (fixed rate): requests are *scheduled* at R per second regardless of how fast
  answers come; latency is measured from the scheduled send time, not from the moment a
  connection was free, so a stall is charged to every request it delayed (no coordinated
  omission). Up to ``max_connections`` requests are in flight; beyond that, sends fall behind
  schedule and the lag shows up in the latency.

Both run a warm-up (not recorded) and then measure for ``duration`` seconds; only requests
that *start* inside the window and finish before it closes are counted. Every run is bounded
in time (a hard deadline) and in count (``max_requests`` per process).

The client is a bare :class:`asyncio.Protocol` with the request bytes built once, so that its
own cost per request stays far below the proxy's (on a 2-core machine the generator competes
with the proxy for the CPU). It understands ``Content-Length`` framed answers only, which is
what aiohttp servers send for whole bodies; anything else is counted as an error.

The processes are started with multiprocessing's ``spawn`` method and never share an event loop
with the server under test. Run it alone with
``python bench/load.py --url http://127.0.0.1:8080/bench/x --mode closed --concurrency 32``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

Mode = Literal["closed", "open"]
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What to send, where, and how hard."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    mode: Mode = "closed"
    method: str = "POST"
    #: Closed loop: connections (in total, over all processes).
    concurrency: int = 32
    #: Open loop: requests per second (in total, over all processes).
    rate: float = 1000.0
    #: Open loop: the most requests in flight (connections) in total.
    max_connections: int = 128
    duration_s: float = 5.0
    warmup_s: float = 1.0
    #: Worker processes; each runs its own event loop with its share of the load.
    processes: int = 1
    #: Per-request timeout; a request slower than this counts as an error.
    timeout_s: float = 10.0
    #: Hard bound on the requests one process sends (warm-up included).
    max_requests: int = 2_000_000
    #: CPUs the generator processes are pinned to (None: wherever the scheduler likes).
    cpus: tuple[int, ...] | None = None


@dataclass(slots=True)
class LoadResult:
    """What one run measured (merged over its processes); latencies in seconds."""

    mode: Mode
    url: str
    duration_s: float
    completed: int = 0
    errors: int = 0
    #: Answers with a status outside 2xx (counted in ``completed`` as well, not in latencies).
    non_2xx: int = 0
    #: Open loop: mean delay between a request's scheduled and actual send time.
    mean_send_lag_s: float = 0.0
    #: Every answer received, warm-up and stragglers included (for CPU time per request).
    answered: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Completed requests per second over the measurement window."""
        return self.completed / self.duration_s if self.duration_s > 0 else 0.0

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile latency (nearest rank), ``nan`` when nothing was measured."""
        return percentile(sorted(self.latencies), q)

    def summary(self) -> dict[str, float | int | str | dict[str, int]]:
        """The figures without the raw samples (for JSON)."""
        data = sorted(self.latencies)
        return {
            "mode": self.mode,
            "url": self.url,
            "duration_s": self.duration_s,
            "completed": self.completed,
            "errors": self.errors,
            "non_2xx": self.non_2xx,
            "rps": round(self.rps, 1),
            "p50_ms": round(percentile(data, 50) * 1000, 3),
            "p90_ms": round(percentile(data, 90) * 1000, 3),
            "p99_ms": round(percentile(data, 99) * 1000, 3),
            "max_ms": round((data[-1] if data else math.nan) * 1000, 3),
            "mean_send_lag_ms": round(self.mean_send_lag_s * 1000, 3),
            "answered": self.answered,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def percentile(sorted_data: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted data; ``nan`` for no data."""
    if not sorted_data:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_data)))
    return sorted_data[min(rank, len(sorted_data)) - 1]


class ProtocolError(Exception):
    """The answer was not an HTTP/1.1 response this client can frame."""


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: write a request, wait for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False
        self._head_end = -1
        self._length = 0
        self._status = 0
        self._close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            self._parse()
        except (ProtocolError, ValueError) as exc:
            self.waiter.set_exception(ProtocolError(str(exc)))
            self.close()

    def _parse(self) -> None:
        if self._head_end < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            if not head.startswith(b"http/1.1 "):
                raise ProtocolError("expected an HTTP/1.1 status line")
            self._status = int(head[9:12])
            self._head_end = end + 4
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                self._length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            elif self._status in (204, 304) or self._status < 200:
                self._length = 0
            else:
                raise ProtocolError("expected a Content-Length framed answer")
            self._close_after = b"\r\nconnection: close" in head
        total = self._head_end + self._length
        if len(self.buffer) < total:
            return
        del self.buffer[:total]
        status, self._head_end, self._length = self._status, -1, 0
        assert self.waiter is not None
        self.waiter.set_result(status)
        if self._close_after:
            self.close()

    async def exchange(self, request: bytes, timeout_s: float) -> int:
        """Send ``request``; return the answer's status once its whole body has arrived."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.transport.write(request)
        if self.buffer:  # bytes that arrived before the request (never, from a sane server)
            self.data_received(b"")
        async with asyncio.timeout(timeout_s):
            return await self.waiter

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass(slots=True)
class _Tally:
    """One process's counters."""

    completed: int = 0
    errors: int = 0
    non_2xx: int = 0
    sent: int = 0
    answered: int = 0
    lag_sum: float = 0.0
    lag_n: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def build_request(spec: LoadSpec) -> tuple[str, int, bytes]:
    """Host, port and the request bytes, built once (loopback URLs only)."""
    parts = urlsplit(spec.url)
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in _LOOPBACK:
        raise ValueError(f"expected an http:// URL on loopback, got {spec.url!r}")
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{spec.method} {target} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in spec.headers]
    if spec.body or spec.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        lines.append(f"Content-Length: {len(spec.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return host, port, head + spec.body


async def _connect(host: str, port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_Connection, host, port)
    return proto


async def _one(
    conn: _Connection | None, host: str, port: int, request: bytes, timeout_s: float, tally: _Tally
) -> tuple[_Connection | None, int | None]:
    """One exchange on ``conn`` (opened if needed); None status and connection on error."""
    try:
        if conn is None or conn.closed:
            conn = await _connect(host, port)
        tally.sent += 1
        status = await conn.exchange(request, timeout_s)
        tally.answered += 1
        return conn, status
    except (OSError, ProtocolError, TimeoutError):
        tally.errors += 1
        if conn is not None:
            conn.close()
        return None, None


def _record(tally: _Tally, status: int, latency: float) -> None:
    tally.completed += 1
    tally.statuses[status] = tally.statuses.get(status, 0) + 1
    if 200 <= status < 300:
        tally.latencies.append(latency)
    else:
        tally.non_2xx += 1


async def _closed(spec: LoadSpec, share: int, tally: _Tally) -> None:
    host, port, request = build_request(spec)
    clock = time.perf_counter
    window_start = clock() + spec.warmup_s
    window_end = window_start + spec.duration_s

    async def worker() -> None:
        conn: _Connection | None = None
        while tally.sent < spec.max_requests:
            started = clock()
            if started >= window_end:
                break
            conn, status = await _one(conn, host, port, request, spec.timeout_s, tally)
            finished = clock()
            if status is None:
                await asyncio.sleep(0.01)  # do not spin on a refused connection
            elif started >= window_start and finished <= window_end:
                _record(tally, status, finished - started)
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(share)))


async def _open(spec: LoadSpec, rate: float, phase: float, slots: int, tally: _Tally) -> None:
    host, port, request = build_request(spec)
    clock = time.perf_counter
    start = clock() + 0.05
    window_start = start + spec.warmup_s
    window_end = window_start + spec.duration_s
    interval = 1.0 / rate
    next_slot = 0

    async def worker() -> None:
        nonlocal next_slot
        conn: _Connection | None = None
        while tally.sent < spec.max_requests:
            scheduled = start + (next_slot + phase) * interval
            next_slot += 1
            if scheduled >= window_end:
                break
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at = clock()
            conn, status = await _one(conn, host, port, request, spec.timeout_s, tally)
            finished = clock()
            if status is not None and scheduled >= window_start and finished <= window_end:
                tally.lag_sum += max(0.0, sent_at - scheduled)
                tally.lag_n += 1
                _record(tally, status, finished - scheduled)
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(slots)))


def _split(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _run_process(spec: LoadSpec, index: int, out: multiprocessing.connection.Connection) -> None:
    """Entry point of one generator process: run its share, send its tally back."""
    tally = _Tally()
    if spec.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, spec.cpus)
    deadline = spec.warmup_s + spec.duration_s + spec.timeout_s + 5.0

    async def main() -> None:
        if spec.mode == "closed":
            job = _closed(spec, _split(spec.concurrency, spec.processes, index), tally)
        else:
            per = spec.rate / spec.processes
            slots = max(1, _split(spec.max_connections, spec.processes, index))
            job = _open(spec, per, index / spec.processes, slots, tally)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deadline):
                await job

    try:
        asyncio.run(main())
        out.send(tally)
    finally:
        out.close()


def run_load(spec: LoadSpec) -> LoadResult:
    """Run ``spec`` in ``spec.processes`` fresh processes and merge what they measured."""
    build_request(spec)  # refuse a non-loopback URL before starting anything
    ctx = multiprocessing.get_context("spawn")
    procs: list[
        tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]
    ] = []
    result = LoadResult(spec.mode, spec.url, spec.duration_s)
    lag_sum, lag_n = 0.0, 0
    try:
        for i in range(spec.processes):
            receiver, sender = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_run_process, args=(spec, i, sender), daemon=True)
            child.start()
            sender.close()
            procs.append((child, receiver))
        limit = time.monotonic() + spec.warmup_s + spec.duration_s + spec.timeout_s + 30.0
        for proc, receiver in procs:
            if not receiver.poll(max(0.0, limit - time.monotonic())):
                raise RuntimeError("a load generator process did not report in time")
            tally: _Tally = receiver.recv()
            proc.join(5.0)
            result.completed += tally.completed
            result.errors += tally.errors
            result.non_2xx += tally.non_2xx
            result.answered += tally.answered
            result.latencies.extend(tally.latencies)
            for status, n in tally.statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n
            lag_sum += tally.lag_sum
            lag_n += tally.lag_n
    finally:
        for proc, receiver in procs:
            receiver.close()
            if proc.is_alive():
                proc.terminate()
                proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
    result.mean_send_lag_s = lag_sum / lag_n if lag_n else 0.0
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: one load run against one URL, figures printed as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path (loopback only)")
    parser.add_argument("--mode", choices=("closed", "open"), default="closed")
    parser.add_argument("--method", default="POST")
    parser.add_argument("--body-file", help="request body (default: empty)")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--max-connections", type=int, default=128)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    body = b""
    if args.body_file:
        with open(args.body_file, "rb") as f:
            body = f.read()
    headers = tuple((k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in args.header))
    spec = LoadSpec(url=args.url, body=body, headers=headers)
    spec = replace(
        spec,
        mode=args.mode,
        method=args.method.upper(),
        concurrency=args.concurrency,
        rate=args.rate,
        max_connections=args.max_connections,
        duration_s=args.duration,
        warmup_s=args.warmup,
        processes=max(1, min(args.processes, os.cpu_count() or 1)),
    )
    result = run_load(spec)
    json.dump(
        {"spec": {k: v for k, v in asdict(spec).items() if k != "body"}, **result.summary()},
        sys.stdout,
        indent=2,
    )
    print()
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
