"""Evidence bundles: exported from a real log, verified offline, any single-file change caught."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proxy.audit import evidence_text as names
from proxy.audit.evidence import EvidenceError, Exported, export
from proxy.audit.evidence_select import Selection, order_ref_commitment
from proxy.audit.evidence_source import EvidenceSource
from proxy.audit.evidence_verify import verify_bundle
from proxy.audit.note import Signer
from proxy.audit.rotation import append_rotation
from proxy.audit.sealed import Vault
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify import verify_log
from proxy.audit.verify_report import Report
from proxy.keys import KeyMaterial
from proxy.storage import open_store
from tests.audit.test_verify_support import (
    BuiltLog,
    append_requests,
    build_log,
    checkpoint_note,
    leaf_data,
    resign,
    sql,
)
from tests.storage.logcheck import ORIGIN, open_log


async def make_bundle(
    built: BuiltLog,
    out: Path,
    selection: Selection,
    *,
    openings: bool = False,
    held: bytes | None = None,
    keys: KeyMaterial | None = None,
) -> Exported:
    """Export from the log on disk as ``civetta audit export`` does."""
    keys = keys or built.keys
    store = open_store(built.url)
    await store.open()
    try:
        vault = Vault(store, keys.derive("sealed"), built.clock) if openings else None
        signer = Signer(ORIGIN, keys.signing_key)
        return await export(store, selection, out, signer=signer, openings=vault, held=held)
    finally:
        await store.close()


def first(report: Report) -> tuple[int, str, int | None]:
    """Exit code, check and entry of the deciding failure."""
    failure = report.first_failure
    assert failure is not None, report.summary()
    return report.exit_code, failure.check, failure.index


@pytest.fixture
async def built(tmp_path: Path) -> BuiltLog:
    """A log of six requests (intents at 2, 4, … 12, outcomes right after)."""
    return await build_log(tmp_path, 6)


async def test_bundle_for_a_request_verifies_offline(built: BuiltLog, tmp_path: Path) -> None:
    """Selected by request id: the intent, its outcome, the key chain, openings; verifies."""
    out = tmp_path / "bundle"
    done = await make_bundle(built, out, Selection(request_id="req-2"), openings=True)
    assert done.entries == (6, 7) and done.keys == (0, 1) and done.openings == (6,)
    assert (out / "leaves/6.json").read_bytes() == leaf_data(built.db, 6)
    assert (out / "openings/6.body").read_bytes() == b"<order><phone>+39 06 0000002</phone></order>"
    assert (out / names.TRUST).read_text() == built.anchor.to_text()
    report = verify_bundle(out, built.anchor)
    assert report.exit_code == 0, report.summary()
    assert (report.leaves_verified, report.counts["openings"]) == (2, 1)
    assert (out / "openings").stat().st_mode & 0o077 == 0  # personal data: owner only


async def test_bundle_by_order_reference_uses_the_keyed_commitment(
    built: BuiltLog, tmp_path: Path
) -> None:
    """The reference is found through HMAC(K, path || 0 || ref), never stored in clear."""
    commitment = order_ref_commitment(built.keys.derive("commitment"), "ORD-3")
    done = await make_bundle(built, tmp_path / "b", Selection(order_ref=commitment))
    assert done.entries == (8, 9)
    assert b"ORD-3" not in b"".join(p.read_bytes() for p in (tmp_path / "b").rglob("*.*"))


async def test_every_single_file_change_is_detected(built: BuiltLog, tmp_path: Path) -> None:
    """One byte changed in any one file (each in turn) fails the check: signatures for the
    checkpoint and the manifest, the manifest (and proofs) for every other file."""
    original = tmp_path / "original"
    commitment = order_ref_commitment(built.keys.derive("commitment"), "ORD-1")
    held = checkpoint_note(built.db, 5)
    await make_bundle(built, original, Selection(order_ref=commitment), openings=True, held=held)
    files = sorted(p.relative_to(original).as_posix() for p in original.rglob("*") if p.is_file())
    assert {"held/5.tlog-consistency", "openings/4.salt", "keys/1.tlog-consistency"} <= set(files)
    assert verify_bundle(original, built.anchor, held).exit_code == 0
    signed = {names.CHECKPOINT, names.MANIFEST, names.MANIFEST_SIG}
    for n, rel in enumerate(files):
        copy = tmp_path / f"copy-{n}"
        shutil.copytree(original, copy)
        data = bytearray((copy / rel).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / rel).write_bytes(bytes(data))
        report = verify_bundle(copy, built.anchor, held)
        assert report.exit_code == (10 if rel in signed else 11), (rel, report.summary())
        if rel.startswith(("leaves/", "proofs/", "openings/")):
            assert report.first_failure is not None
            assert report.first_failure.index == int(Path(rel).name.split(".")[0]), rel


async def test_added_or_removed_files_are_detected(built: BuiltLog, tmp_path: Path) -> None:
    """A file slipped in, or one taken out: the manifest says so (exit 11)."""
    out = tmp_path / "b"
    done = await make_bundle(built, out, Selection(indices=(4,)))
    assert done.entries == (4, 5)  # the intent brings its outcome
    (out / "leaves/9.json").write_bytes(leaf_data(built.db, 9))
    assert first(verify_bundle(out, built.anchor)) == (11, "manifest", 9)
    (out / "leaves/9.json").unlink()
    (out / "proofs/4.tlog-proof").unlink()
    assert first(verify_bundle(out, built.anchor))[:2] == (11, "manifest")


async def test_a_resigned_manifest_needs_the_log_key(built: BuiltLog, tmp_path: Path) -> None:
    """Changing a leaf and rewriting the manifest consistently still fails: the proof does
    not lead to the signed root, and the manifest's signature is not the log's."""
    out = tmp_path / "b"
    await make_bundle(built, out, Selection(indices=(5,)))
    changed = leaf_data(built.db, 5).replace(b"201", b"500")
    (out / "leaves/5.json").write_bytes(changed)
    manifest = json.loads((out / names.MANIFEST).read_text())
    manifest["files"]["leaves/5.json"] = hashlib.sha256(changed).hexdigest()
    (out / names.MANIFEST).write_text(json.dumps(manifest))
    report = verify_bundle(out, built.anchor)
    assert report.exit_code == 10
    assert {f.check for f in report.failures} == {"manifest_signature", "inclusion"}


async def test_another_trust_file_is_refused(built: BuiltLog, tmp_path: Path) -> None:
    """Checked against a trust file with another key: the chain has no root; exit 10."""
    out = tmp_path / "b"
    await make_bundle(built, out, Selection(indices=(2,)))
    stranger = TrustAnchor(ORIGIN, Signer.generate(ORIGIN).verifier())
    assert verify_bundle(out, stranger).exit_code == 10


async def test_held_checkpoint_of_a_forked_log_is_caught(built: BuiltLog, tmp_path: Path) -> None:
    """The regulator holds checkpoint 8; the log is then rewritten and re-signed (an
    intruder with the key): the new bundle does not extend the held checkpoint; exit 12."""
    held = checkpoint_note(built.db, 8)
    sql(
        built.db,
        "UPDATE audit_leaf SET data = ? WHERE idx = 5",
        (leaf_data(built.db, 5).replace(b"201", b"500"),),
    )
    resign(built.db, [built.signer])
    out = tmp_path / "b"
    with pytest.raises(EvidenceError, match="consistency"):
        await make_bundle(built, out, Selection(indices=(10,)), held=held)
    await make_bundle(built, out, Selection(indices=(10,)))
    assert verify_bundle(out, built.anchor).exit_code == 0  # alone it looks fine
    assert first(verify_bundle(out, built.anchor, held))[:2] == (12, "consistency")


async def test_held_checkpoint_larger_than_the_bundle_is_a_rollback(
    built: BuiltLog, tmp_path: Path
) -> None:
    """A bundle from a log cut back to 10 entries, against a held checkpoint of 14: exit 12."""
    held = checkpoint_note(built.db, 14)
    resign(built.db, [built.signer], size=10)
    out = tmp_path / "b"
    await make_bundle(built, out, Selection(indices=(2,)))
    assert first(verify_bundle(out, built.anchor, held)) == (12, "rollback", 10)


async def test_bundle_after_rotation_carries_the_key_chain(built: BuiltLog, tmp_path: Path) -> None:
    """After a rotation the checkpoint is signed by the new key only; the bundle proves the
    key leaf under the old key, so the original trust file still suffices."""
    new_key = Ed25519PrivateKey.generate()
    store = open_store(built.url)
    await store.open()
    try:
        await append_rotation(store, ORIGIN, built.signer, Signer(ORIGIN, new_key))
    finally:
        await store.close()
    keys = KeyMaterial(new_key, built.keys.secret)
    await append_requests(built, 1, keys=keys)
    out = tmp_path / "b"
    done = await make_bundle(built, out, Selection(request_id="req-6"), keys=keys)
    assert done.keys == (0, 1, 14)
    report = verify_bundle(out, built.anchor)
    assert report.exit_code == 0, report.summary()
    assert len(report.keys) == 2
    # Without the key leaf, the new key is unknown.
    for suffix in (".json", ".tlog-proof", ".tlog-consistency"):
        (out / f"keys/14{suffix}").unlink()
    assert verify_bundle(out, built.anchor).failure_counts["signature"] >= 1


async def test_shredded_openings_are_listed_not_exported(built: BuiltLog, tmp_path: Path) -> None:
    """An intent whose period was shredded: the bundle says so and has no opening for it."""
    sql(built.db, "DELETE FROM audit_data_key")
    out = tmp_path / "b"
    done = await make_bundle(built, out, Selection(request_id="req-0"), openings=True)
    assert (done.openings, done.shredded) == ((), (2,))
    assert json.loads((out / names.MANIFEST).read_text())["shredded"] == [2]
    assert verify_bundle(out, built.anchor).exit_code == 0


async def test_nothing_selected_is_an_error(built: BuiltLog, tmp_path: Path) -> None:
    """An export of nothing is refused rather than written empty."""
    with pytest.raises(EvidenceError, match="matching"):
        await make_bundle(built, tmp_path / "b", Selection(request_id="no-such-request"))
    assert not (tmp_path / "b").exists()


async def test_whole_log_bundle_runs_the_full_verifier_offline(
    built: BuiltLog, tmp_path: Path
) -> None:
    """An export of every entry verifies as a log from the directory alone, and the full
    verifier there finds what proofs cannot: an intent that never got its outcome."""
    ((index, intent_id),) = await append_requests(built, 1, outcome=False)
    built.clock.now += timedelta(hours=1)
    log = await open_log(built.url, built.keys, replica="r2", clock=built.clock)
    try:
        await log.heartbeat()  # another replica: r1's start-up would have recovered the intent
    finally:
        await log.stop()
        await log.store.close()
    out = tmp_path / "all"
    done = await make_bundle(built, out, Selection(everything=True))
    assert done.entries == tuple(range(done.tree_size))
    assert verify_bundle(out, built.anchor).exit_code == 0  # every entry is proven
    report = await verify_log(EvidenceSource(out), built.anchor)
    failure = report.first_failure
    assert failure is not None and report.exit_code == 13
    assert (failure.check, failure.index, failure.intent_id) == (
        "intent_without_outcome",
        index,
        intent_id,
    )
    assert report.leaves_verified == done.tree_size
