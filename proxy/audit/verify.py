"""The audit log verifier: ``verify_log(source, trust, options) -> Report``.

Steps (a failure never stops the walk; every finding is reported, see ``verify_report``):

1. read every stored checkpoint's size (unverified) and the checkpoint held elsewhere, if any;
2. incremental runs only: re-hash the leaves before the held checkpoint (hashes only; ``key``
   leaves are read for the key schedule) and match its root;
3. walk the leaves in index order, in chunks: re-hash the stored bytes (never re-encoded) and
   compare with the stored hash, extend the tree, parse as canonical JSON, check the meaning,
   learn keys; at each checkpoint size, check the signatures with the keys in force there and
   compare the root (two checkpoints of one size each matching the same leaves are consistent
   by construction: one leaf sequence gives one root per size);
4. at the end: a missing tail or a checkpoint beyond the log is a rollback; open intents past
   the grace period have no outcome; sealed copies whose key is gone need an ``erasure`` leaf.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from proxy.audit.checkpoint import CheckpointError
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify_checkpoints import Pending, peek
from proxy.audit.verify_parse import Parsers, default_workers
from proxy.audit.verify_report import Failure, FailureClass, Report
from proxy.audit.verify_source import LogSource, SealedChecker
from proxy.audit.verify_walk import Walk

__all__ = ["VerifyOptions", "verify_log"]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How to verify.

    ``held``: a signed checkpoint kept outside the log (the log must extend it);
    ``incremental``: start at the held checkpoint's size instead of entry 0;
    ``grace_s``: intents younger than this (against the newest leaf) may lack an outcome;
    ``sealed``: when given, every intent's encrypted copy is opened and compared;
    ``workers``: processes that parse leaves (None: chosen from the run's size and the CPUs).
    """

    held: bytes | None = None
    incremental: bool = False
    grace_s: float = 300.0
    chunk: int = 8192
    sealed: SealedChecker | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.incremental and self.held is None:
            raise ValueError("expected a held checkpoint for an incremental run, got none")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"expected 0 or more workers, got {self.workers}")
        if self.chunk < 1:
            raise ValueError(f"expected a chunk of at least 1 leaf, got {self.chunk}")


async def verify_log(
    source: LogSource, anchor: TrustAnchor, options: VerifyOptions | None = None
) -> Report:
    """Verify a whole log, or the part after a held checkpoint; never raises on bad data."""
    options = options or VerifyOptions()
    started = time.perf_counter()
    walk = Walk(anchor, options.grace_s, options.incremental, options.sealed)
    held = _held(walk, anchor, options.held)
    size = await source.size()
    walk.index(await source.checkpoints(), held)
    start = 0
    if options.incremental and held is not None:
        start = held.checkpoint.size
        await walk.prefix(source, held, options.chunk)
    workers = options.workers
    if workers is None:
        workers = default_workers(size - start)
    async with Parsers(workers) as parsers:
        end = await walk.leaves(source, start, size, options.chunk, parsers)
    await walk.finish(end, size)
    return Report(
        origin=anchor.origin,
        mode="incremental" if options.incremental else "full",
        size=end,
        from_size=start,
        leaves_verified=walk.hashed,
        checkpoints_verified=walk.track.verified_count,
        failures=walk.failures.failures,
        failure_counts=walk.failures.counts,
        counts=walk.counts(),
        types=dict(walk.semantics.counts),
        keys=tuple(walk.schedule.to_json()),
        seconds=time.perf_counter() - started,
        checkpoint=None if walk.track.verified is None else walk.track.verified.note,
        checkpoint_size=None
        if walk.track.verified is None
        else walk.track.verified.checkpoint.size,
    )


def _held(walk: Walk, anchor: TrustAnchor, note: bytes | None) -> Pending | None:
    """The held checkpoint, read but not verified yet (an unreadable one is a failure)."""
    if note is None:
        return None
    try:
        checkpoint = peek(note)
    except CheckpointError as exc:
        walk.failures.add(
            Failure(FailureClass.SIGNATURE, "checkpoint_format", f"expected a checkpoint: {exc}")
        )
        return None
    if checkpoint.origin != anchor.origin:
        walk.failures.add(
            Failure(
                FailureClass.SIGNATURE,
                "origin",
                "expected the held checkpoint's origin to be the trust file's, got another log's",
            )
        )
        return None
    return Pending(note, checkpoint, held=True)
