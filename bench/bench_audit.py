"""Audit-log benchmark: durable, signed appends per second, and time to a signed checkpoint.

One request is what the proxy writes for one forwarded order: an intent (five field
commitments, the ~4 KiB TMF622 order of ``bench/payloads.py`` sealed with AES-GCM) and, once it
is durable, its outcome: two entries, through the real AuditLog (group commit, one transaction
per batch, an Ed25519 checkpoint per batch, ``synchronous=FULL`` on SQLite, ``synchronous_commit
=on`` on PostgreSQL). Entries/s counts leaves, each durable and covered by a signed checkpoint.

    python bench/bench_audit.py [--seconds 5] [--pg postgresql://postgres@127.0.0.1:5432/test]

Cells: SQLite and PostgreSQL throughput with many concurrent appenders; p50/p99 latency from
append to receipt (durable and covered by a signed checkpoint) at a fixed 1,000 entries/s; two
replica processes sharing one PostgreSQL log. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from payloads import generated_tmf

from proxy.audit.leaves import BodyRecord, FieldRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog, AuditSettings
from proxy.keys import KeyMaterial, load_keys
from proxy.logs import configure
from proxy.storage import open_store

ORIGIN = "civetta.example/olo-log"
BODY = generated_tmf()


async def _one(log: AuditLog, n: int, latencies: list[float]) -> int:
    """One request: intent with a sealed copy, then its outcome; return the entries written.

    Each append's time from call to receipt (durable, under a signed checkpoint) is recorded.
    """
    sealing = await log.seal(BODY)
    fields = tuple(
        FieldRecord(f"$.contact[{i}]", f"rule-{i}", "replace", log.commit(f"$.c{i}", b"%d" % n))
        for i in range(5)
    )
    record = Intent(f"req-{n}", "tmf622", "outbound", Operation("POST", "/po"), "p1",
                    log.commit("order_ref", b"%d" % n), "ab" * 32, sealing.body, fields)  # fmt: skip
    t0 = time.perf_counter()
    receipt = await log.append_intent(record, sealing)
    t1 = time.perf_counter()
    assert receipt.intent_id is not None
    response = BodyRecord(120, log.commit("$response", b"%d" % n))
    await log.append_outcome(Outcome(receipt.intent_id, 201, response, 3.0))
    latencies += [t1 - t0, time.perf_counter() - t1]
    return 2


async def _small(log: AuditLog, n: int, latencies: list[float]) -> int:
    """One small leaf (a heartbeat): the log's own cost, without sealing or big leaves."""
    t0 = time.perf_counter()
    await log.heartbeat()
    latencies.append(time.perf_counter() - t0)
    return 1


Request = Callable[[AuditLog, int, list[float]], Awaitable[int]]


#: CPU time of this process (every thread) per entry in the last throughput run, in µs.
LAST_CPU_US = [0.0]
#: Set from --linger-ms: how long the writer waits for more appends once one arrives.
LINGER_S = 0.002


async def _open(url: str, keys: KeyMaterial, replica: str) -> AuditLog:
    store = open_store(url)
    await store.open()
    log = AuditLog(store, keys, AuditSettings(origin=ORIGIN, replica=replica, linger_s=LINGER_S))
    await log.start()
    return log


async def _close(log: AuditLog) -> None:
    await log.stop()
    await log.store.close()


async def throughput(
    log: AuditLog, seconds: float, appenders: int, request: Request = _one
) -> tuple[float, float]:
    """Entries/s with ``appenders`` concurrent callers for ``seconds``; and entries per batch."""
    entries, batches0, ignored = 0, log.batches, list[float]()
    deadline = time.perf_counter() + seconds

    async def appender(worker: int) -> None:
        nonlocal entries
        n = worker
        while time.perf_counter() < deadline:
            written = await request(log, n, ignored)  # awaited first: `+= await` loses updates
            entries += written
            n += appenders

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(appender(w) for w in range(appenders)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    LAST_CPU_US[0] = cpu / max(1, entries) * 1e6
    return entries / elapsed, entries / max(1, log.batches - batches0)


async def paced(log: AuditLog, rate: float, seconds: float) -> tuple[float, float]:
    """p50 and p99 (ms) from append to signed receipt at ``rate`` entries/s (requests of two)."""
    latencies: list[float] = []
    tasks = []
    start = time.perf_counter()
    for n in range(int(rate / 2 * seconds)):
        delay = start + n / (rate / 2) - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(log, n, latencies)))
    await asyncio.gather(*tasks)
    latencies.sort()
    return latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000


