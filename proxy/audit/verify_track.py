"""The stored checkpoints along the verifier's walk: which size comes next, which verified.

The walk reaches tree sizes one entry at a time; at each size that has checkpoints, their
signatures are checked with the keys in force and their roots with the re-hashed tree. What
is left at the end lies beyond the stored entries: a rollback.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from proxy.audit.merkle import MAX_SIZE
from proxy.audit.verify_checkpoints import (
    Pending,
    check_signature,
    compare_roots,
    index_checkpoints,
)
from proxy.audit.verify_keys import KeySchedule
from proxy.audit.verify_report import Failure, FailureClass


class CheckpointTrack:
    """Checkpoints by size, and how far the walk has checked them."""

    def __init__(
        self, notes: Sequence[tuple[int | None, bytes]], origin: str, held: Pending | None
    ) -> None:
        self.by_size, self.failures = index_checkpoints(notes, origin)
        if held is not None and held.checkpoint.size > 0:
            self.by_size.setdefault(held.checkpoint.size, []).append(held)
        self.sizes = sorted(self.by_size)
        self._next = 0  # position in ``sizes`` of the next size to reach
        self.last_good = 0  # size of the last checkpoint whose root matched
        self.last_signed = 0  # size of the last stored checkpoint whose signature was checked
        self.verified_count = 0
        self.skipped = 0
        #: The largest stored checkpoint whose signature and root both verified.
        self.verified: Pending | None = None

    @property
    def due(self) -> int:
        """The next size with checkpoints (beyond any size when none is left)."""
        return self.sizes[self._next] if self._next < len(self.sizes) else MAX_SIZE + 1

    def skip_below(self, size: int) -> None:
        """An incremental run: sizes below ``size`` were verified by an earlier run."""
        self.skipped = self._next = bisect.bisect_left(self.sizes, size)

    def reach(self, size: int, root: bytes | None, schedule: KeySchedule) -> list[Failure]:
        """Check every size up to ``size`` not checked yet; roots only at ``size`` itself
        (``root`` None: unknowable after a gap). Sizes skipped by a gap still have their
        signatures checked."""
        failures: list[Failure] = []
        while self._next < len(self.sizes) and self.sizes[self._next] <= size:
            at = self.sizes[self._next]
            self._next += 1
            failures += self._at(at, root if at == size else None, schedule)
        return failures

    def _at(self, size: int, root: bytes | None, schedule: KeySchedule) -> list[Failure]:
        pendings = self.by_size[size]
        failures = []
        signed = []
        for p in pendings:
            failure = check_signature(p, schedule, self.last_signed)
            if failure is not None:
                failures.append(failure)
            elif not p.held:
                self.verified_count += 1
                signed.append(p)
        if any(not p.held for p in pendings):
            self.last_signed = size
        if root is not None:
            mismatches, ok = compare_roots(pendings, root, self.last_good)
            failures += mismatches
            if ok:
                self.last_good = size
                self.verified = signed[0] if signed else self.verified
        return failures

    def beyond(self, end: int, schedule: KeySchedule) -> list[Failure]:
        """Checkpoints of more entries than are stored: each a rollback (signatures checked,
        so that a forged one is reported as such)."""
        failures = []
        for at in self.sizes[self._next :]:
            for p in self.by_size[at]:
                failure = check_signature(p, schedule, self.last_signed)
                if failure is not None:
                    failures.append(failure)
                what = "held elsewhere" if p.held else "stored"
                message = f"expected at least {at} entries (checkpoint {what}), got {end}"
                failures.append(
                    Failure(FailureClass.CONSISTENCY, "rollback", message, end, at, None, at)
                )
        self._next = len(self.sizes)
        return failures
