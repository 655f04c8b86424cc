"""The audit log service: typed appends, sealed copies, start-up checks and recovery.

Appends go through ONE group-commit writer (:mod:`proxy.audit.writer`): each returns only after
the COMMIT of its batch, with a :class:`Receipt` whose signed checkpoint covers it. A failed
batch fails its appends with :class:`~proxy.errors.AuditUnavailable` (the handler answers 503
and sends nothing; an fsync is never retried) and the writer goes on with the next batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from proxy.audit import leaves
from proxy.audit.batch import Batch, BatchEntry, BatchResult, HeadMoved
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.note import Signer
from proxy.audit.records import Committer, Intent, Outcome, Stamp, UtcText, random_id, rfc3339
from proxy.audit.sealed import Sealing, Vault, period_of, period_start, periods_before
from proxy.audit.startup import check_log
from proxy.audit.writer import Receipt, Writer
from proxy.errors import AuditUnavailable
from proxy.keys import KeyMaterial
from proxy.logs import get_logger
from proxy.storage.base import Store

__all__ = ["AuditLog", "AuditSettings", "Receipt"]


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """How the log is named and batched (config keys under ``audit:``, see the report)."""

    origin: str = "civetta.local/audit-log"
    replica: str = "replica-1"
    linger_s: float = 0.002
    max_batch: int = 256
    commit_timeout_s: float = 10.0
    checkpoint_file: Path | None = None


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
        # The two leaves of every message are stamped from text: the system clock formatted
        # once per second (UtcText), or a given clock formatted each time.
        self._system_clock = clock is None
        self._now: Callable[[], str] = UtcText() if clock is None else self._formatted
        self._committer = Committer(keys.derive("commitment"))
        self.vault = Vault(store, keys.derive("sealed"), self._clock)
        self._log: Any = get_logger("civetta.audit")
        self._writer = Writer(
            self._commit,
            linger_s=settings.linger_s,
            max_batch=settings.max_batch,
            commit_timeout_s=settings.commit_timeout_s,
            log=self._log,
            abandoned=self._abandoned,
        )

    @property
    def batches(self) -> int:
        """Batches committed by the writer since start (a test and bench figure)."""
        return self._writer.batches

    def _formatted(self) -> str:
        return rfc3339(self._clock())

    def stamp(self) -> Stamp:
        """A stamp for a leaf made now on this replica."""
        return Stamp(self._clock(), self.settings.replica)

    def commit(self, path: str, value: str | bytes) -> bytes:
        """The keyed commitment of a value removed at ``path`` (also for order references)."""
        return self._committer(path, value)

    def _sign(self, size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(self.settings.origin, size, root), [self.signer])

    def _batch(self, entries: list[BatchEntry], **extra: Any) -> Batch:
        return Batch(tuple(entries), self._sign, self.settings.replica, **extra)

    async def _commit(self, entries: list[BatchEntry]) -> BatchResult:
        return await self.store.append_batch(self._batch(entries))

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
        self._writer.start()

    async def stop(self) -> None:
        """Refuse new appends, commit everything queued, stop the writer."""
        await self._writer.stop()

    async def append(
        self, data: bytes, *, opens: str | None = None, closes: str | None = None
    ) -> Receipt:
        """Append leaf bytes; return once they are durable under a signed checkpoint."""
        return await self._append(BatchEntry(data, opens=opens, closes=closes))

    async def _append(self, entry: BatchEntry, intent_id: str | None = None) -> Receipt:
        return await self._enqueue(entry, intent_id)

    def _enqueue(self, entry: BatchEntry, intent_id: str | None) -> asyncio.Future[Receipt]:
        if not self._writer.accepting:
            raise AuditUnavailable("expected a running audit log, got one stopped")
        return self._writer.enqueue(entry, intent_id)

    def _abandoned(self, entry: BatchEntry) -> None:
        """A committed entry whose caller was cancelled (client gone) before its receipt.

        An intent's caller never saw the receipt, so it forwarded nothing: its outcome says so
        now, instead of leaving a dangling intent that a restart would call possibly disclosed.
        """
        if entry.opens is None:
            return
        outcome = Outcome(entry.opens, None, error="CIVETTA-NOT-SENT")
        self._writer.enqueue(
            BatchEntry(leaves.outcome(self.stamp(), outcome), closes=entry.opens), None
        )

    async def append_intent(self, intent: Intent, sealing: Sealing | None = None) -> Receipt:
        """Record an intent (and store its sealed copy); the receipt carries the new intent id."""
        if sealing is not None and intent.body.sealed_id != sealing.sealed_id:
            raise ValueError("expected the intent to cite the sealed copy given, got another id")
        intent_id = random_id()
        data = leaves.intent_at(self._now(), self.settings.replica, intent_id, intent)
        entry = BatchEntry(data, opens=intent_id, sealed=None if sealing is None else sealing.copy)
        return await self._enqueue(entry, intent_id)

    async def append_outcome(self, outcome: Outcome) -> Receipt:
        """Record the one outcome of an intent."""
        data = leaves.outcome_at(self._now(), self.settings.replica, outcome)
        return await self._enqueue(BatchEntry(data, closes=outcome.intent_id), None)

    async def heartbeat(self) -> Receipt:
        """Record that this replica is alive."""
        return await self.append(leaves.heartbeat(self.stamp()))

    async def seal(self, data: bytes) -> Sealing:
        """Encrypt the exact forwarded bytes; pass the result to :meth:`append_intent`."""
        # On the system clock the period is the RFC 3339 text's first seven characters (YYYY-MM),
        # read from the cheap text clock; a given clock is left to the vault (period_of).
        return await self.vault.seal(data, self._now()[:7] if self._system_clock else None)

    async def open_sealed(self, sealed_id: str) -> tuple[bytes, bytes]:
        """``(salt, bytes)`` of a stored copy; ``Shredded`` once its period's key is gone."""
        return await self.vault.open(sealed_id)

    async def shred(self, before: date) -> list[str]:
        """Destroy the data keys of every period wholly before ``before``, with an ``erasure``
        leaf per period in the same transaction; return the periods."""
        # The current period is never shredded: replicas cache its key for sealing.
        if before > period_start(period_of(self._clock())):
            raise ValueError("expected a date no later than the current period's start, got later")
        periods = periods_before(await self.store.data_key_periods(), before)
        if not periods:
            return []
        stamp = self.stamp()
        entries = [BatchEntry(leaves.erasure(stamp, p, before)) for p in periods]
        await self.store.append_batch(self._batch(entries, erase_periods=tuple(periods)))
        self._log.info("audit_periods_shredded", count=len(periods))
        return periods
