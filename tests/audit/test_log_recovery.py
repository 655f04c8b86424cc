"""Start-up: recovery of dangling intents, refusal on rollback or tampering, the state wiring."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from proxy.audit.leaves import BodyRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog, AuditSettings
from proxy.audit.merkle import CompactRange, leaf_hash
from proxy.audit.startup import TAIL, LogRefused
from proxy.keys import KeyMaterial
from proxy.state import open_state
from proxy.storage import Store, open_store
from proxy.testing import config
from tests.storage.logcheck import ORIGIN, check_whole_log, keys_in, open_log, parse


@pytest.fixture
def keys(tmp_path: Path) -> KeyMaterial:
    """Key files for the test's log."""
    return keys_in(tmp_path / "keys")


def intent(log: AuditLog) -> Intent:
    """A small intent."""
    body = BodyRecord(3, log.commit("$body", b"abc"))
    return Intent("req", "tmf622", "outbound", Operation("POST", "/po"), "p1", None, None, body)


async def reopen(url: str, old: AuditLog) -> Store:
    """The same store after a restart (memory: the same object, others: a new connection)."""
    await old.stop()
    if url == "memory://":
        return old.store
    await old.store.close()
    store = open_store(url)
    await store.open()
    return store


async def test_restart_recovers_this_replicas_dangling_intents(
    store_url: str, keys: KeyMaterial
) -> None:
    """Intents without an outcome get a ``recovery`` leaf (status unknown) at the next start of
    their replica; answered intents and another replica's in-flight intents are left alone."""
    log = await open_log(store_url, keys, "r1")
    other = AuditLog(log.store, keys, AuditSettings(origin=ORIGIN, replica="r2"))
    await other.start()
    answered, lost_a, lost_b = [await log.append_intent(intent(log)) for _ in range(3)]
    assert answered.intent_id is not None
    await log.append_outcome(Outcome(answered.intent_id, 201))
    in_flight = await other.append_intent(intent(other))
    await other.stop()
    store = await reopen(store_url, log)
    restarted = await open_log(store_url, keys, "r1", store=store)
    try:
        head = await store.head()
        tail = [parse(leaf.data) for leaf in await store.leaves(head.size - 2, head.size)]
        assert [(t["type"], t["intent_id"], t["status"]) for t in tail] == [
            ("recovery", lost_a.intent_id, "unknown"),
            ("recovery", lost_b.intent_id, "unknown"),
        ]
        assert [t["intent_index"] for t in tail] == [lost_a.index, lost_b.index]
        assert [p.intent_id for p in await store.pending_intents()] == [in_flight.intent_id]
        await check_whole_log(store, restarted.signer.verifier())
    finally:
        await restarted.stop()
        await store.close()


async def _sqlite_log(tmp_path: Path, keys: KeyMaterial, n: int) -> tuple[Path, list[int]]:
    """A SQLite log with ``n`` heartbeats appended one by one; return its path and the sizes
    of its checkpoints."""
    path = tmp_path / "data" / "civetta.db"
    log = await open_log(f"sqlite:///{path}", keys, linger_s=0)
    for _ in range(n):
        await log.heartbeat()
    sizes = [c.size for c in await log.store.checkpoints()]
    await log.stop()
    await log.store.close()
    return path, sizes


def _roll_back(path: Path, size: int, *, checkpoints_too: bool) -> None:
    """Make the database look like an older copy of itself, of ``size`` leaves."""
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM audit_leaf WHERE idx >= ?", (size,))
        raw.execute("DELETE FROM audit_node WHERE (idx + 1) << level > ?", (size,))
        if checkpoints_too:
            raw.execute("DELETE FROM audit_checkpoint WHERE size > ?", (size,))
    _rewrite_head(path, size)


def _rewrite_head(path: Path, size: int) -> None:
    """Recompute the head row of ``size`` leaves from the stored leaf hashes (as an attacker or
    a restored backup would have it: internally consistent)."""
    with sqlite3.connect(path) as raw:
        cr = CompactRange()
        for (h,) in raw.execute("SELECT hash FROM audit_leaf WHERE idx < ? ORDER BY idx", (size,)):
            cr.append(bytes(h))
        raw.execute(
            "UPDATE audit_head SET size = ?, root = ?, frontier = ? WHERE id = 1",
            (cr.size, cr.root(), b"".join(cr.hashes)),
        )


async def test_a_head_shorter_than_its_latest_checkpoint_is_a_rollback(
    tmp_path: Path, keys: KeyMaterial
) -> None:
    """Tail rows deleted and the head rewound, checkpoints kept: start-up refuses."""
    path, _ = await _sqlite_log(tmp_path, keys, 20)
    _roll_back(path, 12, checkpoints_too=False)
    with pytest.raises(LogRefused, match=r"at least 22 leaves.*rollback"):
        await open_log(f"sqlite:///{path}", keys)


