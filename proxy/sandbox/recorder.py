"""Every request the sandbox received, kept for inspection (``GET /_sandbox/received``)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the sandbox saw it: the bytes the incumbent would have received."""

    seq: int
    time: float
    method: str
    path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """JSON form; the body is base64 so that any bytes survive."""
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query_string": self.query_string,
            "headers": [list(h) for h in self.headers],
            "body_b64": base64.b64encode(self.body).decode("ascii"),
        }


class Recorder:
    """An append-only, bounded list of received requests."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._items: list[Received] = []
        self._seq = 0
        self._capacity = capacity

    def record(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> Received:
        """Keep one request; the oldest are dropped beyond the capacity."""
        self._seq += 1
        item = Received(self._seq, time.time(), method, path, query_string, headers, body)
        self._items.append(item)
        if len(self._items) > self._capacity:
            del self._items[: len(self._items) - self._capacity]
        return item

    def items(self) -> list[Received]:
        """All kept requests, oldest first."""
        return list(self._items)

    def clear(self) -> None:
        """Forget every kept request."""
        self._items.clear()
