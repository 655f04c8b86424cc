"""The verifier on real logs beyond the tamper matrix: shredding, key rotation, incremental
runs from a checkpoint held elsewhere, and a 10,000-leaf log."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proxy.audit import leaves
from proxy.audit.batch import Batch, BatchEntry
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.note import Signer
from proxy.audit.records import Stamp
from proxy.audit.rotation import append_rotation, rotate_key_files
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify import VerifyOptions, verify_log
from proxy.audit.verify_bulk import bulk_log
from proxy.audit.verify_store import StoreSource
from proxy.keys import SIGNING_KEY, KeyMaterial, generate_signing_key, load_keys
from proxy.storage import open_store
from tests.audit.test_verify_support import (
    BuiltLog,
    append_requests,
    build_log,
    checkpoint_note,
    head_size,
    leaf_data,
    leaf_json,
    resign,
    sql,
    verify,
)
from tests.audit.test_verify_tamper import first
from tests.storage.logcheck import ORIGIN, open_log

# --- shredding ---------------------------------------------------------------------------


async def test_log_still_verifies_after_shredding(tmp_path: Path) -> None:
    """Copies sealed in September, shredded in November: the erasure is recorded, the copies
    no longer open, and the whole log still verifies (exit 0)."""
    built = await build_log(tmp_path, 0)
    built.clock.now = datetime(2026, 9, 15, 10, tzinfo=UTC)
    await append_requests(built, 3)
    built.clock.now = datetime(2026, 11, 20, 10, tzinfo=UTC)
    await append_requests(built, 2)
    log = await open_log(built.url, built.keys, clock=built.clock)
    try:
        assert await log.shred(date(2026, 11, 1)) == ["2026-09"]
    finally:
        await log.stop()
        await log.store.close()
    report = await verify(built)
    assert report.exit_code == 0, report.summary()
    assert report.types["erasure"] == 1
    assert (report.counts["sealed_shredded"], report.counts["sealed_checked"]) == (3, 5)


async def test_data_key_deleted_without_erasure_leaf_is_caught(tmp_path: Path) -> None:
    """A period's key removed behind the log's back: the copies it sealed are unreadable and
    no erasure leaf says why; exit 11 naming the first such intent."""
    built = await build_log(tmp_path, 2)
    sql(built.db, "DELETE FROM audit_data_key")
    assert first(await verify(built)) == (11, "sealed_copy", *built.intents[0])


# --- key rotation ------------------------------------------------------------------------


def new_keys(built: BuiltLog) -> tuple[KeyMaterial, Signer]:
    """A fresh signing key with the log's secret, and its signer."""
    key = Ed25519PrivateKey.generate()
    return KeyMaterial(key, built.keys.secret), Signer(ORIGIN, key)


async def rotate(built: BuiltLog, new: Signer, signers: list[Signer] | None = None) -> int:
    """Append a rotation to ``new``; ``signers`` overrides who signs it (old and new)."""
    store = open_store(built.url)
    await store.open()
    try:
        if signers is None:
            result = await append_rotation(store, ORIGIN, built.signer, new)
        else:
            data = leaves.key(
                Stamp(built.clock.now, "cli"),
                new.name,
                new.verifier().public_key,
                new.key_id,
                built.signer.key_id,
            )

            def sign(size: int, root: bytes) -> bytes:
                return sign_checkpoint(Checkpoint(ORIGIN, size, root), signers)

            result = await store.append_batch(Batch((BatchEntry(data),), sign, "cli"))
        return result.first_index
    finally:
        await store.close()


async def test_rotated_log_verifies_and_reports_key_ranges(tmp_path: Path) -> None:
    """Rotation leaf published under both keys, then the new key alone: exit 0; the old key
    is valid up to the publishing checkpoint, the new one from the rotation leaf on."""
    built = await build_log(tmp_path, 2)
    keys, signer = new_keys(built)
    index = await rotate(built, signer)
    await append_requests(built, 2, keys=keys)
    report = await verify(built)
    assert report.exit_code == 0, report.summary()
    old, new = report.keys
    assert (old["first_size"], old["last_size"]) == (0, index + 1)
    assert (new["first_size"], new["last_size"], new["introduced_at"]) == (index + 1, None, index)
    assert new["key_id"] == f"{signer.key_id:08x}"


async def test_old_key_signing_alone_after_rotation_is_a_signature_failure(
    tmp_path: Path,
) -> None:
    """After the rotation is published the old key may not sign alone: exit 10 there."""
    built = await build_log(tmp_path, 2)
    _, signer = new_keys(built)
    index = await rotate(built, signer)
    await append_requests(built, 1)  # still the old key
    report = await verify(built)
    assert first(report)[:3] == (10, "key_not_in_force", index + 1)


