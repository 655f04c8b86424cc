"""The tamper matrix (AUDIT.md): each attack on a real SQLite log is caught with its exit code
and the entry it touched named in the report.

The log under attack is built by the real AuditLog: log_init (0), key (1), then six sealed
intents (2, 4, … 12) each followed by its outcome (3, 5, … 13); every append is its own batch,
so a signed checkpoint exists at every size from 2 to 14.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.merkle import leaf_hash
from proxy.audit.note import Signer
from proxy.audit.verify_report import Report
from tests.audit.test_verify_support import (
    BuiltLog,
    append_requests,
    build_log,
    checkpoint_note,
    leaf_data,
    leaf_json,
    resign,
    rows,
    sql,
    verify,
)
from tests.storage.logcheck import ORIGIN, open_log

SIZE = 14


def first(report: Report) -> tuple[int, str, int | None, str | None]:
    """Exit code, check, entry and intent id of the failure that decides the exit code."""
    failure = report.first_failure
    assert failure is not None, report.summary()
    return report.exit_code, failure.check, failure.index, failure.intent_id


async def clean(tmp_path: Path) -> BuiltLog:
    """The log under attack, checked clean first (so no test passes on a broken builder)."""
    built = await build_log(tmp_path, 6)
    report = await verify(built)
    assert report.exit_code == 0 and report.size == SIZE, report.summary()
    return built


async def test_modified_leaf_is_a_leaf_failure_naming_the_entry(tmp_path: Path) -> None:
    """An outcome's status rewritten in place (still canonical JSON): exit 11 at that entry."""
    built = await clean(tmp_path)
    data = leaf_data(built.db, 5)
    assert b'"status":201' in data
    sql(built.db, "UPDATE audit_leaf SET data = ? WHERE idx = 5", (data.replace(b"201", b"500"),))
    assert first(await verify(built)) == (11, "leaf_hash", 5, built.intents[1][1])


async def test_modified_leaf_with_its_stored_hash_is_caught_by_the_signed_root(
    tmp_path: Path,
) -> None:
    """The intruder also updates the stored leaf hash: the signed root still names entry 5."""
    built = await clean(tmp_path)
    data = leaf_data(built.db, 5).replace(b"201", b"500")
    sql(built.db, "UPDATE audit_leaf SET data = ?, hash = ? WHERE idx = 5", (data, leaf_hash(data)))
    report = await verify(built)
    assert first(report)[:3] == (11, "root_mismatch", 5)
    assert report.first_failure is not None and report.first_failure.end == 6


async def test_modified_encrypted_copy_names_its_intent(tmp_path: Path) -> None:
    """One bit of a sealed copy flipped: it no longer decrypts; exit 11 at its intent."""
    built = await clean(tmp_path)
    index, intent_id = built.intents[2]
    sealed_id = leaf_json(built.db, index)["body"]["sealed_id"]
    ((ciphertext,),) = rows(
        built.db, "SELECT ciphertext FROM audit_sealed WHERE id = ?", (sealed_id,)
    )
    flipped = bytes([ciphertext[0] ^ 1]) + bytes(ciphertext[1:])
    sql(built.db, "UPDATE audit_sealed SET ciphertext = ? WHERE id = ?", (flipped, sealed_id))
    assert first(await verify(built)) == (11, "sealed_copy", index, intent_id)


async def test_sealed_copies_swapped_between_intents_are_caught(tmp_path: Path) -> None:
    """Two copies exchanged under their ids: the associated data no longer matches."""
    built = await clean(tmp_path)
    ids = [leaf_json(built.db, i)["body"]["sealed_id"] for i, _ in built.intents[:2]]
    sql(built.db, "UPDATE audit_sealed SET id = 'tmp' WHERE id = ?", (ids[0],))
    sql(built.db, "UPDATE audit_sealed SET id = ? WHERE id = ?", (ids[0], ids[1]))
    sql(built.db, "UPDATE audit_sealed SET id = ? WHERE id = 'tmp'", (ids[1],))
    assert first(await verify(built)) == (11, "sealed_copy", *built.intents[0])


