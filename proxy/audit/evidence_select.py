"""Which entries a question is about: by index, request id, order reference or time range.

Order references are never stored: an intent holds ``HMAC(K, "$order_ref" || 0x00 || ref)``
with ``K = KeyMaterial.derive("commitment")`` (see :func:`order_ref_commitment`), so finding
one means computing that commitment and comparing. An intent found brings its outcome or
recovery along (matched by intent id), so that an export shows how the request ended.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy.audit.records import commit_value, rfc3339
from proxy.audit.verify_canonical import CanonicalParser, NotCanonical
from proxy.storage.base import Store

#: The path under which order references are committed (``AuditLog.commit(ORDER_REF_PATH, ref)``).
ORDER_REF_PATH = "$order_ref"
_CHUNK = 8192


def order_ref_commitment(commitment_key: bytes, reference: str) -> str:
    """The base64 commitment an intent holds for an order reference (as leaves encode it)."""
    return base64.b64encode(commit_value(commitment_key, ORDER_REF_PATH, reference)).decode()


@dataclass(frozen=True, slots=True)
class Selection:
    """What to select; entries matching any given criterion are selected.

    ``order_ref`` is the base64 commitment (see :func:`order_ref_commitment`), never the
    reference itself; ``since``/``until`` bound the leaf time (``since <= time < until``);
    ``everything`` selects the whole log (for a bundle the full verifier can run over).
    """

    indices: tuple[int, ...] = ()
    request_id: str | None = None
    order_ref: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    everything: bool = False

    def __post_init__(self) -> None:
        if (self.since is None) != (self.until is None):
            raise ValueError("expected both since and until, or neither, got one")
        criteria = self.indices or self.request_id or self.order_ref or self.since
        if not (criteria or self.everything):
            raise ValueError("expected an index, request id, order reference or time range")

    def matcher(self) -> Callable[[int, dict[str, Any]], bool]:
        """A predicate over ``(index, leaf)``; leaf times compare as strings (one fixed form)."""
        indices = frozenset(self.indices)
        since = None if self.since is None else rfc3339(self.since)
        until = None if self.until is None else rfc3339(self.until)

        def matches(index: int, leaf: dict[str, Any]) -> bool:
            if self.everything or index in indices:
                return True
            if self.request_id is not None and leaf.get("request_id") == self.request_id:
                return True
            if self.order_ref is not None and leaf.get("order_ref") == self.order_ref:
                return True
            if since is not None and until is not None:
                moment = leaf.get("time")
                return isinstance(moment, str) and since <= moment < until
            return False

        return matches


@dataclass(frozen=True, slots=True)
class Entry:
    """A selected entry: its index, its exact bytes and the parsed leaf."""

    index: int
    data: bytes
    leaf: dict[str, Any]

    @property
    def intent_id(self) -> str | None:
        """The intent id the leaf carries, if any."""
        value = self.leaf.get("intent_id")
        return value if isinstance(value, str) else None


async def select(store: Store, selection: Selection, end: int) -> list[Entry]:
    """The entries before ``end`` that ``selection`` picks, with the outcomes of its intents.

    Reads the log once, in chunks (leaves are not indexed by field); unparsable leaves are
    skipped here, the verifier reports them.
    """
    parser = CanonicalParser()
    matches = selection.matcher()
    picked: dict[int, Entry] = {}
    intents: set[str] = set()
    closing: list[Entry] = []
    for begin in range(0, end, _CHUNK):
        for stored in await store.leaves(begin, min(begin + _CHUNK, end)):
            try:
                leaf = parser.parse(stored.data)
            except NotCanonical:
                leaf = None
            if not isinstance(leaf, dict):
                # Not a leaf civetta wrote: only a whole-log export carries it (for the verifier).
                if selection.everything:
                    picked[stored.index] = Entry(stored.index, stored.data, {})
                continue
            entry = Entry(stored.index, stored.data, leaf)
            if matches(stored.index, leaf):
                picked[stored.index] = entry
                if leaf.get("type") == "intent" and entry.intent_id is not None:
                    intents.add(entry.intent_id)
            elif leaf.get("type") in ("outcome", "recovery"):
                closing.append(entry)
    picked.update((e.index, e) for e in closing if e.intent_id in intents)
    return [picked[i] for i in sorted(picked)]


def describe(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """A summary of entries without any value that could be personal: type, time, ids, route,
    status and the paths and rules of removed fields (their commitments are left out too)."""
    out = []
    for entry in entries:
        leaf = entry.leaf
        row: dict[str, Any] = {"index": entry.index}
        for key in ("type", "time", "replica", "intent_id", "request_id", "route", "direction",
                    "partner", "status", "code", "period", "detector"):  # fmt: skip
            if leaf.get(key) is not None:
                row[key] = leaf[key]
        fields = leaf.get("fields")
        if isinstance(fields, list):
            row["fields"] = [
                {k: f.get(k) for k in ("path", "rule", "action")}
                for f in fields
                if isinstance(f, dict)
            ]
        out.append(row)
    return out
