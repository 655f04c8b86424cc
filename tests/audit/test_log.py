"""The AuditLog service: initialisation, group commit, receipts, failures, draining."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxy.audit.batch import Batch, BatchResult
from proxy.audit.checkpoint import open_checkpoint
from proxy.audit.leaves import BodyRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog
from proxy.audit.merkle import leaf_hash, verify_inclusion
from proxy.audit.stored import inclusion_proof
from proxy.errors import AuditUnavailable
from proxy.keys import KeyMaterial
from proxy.storage import StoreError
from proxy.storage.memory import MemoryStore
from tests.storage.logcheck import ORIGIN, check_whole_log, keys_in, open_log, parse


@pytest.fixture
def keys(tmp_path: Path) -> KeyMaterial:
    """Key files for the test's log."""
    return keys_in(tmp_path / "keys")


@pytest.fixture
async def log(store_url: str, keys: KeyMaterial) -> AsyncIterator[AuditLog]:
    """A started log on each kind of store."""
    audit = await open_log(store_url, keys)
    yield audit
    await audit.stop()
    await audit.store.close()


def intent(log: AuditLog, n: int) -> Intent:
    """A small intent."""
    body = BodyRecord(10, log.commit("$body", b"%d" % n), None)
    return Intent(
        f"req-{n}", "tmf622", "outbound", Operation("POST", "/po"), "p1", None, None, body
    )


async def test_a_new_log_starts_with_log_init_and_key(log: AuditLog, keys: KeyMaterial) -> None:
    """The first two leaves name the origin and the signing key, under a signed checkpoint."""
    first = [parse(leaf.data) for leaf in await log.store.leaves(0, 10)]
    verifier = log.signer.verifier()
    assert [leaf["type"] for leaf in first] == ["log_init", "key"]
    assert first[0]["origin"] == ORIGIN and first[0]["key_id"] == f"{verifier.key_id:08x}"
    latest = await log.store.latest_checkpoint()
    assert latest is not None and open_checkpoint(latest.note, [verifier], ORIGIN).size == 2


async def test_concurrent_appends_share_few_batches_and_every_receipt_proves(log: AuditLog) -> None:
    """600 concurrent appends commit in a handful of transactions; each receipt's checkpoint
    verifies with the public key and covers its index, and an inclusion proof built from the
    stored nodes puts the leaf under that checkpoint's root."""
    receipts = await asyncio.gather(*(log.append_intent(intent(log, n)) for n in range(600)))
    assert sorted(r.index for r in receipts) == list(range(2, 602))
    assert log.batches <= 30, log.batches
    verifier = log.signer.verifier()
    stored = {leaf.index: leaf for leaf in await log.store.leaves(0, 602)}
    for receipt in receipts:
        checkpoint = open_checkpoint(receipt.checkpoint, [verifier], ORIGIN)
        assert checkpoint.size == receipt.tree_size > receipt.index
        assert parse(stored[receipt.index].data)["intent_id"] == receipt.intent_id
        proof = await inclusion_proof(log.store, receipt.index, receipt.tree_size)
        leaf = leaf_hash(stored[receipt.index].data)
        verify_inclusion(receipt.index, receipt.tree_size, leaf, proof, checkpoint.root_hash)
    await check_whole_log(log.store, verifier)


async def test_outcome_closes_its_intent(log: AuditLog) -> None:
    """An intent is pending until its outcome is durable."""
    receipt = await log.append_intent(intent(log, 1))
    assert receipt.intent_id is not None
    assert [p.intent_id for p in await log.store.pending_intents("r1")] == [receipt.intent_id]
    await log.append_outcome(Outcome(receipt.intent_id, 201, None, 3.2))
    assert await log.store.pending_intents() == []


async def test_stop_drains_the_queue_then_refuses(log: AuditLog) -> None:
    """Appends queued before stop() all commit; appends after it get AuditUnavailable."""
    pending = [asyncio.create_task(log.heartbeat()) for _ in range(50)]
    await asyncio.sleep(0)  # let them queue
    await log.stop()
    assert len({(await task).index for task in pending}) == 50
    with pytest.raises(AuditUnavailable):
        await log.heartbeat()
    assert (await log.store.head()).size == 52


