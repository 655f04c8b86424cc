"""Evidence export: a directory a regulator verifies with no database and no network.

Layout and checks: ``VERIFY.md`` inside every bundle (:mod:`proxy.audit.evidence_text`);
verification: :mod:`proxy.audit.evidence_verify`. Steps of :func:`export`:

1. the latest stored checkpoint is the tree every proof leads to;
2. select the entries, and find ``log_init`` and every ``key`` leaf (the key chain);
3. build each proof from the stored nodes and check it against the re-hashed leaf before
   writing it: the export refuses to hand out evidence that does not verify;
4. optionally: a consistency proof from a checkpoint the regulator holds, and the openings
   (salt and exact bytes) of the selected intents' sealed copies;
5. write the files, ``manifest.json`` (SHA-256 of each) and ``manifest.sig`` (the manifest's
   SHA-256 signed by the log's key), so that changing any file is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from proxy.audit import evidence_text as names
from proxy.audit.checkpoint import Checkpoint, CheckpointError
from proxy.audit.evidence_select import Entry, Selection, select
from proxy.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from proxy.audit.note import Signer, sign_note
from proxy.audit.proof_format import ConsistencyProof, InclusionProof
from proxy.audit.sealed import SealedError, Shredded
from proxy.audit.stored import MissingNode, consistency_proof, inclusion_proof
from proxy.audit.trust import TrustError, anchor_from_log_init
from proxy.audit.verify_checkpoints import peek
from proxy.audit.verify_prefix import KEY_MARK
from proxy.storage.base import Store

_CHUNK = 8192


class EvidenceError(Exception):
    """An export cannot be made (nothing selected, a damaged log, a bad held checkpoint)."""


class Opener(Protocol):
    """Opens a sealed copy: :class:`~proxy.audit.sealed.Vault` is one."""

    async def open(self, sealed_id: str) -> tuple[bytes, bytes]:
        """``(salt, bytes)``; raises Shredded when the period's key is gone."""


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote."""

    directory: Path
    tree_size: int
    entries: tuple[int, ...]
    keys: tuple[int, ...]
    openings: tuple[int, ...]
    shredded: tuple[int, ...]
    files: dict[str, str] = field(default_factory=dict)


def _damaged(what: str, exc: Exception) -> EvidenceError:
    return EvidenceError(f"expected {what} to verify, got {exc}; run 'civetta audit verify'")


async def _inclusion(store: Store, entry: Entry, checkpoint: Checkpoint) -> list[bytes]:
    """The audit path of ``entry`` in ``checkpoint``, checked against the re-hashed leaf."""
    size = checkpoint.size
    try:
        path = await inclusion_proof(store, entry.index, size)
        verify_inclusion(entry.index, size, leaf_hash(entry.data), path, checkpoint.root_hash)
    except (ProofError, MissingNode) as exc:
        raise _damaged(f"the proof of entry {entry.index}", exc) from exc
    return path


async def _consistency(store: Store, old: Checkpoint, new: Checkpoint, what: str) -> list[bytes]:
    """The consistency proof from ``old`` to ``new``, checked."""
    try:
        proof = await consistency_proof(store, old.size, new.size) if old.size < new.size else []
        verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
    except (ProofError, MissingNode) as exc:
        raise _damaged(what, exc) from exc
    return proof


async def _key_leaves(store: Store, end: int) -> list[Entry]:
    """``log_init`` and every ``key`` leaf before ``end`` (a read of the whole log)."""
    found = []
    for begin in range(0, end, _CHUNK):
        for leaf in await store.leaves(begin, min(begin + _CHUNK, end)):
            if leaf.index == 0 or KEY_MARK in leaf.data:
                value = json.loads(leaf.data)
                if isinstance(value, dict) and value.get("type") in ("log_init", "key"):
                    found.append(Entry(leaf.index, leaf.data, value))
    if not found or found[0].index != 0 or found[0].leaf.get("type") != "log_init":
        raise EvidenceError("expected log_init at entry 0, got another entry")
    return found


async def export(
    store: Store,
    selection: Selection,
    out_dir: Path,
    *,
    signer: Signer,
    openings: Opener | None = None,
    held: bytes | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> Exported:
    """Write the bundle of ``selection`` and ``extra`` files into ``out_dir`` (must not exist)."""
    # 1. The tree the proofs lead to.
    latest = await store.latest_checkpoint()
    if latest is None:
        raise EvidenceError("expected a signed checkpoint, got an empty log")
    top = peek(latest.note)
    size = top.size
    files: dict[str, bytes] = {names.CHECKPOINT: latest.note}
    # 2. Entries and the key chain.
    entries = await select(store, selection, size)
    if not entries:
        raise EvidenceError("expected entries matching the selection, got none")
    keys = await _key_leaves(store, size)
    try:
        anchor = anchor_from_log_init(keys[0].data)
    except TrustError as exc:
        raise EvidenceError(str(exc)) from exc
    if anchor.origin != top.origin:
        raise EvidenceError("expected the checkpoint's origin to be log_init's, got another")
    files[names.TRUST] = anchor.to_text().encode()
    # 3. Proofs, each checked before it is written.
    for e in entries:
        path = await _inclusion(store, e, top)
        files[names.leaf_name(e.index)] = e.data
        proof = InclusionProof(e.index, tuple(path), latest.note)
        files[names.proof_name(e.index)] = proof.to_bytes()
    for k in keys:
        published = await store.checkpoints(after_size=k.index, limit=1)
        if not published or published[0].size > size:
            raise EvidenceError(f"expected a checkpoint covering key entry {k.index}, got none")
        pub = peek(published[0].note)
        path = await _inclusion(store, k, pub)
        cons = await _consistency(store, pub, top, f"the consistency of checkpoint {pub.size}")
        leaf_file, proof_file, cons_file = names.key_names(k.index)
        files[leaf_file] = k.data
        files[proof_file] = InclusionProof(k.index, tuple(path), published[0].note).to_bytes()
        files[cons_file] = ConsistencyProof(pub.size, size, tuple(cons), latest.note).to_bytes()
    # 4. The held checkpoint and the openings.
    held_size = None if held is None else await _held(store, held, top, files)
    opened, shredded = await _openings(entries, openings, files)
    for rel, data in (extra or {}).items():  # a report, say: listed and signed like the rest
        if rel in files or not names.extra_ok(rel):
            raise EvidenceError(f"expected an extra file with a free plain name, got {rel!r}")
        files[rel] = data
    # 5. Text, manifest, signature.
    files[names.VERIFY_MD] = names.verify_md(
        top.origin, size, len(entries), len(opened), held_size
    ).encode()
    digests = {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}
    manifest = {
        "format": names.FORMAT,
        "origin": top.origin,
        "tree_size": size,
        "entries": [e.index for e in entries],
        "keys": [k.index for k in keys],
        "held_size": held_size,
        "openings": list(opened),
        "shredded": list(shredded),
        "files": digests,
    }
    files[names.MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    digest = hashlib.sha256(files[names.MANIFEST]).hexdigest()
    files[names.MANIFEST_SIG] = sign_note(
        names.manifest_sig_text(top.origin, size, digest), [signer]
    )
    _write(out_dir, files, sensitive=bool(opened))
    return Exported(
        out_dir,
        size,
        tuple(e.index for e in entries),
        tuple(k.index for k in keys),
        opened,
        shredded,
        digests,
    )


async def _held(store: Store, note: bytes, top: Checkpoint, files: dict[str, bytes]) -> int:
    """Add the consistency proof from the regulator's checkpoint; return its size."""
    try:
        held = peek(note)
    except CheckpointError as exc:
        raise EvidenceError(f"expected a held checkpoint: {exc}") from exc
    if held.origin != top.origin:
        raise EvidenceError("expected the held checkpoint to be of this log, got another origin")
    if not 0 < held.size <= top.size:
        raise EvidenceError(
            f"expected a held checkpoint of 1 to {top.size} entries, got {held.size}: "
            "if it is larger, the log was rolled back; run 'civetta audit verify'"
        )
    proof = await _consistency(store, held, top, "the consistency with the held checkpoint")
    copy_name, proof_name = names.held_names(held.size)
    files[copy_name] = note
    cons = ConsistencyProof(held.size, top.size, tuple(proof), files[names.CHECKPOINT])
    files[proof_name] = cons.to_bytes()
    return held.size


async def _openings(
    entries: list[Entry], opener: Opener | None, files: dict[str, bytes]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Add the openings of the selected intents; return which were opened and which shredded."""
    if opener is None:
        return (), ()
    opened, shredded = [], []
    for e in entries:
        body = e.leaf.get("body")
        sealed_id = body.get("sealed_id") if isinstance(body, dict) else None
        if e.leaf.get("type") != "intent" or not isinstance(sealed_id, str):
            continue
        try:
            salt, data = await opener.open(sealed_id)
        except Shredded:
            shredded.append(e.index)
            continue
        except SealedError as exc:
            raise EvidenceError(
                f"expected the sealed copy of entry {e.index} to open, got {exc}; "
                "run 'civetta audit verify'"
            ) from exc
        salt_name, body_name = names.opening_names(e.index)
        files[salt_name], files[body_name] = salt, data
        opened.append(e.index)
    return tuple(opened), tuple(shredded)


def _write(out_dir: Path, files: dict[str, bytes], *, sensitive: bool) -> None:
    """Create ``out_dir`` (0700) and the files in it (0600 when they include openings)."""
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
    mode = 0o600 if sensitive else 0o644
    for rel, data in files.items():
        path = out_dir / rel
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