async def test_a_checkpoint_held_elsewhere_catches_a_clean_rollback(
    tmp_path: Path, keys: KeyMaterial
) -> None:
    """A rollback that also deleted the later checkpoints passes the database's own check but
    not the one against a checkpoint kept in a file; a matching file passes."""
    path, _ = await _sqlite_log(tmp_path, keys, 20)
    with sqlite3.connect(path) as raw:
        (later,) = raw.execute("SELECT note FROM audit_checkpoint WHERE size = 22").fetchone()
        (earlier,) = raw.execute("SELECT note FROM audit_checkpoint WHERE size = 10").fetchone()
    _roll_back(path, 12, checkpoints_too=True)
    witness = tmp_path / "witness.checkpoint"
    witness.write_bytes(bytes(earlier))
    log = await open_log(f"sqlite:///{path}", keys, checkpoint_file=witness)
    await log.stop()
    await log.store.close()
    witness.write_bytes(bytes(later))
    with pytest.raises(LogRefused, match="held elsewhere"):
        await open_log(f"sqlite:///{path}", keys, checkpoint_file=witness)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            "UPDATE audit_leaf SET data = CAST(data || ' ' AS BLOB) "
            "WHERE idx = (SELECT MAX(idx) FROM audit_leaf)",
            "hash",
        ),
        ("DELETE FROM audit_leaf WHERE idx = (SELECT MAX(idx) - 3 FROM audit_leaf)", "gaps"),
        ("UPDATE audit_node SET hash = zeroblob(32) WHERE level = 1", "stored node"),
        ("UPDATE audit_head SET root = zeroblob(32)", "frontier"),
        (
            "UPDATE audit_checkpoint SET note = CAST(replace(CAST(note AS TEXT), "
            "char(10) || '22' || char(10), char(10) || '23' || char(10)) AS BLOB)",
            "signed",
        ),
    ],
    ids=["leaf-bytes", "missing-leaf", "node", "head-root", "checkpoint-size"],
)
async def test_tampering_near_the_head_is_refused(
    tmp_path: Path, keys: KeyMaterial, damage: str, reason: str
) -> None:
    """Each kind of damage in the tail makes start-up refuse, naming what did not match."""
    path, _ = await _sqlite_log(tmp_path, keys, 20)
    with sqlite3.connect(path) as raw:
        raw.execute(damage)
    with pytest.raises(LogRefused, match=reason):
        await open_log(f"sqlite:///{path}", keys)


async def test_a_head_ahead_of_the_latest_checkpoint_must_extend_it(
    tmp_path: Path, keys: KeyMaterial
) -> None:
    """A head longer than the latest checkpoint (another replica committed between the two
    reads) is accepted when it extends that checkpoint, and refused when it forks from it."""
    path, _ = await _sqlite_log(tmp_path, keys, 20)
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM audit_checkpoint WHERE size > 15")
        (note,) = raw.execute("SELECT note FROM audit_checkpoint WHERE size = 15").fetchone()
    log = await open_log(f"sqlite:///{path}", keys)
    await log.stop()
    await log.store.close()
    with sqlite3.connect(path) as raw:  # a fork: leaf 3 rewritten, everything rehashed
        raw.execute(
            "UPDATE audit_leaf SET data = X'7b7d', hash = ? WHERE idx = 3", (leaf_hash(b"{}"),)
        )
        raw.execute("DELETE FROM audit_node")
        hashes = [bytes(h) for (h,) in raw.execute("SELECT hash FROM audit_leaf ORDER BY idx")]
        cr = CompactRange()
        for h in hashes:
            raw.executemany(
                "INSERT INTO audit_node VALUES (?, ?, ?)", [n for n in cr.append(h) if n[0]]
            )
        raw.execute("DELETE FROM audit_checkpoint WHERE size > 15")
        raw.execute("UPDATE audit_checkpoint SET note = ? WHERE size = 15", (note,))
    _rewrite_head(path, len(hashes))
    with pytest.raises(LogRefused, match="extend the latest signed checkpoint"):
        await open_log(f"sqlite:///{path}", keys)


async def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    """A log started with other keys does not accept the stored checkpoints."""
    path, _ = await _sqlite_log(tmp_path, keys_in(tmp_path / "keys"), 3)
    with pytest.raises(LogRefused, match="signed by the log's key"):
        await open_log(f"sqlite:///{path}", keys_in(tmp_path / "other-keys"))


async def test_tail_check_spans_more_than_one_block(tmp_path: Path, keys: KeyMaterial) -> None:
    """A log longer than TAIL restarts cleanly (the tail check re-hashes a whole block)."""
    path = tmp_path / "data" / "civetta.db"
    log = await open_log(f"sqlite:///{path}", keys)
    for _ in range(3):
        await log.append(b"x" * 10)
    for chunk in range(0, TAIL + 40, 256):
        await _many(log, min(256, TAIL + 40 - chunk))
    await log.stop()
    await log.store.close()
    again = await open_log(f"sqlite:///{path}", keys)
    assert (await again.store.head()).size == 2 + 3 + TAIL + 40
    await again.stop()
    await again.store.close()


async def _many(log: AuditLog, n: int) -> None:
    await asyncio.gather(*(log.heartbeat() for _ in range(n)))


async def test_open_state_refuses_a_rolled_back_log(tmp_path: Path) -> None:
    """open_state raises when the audit log fails its start-up check (the proxy never serves)."""
    keys_dir = tmp_path / "keys"
    path, _ = await _sqlite_log(tmp_path, keys_in(keys_dir), 20)
    _roll_back(path, 12, checkpoints_too=False)
    cfg = config(tmp_path, [], storage_url=f"sqlite:///{path}", keys_dir=keys_dir)
    with pytest.raises(LogRefused):
        async with open_state(cfg, audit=AuditSettings(origin=ORIGIN, replica="r1")):
            pass