async def test_swapped_entries_are_caught_at_the_first_of_them(tmp_path: Path) -> None:
    """Entries 4 and 6 (two intents) exchanged with their hashes: exit 11 at entry 4."""
    built = await clean(tmp_path)
    sql(built.db, "UPDATE audit_leaf SET idx = -1 WHERE idx = 4")
    sql(built.db, "UPDATE audit_leaf SET idx = 4 WHERE idx = 6")
    sql(built.db, "UPDATE audit_leaf SET idx = 6 WHERE idx = -1")
    report = await verify(built)
    assert first(report)[:3] == (11, "root_mismatch", 4)
    # The meaning is off too (an outcome before its intent), but the leaf class decides.
    assert report.failure_counts["semantics"] >= 1


async def test_deleted_middle_entry_is_a_missing_leaf(tmp_path: Path) -> None:
    """Entry 7 deleted: exit 11, the gap named."""
    built = await clean(tmp_path)
    sql(built.db, "DELETE FROM audit_leaf WHERE idx = 7")
    report = await verify(built)
    assert first(report)[:3] == (11, "missing_leaf", 7)


async def test_deleted_middle_entry_with_renumbering_is_caught_at_that_entry(
    tmp_path: Path,
) -> None:
    """Entry 7 deleted and the later ones moved down, head shortened: exit 11 at entry 7."""
    built = await clean(tmp_path)
    sql(built.db, "DELETE FROM audit_leaf WHERE idx = 7")
    sql(built.db, "UPDATE audit_leaf SET idx = -(idx - 1) WHERE idx > 7")
    sql(built.db, "UPDATE audit_leaf SET idx = -idx WHERE idx < 0")
    sql(built.db, "UPDATE audit_head SET size = size - 1")
    report = await verify(built)
    assert first(report)[:3] == (11, "root_mismatch", 7)
    assert report.failure_counts["consistency"] >= 1  # checkpoint 14 is beyond the log now


async def test_truncated_tail_without_resigning_is_a_rollback(tmp_path: Path) -> None:
    """Entries from 10 on deleted (head and checkpoints left): exit 12 at entry 10."""
    built = await clean(tmp_path)
    sql(built.db, "DELETE FROM audit_leaf WHERE idx >= 10")
    assert first(await verify(built))[:3] == (12, "truncated", 10)
    sql(built.db, "UPDATE audit_head SET size = 10")
    assert first(await verify(built))[:3] == (12, "rollback", 10)


async def test_truncated_tail_resigned_is_caught_only_against_a_held_checkpoint(
    tmp_path: Path,
) -> None:
    """An intruder with the key truncates to 10 entries and re-signs: the log alone looks
    fine, a checkpoint of 14 entries held elsewhere shows the rollback (exit 12)."""
    built = await clean(tmp_path)
    held = checkpoint_note(built.db, SIZE)
    resign(built.db, [built.signer], size=10)
    alone = await verify(built)
    assert alone.exit_code == 0 and alone.size == 10
    report = await verify(built, held=held)
    assert first(report)[:3] == (12, "rollback", 10)
    assert report.first_failure is not None and report.first_failure.checkpoint == SIZE


async def test_fork_same_size_other_root_is_caught_against_a_held_checkpoint(
    tmp_path: Path,
) -> None:
    """An intruder with the key rewrites entry 5 and re-signs everything: exit 12 (fork)."""
    built = await clean(tmp_path)
    held = checkpoint_note(built.db, SIZE)
    sql(
        built.db,
        "UPDATE audit_leaf SET data = ? WHERE idx = 5",
        (leaf_data(built.db, 5).replace(b"201", b"500"),),
    )
    resign(built.db, [built.signer])
    assert (await verify(built)).exit_code == 0
    report = await verify(built, held=held)
    assert first(report)[:2] == (12, "fork")
    assert report.first_failure is not None and report.first_failure.checkpoint == SIZE


