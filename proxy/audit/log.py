"""The audit log service: group commit, signed receipts, start-up checks and recovery.

Appends are queued; ONE writer task takes up to ``max_batch`` of them (waiting at most
``linger_s`` for more once the first arrives) and hands them to the store as one transaction
that ends with a signed checkpoint. Each append's future resolves only after COMMIT, with a
:class:`Receipt` whose checkpoint covers it. A failed batch fails all of its appends with
:class:`~proxy.errors.AuditUnavailable` (the handler answers 503 and sends nothing; an fsync is
never retried) and the writer goes on with the next batch.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from proxy.audit import leaves
from proxy.audit.batch import Batch, BatchEntry, HeadMoved
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.note import Signer
from proxy.audit.records import Intent, Outcome, Stamp, commit_value
from proxy.audit.sealed import Sealing, Vault, period_of, periods_before
from proxy.audit.startup import check_log
from proxy.errors import AuditUnavailable
from proxy.keys import KeyMaterial
from proxy.logs import get_logger
from proxy.storage.base import Store


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """How the log is named and batched (config keys under ``audit:``, see the report)."""

    origin: str = "civetta.local/audit-log"
    replica: str = "replica-1"
    linger_s: float = 0.002
    max_batch: int = 256
    commit_timeout_s: float = 10.0
    checkpoint_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of durability: the leaf's index and the signed checkpoint that covers it."""

    index: int
    tree_size: int
    checkpoint: bytes
    intent_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Queued:
    entry: BatchEntry
    future: asyncio.Future[Receipt]
    intent_id: str | None


