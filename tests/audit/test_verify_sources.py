"""The verifier over every kind of store (memory, SQLite, PostgreSQL) and over a MemorySource,
where gaps, repeats and stray checkpoints are easy to make."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.audit import leaves
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.leaves import Outcome
from proxy.audit.merkle import CompactRange, leaf_hash
from proxy.audit.note import Signer
from proxy.audit.records import Stamp
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify import VerifyOptions, verify_log
from proxy.audit.verify_source import MemorySource, SourceLeaf
from proxy.audit.verify_store import StoreSealedChecker, StoreSource
from proxy.storage import open_store
from tests.audit.test_verify_support import an_intent
from tests.storage.logcheck import ORIGIN, Clock, keys_in, open_log


async def test_a_log_on_each_store_verifies(store_url: str, tmp_path: Path) -> None:
    """The same AuditLog traffic on memory, SQLite and PostgreSQL verifies with sealed copies;
    a second replica's entries interleave without harm."""
    keys = keys_in(tmp_path / "keys")
    store = open_store(store_url)
    await store.open()
    try:
        clock = Clock()
        logs = [
            await open_log(store_url, keys, replica, store=store, clock=clock)
            for replica in ("r1", "r2")
        ]
        for n in range(6):
            log = logs[n % 2]
            sealing = await log.seal(b"body %d" % n)
            receipt = await log.append_intent(an_intent(log, n, sealing.body), sealing)
            assert receipt.intent_id is not None
            await log.append_outcome(Outcome(receipt.intent_id, 200, None, 1.0))
        for log in logs:
            await log.stop()
        checker = StoreSealedChecker(store, keys.derive("sealed"))
        anchor = TrustAnchor(ORIGIN, logs[0].signer.verifier())
        report = await verify_log(StoreSource(store), anchor, VerifyOptions(sealed=checker))
    finally:
        await store.close()
    assert report.exit_code == 0, report.summary()
    assert report.counts["sealed_checked"] == 6 and report.size == 14


def memory_log(count: int) -> tuple[list[bytes], list[bytes], TrustAnchor, Signer]:
    """log_init, key and ``count`` heartbeats, a checkpoint at every size from 2."""
    signer = Signer.generate(ORIGIN)
    verifier = signer.verifier()
    stamp = Stamp(Clock().now, "r1")
    data = [
        leaves.log_init(stamp, ORIGIN, verifier.name, verifier.public_key, verifier.key_id),
        leaves.key(stamp, verifier.name, verifier.public_key, verifier.key_id, None),
        *(leaves.heartbeat(Stamp(Clock().now, f"r{n}")) for n in range(count)),
    ]
    notes = []
    cr = CompactRange()
    for leaf in data:
        cr.append(leaf_hash(leaf))
        if cr.size >= 2:
            notes.append(sign_checkpoint(Checkpoint(ORIGIN, cr.size, cr.root()), [signer]))
    return data, notes, TrustAnchor(ORIGIN, verifier), signer


async def test_memory_source_verifies_and_counts() -> None:
    """A clean in-memory log: every checkpoint verified, the types counted."""
    data, notes, anchor, _ = memory_log(5)
    report = await verify_log(MemorySource(data, notes), anchor)
    assert report.exit_code == 0, report.summary()
    assert (report.checkpoints_verified, report.types["heartbeat"]) == (6, 5)


async def test_a_repeated_index_is_a_leaf_failure() -> None:
    """A source that hands out one index twice: exit 11 at that index."""
    data, notes, anchor, _ = memory_log(3)

    class Repeating(MemorySource):
        async def leaves(self, start: int, end: int) -> list[SourceLeaf]:
            got = list(await super().leaves(start, end))
            return [*got[:3], got[2], *got[3:]]

    report = await verify_log(Repeating(data, notes), anchor)
    failure = report.first_failure
    assert failure is not None and (failure.check, failure.index) == ("leaf_order", 2)