async def test_a_failed_commit_fails_its_whole_batch_and_the_writer_goes_on(
    tmp_path: Path, keys: KeyMaterial
) -> None:
    """A SQLite error inside the batch transaction (a trigger stands in for a failing disk)
    fails every append of the batch with AuditUnavailable and writes nothing; once the fault
    is gone the writer appends again from the unchanged head."""
    path = tmp_path / "data" / "civetta.db"
    log = await open_log(f"sqlite:///{path}", keys, linger_s=0.05)
    try:
        with sqlite3.connect(path) as raw:
            raw.execute(
                "CREATE TRIGGER fail BEFORE INSERT ON audit_leaf "
                "BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
            )
        results = await asyncio.gather(
            *(log.heartbeat() for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, AuditUnavailable) for r in results), results
        assert log.batches == 0
        assert (await log.store.head()).size == 2
        with sqlite3.connect(path) as raw:
            raw.execute("DROP TRIGGER fail")
        receipt = await log.heartbeat()
        assert (receipt.index, receipt.tree_size) == (2, 3)
        await check_whole_log(log.store, log.signer.verifier())
    finally:
        await log.stop()
        await log.store.close()


class FlakyStore(MemoryStore):
    """A memory store whose next ``failures`` batches fail, or hang past the commit timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.hang = False

    async def append_batch(self, batch: Batch) -> BatchResult:
        """Fail (or hang) while failures remain, then behave."""
        if self.failures:
            self.failures -= 1
            if self.hang:
                await asyncio.sleep(3600)
            raise StoreError("expected fsync to succeed, got EIO")
        return await super().append_batch(batch)


@pytest.mark.parametrize("hang", [False, True], ids=["error", "timeout"])
async def test_store_errors_and_timeouts_become_audit_unavailable(
    keys: KeyMaterial, hang: bool
) -> None:
    """An error or a commit that outlives commit_timeout_s fails the appends (never retried);
    the next append succeeds."""
    store = FlakyStore()
    await store.open()
    log = await open_log("memory://", keys, store=store, commit_timeout_s=0.2)
    store.failures, store.hang = 1, hang
    with pytest.raises(AuditUnavailable) as info:
        await log.heartbeat()
    assert info.value.status == 503
    assert (await log.heartbeat()).index == 2
    await log.stop()


async def test_sealed_copy_commits_with_its_intent(log: AuditLog) -> None:
    """The sealed copy is stored in the intent's batch and opens to the forwarded bytes; an
    intent citing another copy is refused."""
    sealing = await log.seal(b"<exact forwarded bytes/>")
    base = intent(log, 1)
    cited = base._replace(body=sealing.body)
    await log.append_intent(cited, sealing)
    assert await log.open_sealed(sealing.sealed_id) == (sealing.salt, b"<exact forwarded bytes/>")
    with pytest.raises(ValueError, match="cite the sealed copy"):
        await log.append_intent(base, sealing)


async def test_an_abandoned_intent_gets_a_not_sent_outcome(
    store_url: str, keys: KeyMaterial
) -> None:
    """A caller cancelled while its intent commits (client gone) forwarded nothing: the intent
    still commits, and its outcome says it was not sent, so no dangling intent remains."""
    log = await open_log(store_url, keys, linger_s=0.05)
    try:
        task = asyncio.create_task(log.append_intent(intent(log, 1)))
        await asyncio.sleep(0)  # queued; the idle writer commits it on its next turn
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await log.stop()  # drains the queue, the outcome queued after the intent included
        data = [parse(leaf.data) for leaf in await log.store.leaves(2, 10)]
        assert [d["type"] for d in data] == ["intent", "outcome"]
        assert data[1]["intent_id"] == data[0]["intent_id"]
        assert data[1]["error"] == "CIVETTA-NOT-SENT" and data[1]["status"] is None
        assert await log.store.pending_intents() == []
    finally:
        await log.stop()
        await log.store.close()
