"""The group-commit writer on its own: when it commits, what it batches, how it wakes."""

from __future__ import annotations

import asyncio
from typing import Any

from proxy.audit.batch import BatchEntry, BatchResult
from proxy.audit.writer import Writer

LONG = 30.0  # a linger no test may ever wait out


class Recorder:
    """A commit function that records each batch and returns consecutive indices."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.size = 0

    async def __call__(self, entries: list[BatchEntry]) -> BatchResult:
        self.batches.append([e.data for e in entries])
        first, self.size = self.size, self.size + len(entries)
        return BatchResult(first, self.size, b"r" * 32, b"note %d" % self.size)


def writer(commit: Recorder, max_batch: int = 4) -> Writer:
    """A writer whose linger is far longer than any test waits."""
    log: Any = None  # never called: no batch fails here
    return Writer(commit, linger_s=LONG, max_batch=max_batch, commit_timeout_s=LONG, log=log)


async def test_an_idle_writer_commits_a_lone_entry_at_once() -> None:
    """Nothing lingers for company when the previous batch had none."""
    commit = Recorder()
    w = writer(commit)
    w.start()
    receipt = await asyncio.wait_for(w.enqueue(BatchEntry(b"a"), None), 5)
    assert (receipt.index, receipt.tree_size, commit.batches) == (0, 1, [[b"a"]])
    await w.stop()


async def test_a_busy_writer_lingers_until_a_batch_is_full() -> None:
    """After a batch with company the writer lingers; a full batch ends the linger at once,
    and entries arriving meanwhile are committed together, in order, with their indices."""
    commit = Recorder()
    w = writer(commit, max_batch=4)
    w.start()
    first = [w.enqueue(BatchEntry(b"%d" % i), None) for i in range(2)]
    await asyncio.wait_for(asyncio.gather(*first), 5)  # one batch of two: busy from now on
    second = [w.enqueue(BatchEntry(b"a"), "i-a")]
    await asyncio.sleep(0.05)
    assert len(commit.batches) == 1  # lingering, not committed
    second += [w.enqueue(BatchEntry(x), None) for x in (b"b", b"c", b"d")]
    receipts = await asyncio.wait_for(asyncio.gather(*second), 5)
    assert commit.batches[1:] == [[b"a", b"b", b"c", b"d"]]
    assert [r.index for r in receipts] == [2, 3, 4, 5]
    assert receipts[0].intent_id == "i-a" and receipts[0].checkpoint == b"note 6"
    await w.stop()


async def test_stop_ends_a_linger_and_commits_what_is_queued() -> None:
    """Stopping does not wait out the linger: the queue is committed, then the task ends."""
    commit = Recorder()
    w = writer(commit, max_batch=100)
    w.start()
    await asyncio.wait_for(
        asyncio.gather(*(w.enqueue(BatchEntry(b"x"), None) for _ in range(3))), 5
    )
    late = w.enqueue(BatchEntry(b"late"), None)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(w.stop(), 5)
    assert late.done() and late.result().index == 3
    assert commit.batches[-1] == [b"late"] and not w.accepting
