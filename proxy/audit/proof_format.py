"""Text formats for offline-verifiable proofs, for civetta's evidence export.

Inclusion: the C2SP tlog-proof format (https://c2sp.org/tlog-proof), files ``*.tlog-proof``::

    c2sp.org/tlog-proof@v1
    extra <base64>              (optional, opaque and unauthenticated)
    index <decimal>
    <base64 hash>               (zero or more: the RFC 6962 audit path, leaf's sibling first)

    <the signed checkpoint, verbatim>

Consistency: C2SP defines no text format for consistency proofs, so this one is civetta's own,
built the same way (files ``*.tlog-consistency``)::

    civetta/tlog-consistency@v1
    old <decimal>               (size of the tree the regulator already holds a checkpoint for)
    new <decimal>               (size of the checkpoint below)
    <base64 hash>               (zero or more: the RFC 6962 consistency proof, in order)

    <the signed checkpoint of the newer tree, verbatim>

Numbers are ASCII decimals without leading zeros; hashes are 32 bytes in standard base64; every
line ends in a newline. Parsing is strict; verifying opens the checkpoint with trusted keys.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile

from proxy.audit.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from proxy.audit.merkle import HASH_SIZE, MAX_SIZE, verify_consistency, verify_inclusion
from proxy.audit.note import Verifier, decode_base64

INCLUSION_HEADER = "c2sp.org/tlog-proof@v1"
CONSISTENCY_HEADER = "civetta/tlog-consistency@v1"
# Proof lengths are bounded by the uint64 tree size; the caps stop absurd inputs early.
_MAX_INCLUSION_HASHES = 64
_MAX_CONSISTENCY_HASHES = 128
_NUMBER = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)


class ProofFormatError(Exception):
    """A proof file is malformed."""


def _check(hashes: tuple[bytes, ...], limit: int, checkpoint: bytes) -> None:
    if len(hashes) > limit:
        raise ProofFormatError(f"expected at most {limit} proof hashes, got {len(hashes)}")
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise ProofFormatError(f"expected hash {i} of {HASH_SIZE} bytes, got {len(h)}")
    if not checkpoint.endswith(b"\n") or checkpoint.startswith(b"\n"):
        raise ProofFormatError("expected a signed checkpoint ending in a newline, got other")


def _number(line: str, key: str) -> int:
    value = line.removeprefix(key + " ")
    if value == line or not _NUMBER.fullmatch(value) or int(value) > MAX_SIZE:
        raise ProofFormatError(f"expected a line '{key} <decimal>', got another line")
    return int(value)


def _split(data: bytes, header: str) -> tuple[list[str], list[bytes], bytes]:
    """Split a proof file into its header lines, proof hashes and checkpoint bytes."""
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep:
        raise ProofFormatError("expected a blank line before the checkpoint, got none")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise ProofFormatError("expected ASCII proof lines, got other bytes") from exc
    if lines[0] != header:
        raise ProofFormatError(f"expected first line {header!r}, got another line")
    # "key value" lines come first; base64 hash lines never hold a space.
    fields = list(takewhile(lambda line: " " in line, lines[1:]))
    hashes = []
    for i, line in enumerate(lines[1 + len(fields) :]):
        try:
            hashes.append(decode_base64(line))
        except ValueError as exc:
            raise ProofFormatError(f"expected proof hash {i} in base64: {exc}") from exc
    return fields, hashes, checkpoint


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """A tlog-proof: a leaf index, its audit path and the signed checkpoint it leads to."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_SIZE:
            raise ProofFormatError(f"expected 0 <= index < 2**64-1, got {self.index}")
        if self.extra == b"":
            raise ProofFormatError("expected extra data to be absent or non-empty, got empty")
        _check(self.hashes, _MAX_INCLUSION_HASHES, self.checkpoint)

    def to_bytes(self) -> bytes:
        """Encode as a tlog-proof file."""
        lines = [INCLUSION_HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64(h) for h in self.hashes)
        return "".join(line + "\n" for line in lines).encode("ascii") + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> InclusionProof:
        """Parse a tlog-proof file strictly; the checkpoint is kept verbatim, not yet opened."""
        fields, hashes, checkpoint = _split(data, INCLUSION_HEADER)
        extra = None
        if len(fields) == 2:
            key, _, value = fields[0].partition(" ")
            if key != "extra" or not value:
                raise ProofFormatError("expected a line 'extra <base64>', got another line")
            try:
                extra = decode_base64(value)
            except ValueError as exc:
                raise ProofFormatError(f"expected base64 extra data: {exc}") from exc
        elif len(fields) != 1:
            raise ProofFormatError(f"expected 1 or 2 lines before the hashes, got {len(fields)}")
        return cls(_number(fields[-1], "index"), tuple(hashes), checkpoint, extra)

    def verify(self, leaf_hash: bytes, verifiers: Sequence[Verifier], origin: str) -> Checkpoint:
        """Open the checkpoint and check the leaf's inclusion in it; return the checkpoint."""
        checkpoint = open_checkpoint(self.checkpoint, verifiers, origin)
        verify_inclusion(self.index, checkpoint.size, leaf_hash, self.hashes, checkpoint.root_hash)
        return checkpoint


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """civetta's consistency proof file: old and new sizes, hashes, the new signed checkpoint."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if not 0 < self.old_size <= self.new_size <= MAX_SIZE:
            raise ProofFormatError(
                f"expected 0 < old <= new <= 2**64-1, got {self.old_size} and {self.new_size}"
            )
        _check(self.hashes, _MAX_CONSISTENCY_HASHES, self.checkpoint)

    def to_bytes(self) -> bytes:
        """Encode as a consistency proof file."""
        lines = [CONSISTENCY_HEADER, f"old {self.old_size}", f"new {self.new_size}"]
        lines.extend(_b64(h) for h in self.hashes)
        return "".join(line + "\n" for line in lines).encode("ascii") + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> ConsistencyProof:
        """Parse a consistency proof file strictly; the checkpoint is kept verbatim."""
        fields, hashes, checkpoint = _split(data, CONSISTENCY_HEADER)
        if len(fields) != 2:
            raise ProofFormatError(f"expected 2 lines before the hashes, got {len(fields)}")
        old, new = _number(fields[0], "old"), _number(fields[1], "new")
        return cls(old, new, tuple(hashes), checkpoint)

    def verify(self, old: Checkpoint, verifiers: Sequence[Verifier], origin: str) -> Checkpoint:
        """Open the new checkpoint and check that it extends ``old``; return the new one."""
        if old.origin != origin:
            raise CheckpointError(f"expected origin {origin!r}, got {old.origin!r}")
        new = open_checkpoint(self.checkpoint, verifiers, origin)
        if (old.size, new.size) != (self.old_size, self.new_size):
            raise ProofFormatError(
                f"expected sizes {self.old_size} and {self.new_size} as stated in the proof, "
                f"got checkpoints of {old.size} and {new.size}"
            )
        verify_consistency(old.size, new.size, self.hashes, old.root_hash, new.root_hash)
        return new