async def test_duplicated_intent_is_a_semantic_failure(tmp_path: Path) -> None:
    """An intent leaf appended a second time (same intent id): exit 13 at the copy."""
    built = await clean(tmp_path)
    log = await open_log(built.url, built.keys, clock=built.clock)
    try:
        receipt = await log.append(leaf_data(built.db, built.intents[0][0]))
    finally:
        await log.stop()
        await log.store.close()
    assert first(await verify(built)) == (
        13,
        "duplicate_intent",
        receipt.index,
        built.intents[0][1],
    )


async def test_unknown_signing_key_is_a_signature_failure(tmp_path: Path) -> None:
    """Checkpoint 8 replaced by one over the same tree signed by a key the log never
    introduced: exit 10, naming that checkpoint and the entry it alone covers."""
    built = await clean(tmp_path)
    text = checkpoint_note(built.db, 8).split(b"\n\n")[0].decode() + "\n"
    forged = sign_checkpoint(Checkpoint.parse(text), [Signer.generate(ORIGIN)])
    sql(built.db, "UPDATE audit_checkpoint SET note = ? WHERE size = 8", (forged,))
    report = await verify(built)
    assert first(report)[:3] == (10, "unknown_key", 7)
    assert report.first_failure is not None and report.first_failure.checkpoint == 8


async def test_whole_log_signed_by_another_key_fails_at_the_first_checkpoint(
    tmp_path: Path,
) -> None:
    """Everything re-signed by a stranger: the trust file's key signed nothing; exit 10."""
    built = await clean(tmp_path)
    resign(built.db, [Signer.generate(ORIGIN)])
    report = await verify(built)
    assert first(report)[:3] == (10, "unknown_key", 0)
    assert report.failure_counts["signature"] == SIZE - 1  # sizes 2..14


async def test_intent_without_outcome_is_a_semantic_failure(tmp_path: Path) -> None:
    """An intent never closed, the log going on an hour later: exit 13 naming the intent;
    within the grace period the same intent only counts as pending."""
    built = await clean(tmp_path)
    ((index, intent_id),) = await append_requests(built, 1, outcome=False)
    assert (await verify(built)).counts["pending_intents"] == 1
    built.clock.now += timedelta(hours=1)
    log = await open_log(built.url, built.keys, replica="r2", clock=built.clock)
    try:
        await log.heartbeat()
    finally:
        await log.stop()
        await log.store.close()
    assert first(await verify(built)) == (13, "intent_without_outcome", index, intent_id)


async def test_outcome_without_intent_is_a_semantic_failure(tmp_path: Path) -> None:
    """An intent deleted and the log re-signed: its outcome is an orphan (exit 13)."""
    built = await clean(tmp_path)
    index, intent_id = built.intents[1]
    sql(built.db, "DELETE FROM audit_leaf WHERE idx = ?", (index,))
    sql(built.db, "UPDATE audit_leaf SET idx = -(idx - 1) WHERE idx > ?", (index,))
    sql(built.db, "UPDATE audit_leaf SET idx = -idx WHERE idx < 0")
    resign(built.db, [built.signer])
    assert first(await verify(built)) == (13, "orphan_outcome", index, intent_id)


async def test_non_canonical_leaf_is_a_semantic_failure(tmp_path: Path) -> None:
    """A leaf appended with a space after a colon: not RFC 8785; exit 13 at that entry."""
    built = await clean(tmp_path)
    log = await open_log(built.url, built.keys, clock=built.clock)
    try:
        data = leaf_data(built.db, SIZE - 1).replace(b'"status":', b'"status": ')
        receipt = await log.append(data)
    finally:
        await log.stop()
        await log.store.close()
    assert first(await verify(built))[:3] == (13, "canonical", receipt.index)
