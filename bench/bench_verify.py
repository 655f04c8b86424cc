"""Verifier benchmark: full verification of a large SQLite log, and an incremental run.

The log is built in bulk through the store's own batch path (same hashing and nodes as the
proxy; batches of 256 leaves, each with an Ed25519 checkpoint, as group commit makes them
under load): ``log_init``, ``key``, then intent/outcome pairs whose intents carry five field
commitments (~1.6 KB and ~0.3 KB leaves). Then it times ``verify_log`` over the whole log (every
leaf re-hashed, parsed and checked as canonical JSON, every checkpoint's signature and root)
and an incremental run from the checkpoint at 90 %.

    python bench/bench_verify.py [--leaves 1000000] [--db PATH] [--json OUT]

``--db`` keeps the log between runs (it is built only when absent). Figures are printed,
never asserted; the target is a full verification of 1,000,000 leaves in under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proxy.audit.note import Signer
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify import VerifyOptions, verify_log
from proxy.audit.verify_bulk import bulk_log
from proxy.audit.verify_store import StoreSource
from proxy.storage import Store, open_store

ORIGIN = "civetta.example/bench-log"


def signer(db: Path) -> Signer:
    """The log's signer, kept next to the database (0600) so that a kept log verifies."""
    path = db.with_name(db.name + ".signer")
    if path.exists():
        return Signer.parse(path.read_text().strip())
    made = Signer.generate(ORIGIN)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(made.to_skey() + "\n")
    return made


async def build(store: Store, key: Signer, leaves: int) -> tuple[int, float]:
    """Build the log unless it already holds leaves; return its size and the time taken."""
    head = await store.head()
    if head.size:
        return head.size, 0.0
    started = time.perf_counter()
    size = await bulk_log(store, key, ORIGIN, max(0, (leaves - 2) // 2))
    return size, time.perf_counter() - started


async def run(db: Path, leaves: int) -> dict[str, Any]:
    """Build (if needed), verify in full, verify incrementally; return the figures."""
    key = signer(db)
    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        size, built_s = await build(store, key, leaves)
        print(f"log: {size:,} leaves in {db} (built in {built_s:.1f} s)", flush=True)
        anchor = TrustAnchor(ORIGIN, key.verifier())
        source = StoreSource(store)
        started = time.perf_counter()
        cpu = time.process_time()
        full = await verify_log(source, anchor, VerifyOptions())
        full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(full.summary(), end="", flush=True)
        checkpoints = await store.checkpoints()
        held = checkpoints[int(len(checkpoints) * 0.9)]
        started = time.perf_counter()
        part = await verify_log(source, anchor, VerifyOptions(held.note, incremental=True))
        part_s = time.perf_counter() - started
        print(part.summary(), end="", flush=True)
    finally:
        await store.close()
    per_leaf_us = full_s / size * 1e6
    return {
        "leaves": size,
        "checkpoints": full.checkpoints_verified,
        "build_s": round(built_s, 2),
        "full_verify_s": round(full_s, 2),
        "full_verify_cpu_s": round(full_cpu, 2),
        "full_verify_us_per_leaf": round(per_leaf_us, 2),
        "full_verify_1m_estimate_s": round(per_leaf_us, 1),
        "full_ok": full.ok,
        "incremental_from": held.size,
        "incremental_verify_s": round(part_s, 2),
        "incremental_ok": part.ok,
        "load_average": os.getloadavg()[0],
    }


def main() -> int:
    """Parse arguments, run, print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="keep the log here (built only when absent)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="civetta-bench-verify-") as tmp:
        db = args.db or Path(tmp) / "audit.db"
        figures = asyncio.run(run(db, args.leaves))
    print(
        f"full: {figures['full_verify_s']} s for {figures['leaves']:,} leaves "
        f"({figures['full_verify_us_per_leaf']} µs/leaf, ~{figures['full_verify_1m_estimate_s']} s "
        f"per million); incremental from {figures['incremental_from']:,}: "
        f"{figures['incremental_verify_s']} s; load average {figures['load_average']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["full_ok"] and figures["incremental_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
