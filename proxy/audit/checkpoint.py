"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint) as signed notes.

The note text is the origin, the tree size in decimal and the base64 root hash, one per line,
then optional extension lines. Parsing is strict, so that one checkpoint has one encoding:
the bytes a log signs are the bytes any other ecosystem's tool reads back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.audit.merkle import HASH_SIZE, MAX_SIZE
from proxy.audit.note import Signer, Verifier, decode_base64, open_note, sign_note

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)  # 20 digits hold 2**64-1
_CONTROL = re.compile("[\x00-\x1f]")


class CheckpointError(Exception):
    """A checkpoint text is malformed, or belongs to another log."""


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"expected a non-empty {what} line, got an empty one")
    if _CONTROL.search(line):
        raise CheckpointError(f"expected no control characters in the {what} line, got one")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size and root hash, plus opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(f"expected 0 <= size <= 2**64-1, got {self.size}")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(
                f"expected a {HASH_SIZE}-byte root hash, got {len(self.root_hash)} bytes"
            )
        for line in self.extensions:
            _check_line("extension", line)

    def to_text(self) -> str:
        """Return the note text, each line ending in a newline."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise CheckpointError."""
        if not text.endswith("\n"):
            raise CheckpointError("expected the checkpoint to end with a newline, got none")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"expected at least 3 lines, got {len(lines)}")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError("expected a decimal tree size without leading zeros, got other")
        try:
            root_hash = decode_base64(root)
        except ValueError as exc:
            raise CheckpointError(f"expected a base64 root hash: {exc}") from exc
        return cls(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> bytes:
    """Sign a checkpoint; return the signed note's bytes."""
    return sign_note(checkpoint.to_text(), signers)


def open_checkpoint(note: bytes, verifiers: Sequence[Verifier], origin: str) -> Checkpoint:
    """Verify a signed checkpoint of the log ``origin``; raise NoteError or CheckpointError."""
    checkpoint = Checkpoint.parse(open_note(note, verifiers).text)
    if checkpoint.origin != origin:
        # Origins name logs, not people: saying which one was found helps the operator.
        raise CheckpointError(f"expected origin {origin!r}, got {checkpoint.origin!r}")
    return checkpoint
