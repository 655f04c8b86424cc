"""What the verifier reads: the :class:`LogSource` protocol, and an in-memory source.

A source is deliberately small, so that the same verifier runs over the live store, a directory
of evidence and a test's list of bytes. It hands out stored bytes; the verifier hashes them
itself and trusts nothing else a source says (sizes, stored hashes) except to name an entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from proxy.audit.merkle import NodeId


class StoredLeaf(Protocol):
    """A stored leaf as a source hands it out (the store's own ``Leaf`` is one)."""

    @property
    def index(self) -> int:
        """Its index in the log."""

    @property
    def data(self) -> bytes:
        """Its exact bytes."""

    @property
    def hash(self) -> bytes | None:
        """The leaf hash stored next to it, if the source keeps one (compared, not trusted)."""


@dataclass(frozen=True, slots=True)
class SourceLeaf:
    """A :class:`StoredLeaf` for sources that build their own: index, bytes, optional hash."""

    index: int
    data: bytes
    hash: bytes | None = None


@dataclass(frozen=True, slots=True)
class SealedResult:
    """How an intent's sealed copy compared with the intent leaf.

    ``status``: ``ok``; ``shredded`` (its period's data key is gone; ``period`` says which);
    ``missing`` (no copy stored); ``tampered`` (it does not decrypt: altered, moved, or its
    data key altered); ``mismatch`` (it decrypts, but not to the committed bytes).
    """

    status: str
    period: str | None = None


class LogSource(Protocol):
    """Read access to one log's leaves and signed checkpoints."""

    async def size(self) -> int:
        """The number of leaves the source claims to hold (its head)."""

    async def leaves(self, start: int, end: int) -> Sequence[StoredLeaf]:
        """The leaves it holds in ``[start, end)``, by index; a missing one is simply absent."""

    async def checkpoints(self) -> Sequence[tuple[int | None, bytes]]:
        """Every stored signed checkpoint: the size stored next to it (None if the source
        keeps none) and the note, in any order."""

    async def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Stored subtree hashes by ``(level, index)``; an empty mapping if it keeps none."""


class SealedChecker(Protocol):
    """Checks an intent's encrypted copy of the forwarded bytes against the intent leaf."""

    async def check(self, intent: Mapping[str, object]) -> SealedResult:
        """Open the copy the intent cites and compare it with the intent's body record."""


@dataclass(frozen=True, slots=True)
class MemorySource:
    """A log held in memory: leaf bytes, checkpoint notes and, optionally, subtree hashes."""

    data: Sequence[bytes]
    notes: Sequence[bytes]
    stored_nodes: Mapping[NodeId, bytes] | None = None
    claimed_size: int | None = None

    async def size(self) -> int:
        """See :class:`LogSource`."""
        return len(self.data) if self.claimed_size is None else self.claimed_size

    async def leaves(self, start: int, end: int) -> Sequence[SourceLeaf]:
        """See :class:`LogSource`."""
        stored = self.stored_nodes or {}
        return [
            SourceLeaf(i, self.data[i], stored.get((0, i)))
            for i in range(start, min(end, len(self.data)))
        ]

    async def checkpoints(self) -> Sequence[tuple[int | None, bytes]]:
        """See :class:`LogSource`."""
        return [(None, note) for note in self.notes]

    async def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """See :class:`LogSource`."""
        stored = self.stored_nodes or {}
        return {i: stored[i] for i in ids if i in stored}
