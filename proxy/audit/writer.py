"""Group commit: ONE task turns queued entries into batches, one transaction each.

Once an entry arrives the task — when the previous batch shows load — waits up to ``linger_s``
for more (or until ``max_batch`` are queued); an idle writer commits at once. It hands the batch to ``commit`` and resolves every entry's future after COMMIT with its
:class:`Receipt`. A failed or timed-out commit fails every future of that batch with
:class:`~proxy.errors.AuditUnavailable` (an fsync is never retried) and the task goes on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from proxy.audit.batch import BatchEntry, BatchResult
from proxy.errors import AuditUnavailable


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of durability: the leaf's index and the signed checkpoint that covers it."""

    index: int
    tree_size: int
    checkpoint: bytes
    intent_id: str | None = None


#: A queued append: the entry, its caller's future and the intent id the receipt carries
#: (a plain tuple: one is built per append, and a dataclass costs several times as much).
_Queued = tuple[BatchEntry, "asyncio.Future[Receipt]", str | None]


class Writer:
    """The single writer task and its queue."""

    def __init__(
        self,
        commit: Callable[[list[BatchEntry]], Awaitable[BatchResult]],
        *,
        linger_s: float,
        max_batch: int,
        commit_timeout_s: float,
        log: Any,
        abandoned: Callable[[BatchEntry], None] | None = None,
    ) -> None:
        self._commit = commit
        self._linger_s = linger_s
        self._max_batch = max_batch
        self._timeout_s = commit_timeout_s
        self._log = log
        self._abandoned = abandoned
        self._queue: deque[_Queued] = deque()
        #: What the task sleeps on (idle, or lingering for company), and whether it lingers.
        self._waiter: asyncio.Future[None] | None = None
        self._lingering = False
        #: Size and end (loop time) of the previous batch: the load signal for lingering.
        self._last_size = 0
        self._last_end = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Batches committed (a test and bench figure: appends / batches).
        self.batches = 0

    @property
    def accepting(self) -> bool:
        """True between start() and stop()."""
        return self._task is not None and not self._stopping

    def start(self) -> None:
        """Start the task."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="civetta-audit-writer")

    async def stop(self) -> None:
        """Commit everything queued, then end the task."""
        self._stopping = True
        _release(self._waiter)
        if self._task is not None:
            await self._task
            self._task = None

    def enqueue(self, entry: BatchEntry, intent_id: str | None) -> asyncio.Future[Receipt]:
        """Queue an entry; the future resolves after its batch commits.

        A caller that stops waiting cancels the future; the entry is still committed, and
        ``abandoned`` hears of it.
        """
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future, intent_id))
        # An idle task wakes for any entry, a lingering one only for a full batch; a task that
        # is committing finds the entry in the queue when it is done.
        if self._waiter is not None and (
            not self._lingering or len(self._queue) >= self._max_batch
        ):
            _release(self._waiter)
        return future

    async def _run(self) -> None:
        """The writer: batch, commit, resolve; never stops on a failed batch."""
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            if not queue:
                if self._stopping:
                    return
                await self._sleep(loop, None)
                continue
            # Linger only under load (the previous batch had company and ended moments ago):
            # an idle proxy commits at once, so a lone request pays one fsync, not a linger
            # too; a busy one still fills batches (arrivals during a commit batch by themselves).
            busy = self._last_size > 1 and loop.time() - self._last_end < self._linger_s
            if busy and len(queue) < self._max_batch and self._linger_s > 0 and not self._stopping:
                await self._sleep(loop, self._linger_s)
            items = [queue.popleft() for _ in range(min(len(queue), self._max_batch))]
            await self._flush(items)
            self._last_size, self._last_end = len(items), loop.time()

    async def _sleep(self, loop: asyncio.AbstractEventLoop, linger: float | None) -> None:
        """Wait for an entry (``linger`` None), or up to ``linger`` seconds for a full batch.

        A bare future and a timer handle: no Event, no timeout context, no exception when the
        linger simply runs out (the usual case under load, once per batch).
        """
        waiter = loop.create_future()
        self._waiter, self._lingering = waiter, linger is not None
        timer = None if linger is None else loop.call_later(linger, _release, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def _flush(self, items: list[_Queued]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await self._commit([q[0] for q in items])
        except Exception as exc:
            # Fatal for these appends only: the next batch re-reads the head from the store,
            # so nothing of the failed transaction (committed or not) is assumed.
            self._log.error("audit_batch_failed", count=len(items), error_type=type(exc).__name__)
            for _, future, _ in items:
                if not future.done():
                    error = AuditUnavailable("expected a durable audit record, got a failed commit")
                    error.__cause__ = exc
                    future.set_exception(error)
            return
        self.batches += 1
        # Indices were fixed when the batch was planned: first index + position.
        index, size, checkpoint = result.first_index, result.size, result.checkpoint
        for entry, future, intent_id in items:
            if future.cancelled():
                # Its caller gave up while it committed; ``abandoned`` may queue a follow-up,
                # which this loop commits before it can stop.
                if self._abandoned is not None:
                    self._abandoned(entry)
            elif not future.done():
                future.set_result(Receipt(index, size, checkpoint, intent_id))
            index += 1


def _release(waiter: asyncio.Future[None] | None) -> None:
    """Wake the writer task sleeping on ``waiter`` (if it still is)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
