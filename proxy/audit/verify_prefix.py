"""The entries before a held checkpoint, for an incremental run, without re-hashing them all.

When the source keeps subtree hashes, the frontier of the held size is read from them and
accepted only if it gives the held root (one root, one frontier: anything else would need a
SHA-256 collision). The ``key`` leaves before that size are still needed for the key schedule:
they are found by a byte scan (no parsing, no hashing) and each is proven in the held tree
with an inclusion proof from the same subtree hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from proxy.audit.merkle import CompactRange, NodeId, ProofError, leaf_hash, verify_inclusion
from proxy.audit.stored import MissingNode, inclusion_proof
from proxy.audit.verify_source import LogSource

#: In canonical JSON a key leaf holds exactly these bytes (a string value cannot: its quotes
#: would be escaped), so a scan finds every key leaf by a substring search.
KEY_MARK = b'"type":"key"'


class Frontier:
    """The walk's growing tree: a compact range that only appends and gives roots.

    :class:`~proxy.audit.merkle.CompactRange` also lists every subtree an append completes,
    for stores to save; the verifier needs none of them, once per entry, a million times.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, start: CompactRange | None = None) -> None:
        self.size = 0 if start is None else start.size
        self._hashes = [] if start is None else list(start.hashes)

    def append(self, h: bytes) -> None:
        """Add a leaf hash."""
        n, hashes = self.size, self._hashes
        while n & 1:  # each trailing one bit is a left sibling waiting for this subtree
            h = sha256(b"\x01" + hashes.pop() + h).digest()
            n >>= 1
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        """The root of the tree so far (RFC 6962 MTH)."""
        return CompactRange.from_state(self.size, self._hashes).root()


def frontier_ids(size: int) -> list[NodeId]:
    """The perfect subtrees covering ``[0, size)``, largest first."""
    ids = []
    begin = 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            ids.append((level, begin >> level))
            begin += 1 << level
    return ids


async def stored_frontier(source: LogSource, size: int, root: bytes) -> CompactRange | None:
    """The frontier at ``size`` from stored subtree hashes, if they give ``root``; else None."""
    ids = frontier_ids(size)
    nodes = await source.nodes(ids)
    if any(i not in nodes for i in ids):
        return None
    try:
        frontier = CompactRange.from_state(size, [nodes[i] for i in ids])
    except ValueError:
        return None
    return frontier if frontier.root() == root else None


@dataclass(frozen=True, slots=True)
class KeyCandidate:
    """A leaf before the held size that may be a key leaf, and whether it is in the tree."""

    index: int
    data: bytes
    proven: bool


async def key_candidates(
    source: LogSource, size: int, root: bytes, chunk: int
) -> list[KeyCandidate]:
    """Entry 0 and every leaf holding :data:`KEY_MARK` before ``size``, each proven."""
    found = []
    for begin in range(0, size, chunk):
        for leaf in await source.leaves(begin, min(begin + chunk, size)):
            if leaf.index == 0 or KEY_MARK in leaf.data:
                try:
                    path = await inclusion_proof(source, leaf.index, size)
                    verify_inclusion(leaf.index, size, leaf_hash(leaf.data), path, root)
                    proven = True
                except (ProofError, MissingNode):
                    proven = False
                found.append(KeyCandidate(leaf.index, leaf.data, proven))
    return found
