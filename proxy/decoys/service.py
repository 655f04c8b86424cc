"""The decoy service: one decoy per order and kind, durable and announced before it is used.

:meth:`DecoyService.assign` runs before the policy engine (the ``alias`` action only reads the
result from ``Context.decoys``), in three steps per kind:

1. ask the store for the order's live decoy, offering a few random candidates from the pool
   in case it has none (one round trip in the steady state; the store decides atomically);
2. when every candidate was taken, release decoys whose quarantine is over and offer free
   decoys computed from the live table; when none is left, refuse (:class:`PoolExhausted`,
   503) rather than reuse a live decoy;
3. the first time, append an ``alias`` leaf (decoy, decoy id, the order's keyed commitment,
   partner) and remember its index, so a failed append is retried by the next message.

The order key in the store is the audit log's commitment of the order reference: the value
intents carry as ``order_ref``, so tracing joins decoys and intents without the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

from proxy.actions.alias import DECOY_PATH
from proxy.audit.decoy_leaves import alias
from proxy.audit.records import Stamp
from proxy.audit.writer import Receipt
from proxy.decoys.alerts import Alerts
from proxy.decoys.contacts import ContactIntake
from proxy.decoys.leaks import EchoBook
from proxy.decoys.pool import DecoyPool, PoolExhausted
from proxy.decoys.routing import PartnerLookup, RoutingDirectory
from proxy.decoys.settings import DecoySettings
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.storage import Store
from proxy.storage.decoys import Candidate, DecoyAssignment

__all__ = ["AuditSink", "DecoyService", "Decoys", "PoolExhausted"]

#: Random candidates offered per round; several rounds before giving up on a busy pool.
_CANDIDATES = 8
_ROUNDS = 4
#: The commitment path of order references (as in ``proxy.journal``: intents use it too).
ORDER_PATH = "$order_ref"


class AuditSink(Protocol):
    """The part of :class:`~proxy.audit.log.AuditLog` the decoys use."""

    def stamp(self) -> Stamp:
        """A stamp for a leaf made now."""
        ...

    def commit(self, path: str, value: str | bytes) -> bytes:
        """A keyed commitment."""
        ...

    async def append(self, data: bytes) -> Receipt:
        """Append a leaf; return once it is durable."""
        ...


@dataclass(frozen=True, slots=True)
class Decoys:
    """One order's decoys, by kind, with their ids (as the ``alias`` leaves record them)."""

    phone: str | None = None
    email: str | None = None
    ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def as_mapping(self) -> Mapping[str, str]:
        """Kind -> decoy, for ``Context.decoys``."""
        found = {"phone": self.phone, "email": self.email}
        return MappingProxyType({k: v for k, v in found.items() if v is not None})


class DecoyService:
    """Assigns decoys and owns the directory, contact intake, echo book and alerts."""

    def __init__(
        self,
        store: Store,
        audit: AuditSink,
        settings: DecoySettings,
        *,
        partners: PartnerLookup | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] | None = None,
        note_key: bytes | None = None,
        log: Any = None,
    ) -> None:
        self.settings = settings
        self.pool = DecoyPool(settings)
        self._table = store.decoys
        self._audit = audit
        self._metrics = metrics
        self._clock = clock or (lambda: datetime.now(UTC))
        self._log: Any = log if log is not None else get_logger("civetta.decoys")
        self.alerts = Alerts(settings.alert_webhook, settings.alert_timeout_s, metrics, self._log)
        self.directory = RoutingDirectory(self._table, self.pool, partners)
        self.intake = ContactIntake(
            self._table, audit, settings, self.pool, self.alerts, self._clock, metrics, note_key
        )
        self.echoes = EchoBook(self._table, audit, self.alerts, self.order_key, metrics)

    def order_key(self, order_ref: str) -> bytes:
        """The order's key in the store: the keyed commitment intents carry as ``order_ref``."""
        return self._audit.commit(ORDER_PATH, order_ref)

    def decoy_id(self, order_ref: str, decoy: str) -> str:
        """The id of ``decoy`` in ``order_ref`` (equal to :func:`proxy.actions.alias.decoy_id`)."""
        return self._audit.commit(DECOY_PATH, f"{order_ref}\x00{decoy}")[:12].hex()

    async def assign(self, order_ref: str, partner_id: str, kinds: Collection[str]) -> Decoys:
        """The order's decoys of ``kinds`` (the module's steps), durable and announced."""
        order_key = self.order_key(order_ref)
        found: dict[str, DecoyAssignment] = {}
        for kind in sorted(set(kinds)):
            row = await self._assign(kind, order_ref, order_key, partner_id)
            if row.alias_index is None:
                await self._announce(row)
            found[kind] = row
        return Decoys(
            phone=found["phone"].decoy if "phone" in found else None,
            email=found["email"].decoy if "email" in found else None,
            ids=MappingProxyType({kind: row.decoy_id for kind, row in found.items()}),
        )

    async def _assign(
        self, kind: str, order_ref: str, order_key: bytes, partner_id: str
    ) -> DecoyAssignment:
        # 1. Random candidates: almost always enough while the pool is mostly free.
        offered = self.pool.random(kind, _CANDIDATES)
        for _ in range(_ROUNDS):
            candidates = [Candidate(d, self.decoy_id(order_ref, d)) for d in offered]
            row = await self._table.assign(kind, order_key, partner_id, candidates, self._clock())
            if row is not None:
                return row
            # 2. A busy pool: free what quarantine allows, then offer what is really free.
            await self.release_expired()
            live = {r.decoy for r in await self._table.live(kind)}
            offered = self.pool.free(kind, live, _CANDIDATES)
            if not offered:
                break
        self._log.error("decoy_pool_exhausted", kind=kind)
        raise PoolExhausted(f"expected a free {kind} decoy, got a pool all live or in quarantine")

    async def _announce(self, row: DecoyAssignment) -> None:
        """3. The ``alias`` leaf, then its index on the row (so a failed append is retried)."""
        leaf = alias(
            self._audit.stamp(), row.decoy_id, row.decoy, row.kind, row.order_key, row.partner_id
        )
        receipt = await self._audit.append(leaf)
        await self._table.mark_announced(row.seq, receipt.index)
        if self._metrics is not None:
            self._metrics.decoys_issued.labels(row.kind).inc()
        self._log.info("decoy_issued", decoy_id=row.decoy_id, kind=row.kind, partner=row.partner_id)

    async def close_order(self, order_ref: str, at: datetime | None = None) -> int:
        """The order closed (now, or at ``at``): its decoys go into quarantine; how many."""
        return await self._table.close_order(self.order_key(order_ref), at or self._clock())

    async def release_expired(self, now: datetime | None = None) -> int:
        """Return decoys whose order closed more than the quarantine ago to the pool."""
        count = await self._table.release_expired(now or self._clock(), self.settings.quarantine)
        if count:
            self._log.info("decoys_released", count=count)
        return count

    async def close(self) -> None:
        """Wait for alert deliveries in flight and close their HTTP session."""
        await self.alerts.close()
