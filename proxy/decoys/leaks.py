"""The echo book: the I/O half of echo detection (:mod:`proxy.decoys.echo` is the pure half).

* :meth:`EchoBook.remember`, when an order is sent (step 7, with its tokens): fingerprints of
  the values the policy removed, per order; never the values.
* :meth:`EchoBook.knowledge`, on the way back: those fingerprints plus what the caller knows
  (the token vault's originals for the order, the values forwarded).
* :meth:`EchoBook.report`, when :func:`~proxy.decoys.echo.find_echoes` found something: one
  ``echo`` leaf per path, a metric, one alert per message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from proxy.audit.leaves import echo
from proxy.decoys.alerts import Alerts
from proxy.decoys.echo import Echo, Knowledge, fingerprints_of
from proxy.metrics import Metrics
from proxy.storage.decoys import DecoyStore

if TYPE_CHECKING:
    from proxy.decoys.service import AuditSink


class EchoBook:
    """Remembers removed values by fingerprint and records the echoes found."""

    def __init__(
        self,
        table: DecoyStore,
        audit: AuditSink,
        alerts: Alerts,
        order_key: Callable[[str], bytes],
        metrics: Metrics | None = None,
    ) -> None:
        self._table = table
        self._audit = audit
        self._alerts = alerts
        self._order_key = order_key
        self._metrics = metrics

    def _commit(self, path: str, value: str) -> bytes:
        return self._audit.commit(path, value)

    async def remember(self, order_ref: str, removed: Iterable[str]) -> int:
        """Store the fingerprints of ``removed`` for the order; return how many."""
        marks = fingerprints_of(self._commit, removed)
        await self._table.put_fingerprints(self._order_key(order_ref), marks)
        return len(marks)

    async def knowledge(
        self, order_ref: str, originals: Iterable[str] = (), forwarded: Iterable[str] = ()
    ) -> Knowledge:
        """What civetta knows about the order's removed values, for ``find_echoes``."""
        marks = await self._table.fingerprints(self._order_key(order_ref))
        return Knowledge(self._commit, marks, tuple(originals), tuple(forwarded))

    async def report(self, request_id: str, route: str, echoes: Sequence[Echo]) -> list[int]:
        """Append an ``echo`` leaf per echo, count them, alert once; return the leaf indexes."""
        indexes: list[int] = []
        for found in echoes:
            leaf = echo(
                self._audit.stamp(), request_id, route, found.path, found.commitment, found.detector
            )
            indexes.append((await self._audit.append(leaf)).index)
        if not echoes:
            return indexes
        if self._metrics is not None:
            self._metrics.echoes.labels(route).inc(len(echoes))
        self._alerts.alert(
            "echo_detected",
            {
                "request_id": request_id,
                "route": route,
                "paths": sorted({e.path for e in echoes}),
                "count": len(echoes),
                "leaf_indexes": indexes,
            },
        )
        return indexes
