"""The verifier's walk through the leaves: the state that :func:`verify_log` drives.

Kept apart from :mod:`proxy.audit.verify` so that each step stays small; see that module's
docstring for the order of the steps and the reasons behind them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Sequence
from hashlib import sha256
from itertools import islice
from typing import Any

from proxy.audit.merkle import CompactRange, leaf_hash
from proxy.audit.trust import TrustAnchor
from proxy.audit.verify_canonical import CanonicalParser, NotCanonical
from proxy.audit.verify_checkpoints import Pending
from proxy.audit.verify_keys import KeyChainError, KeySchedule
from proxy.audit.verify_parse import Parsed, Parsers
from proxy.audit.verify_prefix import KEY_MARK, Frontier, key_candidates, stored_frontier
from proxy.audit.verify_report import Failure, FailureClass, FailureLog
from proxy.audit.verify_sealed import SealedAudit
from proxy.audit.verify_semantics import Semantics
from proxy.audit.verify_source import LogSource, SealedChecker, StoredLeaf
from proxy.audit.verify_track import CheckpointTrack

_KEY_TYPES = ("log_init", "key")


class Walk:
    """Everything a verification run accumulates."""

    def __init__(
        self,
        anchor: TrustAnchor,
        grace_s: float,
        incremental: bool,
        sealed: SealedChecker | None,
    ) -> None:
        self.anchor = anchor
        self.schedule = KeySchedule(anchor)
        self.semantics = Semantics(incremental=incremental, grace_s=grace_s)
        self.failures = FailureLog()
        self.sealed = SealedAudit(sealed)
        self.hashed = 0
        self.track = CheckpointTrack((), anchor.origin, None)
        self._parser = CanonicalParser()
        self._frontier = Frontier()
        self._broken_at: int | None = None  # first missing entry: later roots are unknowable
        self._end = 0
        #: Entries before the held size that had to be re-hashed (no stored subtree hashes).
        self.prefix_rehashed = 0

    def _add(self, failures: Sequence[Failure] | Failure | None) -> None:
        if isinstance(failures, Failure):
            self.failures.add(failures)
        elif failures:
            for f in failures:
                self.failures.add(f)

    def index(self, notes: Sequence[tuple[int | None, bytes]], held: Pending | None) -> None:
        """Group the stored checkpoints (and the held one) by size."""
        self.track = CheckpointTrack(notes, self.anchor.origin, held)
        self._add(self.track.failures)

    async def prefix(self, source: LogSource, held: Pending, chunk: int) -> None:
        """Incremental runs: the tree and the keys before the held checkpoint.

        From stored subtree hashes when the source keeps them (:mod:`verify_prefix`), else by
        re-hashing every entry before it.
        """
        size = held.checkpoint.size
        frontier = await stored_frontier(source, size, held.checkpoint.root_hash)
        if frontier is not None:
            for candidate in await key_candidates(source, size, frontier.root(), chunk):
                if candidate.proven:
                    self._learn(candidate.index, candidate.data)
                else:
                    self._add(_leaf_hash(candidate.index, None))
            self._start(frontier, size)
            return
        self.prefix_rehashed = size
        cr = CompactRange()
        for begin in range(0, size, chunk):
            for leaf in await source.leaves(begin, min(begin + chunk, size)):
                if leaf.index != cr.size:
                    self._add(_missing(cr.size, max(leaf.index, cr.size + 1)))
                    self._broken_at = cr.size
                    return
                h = leaf_hash(leaf.data)
                if leaf.hash is not None and leaf.hash != h:
                    self._add(_leaf_hash(leaf.index, None))
                cr.append(h)
                if leaf.index == 0 or KEY_MARK in leaf.data:
                    self._learn(leaf.index, leaf.data)
        if cr.size != size:
            self._add(_missing(cr.size, size))
            self._broken_at = cr.size
            return
        self._start(cr, size)

    def _start(self, frontier: CompactRange, size: int) -> None:
        """Begin the walk at ``size`` with the prefix's frontier."""
        self._frontier = Frontier(frontier)
        # Rotations published before the held size were checked by an earlier run.
        self.schedule.publish_unchecked([s for s in self.track.sizes if s <= size])
        self.track.skip_below(size)

    def _learn(self, index: int, data: bytes) -> None:
        try:
            value = self._parser.parse(data)
        except NotCanonical as exc:
            self._add(Failure(FailureClass.SEMANTICS, "canonical", str(exc), index))
            return
        if isinstance(value, dict) and value.get("type") in _KEY_TYPES:
            try:
                self.schedule.apply(index, value)
            except KeyChainError as exc:
                self._add(Failure(FailureClass.SIGNATURE, exc.check, str(exc), index))

    async def leaves(
        self, source: LogSource, start: int, size: int, chunk: int, parsers: Parsers
    ) -> int:
        """Walk entries ``[start, size)``; return where the stored entries really end.

        Reading and parsing run ahead of the walk by ``parsers.depth`` chunks, so that the
        store, the parsing workers and this loop work at the same time.
        """
        self._reach(start)
        expected = start
        begins = iter(range(start, size, chunk))

        async def fetch(begin: int) -> tuple[Sequence[StoredLeaf], Awaitable[list[Parsed]]]:
            got = await source.leaves(begin, min(begin + chunk, size))
            return got, parsers.submit([leaf.data for leaf in got])

        ahead: deque[asyncio.Task[tuple[Sequence[StoredLeaf], Awaitable[list[Parsed]]]]]
        ahead = deque(asyncio.create_task(fetch(b)) for b in islice(begins, parsers.depth))
        try:
            while ahead:
                got, parsing = await ahead.popleft()
                begin = next(begins, None)
                if begin is not None:
                    ahead.append(asyncio.create_task(fetch(begin)))
                    await asyncio.sleep(0)  # let the read start: it runs while this chunk is walked
                for leaf, (value, error) in zip(got, await parsing, strict=True):
                    if leaf.index < expected:
                        message = "expected entries in index order, got a repeated index"
                        self._add(Failure(FailureClass.LEAF, "leaf_order", message, leaf.index))
                        continue
                    if leaf.index > expected:
                        self._add(_missing(expected, leaf.index))
                        if self._broken_at is None:
                            self._broken_at = expected
                    self._leaf(leaf, value, error)
                    expected = leaf.index + 1
                if self.sealed.full:
                    self._add(await self.sealed.flush())
        finally:
            for task in ahead:
                task.cancel()
        return expected

    def _leaf(self, leaf: StoredLeaf, value: Any, error: str | None) -> None:
        """One entry: hash, stored hash, meaning, keys, sealed copy, tree, checkpoints."""
        index = leaf.index
        h = sha256(b"\x00" + leaf.data).digest()  # leaf_hash, inlined: it runs per entry
        self.hashed += 1
        is_object = type(value) is dict
        iid = value.get("intent_id") if is_object else None
        if type(iid) is not str:
            iid = None
        if error is not None:
            self._add(Failure(FailureClass.SEMANTICS, "canonical", error, index))
        if leaf.hash is not None and leaf.hash != h:
            self._add(_leaf_hash(index, iid))
        if error is None:
            failures = self.semantics.feed(index, value)
            if failures:
                self._add(failures)
            kind = value.get("type") if is_object else None
            if kind == "intent":
                if iid is not None:
                    self.sealed.add(index, iid, value)
            elif kind in _KEY_TYPES:
                try:
                    self.schedule.apply(index, value)
                except KeyChainError as exc:
                    failure = Failure(FailureClass.SIGNATURE, exc.check, str(exc), index)
                    self._add(failure)
        if self._broken_at is None:
            self._frontier.append(h)
        if index + 1 >= self.track.due:
            self._reach(index + 1)

    def _reach(self, size: int) -> None:
        root = None if self._broken_at is not None else self._frontier.root()
        self._add(self.track.reach(size, root, self.schedule))

    async def finish(self, end: int, size: int) -> None:
        """Rollbacks, open intents and shredded copies, once every entry has been read."""
        if end < size:
            self._add(
                Failure(
                    FailureClass.CONSISTENCY,
                    "truncated",
                    f"expected {size} entries as the head says, got {end}",
                    end,
                    size,
                )
            )
        self._add(self.track.beyond(end, self.schedule))
        self._add(list(self.semantics.finish()))
        self._add(await self.sealed.flush())
        self._add(self.sealed.finish(self.semantics.erased))
        self._end = end

    def counts(self) -> dict[str, int]:
        """Bookkeeping figures for the report (leaf types are in ``semantics.counts``)."""
        out = {"pending_intents": self.semantics.pending}
        out["checkpoints_skipped"] = self.track.skipped
        out["prefix_rehashed"] = self.prefix_rehashed
        out["uncovered_entries"] = max(0, self._end - self.track.last_signed)
        if self.semantics.earlier_intents:
            out["outcomes_of_earlier_intents"] = self.semantics.earlier_intents
        out["sealed_checked"] = self.sealed.checked
        out["sealed_shredded"] = self.sealed.shredded
        return out


def _missing(first: int, end: int) -> Failure:
    return Failure(
        FailureClass.LEAF, "missing_leaf", "expected a stored entry, got none", first, end
    )


def _leaf_hash(index: int, intent_id: str | None) -> Failure:
    return Failure(
        FailureClass.LEAF,
        "leaf_hash",
        "expected the stored bytes to hash to the stored leaf hash, got another hash",
        index,
        None,
        intent_id,
    )
