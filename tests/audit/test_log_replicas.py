"""Two proxy processes append concurrently to ONE PostgreSQL log: one consistent tree."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from proxy.audit.checkpoint import open_checkpoint
from proxy.audit.merkle import verify_consistency
from proxy.audit.note import Verifier
from proxy.audit.stored import consistency_proof
from proxy.storage import open_store
from tests.storage.logcheck import ORIGIN, check_whole_log, keys_in, parse

REPO = Path(__file__).resolve().parents[2]


async def run_replicas(
    url: str, keys_dir: Path, count: int, names: list[str]
) -> list[dict[str, Any]]:
    """Start one process per name, release them together, collect their JSON reports."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.storage.replica", url, str(keys_dir), name, str(count), "16",
            cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for name in names
    ]  # fmt: skip
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line != b"ready\n":
                assert proc.stderr is not None
                raise AssertionError((await proc.stderr.read()).decode()[-2000:])
        outputs = await asyncio.wait_for(
            asyncio.gather(*(proc.communicate(b"go\n") for proc in procs)), 120
        )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [proc.returncode for proc in procs] == [0] * len(procs), [e[-2000:] for _, e in outputs]
    return [json.loads(out) for out, _ in outputs]


@pytest.mark.postgres
async def test_two_processes_share_one_consistent_log(pg_url: str, tmp_path: Path) -> None:
    """Both replicas start on an empty log (one initialises it), append 2 x 300 pairs at once,
    and the result is ONE tree: gapless, each receipt's leaf written by its replica, every
    stored checkpoint the root of its prefix and consistent with the final checkpoint."""
    keys = keys_in(tmp_path / "keys")
    reports = await run_replicas(pg_url, tmp_path / "keys", 300, ["alpha", "beta"])
    store = open_store(pg_url)
    await store.open()
    try:
        verifier = Verifier(ORIGIN, keys.public_key_raw())
        data = await check_whole_log(store, verifier)
        assert len(data) == 2 + 2 * 2 * 300
        leaves = [parse(d) for d in data]
        assert [leaf["type"] for leaf in leaves].count("log_init") == 1
        for report in reports:
            assert len(report["receipts"]) == 600
            for index, size in report["receipts"]:
                assert leaves[index]["replica"] == report["replica"] and size > index
        assert all(report["batches"] < 600 for report in reports)  # batching happened
        writers = [leaf["replica"] for leaf in leaves[2:]]
        switches = sum(a != b for a, b in itertools.pairwise(writers))
        assert switches >= 4, "the replicas did not append concurrently"
        latest = await store.latest_checkpoint()
        assert latest is not None
        final = open_checkpoint(latest.note, [verifier], ORIGIN)
        stored = await store.checkpoints()
        assert len({c.size for c in stored}) == len(stored)
        for c in stored[:: max(1, len(stored) // 40)]:
            old = open_checkpoint(c.note, [verifier], ORIGIN)
            proof = await consistency_proof(store, old.size, final.size)
            verify_consistency(old.size, final.size, proof, old.root_hash, final.root_hash)
        assert await store.pending_intents() == []
    finally:
        await store.close()