async def replica_main(url: str, keys_dir: str, name: str, seconds: float, appenders: int) -> None:
    """One replica process: wait for 'go', append for ``seconds``, print the count as JSON."""
    configure(stream=sys.stderr)
    log = await _open(url, load_keys(Path(keys_dir), generate=False), name)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    rate, per_batch = await throughput(log, seconds, appenders)
    await _close(log)
    print(json.dumps({"rate": rate, "per_batch": per_batch}), flush=True)


async def two_replicas(url: str, keys_dir: Path, seconds: float, appenders: int) -> float:
    """Entries/s summed over two replica processes appending to one PostgreSQL log."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--replica", name, "--url", url, "--keys", str(keys_dir),
            "--seconds", str(seconds), "--appenders", str(appenders),
            "--linger-ms", str(LINGER_S * 1000),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for name in ("alpha", "beta")
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None
        await proc.stdout.readline()
    outs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    return float(sum(json.loads(out)["rate"] for out, _ in outs))


async def _schema(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _rate(rate: float, per_batch: float) -> str:
    return f"{rate:,.0f} ({per_batch:.0f}/batch, {LAST_CPU_US[0]:.0f} µs CPU/entry)"


async def bench(seconds: float, pg: str | None, appenders: int) -> list[tuple[str, str, str]]:
    """Run every cell; return (cell, figure, target) rows."""
    rows: list[tuple[str, str, str]] = []

    async def cells(name: str, url: str, keys: KeyMaterial) -> None:
        log = await _open(url, keys, "bench")
        try:
            # Latency first, on a fresh database: the throughput cells leave a WAL backlog
            # whose background checkpoint would compete for the disk.
            p50, p99 = await paced(log, 1000, seconds)
            rows.append((f"{name} p50 / p99 @ 1,000/s", f"{p50:.2f} / {p99:.2f} ms", "p99 < 10 ms"))
            rate, per_batch = await throughput(log, seconds, appenders)
            target = ">= 5,000" if name == "SQLite" else "-"
            rows.append((f"{name} entries/s, requests", _rate(rate, per_batch), target))
            rate, per_batch = await throughput(log, seconds, appenders, _small)
            rows.append((f"{name} entries/s, small leaves", _rate(rate, per_batch), "-"))
        finally:
            await _close(log)

    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = Path(tmp) / "keys"
        keys = load_keys(keys_dir, generate=True)
        await cells("SQLite", f"sqlite:///{tmp}/data/civetta.db", keys)
        if pg is None:
            return rows
        schema = f"civetta_bench_{os.getpid()}"
        url = f"{pg}{'&' if '?' in pg else '?'}schema={schema}"
        try:
            await cells("PostgreSQL", url, keys)
            rate = await two_replicas(url, keys_dir, seconds, appenders)
            rows.append(("PostgreSQL entries/s, 2 replicas", f"{rate:,.0f}", ">= 2,000"))
        finally:
            await _schema(pg, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows


def main() -> None:
    """Parse arguments, run the cells, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--appenders", type=int, default=256)
    parser.add_argument(
        "--pg",
        default=os.environ.get("CIVETTA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--linger-ms", type=float, default=2.0)
    parser.add_argument("--replica")
    parser.add_argument("--url")
    parser.add_argument("--keys")
    args = parser.parse_args()
    global LINGER_S
    LINGER_S = args.linger_ms / 1000
    if args.replica:
        asyncio.run(replica_main(args.url, args.keys, args.replica, args.seconds, args.appenders))
        return
    configure(level="warning", stream=sys.stderr)
    rows = asyncio.run(bench(args.seconds, None if args.no_pg else args.pg, args.appenders))
    width = max(len(r[0]) for r in rows)
    print(f"{'cell':<{width}}  {'measured':<46}  target")
    for cell, figure, target in rows:
        print(f"{cell:<{width}}  {figure:<46}  {target}")
    load = os.getloadavg()[0]
    print(
        f"(load average {load:.1f} on {os.cpu_count()} cores: other work on the machine slows every cell)"
    )


if __name__ == "__main__":
    main()