async def test_dual_signed_checkpoints_after_rotation_are_accepted(tmp_path: Path) -> None:
    """An overlap: the old key goes on signing next to the new one (here every checkpoint is
    dual-signed): accepted, the new key being the one relied on after the rotation; before
    it, the new key's signature is one by a key not yet known, which is ignored."""
    built = await build_log(tmp_path, 2)
    _, signer = new_keys(built)
    await rotate(built, signer)
    await append_requests(built, 1)  # old key alone: refused as it stands
    assert (await verify(built)).exit_code == 10
    resign(built.db, [built.signer, signer])
    assert checkpoint_note(built.db, head_size(built.db)).count("\u2014".encode()) == 2
    report = await verify(built)
    assert report.exit_code == 0, report.summary()


async def test_rotation_not_signed_by_the_previous_key_is_refused(tmp_path: Path) -> None:
    """A key leaf published under the new key only: the old key never authorised it."""
    built = await build_log(tmp_path, 2)
    _, signer = new_keys(built)
    index = await rotate(built, signer, signers=[signer])
    assert first(await verify(built))[:3] == (10, "rotation_unsigned", index)


async def test_key_leaf_naming_an_unknown_previous_key_is_refused(tmp_path: Path) -> None:
    """A key leaf whose previous key is not the key in force breaks the chain: exit 10."""
    built = await build_log(tmp_path, 1)
    _, signer = new_keys(built)
    stranger = Signer.generate(ORIGIN)
    data = leaves.key(
        Stamp(built.clock.now, "cli"),
        signer.name,
        signer.verifier().public_key,
        signer.key_id,
        stranger.key_id,
    )
    log = await open_log(built.url, built.keys, clock=built.clock)
    try:
        receipt = await log.append(data)
    finally:
        await log.stop()
        await log.store.close()
    assert first(await verify(built))[:3] == (10, "key_chain", receipt.index)


async def test_rotate_key_files_swaps_the_files_and_resumes_after_a_crash(
    tmp_path: Path,
) -> None:
    """The command's procedure: the new key becomes signing.key, the old one is kept aside,
    the proxy starts with the new key; a run interrupted after the append resumes without a
    second key leaf."""
    built = await build_log(tmp_path, 1)
    store = open_store(built.url)
    await store.open()
    try:
        done = await rotate_key_files(store, built.keys_dir, ORIGIN)
        assert not done.resumed and done.retired_file.exists()
        assert done.index == head_size(built.db) - 1
        assert leaf_json(built.db, done.index)["type"] == "key"
        # A second rotation interrupted after its append: run it again.
        keys_dir = built.keys_dir
        old = Signer(ORIGIN, load_keys(keys_dir, generate=False).signing_key)
        pending = keys_dir / (SIGNING_KEY + ".next")
        new = Signer(ORIGIN, generate_signing_key(pending))
        await append_rotation(store, ORIGIN, old, new)
        size = head_size(built.db)
        again = await rotate_key_files(store, keys_dir, ORIGIN)
        assert again.resumed and again.new_key_id == new.key_id
        assert head_size(built.db) == size  # no second key leaf
    finally:
        await store.close()
    keys = load_keys(built.keys_dir, generate=False)
    await append_requests(built, 1, keys=keys)
    report = await verify(built)
    assert report.exit_code == 0, report.summary()
    assert len(report.keys) == 3


# --- incremental -------------------------------------------------------------------------


async def test_incremental_run_checks_only_the_entries_after_the_held_checkpoint(
    tmp_path: Path,
) -> None:
    """From a held checkpoint of 8 entries: 6 leaves checked, the rest only re-hashed."""
    built = await build_log(tmp_path, 6)
    held = checkpoint_note(built.db, 8)
    report = await verify(built, held=held, incremental=True)
    assert report.exit_code == 0, report.summary()
    assert (report.mode, report.from_size, report.leaves_verified) == ("incremental", 8, 6)
    assert report.counts["checkpoints_skipped"] == 6  # sizes 2..7
    # The outcome at 9 closes the intent at 8: inside the run; intents before were closed.
    assert report.types == {"intent": 3, "outcome": 3}


async def test_incremental_run_accepts_outcomes_of_intents_before_it(tmp_path: Path) -> None:
    """Held at 5: the intent at 4 is before the run, its outcome (5) inside: not an orphan."""
    built = await build_log(tmp_path, 2)
    report = await verify(built, held=checkpoint_note(built.db, 5), incremental=True)
    assert report.exit_code == 0, report.summary()
    assert report.counts["outcomes_of_earlier_intents"] == 1


async def test_incremental_run_catches_tampering_after_the_held_size(tmp_path: Path) -> None:
    """A modified leaf at 10, after the held size 8: exit 11 there."""
    built = await build_log(tmp_path, 6)
    held = checkpoint_note(built.db, 8)
    data = leaf_data(built.db, 11).replace(b"201", b"500")
    sql(built.db, "UPDATE audit_leaf SET data = ? WHERE idx = 11", (data,))
    assert first(await verify(built, held=held, incremental=True))[:3] == (11, "leaf_hash", 11)


