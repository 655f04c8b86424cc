"""The records a store keeps for the audit log, and the tree arithmetic of one batch.

Every backend runs the same steps inside ONE transaction: read and lock the head, call
:func:`plan_batch`, write what the plan lists, commit. Keeping the arithmetic here, away from
SQL, means the three stores cannot disagree about indices, subtree nodes or roots.

Stored nodes are the perfect subtrees of level >= 1; a level-0 node is the leaf hash, kept in
the leaf row (``Store.nodes`` answers for both), so each leaf costs one row, not two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from proxy.audit.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange, leaf_hash

#: ``sign(size, root) -> signed checkpoint note``: called inside the transaction, before COMMIT.
SignFn = Callable[[int, bytes], bytes]


class HeadMoved(Exception):
    """The head was not at the size a conditional batch expected (another writer won)."""


@dataclass(frozen=True, slots=True)
class Head:
    """The tree head: size, root and the compact-range frontier (largest subtree first)."""

    size: int
    root: bytes
    frontier: tuple[bytes, ...]

    @classmethod
    def empty(cls) -> Head:
        """The head of the empty log."""
        return cls(0, EMPTY_ROOT, ())

    def frontier_blob(self) -> bytes:
        """The frontier as stored: the hashes concatenated (at most 64 x 32 bytes)."""
        return b"".join(self.frontier)

    @classmethod
    def from_row(cls, size: int, root: bytes, blob: bytes) -> Head:
        """Rebuild a head from its stored columns."""
        if len(blob) % HASH_SIZE:
            raise ValueError(f"expected a frontier of whole hashes, got {len(blob)} bytes")
        hashes = tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))
        return cls(size, bytes(root), hashes)


@dataclass(frozen=True, slots=True)
class Leaf:
    """One stored leaf: its index, its exact bytes and the leaf hash computed from them."""

    index: int
    data: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint note as stored, with the tree size it covers."""

    size: int
    note: bytes


@dataclass(frozen=True, slots=True)
class PendingIntent:
    """An intent that has no outcome yet: which replica wrote it and where it is."""

    intent_id: str
    replica: str
    index: int


@dataclass(frozen=True, slots=True)
class SealedCopy:
    """The encrypted forwarded bytes of one intent (see :mod:`proxy.audit.sealed`)."""

    sealed_id: str
    period: str
    nonce: bytes
    ciphertext: bytes


class BatchEntry(NamedTuple):
    """One leaf to append, with the bookkeeping that must commit with it (a named tuple: one
    is built per append, see :mod:`proxy.audit.records`)."""

    data: bytes
    #: An intent id this leaf opens (an ``intent``): a pending row is added.
    opens: str | None = None
    #: An intent id this leaf closes (``outcome``, ``recovery``): its pending row is removed.
    closes: str | None = None
    sealed: SealedCopy | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Leaves appended in one transaction, covered by one signed checkpoint."""

    entries: tuple[BatchEntry, ...]
    sign: SignFn
    replica: str
    #: Data-key periods destroyed in the same transaction (crypto-shredding).
    erase_periods: tuple[str, ...] = ()
    #: When set, the batch applies only to a head of exactly this size (else HeadMoved).
    expect_size: int | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a committed batch produced: its first leaf index and the new signed head."""

    first_index: int
    size: int
    root: bytes
    checkpoint: bytes


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """Every row a store writes for one batch, computed before anything is written."""

    result: BatchResult
    head: Head
    leaves: tuple[Leaf, ...]
    #: Newly completed perfect subtrees of level >= 1, as ``(level, index, hash)``.
    nodes: tuple[tuple[int, int, bytes], ...]
    opened: tuple[PendingIntent, ...]
    closed: tuple[str, ...]
    sealed: tuple[SealedCopy, ...]


#: The last head :func:`plan_batch` produced. A head equal to it (the memory store hands that
#: very object back; SQL stores read the row this process wrote) skips re-deriving the root from
#: the frontier: plan_batch computed both. A row changed since fails the comparison and is checked.
_planned: Head | None = None


def plan_batch(head: Head, batch: Batch) -> BatchPlan:
    """Extend ``head`` by the batch's leaves and sign the new head; pure, raises on a bad head."""
    global _planned
    if batch.expect_size is not None and head.size != batch.expect_size:
        raise HeadMoved(f"expected a head of size {batch.expect_size}, got {head.size}")
    if not batch.entries:
        raise ValueError("expected at least one entry in a batch, got none")
    cr = CompactRange.from_state(head.size, head.frontier)
    # The head row holds both the frontier and the root: if they disagree the row was
    # altered, and extending it would sign a tree that the leaves do not support.
    if head != _planned and cr.root() != head.root:
        raise ValueError("expected the stored root to match the stored frontier, got another")
    leaves: list[Leaf] = []
    nodes: list[tuple[int, int, bytes]] = []
    opened: list[PendingIntent] = []
    closed: list[str] = []
    sealed: list[SealedCopy] = []
    index = head.size
    for entry in batch.entries:
        # The hash is taken from the very bytes object that is stored, never a re-encoding.
        h = leaf_hash(entry.data)
        leaves.append(Leaf(index, entry.data, h))
        completed = cr.append(h)
        if len(completed) > 1:
            nodes += completed[1:]  # level 0 is the leaf hash, kept in the leaf row
        if entry.opens is not None:
            opened.append(PendingIntent(entry.opens, batch.replica, index))
        if entry.closes is not None:
            closed.append(entry.closes)
        if entry.sealed is not None:
            sealed.append(entry.sealed)
        index += 1
    if opened and closed:
        # An intent opened and closed in the same batch leaves no pending row at all.
        both = {p.intent_id for p in opened}.intersection(closed)
        if both:
            opened = [p for p in opened if p.intent_id not in both]
            closed = [c for c in closed if c not in both]
    root = cr.root()
    note = batch.sign(cr.size, root)
    new_head = Head(cr.size, root, cr.hashes)
    _planned = new_head
    return BatchPlan(
        result=BatchResult(head.size, cr.size, root, note),
        head=new_head,
        leaves=tuple(leaves),
        nodes=tuple(nodes),
        opened=tuple(opened),
        closed=tuple(closed),
        sealed=tuple(sealed),
    )
