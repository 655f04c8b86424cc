"""A proxy replica in its own process, for tests (and the bench) that share one log.

Usage: ``python -m tests.storage.replica URL KEYS_DIR REPLICA COUNT CONCURRENCY``. It starts an
AuditLog, waits for the word ``go`` on standard input (so that every replica starts appending
at the same moment), appends COUNT intent/outcome pairs with CONCURRENCY appenders, and prints
one JSON line: its receipts as ``[index, tree_size]`` and the number of batches it committed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from proxy.audit.leaves import BodyRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog
from proxy.keys import load_keys
from proxy.logs import configure
from tests.storage.logcheck import open_log


async def _pair(log: AuditLog, n: int, out: list[list[int]]) -> None:
    body = BodyRecord(4, log.commit("$body", b"%d" % n))
    record = Intent(
        f"req-{n}", "tmf622", "outbound", Operation("POST", "/po"), "p1", None, None, body
    )
    receipt = await log.append_intent(record)
    assert receipt.intent_id is not None
    done = await log.append_outcome(Outcome(receipt.intent_id, 201, None, 1.0))
    out.append([receipt.index, receipt.tree_size])
    out.append([done.index, done.tree_size])


async def main(url: str, keys_dir: str, replica: str, count: int, concurrency: int) -> None:
    """Run one replica; see the module docstring."""
    configure(stream=sys.stderr)  # stdout carries the report
    log = await open_log(url, load_keys(Path(keys_dir), generate=False), replica)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    receipts: list[list[int]] = []
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await _pair(log, n, receipts)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    batches = log.batches
    await log.stop()
    await log.store.close()
    print(json.dumps({"replica": replica, "receipts": receipts, "batches": batches}), flush=True)


if __name__ == "__main__":
    url, keys_dir, replica, count, concurrency = sys.argv[1:6]
    asyncio.run(main(url, keys_dir, replica, int(count), int(concurrency)))
