"""Audit leaves (parsed JSON) as the records of :mod:`proxy.trace_model`.

Leaves are read defensively: the verifier, not the trace, judges a malformed leaf, so a field
of the wrong type becomes ``None`` or its text rather than an exception.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from proxy.audit.records import rfc3339
from proxy.storage.decoys import DecoyAssignment
from proxy.trace_model import Contacted, Echoed, Issued, Message

Leaf = dict[str, Any]


def text(leaf: Mapping[str, Any], key: str) -> str | None:
    """A string field, or None (absent, null or another type)."""
    value = leaf.get(key)
    return value if isinstance(value, str) else None


def _object(leaf: Leaf, key: str) -> Leaf:
    value = leaf.get(key)
    return value if isinstance(value, dict) else {}


def _status(closing: tuple[int, Leaf] | None) -> tuple[int | None, str]:
    if closing is None:
        return None, "pending"
    index, leaf = closing
    if leaf.get("type") == "recovery":
        return index, "unknown"
    status, error = leaf.get("status"), leaf.get("error")
    return index, str(status) if status is not None else f"error {error}"


def message_of(index: int, leaf: Leaf, closing: tuple[int, Leaf] | None) -> Message:
    """An intent entry (with the entry that closed it, if any) as a :class:`Message`."""
    op = _object(leaf, "operation")
    action = f"({op['action']})" if op.get("action") else ""
    target = " ".join(str(part) for part in (op.get("path"), action) if part)
    fields = [f for f in leaf.get("fields") or () if isinstance(f, dict)]
    body = _object(leaf, "body")
    outcome, status = _status(closing)
    return Message(
        index=index,
        time=str(leaf.get("time")),
        intent_id=str(leaf.get("intent_id")),
        request_id=str(leaf.get("request_id")),
        route=str(leaf.get("route")),
        direction=str(leaf.get("direction")),
        operation=f"{op.get('method', '?')} {target}".strip(),
        partner=text(leaf, "partner"),
        decoy_ids=tuple(
            str(f["token_id"]) for f in fields if f.get("action") == "alias" and f.get("token_id")
        ),
        fields=tuple(
            (str(f.get("path")), str(f.get("rule")), str(f.get("action"))) for f in fields
        ),
        sealed_id=text(body, "sealed_id"),
        outcome=outcome,
        status=status,
    )


def contacted_of(index: int, leaf: Leaf, masked: Mapping[str, str]) -> Contacted:
    """A contact entry as a :class:`Contacted`, the caller masked (``masked``: id -> form)."""
    contact_id = str(leaf.get("contact_id"))
    caller = "withheld" if leaf.get("caller") is None else "not in the store"
    return Contacted(
        index=index,
        time=str(leaf.get("time")),
        contact_id=contact_id,
        decoy=str(leaf.get("decoy")),
        decoy_id=text(leaf, "decoy_id"),
        order_key=text(leaf, "order_ref"),
        partner=text(leaf, "partner"),
        at=str(leaf.get("at")),
        channel=str(leaf.get("channel")),
        source=str(leaf.get("source")),
        caller=masked.get(contact_id, caller),
        caller_match=text(leaf, "caller_match"),
        classification=str(leaf.get("classification")),
        reason=str(leaf.get("reason")),
    )


def issued_of(
    decoy_id: str, row: DecoyAssignment | None, aliases: Sequence[tuple[int, Leaf]]
) -> Issued:
    """A decoy's assignment row (None when the store lost it) and its alias entries."""
    first = aliases[0][1] if aliases else {}
    last = aliases[-1][1] if aliases else {}

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else rfc3339(moment)

    return Issued(
        decoy_id=decoy_id,
        decoy=row.decoy if row else str(first.get("decoy")),
        kind=row.kind if row else str(first.get("decoy_kind")),
        order_key=base64.b64encode(row.order_key).decode("ascii")
        if row
        else str(first.get("order_ref")),
        partner=row.partner_id if row else text(last, "partner"),
        issued_at=when(row.issued_at) if row else text(first, "time"),
        closed_at=when(row.closed_at) if row else None,
        released_at=when(row.released_at) if row else None,
        alias_entries=tuple(i for i, _ in aliases),
    )


def echoed_of(index: int, leaf: Leaf) -> Echoed:
    """An echo entry as an :class:`Echoed`."""
    return Echoed(
        index=index,
        time=str(leaf.get("time")),
        request_id=str(leaf.get("request_id")),
        route=str(leaf.get("route")),
        path=str(leaf.get("path")),
        detector=str(leaf.get("detector")),
    )
