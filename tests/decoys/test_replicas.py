"""Two proxy processes on one database never hand out the same decoy (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from proxy.audit.note import Signer
from proxy.keys import load_keys
from proxy.storage import open_store
from tests.storage.logcheck import ORIGIN, check_whole_log, keys_in, parse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database two processes can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/civetta.db"
    url: str = request.getfixturevalue("pg_url")
    return url


async def run(
    url: str, keys: Path, jobs: list[tuple[str, int, int]], pool: int
) -> list[dict[str, str]]:
    """Start one assigner per job, release them together, collect order -> decoy of each."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.decoys.assigner", url, str(keys), name, str(first),
            str(last), str(pool), cwd=REPO, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for name, first, last in jobs
    ]  # fmt: skip
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line != b"ready\n":
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


async def test_two_processes_never_share_a_decoy(shared_url: str, tmp_path: Path) -> None:
    """Two replicas assign 80 orders each, 40 of them the same, from a pool of exactly the 120
    numbers needed: the shared orders get the same decoy from both, no two orders share one,
    the pool ends full, and the log (one tree for both) announces every assignment."""
    keys_in(tmp_path / "keys")
    alpha, beta = await run(
        shared_url, tmp_path / "keys", [("alpha", 0, 80), ("beta", 40, 120)], pool=120
    )
    for order in set(alpha) & set(beta):
        assert alpha[order] == beta[order], order
    decoys = {**alpha, **beta}
    assert len(decoys) == 120 and len(set(decoys.values())) == 120
    store = open_store(shared_url)
    await store.open()
    try:
        live = await store.decoys.live("phone")
        assert len(live) == 120 and all(row.alias_index is not None for row in live)
        leaves = [parse(leaf.data) for leaf in await store.leaves(0, (await store.head()).size)]
        announced = {
            (leaf["decoy"], leaf["order_ref"]) for leaf in leaves if leaf["type"] == "alias"
        }
        assert len(announced) == 120
        assert {leaf["replica"] for leaf in leaves if leaf["type"] == "alias"} == {"alpha", "beta"}
        # One consistent tree for both replicas, every checkpoint matching its prefix.
        keys = load_keys(tmp_path / "keys", generate=False)
        verifier = Signer(ORIGIN, keys.signing_key).verifier()
        assert len(await check_whole_log(store, verifier)) == len(leaves)
    finally:
        await store.close()
