"""An evidence directory as a :class:`~proxy.audit.verify_source.LogSource`.

When a bundle holds every entry of its tree (``civetta audit export --all``), the full
verifier runs over it offline, exactly as over the live store: every leaf re-hashed and
checked for meaning (pairing, duplicates, canonical form), the tree's root matched with
``checkpoint.txt``. The checkpoints are ``checkpoint.txt`` and those that published the keys;
the held checkpoint's copy is left out (the regulator passes their own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from proxy.audit import evidence_text as names
from proxy.audit.merkle import NodeId
from proxy.audit.proof_format import InclusionProof, ProofFormatError
from proxy.audit.verify_checkpoints import peek
from proxy.audit.verify_source import SourceLeaf


@dataclass(frozen=True, slots=True)
class EvidenceSource:
    """Reads ``leaves/<i>.json``, ``checkpoint.txt`` and the key proofs' checkpoints."""

    root: Path

    async def size(self) -> int:
        """The tree size of ``checkpoint.txt``."""
        return peek(await asyncio.to_thread(self._read, names.CHECKPOINT)).size

    async def leaves(self, start: int, end: int) -> Sequence[SourceLeaf]:
        """The leaf files present in ``[start, end)`` (absent ones are gaps)."""
        return await asyncio.to_thread(self._leaves, start, end)

    async def checkpoints(self) -> Sequence[tuple[int | None, bytes]]:
        """``checkpoint.txt`` and the checkpoint inside each key proof."""
        return await asyncio.to_thread(self._checkpoints)

    def _read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def _leaves(self, start: int, end: int) -> list[SourceLeaf]:
        out = []
        for index in range(start, end):
            path = self.root / names.leaf_name(index)
            if path.is_file():
                out.append(SourceLeaf(index, path.read_bytes()))
        return out

    def _checkpoints(self) -> list[tuple[int | None, bytes]]:
        notes: list[tuple[int | None, bytes]] = [(None, self._read(names.CHECKPOINT))]
        for path in sorted((self.root / names.KEYS).glob("*.tlog-proof")):
            try:
                notes.append((None, InclusionProof.parse(path.read_bytes()).checkpoint))
            except ProofFormatError:
                continue  # verify-bundle reports it; here it only costs a checkpoint
        return notes

    async def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """A bundle keeps no subtree hashes."""
        return {}
