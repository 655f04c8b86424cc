"""Offline verification of an evidence directory: ``verify_bundle(dir, trust, held) -> Report``.

Steps (every finding is reported; the exit code follows the classes of ``verify_report``):

1. files: every file but the manifest and its signature is listed in ``manifest.json`` with its
   SHA-256, and nothing else is there (class leaf, check ``manifest``);
2. keys: ``log_init`` and every ``key`` leaf, in order, each proven in the checkpoint that
   published it, that checkpoint signed by the key it replaces (``verify_keys`` rules) and
   consistent with ``checkpoint.txt``;
3. ``checkpoint.txt`` and ``manifest.sig`` are signed by a key in force at the tree size;
4. each leaf: its tlog-proof leads to ``checkpoint.txt``, it is canonical JSON, and each
   opening (salt, bytes) opens the leaf's body commitment;
5. the regulator's own checkpoint, if given: ``checkpoint.txt`` extends it (``held/``).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from proxy.audit import evidence_text as names
from proxy.audit.checkpoint import Checkpoint, CheckpointError
from proxy.audit.evidence_checks import index_of, manifest_signature, opens
from proxy.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from proxy.audit.proof_format import ConsistencyProof, InclusionProof, ProofFormatError
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify_canonical import CanonicalParser, NotCanonical
from proxy.audit.verify_checkpoints import Pending, check_signature, peek
from proxy.audit.verify_keys import KeyChainError, KeySchedule
from proxy.audit.verify_report import Failure, FailureClass, FailureLog, Report

_LEAF, _SIG, _CONS, _SEM = (
    FailureClass.LEAF,
    FailureClass.SIGNATURE,
    FailureClass.CONSISTENCY,
    FailureClass.SEMANTICS,
)


class BundleError(Exception):
    """The directory is not an evidence bundle at all (usage error, exit 2)."""


class _Bundle:
    """One verification run over a directory."""

    def __init__(self, root: Path, anchor: TrustAnchor) -> None:
        self.root = root
        self.anchor = anchor
        self.failures = FailureLog()
        self.schedule = KeySchedule(anchor)
        self.parser = CanonicalParser()
        self.checkpoints = 0
        self.leaves = 0

    def fail(self, cls: FailureClass, check: str, message: str, **where: Any) -> None:
        """Record a failure (``where``: index, end, intent_id, checkpoint)."""
        self.failures.add(Failure(cls, check, message, **where))

    def read(self, rel: str) -> bytes | None:
        """A file's bytes, or None when absent."""
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None

    def manifest(self) -> dict[str, Any]:
        """Step 1: load the manifest and hold every file against it."""
        raw = self.read(names.MANIFEST)
        if raw is None:
            raise BundleError(f"expected {names.MANIFEST} in the directory, got none")
        try:
            manifest = json.loads(raw)
            listed = {str(k): str(v) for k, v in manifest["files"].items()}
            manifest["tree_size"] = int(manifest["tree_size"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self.fail(_LEAF, "manifest", f"expected a {names.FORMAT} manifest, got another file")
            return {"files": {}, "tree_size": -1}
        present = {
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and p.name not in (names.MANIFEST, names.MANIFEST_SIG)
        }
        for rel in sorted(present | set(listed)):
            data, at = self.read(rel), index_of(rel)
            if data is None:
                self.fail(_LEAF, "manifest", f"expected the listed file {rel}, got none", index=at)
            elif rel not in listed:
                self.fail(_LEAF, "manifest", f"expected only listed files, got {rel}", index=at)
            elif hashlib.sha256(data).hexdigest() != listed[rel]:
                message = f"expected {rel} to match its SHA-256, got another"
                self.fail(_LEAF, "manifest", message, index=at)
        return dict(manifest)

    def keys(self, top: Checkpoint, checkpoint: bytes) -> None:
        """Step 2: the key chain from the trust file's key to the checkpoint's signer."""
        indices = sorted(int(p.stem) for p in (self.root / names.KEYS).glob("*.json"))
        published: list[Pending] = []
        for index in indices:
            leaf_file, proof_file, cons_file = names.key_names(index)
            data, proof_raw, cons_raw = (self.read(n) for n in (leaf_file, proof_file, cons_file))
            if data is None or proof_raw is None or cons_raw is None:
                self.fail(_LEAF, "key_chain_files", f"expected {leaf_file} with its proofs")
                continue
            # Checkpoints that do not contain this leaf are checked before it is learnt.
            self._publish(published, index)
            value = self._parse(index, data)
            try:
                # Proven first: a key leaf that is not in the tree must not teach a key.
                proof = InclusionProof.parse(proof_raw)
                pub = peek(proof.checkpoint)
                verify_inclusion(index, pub.size, leaf_hash(data), proof.hashes, pub.root_hash)
                cons = ConsistencyProof.parse(cons_raw)
                if cons.checkpoint != checkpoint or cons.old_size != pub.size:
                    raise ProofFormatError("expected a proof from its checkpoint to ours")
                verify_consistency(pub.size, top.size, cons.hashes, pub.root_hash, top.root_hash)
                if isinstance(value, dict):
                    self.schedule.apply(index, value)
            except KeyChainError as exc:
                self.fail(_SIG, exc.check, str(exc), index=index)
            except (ProofError, ProofFormatError, CheckpointError) as exc:
                self.fail(
                    _LEAF, "key_proof", f"expected key entry {index} proven: {exc}", index=index
                )
            else:
                published.append(Pending(proof.checkpoint, pub))
        self._publish(published, top.size)

    def _publish(self, published: list[Pending], upto: int) -> None:
        """Check (once) the publishing checkpoints of at most ``upto`` entries, smallest first."""
        for pending in sorted(published, key=lambda p: p.checkpoint.size):
            if pending.checkpoint.size <= upto:
                published.remove(pending)
                failure = check_signature(pending, self.schedule, 0)
                if failure is not None:
                    self.failures.add(failure)
                else:
                    self.checkpoints += 1

    def report(self, started: float, size: int) -> Report:
        """The findings as a report."""
        return Report(
            origin=self.anchor.origin,
            mode="bundle",
            size=size,
            from_size=0,
            leaves_verified=self.leaves,
            checkpoints_verified=self.checkpoints,
            failures=self.failures.failures,
            failure_counts=self.failures.counts,
            counts={"openings": len(list((self.root / names.OPENINGS).glob("*.body")))},
            keys=tuple(self.schedule.to_json()),
            seconds=time.perf_counter() - started,
        )

    def _parse(self, index: int, data: bytes) -> object:
        try:
            return self.parser.parse(data)
        except NotCanonical as exc:
            self.fail(_SEM, "canonical", str(exc), index=index)
            return None

    def leaf(self, index: int, top: Checkpoint, checkpoint: bytes) -> None:
        """Step 4: one selected leaf, its proof and its opening."""
        data, raw = self.read(names.leaf_name(index)), self.read(names.proof_name(index))
        if data is None or raw is None:
            self.fail(_LEAF, "inclusion", "expected the leaf and its proof, got none", index=index)
            return
        self.leaves += 1
        value = self._parse(index, data)
        iid = value.get("intent_id") if isinstance(value, dict) else None
        iid = iid if isinstance(iid, str) else None
        try:
            proof = InclusionProof.parse(raw)
            if proof.index != index or proof.checkpoint != checkpoint:
                raise ProofFormatError("expected a proof of this entry in checkpoint.txt")
            verify_inclusion(index, top.size, leaf_hash(data), proof.hashes, top.root_hash)
        except (ProofError, ProofFormatError) as exc:
            self.fail(
                _LEAF,
                "inclusion",
                f"expected the entry in the tree: {exc}",
                index=index,
                intent_id=iid,
            )
        salt, body = (self.read(n) for n in names.opening_names(index))
        if (salt is not None or body is not None) and not opens(value, salt, body):
            message = "expected the opening to match the body commitment"
            self.fail(_LEAF, "opening", message, index=index, intent_id=iid)

    def held(self, note: bytes, top: Checkpoint, checkpoint: bytes) -> None:
        """Step 5: ``checkpoint.txt`` extends the regulator's own checkpoint."""
        try:
            held = peek(note)
        except CheckpointError as exc:
            self.fail(_SIG, "checkpoint_format", f"expected a held checkpoint: {exc}")
            return
        failure = check_signature(Pending(note, held, held=True), self.schedule, 0)
        if failure is not None:
            self.failures.add(failure)
        if held.size > top.size:
            message = f"expected at least {held.size} entries, got {top.size}"
            self.fail(
                _CONS, "rollback", message, index=top.size, end=held.size, checkpoint=held.size
            )
            return
        raw = self.read(names.held_names(held.size)[1])
        try:
            hashes: tuple[bytes, ...] = ()
            if held.size < top.size:
                if raw is None:
                    raise ProofFormatError(f"expected a consistency proof from size {held.size}")
                cons = ConsistencyProof.parse(raw)
                if cons.checkpoint != checkpoint or cons.old_size != held.size:
                    raise ProofFormatError("expected a proof from the held size to ours")
                hashes = cons.hashes
            verify_consistency(held.size, top.size, hashes, held.root_hash, top.root_hash)
        except (ProofError, ProofFormatError) as exc:
            check = "fork" if held.size == top.size else "consistency"
            message = f"expected our checkpoint to extend the held one: {exc}"
            self.fail(_CONS, check, message, index=0, end=held.size, checkpoint=held.size)


def verify_bundle(directory: Path, anchor: TrustAnchor, held: bytes | None = None) -> Report:
    """Verify an evidence directory against the regulator's trust file (and checkpoint)."""
    started = time.perf_counter()
    run = _Bundle(directory, anchor)
    if not directory.is_dir():
        raise BundleError(f"expected an evidence directory, got none at {directory}")
    manifest = run.manifest()
    checkpoint = run.read(names.CHECKPOINT) or b""
    try:
        top = peek(checkpoint)
    except CheckpointError as exc:
        # Nothing else can be checked without the tree: report what was found so far.
        run.fail(_SIG, "checkpoint_format", f"expected {names.CHECKPOINT}: {exc}")
        return run.report(started, 0)
    if manifest.get("tree_size") != top.size:
        run.fail(_LEAF, "manifest", "expected the manifest's tree size to be the checkpoint's")
    if top.origin != anchor.origin:
        run.fail(_SIG, "origin", "expected the trust file's origin, got another log's")
    run.keys(top, checkpoint)
    failure = check_signature(Pending(checkpoint, top), run.schedule, 0)
    if failure is None:
        run.checkpoints += 1
    else:
        run.failures.add(failure)
    raw, sig = run.read(names.MANIFEST) or b"", run.read(names.MANIFEST_SIG) or b""
    failure = manifest_signature(raw, sig, top, run.schedule)
    if failure is not None:
        run.failures.add(failure)
    for path in sorted((directory / names.LEAVES).glob("*.json"), key=lambda p: int(p.stem)):
        run.leaf(int(path.stem), top, checkpoint)
    if held is not None:
        run.held(held, top, checkpoint)
    return run.report(started, top.size)
