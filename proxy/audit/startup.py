"""The start-up check: the stored log must still be the log its latest checkpoint signed.

Steps, in order (each failure raises :class:`LogRefused` and the proxy stays not ready):

1. the latest stored checkpoint verifies with the log's key and names this log's origin;
2. the head's frontier and the stored subtree nodes give the head's root;
3. the head extends that checkpoint: not shorter (a rollback), and consistent with it (the
   same tree, or one that another replica has extended since: a consistency proof);
4. the tail is re-hashed from the stored leaf bytes: the last complete block of ``TAIL`` leaves
   and everything after it, each perfect subtree compared with its stored node, so the chain
   leaf bytes -> nodes -> root -> signature holds where a crash or a bad disk would show first;
5. optionally, the head extends a checkpoint held elsewhere (a file) in the same way: this
   catches a rollback that also deleted the later checkpoints.

The full check of every leaf is the verifier's job (``civetta audit verify``).
"""

from __future__ import annotations

from collections.abc import Sequence

from proxy.audit.batch import Head
from proxy.audit.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from proxy.audit.merkle import (
    CompactRange,
    NodeId,
    ProofError,
    leaf_hash,
    root_of,
    verify_consistency,
)
from proxy.audit.note import NoteError, Verifier
from proxy.audit.stored import MissingNode, consistency_proof, root_at
from proxy.errors import AuditUnavailable
from proxy.storage.base import Store

#: Leaves per re-hashed block; a power of two, so blocks are perfect subtrees.
TAIL = 1024


class LogRefused(AuditUnavailable):
    """The stored log does not match what it signed (rollback, tampering): refuse traffic."""

    code = "CIVETTA-AUDIT-REFUSED"


def _open(note: bytes, verifiers: Sequence[Verifier], origin: str, what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, verifiers, origin)
    except (NoteError, CheckpointError) as exc:
        raise LogRefused(f"expected {what} signed by the log's key: {exc}") from exc


async def _check_tail(store: Store, head: Head) -> None:
    """Re-hash the last complete block and the partial one after it from the leaf bytes."""
    size = head.size
    begin = max(0, size - size % TAIL - TAIL)
    leaves = await store.leaves(begin, size)
    if [leaf.index for leaf in leaves] != list(range(begin, size)):
        raise LogRefused(f"expected leaves {begin} to {size - 1} in the tail, got gaps")
    hashes = []
    for leaf in leaves:
        h = leaf_hash(leaf.data)
        if h != leaf.hash:
            raise LogRefused(f"expected leaf {leaf.index} to hash to its stored hash, got another")
        hashes.append(h)
    # The perfect subtrees covering [begin, size), as MTH splits them.
    subtrees: list[tuple[NodeId, int, int]] = []
    at = begin
    while at < size:
        level = (size - at).bit_length() - 1
        if at:
            level = min(level, (at & -at).bit_length() - 1)
        subtrees.append(((level, at >> level), at, at + (1 << level)))
        at += 1 << level
    stored = await store.nodes([node for node, _, _ in subtrees])
    for node, lo, hi in subtrees:
        if stored.get(node) != root_of(hashes[lo - begin : hi - begin]):
            raise LogRefused(
                f"expected stored node {node} to match leaves {lo} to {hi - 1}, got another"
            )


async def _extends(store: Store, old: Checkpoint, head: Head, what: str) -> None:
    """Refuse unless the head extends the signed tree ``old`` (rollback, fork)."""
    if head.size < old.size:
        raise LogRefused(
            f"expected a head of at least {old.size} leaves ({what}), got {head.size}: rollback"
        )
    if old.size == 0:
        return
    try:
        proof = await consistency_proof(store, old.size, head.size)
        verify_consistency(old.size, head.size, proof, old.root_hash, head.root)
    except (ProofError, MissingNode) as exc:
        raise LogRefused(f"expected the head to extend the {what}: {exc}") from exc


async def check_log(
    store: Store, verifiers: Sequence[Verifier], origin: str, elsewhere: bytes | None = None
) -> Head:
    """Run the start-up check; return the verified head."""
    # The checkpoint is read before the head: another replica may append in between, which
    # can only make the head longer, never shorter (a false rollback).
    latest = await store.latest_checkpoint()
    head = await store.head()
    # 1. The latest checkpoint.
    if latest is None:
        if head.size:
            raise LogRefused(
                f"expected a signed checkpoint for a log of {head.size} leaves, got none"
            )
        return head
    checkpoint = _open(latest.note, verifiers, origin, "the latest checkpoint")
    # 2. The head row and the stored nodes agree with each other.
    try:
        if CompactRange.from_state(head.size, head.frontier).root() != head.root:
            raise LogRefused("expected the head's frontier to give its root, got another root")
        if head.size and await root_at(store, head.size) != head.root:
            raise LogRefused("expected the stored nodes to give the head's root, got another")
    except (ValueError, MissingNode) as exc:
        raise LogRefused(f"expected a complete stored tree: {exc}") from exc
    # 3. ... and with what was signed: not shorter (rollback), not another tree (fork).
    await _extends(store, checkpoint, head, "latest signed checkpoint")
    # 4. The tail, from the leaf bytes.
    await _check_tail(store, head)
    # 5. A checkpoint kept outside the database.
    if elsewhere is not None:
        outside = _open(elsewhere, verifiers, origin, "the checkpoint held elsewhere")
        await _extends(store, outside, head, "checkpoint held elsewhere")
    return head
