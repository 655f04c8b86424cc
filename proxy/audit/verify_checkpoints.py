"""Stored checkpoints for the verifier: read unverified by size, then checked one size at a time.

A checkpoint's text is read before its signature is checked only to learn its size: which keys
may sign a tree depends on the ``key`` leaves before that size, so signatures are checked when
the verifier's walk through the leaves reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from proxy.audit.checkpoint import Checkpoint, CheckpointError
from proxy.audit.note import NoteError, open_note
from proxy.audit.verify_keys import KeyChainError, KeySchedule
from proxy.audit.verify_report import Failure, FailureClass


@dataclass(frozen=True, slots=True)
class Pending:
    """A checkpoint note read but not verified yet; ``held`` for one kept outside the log."""

    note: bytes
    checkpoint: Checkpoint
    held: bool = False


def peek(note: bytes) -> Checkpoint:
    """Parse a signed checkpoint's text without checking any signature; raise CheckpointError."""
    try:
        whole = note.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("expected a UTF-8 checkpoint note, got invalid bytes") from None
    split = whole.rfind("\n\n")
    if split < 0:
        raise CheckpointError("expected a checkpoint text and signatures, got another layout")
    return Checkpoint.parse(whole[: split + 1])


def index_checkpoints(
    stored: Iterable[tuple[int | None, bytes]], origin: str
) -> tuple[dict[int, list[Pending]], list[Failure]]:
    """Group notes by signed tree size (identical notes once); unreadable ones, and ones
    stored under another size than they sign, become failures."""
    by_size: dict[int, list[Pending]] = {}
    failures = []
    seen: set[bytes] = set()
    for stated, note in stored:
        try:
            checkpoint = peek(note)
        except CheckpointError as exc:
            failures.append(
                _signature("checkpoint_format", f"expected a checkpoint: {exc}", stated)
            )
            continue
        if stated is not None and stated != checkpoint.size:
            failures.append(
                Failure(
                    FailureClass.LEAF,
                    "checkpoint_size",
                    f"expected the checkpoint stored for size {stated} to sign that size, "
                    f"got one of size {checkpoint.size}",
                    checkpoint=stated,
                )
            )
        if note in seen:
            continue
        seen.add(note)
        if checkpoint.origin != origin:
            failures.append(
                _signature(
                    "origin",
                    "expected the trust file's origin, got another log's",
                    checkpoint=checkpoint.size,
                )
            )
            continue
        by_size.setdefault(checkpoint.size, []).append(Pending(note, checkpoint))
    return by_size, failures


def _signature(check: str, message: str, checkpoint: int | None = None) -> Failure:
    return Failure(FailureClass.SIGNATURE, check, message, checkpoint=checkpoint)


def check_signature(pending: Pending, schedule: KeySchedule, since: int) -> Failure | None:
    """Check one checkpoint's signatures against the keys in force at its size.

    ``since`` is the size of the previous checkpoint: the failure names the entries that this
    checkpoint alone covers.
    """
    size = pending.checkpoint.size
    what = "held checkpoint" if pending.held else "checkpoint"
    try:
        opened = open_note(pending.note, schedule.verifiers())
    except NoteError as exc:
        check = "unknown_key" if "known key" in str(exc) else "bad_signature"
        return Failure(
            FailureClass.SIGNATURE,
            check,
            f"expected the {what} signed by the log's keys: {exc}",
            since if size > since else None,
            size if size > since else None,
            None,
            size,
        )
    try:
        schedule.check(size, opened)
    except KeyChainError as exc:
        return Failure(
            FailureClass.SIGNATURE,
            exc.check,
            str(exc),
            since if size > since else None,
            size if size > since else None,
            None,
            size,
        )
    return None


def compare_roots(pendings: list[Pending], root: bytes, since: int) -> tuple[list[Failure], bool]:
    """Compare the recomputed root at one size with every checkpoint of that size.

    A stored checkpoint that disagrees is a leaf/root failure (entries since the last good
    checkpoint); two stored checkpoints that disagree with each other, or a held one that
    disagrees with the log, is a fork. Returns the failures and whether every root matched.
    """
    failures = []
    size = pendings[0].checkpoint.size
    stored_roots = {p.checkpoint.root_hash for p in pendings if not p.held}
    if len(stored_roots) > 1:
        failures.append(
            Failure(
                FailureClass.CONSISTENCY,
                "fork",
                f"expected one root per tree size, got {len(stored_roots)} signed roots",
                since,
                size,
                None,
                size,
            )
        )
    for p in pendings:
        if p.checkpoint.root_hash == root:
            continue
        if p.held:
            failures.append(
                Failure(
                    FailureClass.CONSISTENCY,
                    "fork",
                    "expected the log to extend the checkpoint held elsewhere, "
                    "got another tree of the same size",
                    0,
                    size,
                    None,
                    size,
                )
            )
        else:
            failures.append(
                Failure(
                    FailureClass.LEAF,
                    "root_mismatch",
                    "expected the signed root to match the re-hashed leaves, got another root",
                    since,
                    size,
                    None,
                    size,
                )
            )
    return failures, not failures