class AuditLog:
    """The proxy's audit log over a :class:`~proxy.storage.base.Store`."""

    def __init__(
        self,
        store: Store,
        keys: KeyMaterial,
        settings: AuditSettings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.signer = Signer(settings.origin, keys.signing_key)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._commit_key = keys.derive("commitment")
        self.vault = Vault(store, keys.derive("sealed"), self._clock)
        self._queue: deque[_Queued] = deque()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._stopping = False
        self._log: Any = get_logger("civetta.audit")
        #: Batches committed since start (a test and bench figure: appends / batches).
        self.batches = 0

    def stamp(self) -> Stamp:
        """A stamp for a leaf made now on this replica."""
        return Stamp(self._clock(), self.settings.replica)

    def commit(self, path: str, value: str | bytes) -> bytes:
        """The keyed commitment of a value removed at ``path`` (also for order references)."""
        return commit_value(self._commit_key, path, value)

    def _sign(self, size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(self.settings.origin, size, root), [self.signer])

    def _batch(self, entries: list[BatchEntry], **extra: Any) -> Batch:
        return Batch(tuple(entries), self._sign, self.settings.replica, **extra)

    async def start(self) -> None:
        """Initialise or check the log, recover dangling intents, then accept appends."""
        verifier = self.signer.verifier()
        head = await self.store.head()
        if head.size == 0:
            stamp = self.stamp()
            first = [
                leaves.log_init(
                    stamp, self.settings.origin, verifier.name, verifier.public_key, verifier.key_id
                ),
                leaves.key(stamp, verifier.name, verifier.public_key, verifier.key_id, None),
            ]
            try:
                await self.store.append_batch(
                    self._batch([BatchEntry(d) for d in first], expect_size=0)
                )
                self._log.info(
                    "audit_log_initialised",
                    origin=self.settings.origin,
                    key_id=f"{verifier.key_id:08x}",
                )
            except HeadMoved:
                pass  # another replica initialised the log first: check it like any other
        path = self.settings.checkpoint_file
        elsewhere = path.read_bytes() if path is not None and path.exists() else None
        head = await check_log(self.store, [verifier], self.settings.origin, elsewhere)
        self._log.info("audit_log_checked", origin=self.settings.origin, tree_size=head.size)
        dangling = await self.store.pending_intents(self.settings.replica)
        for at in range(0, len(dangling), self.settings.max_batch):
            stamp = self.stamp()
            entries = [
                BatchEntry(leaves.recovery(stamp, p.intent_id, p.index), closes=p.intent_id)
                for p in dangling[at : at + self.settings.max_batch]
            ]
            await self.store.append_batch(self._batch(entries))
        if dangling:
            self._log.warning("audit_intents_recovered", count=len(dangling))
        self._stopping = False
        self._writer = asyncio.create_task(self._run(), name="civetta-audit-writer")

    async def stop(self) -> None:
        """Refuse new appends, commit everything queued, stop the writer."""
        self._stopping = True
        self._wake.set()
        self._full.set()
        if self._writer is not None:
            await self._writer
            self._writer = None

    async def append(
        self, data: bytes, *, opens: str | None = None, closes: str | None = None
    ) -> Receipt:
        """Append leaf bytes; return once they are durable under a signed checkpoint."""
        return await self._append(BatchEntry(data, opens=opens, closes=closes))

    async def _append(self, entry: BatchEntry, intent_id: str | None = None) -> Receipt:
        if self._writer is None or self._stopping:
            raise AuditUnavailable("expected a running audit log, got one stopped")
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(entry, future, intent_id))
        self._wake.set()
        if len(self._queue) >= self.settings.max_batch:
            self._full.set()
        return await future

    async def append_intent(self, intent: Intent, sealing: Sealing | None = None) -> Receipt:
        """Record an intent (and store its sealed copy); the receipt carries the new intent id."""
        if sealing is not None and intent.body.sealed_id != sealing.sealed_id:
            raise ValueError("expected the intent to cite the sealed copy given, got another id")
        intent_id = uuid.uuid4().hex
        data = leaves.intent(self.stamp(), intent_id, intent)
        entry = BatchEntry(data, opens=intent_id, sealed=None if sealing is None else sealing.copy)
        return await self._append(entry, intent_id)

    async def append_outcome(self, outcome: Outcome) -> Receipt:
        """Record the one outcome of an intent."""
        return await self._append(
            BatchEntry(leaves.outcome(self.stamp(), outcome), closes=outcome.intent_id)
        )

    async def heartbeat(self) -> Receipt:
        """Record that this replica is alive."""
        return await self.append(leaves.heartbeat(self.stamp()))

    async def seal(self, data: bytes) -> Sealing:
        """Encrypt the exact forwarded bytes; pass the result to :meth:`append_intent`."""
        return await self.vault.seal(data)

    async def open_sealed(self, sealed_id: str) -> tuple[bytes, bytes]:
        """``(salt, bytes)`` of a stored copy; ``Shredded`` once its period's key is gone."""
        return await self.vault.open(sealed_id)

    async def shred(self, before: date) -> list[str]:
        """Destroy the data keys of every period wholly before ``before``, with an ``erasure``
        leaf per period in the same transaction; return the periods."""
        # The current period is never shredded: replicas cache its key for sealing.
        if before > _period_start(period_of(self._clock())):
            raise ValueError("expected a date no later than the current period's start, got later")
        periods = periods_before(await self.store.data_key_periods(), before)
        if not periods:
            return []
        stamp = self.stamp()
        entries = [BatchEntry(leaves.erasure(stamp, p, before)) for p in periods]
        await self.store.append_batch(self._batch(entries, erase_periods=tuple(periods)))
        self._log.info("audit_periods_shredded", count=len(periods))
        return periods

    async def _run(self) -> None:
        """The writer: batch, commit, resolve; never stops on a failed batch."""
        queue, settings = self._queue, self.settings
        while True:
            await self._wake.wait()
            if not queue:
                if self._stopping:
                    return
                self._wake.clear()
                continue
            if len(queue) < settings.max_batch and settings.linger_s > 0 and not self._stopping:
                self._full.clear()
                try:
                    async with asyncio.timeout(settings.linger_s):
                        await self._full.wait()
                except TimeoutError:
                    pass
            items = [queue.popleft() for _ in range(min(len(queue), settings.max_batch))]
            await self._flush(items)

    async def _flush(self, items: list[_Queued]) -> None:
        try:
            async with asyncio.timeout(self.settings.commit_timeout_s):
                result = await self.store.append_batch(self._batch([q.entry for q in items]))
        except Exception as exc:
            # Fatal for these appends only: the next batch re-reads the head from the store,
            # so nothing of the failed transaction (committed or not) is assumed.
            self._log.error("audit_batch_failed", count=len(items), error_type=type(exc).__name__)
            for q in items:
                if not q.future.done():
                    error = AuditUnavailable("expected a durable audit record, got a failed commit")
                    error.__cause__ = exc
                    q.future.set_exception(error)
            return
        self.batches += 1
        for offset, q in enumerate(items):
            if not q.future.done():
                # Indices were fixed when the batch was planned: first index + position.
                receipt = Receipt(
                    result.first_index + offset, result.size, result.checkpoint, q.intent_id
                )
                q.future.set_result(receipt)


def _period_start(period: str) -> date:
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, 1)
