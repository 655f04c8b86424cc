"""Helpers for the verifier's tests: real logs (AuditLog on SQLite) and an attacker's tools.

The attacker edits the SQLite file directly, as someone with access to the database would.
:func:`resign` goes further and recomputes leaf hashes, nodes, head and checkpoints with the
signing key, as someone who also holds the key would: only a checkpoint held elsewhere catches
that. The tests at the end check the helpers themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.leaves import BodyRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog
from proxy.audit.merkle import CompactRange, leaf_hash
from proxy.audit.note import Signer
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify import VerifyOptions, verify_log
from proxy.audit.verify_report import Report
from proxy.audit.verify_store import StoreSealedChecker, StoreSource
from proxy.keys import KeyMaterial
from proxy.storage import open_store
from tests.storage.logcheck import ORIGIN, Clock, keys_in, open_log, parse


@dataclass
class BuiltLog:
    """A log on disk and what a test needs to know about it."""

    db: Path
    keys_dir: Path
    keys: KeyMaterial
    clock: Clock
    #: ``(index, intent_id)`` of every intent appended, in order.
    intents: list[tuple[int, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The store URL."""
        return f"sqlite:///{self.db}"

    @property
    def signer(self) -> Signer:
        """The log's signer (key name = origin), as AuditLog makes it."""
        return Signer(ORIGIN, self.keys.signing_key)

    @property
    def anchor(self) -> TrustAnchor:
        """The trust file's content for this log."""
        return TrustAnchor(ORIGIN, self.signer.verifier())


def an_intent(log: AuditLog, n: int, body: BodyRecord) -> Intent:
    """A small intent with one removed field."""
    return Intent(
        f"req-{n}",
        "tmf622-v4",
        "outbound",
        Operation("POST", "/productOrder"),
        "olo-1",
        log.commit("$order_ref", f"ORD-{n}"),
        "0" * 64,
        body,
    )


async def append_requests(
    built: BuiltLog, count: int, *, outcome: bool = True, keys: KeyMaterial | None = None
) -> list[tuple[int, str]]:
    """Open the log, append ``count`` sealed intents (each with its outcome), close it."""
    log = await open_log(built.url, keys or built.keys, clock=built.clock)
    made = []
    try:
        for n in range(len(built.intents), len(built.intents) + count):
            built.clock.now += timedelta(seconds=1)
            sealing = await log.seal(b"<order><phone>+39 06 %07d</phone></order>" % n)
            receipt = await log.append_intent(an_intent(log, n, sealing.body), sealing)
            assert receipt.intent_id is not None
            made.append((receipt.index, receipt.intent_id))
            if outcome:
                await log.append_outcome(Outcome(receipt.intent_id, 201, None, 12.5))
    finally:
        await log.stop()
        await log.store.close()
    built.intents.extend(made)
    return made


async def build_log(tmp_path: Path, requests: int = 6) -> BuiltLog:
    """A SQLite log: log_init, key, then ``requests`` intent/outcome pairs, one batch each."""
    keys_dir = tmp_path / "keys"
    built = BuiltLog(tmp_path / "audit.db", keys_dir, keys_in(keys_dir), Clock())
    await append_requests(built, requests)
    return built


async def verify(
    built: BuiltLog,
    *,
    held: bytes | None = None,
    incremental: bool = False,
    anchor: TrustAnchor | None = None,
    grace_s: float = 300.0,
) -> Report:
    """Verify the log on disk with sealed copies, as ``civetta audit verify`` does."""
    store = open_store(built.url)
    await store.open()
    try:
        checker = StoreSealedChecker(store, built.keys.derive("sealed"))
        options = VerifyOptions(held, incremental, grace_s, sealed=checker)
        return await verify_log(StoreSource(store), anchor or built.anchor, options)
    finally:
        await store.close()


def sql(db: Path, statement: str, params: Sequence[Any] = ()) -> int:
    """Run one statement on the database file, as an intruder would; return rows changed."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        return conn.execute(statement, params).rowcount
    finally:
        conn.close()


def rows(db: Path, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read rows from the database file."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def leaf_data(db: Path, index: int) -> bytes:
    """The stored bytes of one leaf."""
    return bytes(rows(db, "SELECT data FROM audit_leaf WHERE idx = ?", (index,))[0][0])


def leaf_json(db: Path, index: int) -> dict[str, Any]:
    """One stored leaf, parsed."""
    return parse(leaf_data(db, index))


def checkpoint_note(db: Path, size: int) -> bytes:
    """The stored checkpoint of a given size."""
    return bytes(rows(db, "SELECT note FROM audit_checkpoint WHERE size = ?", (size,))[0][0])


def head_size(db: Path) -> int:
    """The head row's size."""
    return int(rows(db, "SELECT size FROM audit_head")[0][0])


def resign(db: Path, signers: Sequence[Signer], size: int | None = None) -> None:
    """Rebuild everything derived from the leaf rows and sign it: an intruder with the key.

    Leaves beyond ``size`` are dropped; each stored checkpoint size up to it is re-signed, plus
    ``size`` itself.
    """
    data = [bytes(d) for (d,) in rows(db, "SELECT data FROM audit_leaf ORDER BY idx")]
    size = len(data) if size is None else size
    sizes = {int(s) for (s,) in rows(db, "SELECT size FROM audit_checkpoint") if s <= size}
    sizes.add(size)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for table in ("audit_leaf", "audit_node", "audit_checkpoint"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        cr = CompactRange()
        for index, leaf in enumerate(data[:size]):
            h = leaf_hash(leaf)
            conn.execute("INSERT INTO audit_leaf VALUES (?, ?, ?)", (index, leaf, h))
            for level, at, node in cr.append(h):
                if level:
                    conn.execute("INSERT INTO audit_node VALUES (?, ?, ?)", (level, at, node))
            if cr.size in sizes:
                note = sign_checkpoint(Checkpoint(ORIGIN, cr.size, cr.root()), signers)
                conn.execute("INSERT INTO audit_checkpoint VALUES (?, ?)", (cr.size, note))
        conn.execute(
            "UPDATE audit_head SET size = ?, root = ?, frontier = ?",
            (cr.size, cr.root(), b"".join(cr.hashes)),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_a_built_log_verifies_with_sealed_copies(tmp_path: Path) -> None:
    """The builder's log is clean: every check passes and every sealed copy opens."""
    built = await build_log(tmp_path, 3)
    report = await verify(built)
    assert report.exit_code == 0, report.summary()
    assert report.types["intent"] == 3 and report.counts["sealed_checked"] == 3
    assert [leaf_json(built.db, i)["type"] for i, _ in built.intents] == ["intent"] * 3


async def test_resign_without_changes_keeps_the_log_valid(tmp_path: Path) -> None:
    """Re-signing an untouched log reproduces the same roots: the attacker tool is faithful."""
    built = await build_log(tmp_path, 2)
    before = checkpoint_note(built.db, head_size(built.db))
    resign(built.db, [built.signer])
    assert checkpoint_note(built.db, head_size(built.db)) == before  # Ed25519 is deterministic
    assert (await verify(built)).exit_code == 0
