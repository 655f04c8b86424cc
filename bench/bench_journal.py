"""The audit log's CPU per forwarded message, on the handler's own path and nothing else.

Each simulated request does what the handler's step 7 and step 9 do with auditing on:
``record_intent`` (seal the body, append the intent, wait until it is durable under a signed
checkpoint), a pause standing in for the upstream, then ``record_outcome`` (commitment of the
answer, the outcome leaf, its commit). The store is ``memory://`` so no fsync is measured (that
is ``bench_audit.py``'s subject), and there is no HTTP (that is ``bench_proxy.py``'s): what is
left is the audit's own CPU, with batches as the group-commit writer forms them at that
concurrency. Figures are printed, never asserted.

    python bench/bench_journal.py [--seconds 3] [--concurrency 1,8,32] [--json OUT]

Cells: each payload (the ~8 KiB SOAP and ~4 KiB TMF622 orders of ``bench/payloads.py``), once as
the unprotected route records it (no fields) and once as a protected one does (partner, order
reference and eight field records), at each concurrency. ``cpu us/req`` is this process's CPU
time (every thread) per request, intent plus outcome plus their share of batches and signatures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from payloads import all_payloads

from proxy.app import tune_collector
from proxy.audit.log import AuditLog, AuditSettings
from proxy.audit.records import FieldRecord, Operation
from proxy.journal import Disclosure, record_intent, record_outcome
from proxy.keys import load_keys
from proxy.logs import configure
from proxy.storage.memory import MemoryStore

ANSWER = b'{"id":"po-1","state":"acknowledged"}' * 4


async def cell(
    body: bytes, fields: int, concurrency: int, seconds: float, keys_dir: Path
) -> dict[str, Any]:
    """Requests/s, CPU µs per request and entries per batch for one configuration."""
    store = MemoryStore()
    await store.open()
    log = AuditLog(store, load_keys(keys_dir, generate=True), AuditSettings())
    await log.start()
    # record_intent/record_outcome read these two attributes of the proxy's state only.
    state: Any = SimpleNamespace(config=SimpleNamespace(audit=SimpleNamespace(enabled=True)))
    state.audit, state.log = log, None
    records = tuple(
        FieldRecord(f"$.contact[{i}].phone", f"rule-{i}", "replace", log.commit("$.p", b"%d" % i))
        for i in range(fields)
    )
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(worker: int) -> None:
        nonlocal done
        n = worker
        while time.perf_counter() < deadline:
            what = Disclosure(
                f"{n:032x}", "bench", "outbound", Operation("POST", "/bench/", None),
                "partner-1" if fields else None, f"ORD-{n}" if fields else None,
                "ab" * 32 if fields else None, records,
            )  # fmt: skip
            intent_id = await record_intent(state, what, body)
            await asyncio.sleep(0)  # the upstream's turn
            await record_outcome(state, intent_id, 201, ANSWER, 0.0012)
            done += 1
            n += concurrency

    batches, cpu, wall = log.batches, time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    batches = log.batches - batches
    await log.stop()
    await store.close()
    return {
        "requests_per_s": done / wall,
        "cpu_us_per_request": cpu / max(1, done) * 1e6,
        "entries_per_batch": 2 * done / max(1, batches),
        "requests": done,
    }


def main() -> None:
    """Parse arguments, run every cell, print the table (and write JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per cell")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    configure(level="warning", stream=sys.stderr)
    # The collector as `civetta serve` sets it up (proxy.app): start-up objects frozen, the
    # young generation collected every 10,000 net new objects.
    gc.collect()
    gc.freeze()
    tune_collector()
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for payload in all_payloads().values():
            for route, fields in (("unprotected", 0), ("protected", 8)):
                for concurrency in levels:
                    figures = asyncio.run(
                        cell(payload.body, fields, concurrency, args.seconds, Path(tmp) / "keys")
                    )
                    row = {"payload": payload.name, "route": route, "concurrency": concurrency}
                    rows.append(row | figures)
                    print(
                        f"{payload.name:8} {route:11} conc={concurrency:<3} "
                        f"{figures['requests_per_s']:8,.0f} req/s  "
                        f"cpu {figures['cpu_us_per_request']:6.1f} us/req  "
                        f"{figures['entries_per_batch']:5.1f} entries/batch",
                        flush=True,
                    )
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores: compare runs made together)")
    if args.json is not None:
        args.json.write_text(json.dumps({"load": load, "cells": rows}, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
