"""RFC 6962 / RFC 9162 Merkle tree: hashing, proof verification, incremental appends, proofs.

A node ``(level, index)`` is the perfect subtree over leaves ``[index * 2**level,
(index + 1) * 2**level)``; level 0 is a leaf. Only perfect subtrees are stored: they never
change once complete. Hashes on the right edge of a tree whose size is not a power of two are
ephemeral and rehashed from perfect subtrees whenever a root or a proof needs them.

Proof generation is split in two so that an async store can fetch every node it needs in one
query: ``inclusion_plan``/``consistency_plan``/``root_plan`` say which nodes, and
``ProofPlan.finish`` combines the fetched hashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256

HASH_SIZE = 32
#: MTH({}) = SHA-256(""), RFC 6962 §2.1.
EMPTY_ROOT = sha256(b"").digest()
#: Tree sizes and indices are uint64 on the wire (RFC 9162), so a frontier has at most 64 hashes.
MAX_SIZE = (1 << 64) - 1

NodeId = tuple[int, int]


class ProofError(Exception):
    """A Merkle proof or its inputs do not verify; the message says what was expected."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || data)."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over the given leaf hashes, straight from the RFC 6962 §2.1 definition."""

    # The reference definition on purpose (split at the largest power of two below n), so that
    # tests can hold CompactRange and the plans against an independent computation.
    def mth(begin: int, end: int) -> bytes:
        n = end - begin
        if n == 1:
            return leaf_hashes[begin]
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(mth(begin, begin + k), mth(begin + k, end))

    return mth(0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


def _check_hash(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"expected {what} of {HASH_SIZE} bytes, got {len(h)} bytes")


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree ``root`` of ``size`` leaves.

    RFC 9162 §2.1.3.2; raises ProofError.
    """
    if not 0 <= index < size <= MAX_SIZE:
        raise ProofError(f"expected 0 <= index < size <= 2**64-1, got index {index}, size {size}")
    # A one-leaf tree has an empty proof and its root is the leaf hash itself: without this
    # check an empty "root" and an empty "leaf hash" would match.
    _check_hash("a leaf hash", leaf_hash)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    inner = (index ^ (size - 1)).bit_length()
    want = inner + (index >> inner).bit_count()
    if len(proof) != want:
        raise ProofError(f"expected {want} proof hashes, got {len(proof)}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("expected the proof to end at the root, got extra hashes")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("expected the proof to reach the root, got too few hashes")
    if r != root:
        raise ProofError("expected the proof to rebuild the given root, got a different hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree ``root2`` of ``size2`` leaves extends the tree ``root1`` of ``size1``.

    RFC 9162 §2.1.4.2, with equal sizes handled first; raises ProofError.
    """
    if not 0 <= size1 <= size2 <= MAX_SIZE:
        raise ProofError(f"expected 0 <= size1 <= size2 <= 2**64-1, got {size1} and {size2}")
    if size1 == 0:
        # Every tree extends the empty one: such a "proof" proves nothing and must not pass.
        raise ProofError("expected size1 > 0, got a proof from the empty tree")
    if size1 == size2:
        # Root lengths are checked only after this case, as the reference vectors require.
        if proof:
            raise ProofError(f"expected no proof hashes for equal sizes, got {len(proof)}")
        if root1 != root2:
            raise ProofError("expected equal roots for equal sizes, got different roots")
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    shift = (size1 & -size1).bit_length() - 1
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    want = inner - shift + ((size1 - 1) >> inner).bit_count() + (size1 != 1 << shift)
    if len(proof) != want:
        raise ProofError(f"expected {want} proof hashes, got {len(proof)}")
    path = [root1, *proof] if size1 == 1 << shift else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("expected the proof to end at the root, got extra hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("expected the proof to reach root2, got too few hashes")
    if fr != root1:
        raise ProofError("expected the proof to rebuild root1, got a different hash")
    if sr != root2:
        raise ProofError("expected the proof to rebuild root2, got a different hash")


class CompactRange:
    """The frontier of a growing tree: the perfect subtrees covering leaves [0, size)."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Restore a frontier saved as ``size`` and ``hashes`` (largest subtree first)."""
        if not 0 <= size <= MAX_SIZE:
            raise ValueError(f"expected 0 <= size <= 2**64-1, got {size}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"expected {size.bit_count()} frontier hashes, got {len(hashes)}")
        for i, h in enumerate(hashes):
            if len(h) != HASH_SIZE:
                raise ValueError(f"expected hashes[{i}] of {HASH_SIZE} bytes, got {len(h)}")
        cr = cls()
        cr._size = size
        cr._hashes = list(hashes)
        return cr

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect-subtree hashes, largest (leftmost) first; one per set bit of ``size``."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return every perfect subtree it completes as ``(level, index, hash)``."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"expected a {HASH_SIZE}-byte leaf hash, got {len(leaf_hash)} bytes")
        n = self._size
        if n == MAX_SIZE:
            raise ValueError("expected fewer than 2**64-1 leaves, got a full tree")
        self._size = n + 1
        hashes = self._hashes
        h = leaf_hash
        completed = [(0, n, h)]
        level = 0
        # Each trailing one bit of n is a left sibling waiting for exactly this subtree.
        while n & 1:
            h = sha256(b"\x01" + hashes.pop() + h).digest()
            n >>= 1
            level += 1
            completed.append((level, n, h))
        hashes.append(h)
        return completed

    def root(self) -> bytes:
        """Return the Merkle tree hash of leaves [0, size)."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        r = hashes[-1]
        for h in reversed(hashes[:-1]):
            r = node_hash(h, r)
        return r


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The stored nodes a proof needs (``node_ids``) and how to combine them (``segments``).

    Each segment yields one output hash: the right fold of its nodes with ``node_hash``, which
    rehashes an ephemeral right-edge subtree from the perfect subtrees covering it.
    """

    node_ids: tuple[NodeId, ...]
    segments: tuple[tuple[NodeId, ...], ...]

    def finish(self, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
        """Combine the fetched node hashes into the proof (or, for ``root_plan``, the root)."""
        out = []
        for segment in self.segments:
            if not segment:
                out.append(EMPTY_ROOT)
                continue
            try:
                hashes = [nodes[node_id] for node_id in segment]
            except KeyError as exc:
                raise KeyError(f"expected stored node {exc.args[0]}, got none") from None
            r = hashes[-1]
            for h in reversed(hashes[:-1]):
                r = node_hash(h, r)
            out.append(r)
        return out


def _range_nodes(begin: int, end: int) -> tuple[NodeId, ...]:
    """Perfect subtrees covering [begin, end), left to right (begin aligned as in MTH)."""
    ids = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        ids.append((level, begin >> level))
        begin += 1 << level
    return tuple(ids)


def _plan(ranges: Sequence[tuple[int, int]]) -> ProofPlan:
    segments = tuple(_range_nodes(b, e) for b, e in ranges)
    node_ids = tuple(dict.fromkeys(n for s in segments for n in s))
    return ProofPlan(node_ids, segments)


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof of leaf ``index`` in the tree of ``size`` leaves (RFC 6962 PATH)."""
    if not 0 <= index < size <= MAX_SIZE:
        raise ValueError(f"expected 0 <= index < size <= 2**64-1, got {index} and {size}")
    ranges = []  # top-down; the proof lists the leaf's sibling first
    begin, end = 0, size
    while end - begin > 1:
        mid = begin + (1 << ((end - begin - 1).bit_length() - 1))
        if index < mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((begin, mid))
            begin = mid
    return _plan(ranges[::-1])


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Plan the consistency proof from ``size1`` to ``size2`` leaves (RFC 6962 SUBPROOF)."""
    if not 0 < size1 <= size2 <= MAX_SIZE:
        raise ValueError(f"expected 0 < size1 <= size2 <= 2**64-1, got {size1} and {size2}")
    ranges = []  # top-down, reversed at the end as for inclusion
    begin, end, whole = 0, size2, True
    while end != size1:
        mid = begin + (1 << ((end - begin - 1).bit_length() - 1))
        if size1 <= mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((begin, mid))
            begin, whole = mid, False
    if not whole:
        # The old tree is not a complete left subtree: the proof starts with its last subtree.
        ranges.append((begin, end))
    return _plan(ranges[::-1])


def root_plan(size: int) -> ProofPlan:
    """Plan the root of the tree of ``size`` leaves; ``finish`` returns ``[root]``."""
    if not 0 <= size <= MAX_SIZE:
        raise ValueError(f"expected 0 <= size <= 2**64-1, got {size}")
    return _plan([(0, size)])
