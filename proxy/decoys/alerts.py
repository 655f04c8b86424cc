"""Alerts for suspicious decoy contacts and echoes: a log event, a metric, an optional webhook.

The webhook is a plain JSON POST with a bounded timeout, run as a background task: intake has
recorded the contact (audit leaf and row) before the alert starts, and never waits for it, so
a slow or dead alert receiver cannot hold up the switch or the proxy. A failed delivery is
logged and counted, never retried (the audit log, not the webhook, is the record).
Payloads carry ids, the decoy and the classification; never a caller or a customer value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from proxy.logs import get_logger
from proxy.metrics import Metrics

#: Keys of an alert payload that may also go to the log (see ``proxy.logs.SAFE_KEYS``).
_LOGGED = (
    *("contact_id", "decoy_id", "channel", "classification", "reason", "partner"),
    *("request_id", "route", "count"),
)


class Alerts:
    """Raises alerts; :meth:`close` waits for deliveries in flight and closes the session."""

    def __init__(
        self,
        webhook: str | None,
        timeout_s: float = 5.0,
        metrics: Metrics | None = None,
        log: Any = None,
    ) -> None:
        self._webhook = webhook
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._metrics = metrics
        self._log: Any = log if log is not None else get_logger("civetta.decoys")
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def alert(self, event: str, payload: Mapping[str, Any]) -> None:
        """Log ``event`` (safe keys only), and POST ``payload`` to the webhook in the background."""
        self._log.warning(event, **{k: payload[k] for k in _LOGGED if k in payload})
        if self._webhook is None:
            return
        post = self._post(self._webhook, event, dict(payload))
        task = asyncio.get_running_loop().create_task(post)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, event: str, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        result = "sent"
        try:
            async with self._session.post(url, json={"event": event, **payload}) as resp:
                await resp.read()
                if resp.status >= 300:
                    result = "failed"
                    self._log.warning("decoy_alert_failed", status=resp.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            result = "failed"
            self._log.warning("decoy_alert_failed", error_type=type(exc).__name__)
        if self._metrics is not None:
            self._metrics.decoy_alerts.labels(result).inc()

    async def drain(self) -> None:
        """Wait for every delivery in flight (each bounded by the timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Drain, then close the HTTP session."""
        await self.drain()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