async def test_checkpoints_in_a_gap_still_have_their_signatures_checked() -> None:
    """Entry 3 missing: its checkpoints cannot be matched, but a bad signature among them is
    still found (exit 10 outranks the gap's 11)."""
    data, notes, anchor, _ = memory_log(4)
    stranger = Signer.generate(ORIGIN)
    forged = sign_checkpoint(Checkpoint(ORIGIN, 4, leaf_hash(b"x")), [stranger])
    source = MemorySource(data, [*notes[:2], forged, *notes[3:]])

    class Gap(MemorySource):
        async def leaves(self, start: int, end: int) -> list[SourceLeaf]:
            return [x for x in await source.leaves(start, end) if x.index != 3]

    report = await verify_log(Gap(data, source.notes), anchor)
    assert report.exit_code == 10
    checks = {(f.check, f.index) for f in report.failures}
    assert ("missing_leaf", 3) in checks and ("unknown_key", 3) in checks


async def test_head_claiming_more_than_is_stored_is_truncation() -> None:
    """A head of 10 over 7 stored entries: exit 12 at entry 7."""
    data, notes, anchor, _ = memory_log(5)
    report = await verify_log(MemorySource(data, notes, claimed_size=10), anchor)
    failure = report.first_failure
    assert failure is not None and (failure.check, failure.index, failure.end) == (
        "truncated",
        7,
        10,
    )


async def test_a_checkpoint_of_another_log_is_a_signature_failure() -> None:
    """A stored checkpoint naming another origin (another log's, signed by its key)."""
    data, notes, anchor, signer = memory_log(2)
    other = sign_checkpoint(Checkpoint("other.example/log", 3, leaf_hash(b"y")), [signer])
    report = await verify_log(MemorySource(data, [*notes, other]), anchor)
    failure = report.first_failure
    assert failure is not None and (failure.check, failure.checkpoint) == ("origin", 3)


async def test_leaf_not_an_object_or_of_unknown_type_is_semantic() -> None:
    """A JSON array, and an object of an unknown type, both canonical: exit 13 each."""
    data, _, anchor, signer = memory_log(1)
    data = [*data, b"[1,2]", b'{"type":"gossip","v":1}']
    cr = CompactRange()
    for leaf in data:
        cr.append(leaf_hash(leaf))
    notes = [sign_checkpoint(Checkpoint(ORIGIN, cr.size, cr.root()), [signer])]
    report = await verify_log(MemorySource(data, notes), anchor)
    assert report.exit_code == 13
    assert [(f.check, f.index) for f in report.failures] == [("leaf_schema", 3), ("leaf_schema", 4)]


def test_options_refuse_an_incremental_run_without_a_checkpoint() -> None:
    """Incremental needs the held checkpoint it starts from."""
    with pytest.raises(ValueError, match="held checkpoint"):
        VerifyOptions(incremental=True)
    with pytest.raises(ValueError, match="workers"):
        VerifyOptions(workers=-1)


async def test_incremental_prefix_rehashed_without_subtrees_read_with_them() -> None:
    """A source without subtree hashes has its prefix re-hashed; with them, it is not, and a
    wrong stored subtree falls back to re-hashing (which then decides)."""
    data, notes, anchor, _ = memory_log(6)
    held = notes[3]  # size 5
    options = VerifyOptions(held, incremental=True)
    plain = await verify_log(MemorySource(data, notes), anchor, options)
    assert plain.exit_code == 0 and plain.counts["prefix_rehashed"] == 5
    nodes = {}
    cr = CompactRange()
    for leaf in data:
        for level, index, h in cr.append(leaf_hash(leaf)):
            nodes[level, index] = h
    fast = await verify_log(MemorySource(data, notes, nodes), anchor, options)
    assert fast.exit_code == 0 and fast.counts["prefix_rehashed"] == 0
    nodes[2, 0] = leaf_hash(b"wrong")
    fallback = await verify_log(MemorySource(data, notes, nodes), anchor, options)
    assert fallback.exit_code == 0 and fallback.counts["prefix_rehashed"] == 5
