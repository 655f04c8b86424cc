"""Typed audit leaves, encoded as canonical JSON (RFC 8785): one leaf per event.

Every leaf has ``type``, ``v`` (its schema version), ``time`` (RFC 3339, UTC) and ``replica``.
Leaves hold paths, rule ids, token ids, lengths and 32-byte commitments, never a value taken
from a message: a builder accepts a commitment only as 32 bytes (a keyed HMAC or a salted
hash), so a clear value cannot be passed where a commitment belongs. Verifiers hash the stored
bytes; they never re-encode a leaf.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from typing import Any

from proxy.audit import templates
from proxy.audit.canonical import encode
from proxy.audit.records import (
    SCHEMA_VERSION,
    BodyRecord,
    FieldRecord,
    Intent,
    Operation,
    Outcome,
    Stamp,
    b64_commitment,
    commit_bytes,
    commit_value,
    rfc3339,
)

__all__ = [
    "LEAF_TYPES",
    "SCHEMA_VERSION",
    "BodyRecord",
    "FieldRecord",
    "Intent",
    "Operation",
    "Outcome",
    "Stamp",
    "block",
    "build",
    "commit_bytes",
    "commit_value",
    "echo",
    "erasure",
    "heartbeat",
    "intent",
    "intent_at",
    "key",
    "log_init",
    "outcome",
    "outcome_at",
    "policy",
    "recovery",
]

#: Every leaf type; ``alias`` and ``contact`` are built in :mod:`proxy.audit.decoy_leaves`.
LEAF_TYPES = (
    "log_init",
    "policy",
    "key",
    "intent",
    "outcome",
    "recovery",
    "block",
    "alias",
    "contact",
    "echo",
    "erasure",
    "heartbeat",
)


def build(kind: str, stamp: Stamp, **fields: Any) -> bytes:
    """Encode a leaf of ``kind`` with the common fields; the generic builder behind the others."""
    return _build(kind, rfc3339(stamp.time), stamp.replica, fields)


def _build(kind: str, time: str, replica: str, fields: dict[str, Any]) -> bytes:
    if kind not in LEAF_TYPES:
        raise ValueError(f"expected a leaf type in {LEAF_TYPES}, got another")
    leaf: dict[str, Any] = {"type": kind, "v": SCHEMA_VERSION, "time": time, "replica": replica}
    leaf.update(fields)
    return encode(leaf)


def log_init(stamp: Stamp, origin: str, key_name: str, public_key: bytes, key_id: int) -> bytes:
    """The first leaf: the log's origin and the key that signs its checkpoints."""
    return build(
        "log_init",
        stamp,
        origin=origin,
        key_name=key_name,
        public_key=base64.b64encode(public_key).decode(),
        key_id=f"{key_id:08x}",
    )


def key(
    stamp: Stamp, key_name: str, public_key: bytes, key_id: int, previous_key_id: int | None
) -> bytes:
    """A signing key comes into use (``previous_key_id`` None for the first key)."""
    previous = None if previous_key_id is None else f"{previous_key_id:08x}"
    return build(
        "key",
        stamp,
        key_name=key_name,
        public_key=base64.b64encode(public_key).decode(),
        key_id=f"{key_id:08x}",
        previous_key_id=previous,
    )


def policy(stamp: Stamp, name: str, text: str) -> bytes:
    """A policy in force: its text (rules, never data) and the SHA-256 that intents cite."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return build("policy", stamp, name=name, text=text, hash=digest)


def intent(stamp: Stamp, intent_id: str, record: Intent) -> bytes:
    """An intent: written, durable and signed before any byte of the body goes upstream."""
    return intent_at(rfc3339(stamp.time), stamp.replica, intent_id, record)


def intent_at(time: str, replica: str, intent_id: str, record: Intent) -> bytes:
    """:func:`intent` stamped with a time already formatted (RFC 3339) on ``replica``."""
    fast = templates.intent(time, replica, intent_id, record)
    return fast if fast is not None else _intent(time, replica, intent_id, record)


def _intent(time: str, replica: str, intent_id: str, record: Intent) -> bytes:
    """:func:`intent_at` through the generic builder (the reference for the template)."""
    fields = {
        "intent_id": intent_id,
        "request_id": record.request_id,
        "route": record.route,
        "direction": record.direction,
        "operation": record.operation.to_json(),
        "partner": record.partner,
        "order_ref": None if record.order_ref is None else b64_commitment(record.order_ref),
        "policy_hash": record.policy_hash,
        "fields": [f.to_json() for f in record.fields],
        "body": record.body.to_json(),
    }
    return _build("intent", time, replica, fields)


def outcome(stamp: Stamp, record: Outcome) -> bytes:
    """The one outcome of an intent."""
    return outcome_at(rfc3339(stamp.time), stamp.replica, record)


def outcome_at(time: str, replica: str, record: Outcome) -> bytes:
    """:func:`outcome` stamped with a time already formatted (RFC 3339) on ``replica``."""
    # Whole microseconds: JSON floats have no single obvious encoding, integers do.
    us = None if record.upstream_ms is None else round(record.upstream_ms * 1000)
    fast = templates.outcome(time, replica, record, us)
    return fast if fast is not None else _outcome(time, replica, record, us)


def _outcome(time: str, replica: str, record: Outcome, us: int | None) -> bytes:
    """:func:`outcome_at` through the generic builder (the reference for the template)."""
    response = None if record.response is None else record.response.to_json()
    fields = {
        "intent_id": record.intent_id,
        "status": record.status,
        "response": response,
        "upstream_us": us,
        "error": record.error,
    }
    return _build("outcome", time, replica, fields)


def recovery(stamp: Stamp, intent_id: str, intent_index: int) -> bytes:
    """A dangling intent found at start-up: its status is unknown, so possibly disclosed."""
    return build(
        "recovery",
        stamp,
        intent_id=intent_id,
        intent_index=intent_index,
        status="unknown",
        reason="restart",
    )


def block(
    stamp: Stamp,
    request_id: str,
    route: str,
    direction: str,
    code: str,
    paths: tuple[str, ...] = (),
) -> bytes:
    """A message rejected (e.g. by the egress guard): which route, why, where; nothing sent."""
    return build(
        "block",
        stamp,
        request_id=request_id,
        route=route,
        direction=direction,
        code=code,
        paths=list(paths),
    )


def echo(
    stamp: Stamp, request_id: str, route: str, path: str, commitment: bytes, detector: str
) -> bytes:
    """A value that was never sent came back from the incumbent: a leak indicator."""
    return build(
        "echo",
        stamp,
        request_id=request_id,
        route=route,
        path=path,
        commitment=b64_commitment(commitment),
        detector=detector,
    )


def erasure(stamp: Stamp, period: str, before: date) -> bytes:
    """The data key of a retention period was destroyed: its sealed copies are unreadable."""
    return build("erasure", stamp, period=period, before=before.isoformat(), reason="retention")


def heartbeat(stamp: Stamp) -> bytes:
    """A replica is alive (gaps in heartbeats bound when a replica was down)."""
    return build("heartbeat", stamp)
