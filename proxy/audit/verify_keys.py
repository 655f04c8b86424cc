"""Which key may sign which tree sizes, learnt from the log and rooted in the trust file.

The rules (``docs/compliance.md`` explains them to people):

1. The trust file's key may sign from the empty tree on. Leaf 0 (``log_init``) and the first
   ``key`` leaf (``previous_key_id`` null) must name exactly that key and the trust file's origin.
2. A ``key`` leaf at index ``i`` naming a ``previous_key_id`` that is in force introduces a new
   key, valid for every tree size above ``i`` (the trees that contain the leaf).
3. The first checkpoint covering that leaf *publishes* the rotation: it must carry a valid
   signature of the previous key (the old key authorises its successor), and it is the last
   size the previous key may sign alone. Later checkpoints may still carry the old key's
   signature next to the new one (dual-signing during an overlap, for verifiers that have not
   learnt the new key yet); it is checked but never relied upon.
4. A checkpoint needs at least one valid signature from a key in force at its size; a
   signature from a known key that does not verify is always a failure.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from proxy.audit.note import NoteError, OpenedNote, Verifier
from proxy.audit.trust import TrustAnchor

KeyRef = tuple[str, int]


class KeyChainError(Exception):
    """A key leaf or a checkpoint signature breaks the key rules; ``check`` names the rule."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(slots=True)
class KeySpan:
    """One key's valid range of tree sizes (``last_size`` None while it is in force)."""

    verifier: Verifier
    first_size: int
    introduced_at: int | None
    last_size: int | None = None
    #: Index of the key leaf that replaced it, until a checkpoint publishes that leaf.
    replaced_at: int | None = None

    def covers(self, size: int) -> bool:
        """Say whether this key may sign a tree of ``size`` leaves."""
        return self.first_size <= size and (self.last_size is None or size <= self.last_size)

    def to_json(self) -> dict[str, object]:
        """For the report: key name and id, sizes, where it was introduced."""
        return {
            "name": self.verifier.name,
            "key_id": f"{self.verifier.key_id:08x}",
            "vkey": self.verifier.to_vkey(),
            "first_size": self.first_size,
            "last_size": self.last_size,
            "introduced_at": self.introduced_at,
        }


def _key_of(leaf: Mapping[str, object]) -> Verifier:
    """The key a ``log_init`` or ``key`` leaf names, with its stated id checked."""
    name, public, stated = leaf.get("key_name"), leaf.get("public_key"), leaf.get("key_id")
    if not isinstance(name, str) or not isinstance(public, str) or not isinstance(stated, str):
        raise KeyChainError("key_leaf", "expected key_name, public_key and key_id strings")
    try:
        raw = base64.b64decode(public.encode("ascii"), validate=True)
        verifier = Verifier(name, raw)
    except (UnicodeEncodeError, binascii.Error, NoteError) as exc:
        raise KeyChainError("key_leaf", f"expected an Ed25519 public key: {exc}") from None
    if stated != f"{verifier.key_id:08x}":
        raise KeyChainError("key_leaf", "expected key_id to be the id of the key, got another")
    return verifier


@dataclass(slots=True)
class KeySchedule:
    """Keys and their valid sizes, built leaf by leaf as the verifier reads the log."""

    anchor: TrustAnchor
    spans: list[KeySpan] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.spans:
            self.spans.append(KeySpan(self.anchor.verifier, 0, None))

    def _find(self, ref: KeyRef) -> KeySpan | None:
        for span in self.spans:
            if (span.verifier.name, span.verifier.key_id) == ref:
                return span
        return None

    def verifiers(self) -> list[Verifier]:
        """Every key known so far (signatures by any of them must verify)."""
        return [span.verifier for span in self.spans]

    def apply(self, index: int, leaf: Mapping[str, object]) -> None:
        """Take in a ``log_init`` or ``key`` leaf at ``index``; raise KeyChainError."""
        kind = leaf.get("type")
        anchor = self.anchor.verifier
        verifier = _key_of(leaf)
        if kind == "log_init":
            if index != 0 or leaf.get("origin") != self.anchor.origin or verifier != anchor:
                raise KeyChainError(
                    "trust_mismatch",
                    "expected log_init at entry 0 naming the trust file's origin and key",
                )
            return
        previous = leaf.get("previous_key_id")
        if previous is None:
            # The initial key leaf restates the trust file's key; nothing else may skip the chain.
            if verifier != anchor or self.spans[0].last_size is not None or len(self.spans) > 1:
                raise KeyChainError(
                    "key_chain",
                    "expected a key leaf without previous key only for the trust file's key",
                )
            return
        if self._find((verifier.name, verifier.key_id)) is not None:
            raise KeyChainError("key_chain", "expected a new key, got one already known")
        old = next(
            (
                s
                for s in self.spans
                if f"{s.verifier.key_id:08x}" == previous
                and s.last_size is None
                and s.replaced_at is None
            ),
            None,
        )
        if old is None:
            raise KeyChainError(
                "key_chain", "expected previous_key_id to name the key in force, got another"
            )
        old.replaced_at = index
        self.spans.append(KeySpan(verifier, index + 1, index))

    def check(self, size: int, opened: OpenedNote) -> None:
        """Check the verified signatures of a checkpoint of ``size`` leaves; close rotations."""
        signed = {(s.name, s.key_id) for s in opened.verified}
        relied = [s for s in self.spans if (s.verifier.name, s.verifier.key_id) in signed]
        if not any(span.covers(size) for span in relied):
            raise KeyChainError(
                "key_not_in_force",
                f"expected a signature by a key in force at size {size}, got none",
            )
        for span in self.spans:
            if span.replaced_at is not None and span.replaced_at < size:
                if span not in relied:
                    raise KeyChainError(
                        "rotation_unsigned",
                        f"expected the checkpoint publishing the key leaf at entry "
                        f"{span.replaced_at} to be signed by the previous key, got none",
                    )
                span.last_size, span.replaced_at = size, None

    def publish_unchecked(self, sizes: Sequence[int]) -> None:
        """Close rotations published by checkpoints that an earlier run verified.

        ``sizes`` are the stored checkpoint sizes up to where this run starts, ascending; a
        rotation none of them covers stays open, to be published by a checkpoint checked now.
        """
        for span in self.spans:
            if span.replaced_at is None:
                continue
            at = bisect.bisect_right(sizes, span.replaced_at)
            if at < len(sizes):
                span.last_size, span.replaced_at = sizes[at], None

    def to_json(self) -> list[dict[str, object]]:
        """Every key's range, for the report."""
        return [span.to_json() for span in self.spans]