async def test_incremental_run_catches_a_rewritten_prefix(tmp_path: Path) -> None:
    """Entry 3 rewritten and the log re-signed by an intruder: the re-hashed prefix does not
    give the held root: exit 12 (fork)."""
    built = await build_log(tmp_path, 6)
    held = checkpoint_note(built.db, 8)
    data = leaf_data(built.db, 3).replace(b"201", b"500")
    sql(built.db, "UPDATE audit_leaf SET data = ? WHERE idx = 3", (data,))
    resign(built.db, [built.signer])
    report = await verify(built, held=held, incremental=True)
    assert first(report)[:2] == (12, "fork")


async def test_incremental_run_learns_keys_rotated_before_the_held_size(tmp_path: Path) -> None:
    """A rotation before the held checkpoint: the run starts with the new key in force."""
    built = await build_log(tmp_path, 1)
    keys, signer = new_keys(built)
    await rotate(built, signer)
    await append_requests(built, 2, keys=keys)
    held_size = head_size(built.db) - 2
    await append_requests(built, 1, keys=keys)
    report = await verify(built, held=checkpoint_note(built.db, held_size), incremental=True)
    assert report.exit_code == 0, report.summary()
    assert [k["key_id"] for k in report.keys][-1] == f"{signer.key_id:08x}"


# --- scale -------------------------------------------------------------------------------


async def test_a_ten_thousand_leaf_log_verifies(tmp_path: Path) -> None:
    """10,000 leaves in batches of 256 (as the group commit makes them) verify, every
    checkpoint included; the time is printed (targets live in bench/bench_verify.py)."""
    signer = Signer.generate(ORIGIN)
    store = open_store(f"sqlite:///{tmp_path / 'big.db'}")
    await store.open()
    try:
        size = await bulk_log(store, signer, ORIGIN, 4999)
        started = time.perf_counter()
        report = await verify_log(
            StoreSource(store), TrustAnchor(ORIGIN, signer.verifier()), VerifyOptions()
        )
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    assert size == 10_000
    assert report.exit_code == 0, report.summary()
    assert (report.leaves_verified, report.checkpoints_verified) == (10_000, 40)
    print(f"verified 10,000 leaves in {seconds:.2f} s")


async def test_worker_processes_find_the_same_as_one_process(tmp_path: Path) -> None:
    """Parsing in a worker process changes nothing in the findings: a non-canonical leaf
    and a modified one are reported alike with 0 and 1 workers."""
    signer = Signer.generate(ORIGIN)
    db = tmp_path / "big.db"
    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        await bulk_log(store, signer, ORIGIN, 2000, batch_size=64)
    finally:
        await store.close()
    sql(db, "UPDATE audit_leaf SET data = CAST(replace(data, '\"v\":1', '\"v\": 1') AS BLOB) "
        "WHERE idx = 3001")  # fmt: skip
    sql(db, "UPDATE audit_leaf SET data = CAST(replace(data, 'olo-1', 'olo-2') AS BLOB) "
        "WHERE idx = 3500")  # fmt: skip
    anchor = TrustAnchor(ORIGIN, signer.verifier())
    reports = []
    for workers in (0, 1):
        store = open_store(f"sqlite:///{db}")
        await store.open()
        try:
            options = VerifyOptions(workers=workers, chunk=512)
            reports.append(await verify_log(StoreSource(store), anchor, options))
        finally:
            await store.close()
    one, many = reports
    assert one.failures == many.failures and one.types == many.types
    assert {(f.check, f.index) for f in one.failures} >= {("canonical", 3001), ("leaf_hash", 3500)}


async def test_incremental_run_uses_stored_subtrees_and_proves_key_leaves(
    tmp_path: Path,
) -> None:
    """On a store with subtree hashes nothing before the held size is re-hashed; a key leaf
    there that is not in the held tree (altered bytes) is refused, so its key is not learnt."""
    built = await build_log(tmp_path, 1)
    keys, signer = new_keys(built)
    index = await rotate(built, signer)
    await append_requests(built, 2, keys=keys)
    held = checkpoint_note(built.db, head_size(built.db))
    await append_requests(built, 1, keys=keys)
    report = await verify(built, held=held, incremental=True)
    assert report.exit_code == 0 and report.counts["prefix_rehashed"] == 0
    data = leaf_data(built.db, index).replace(b'"replica":"cli"', b'"replica":"clj"')
    sql(built.db, "UPDATE audit_leaf SET data = ? WHERE idx = ?", (data, index))
    report = await verify(built, held=held, incremental=True)
    assert report.exit_code == 10  # the later checkpoints are signed by a key never learnt
    assert ("leaf_hash", index) in {(f.check, f.index) for f in report.failures}
