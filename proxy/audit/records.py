"""Values recorded in audit leaves: stamps, commitments, fields, bodies, intents, outcomes.

Commitments are 32 bytes and are the only form in which anything derived from a message's
values enters a leaf; :mod:`proxy.audit.leaves` encodes these records.

The records built for every forwarded message (fields, bodies, operation, intent, outcome) are
named tuples: immutable like the frozen dataclasses used elsewhere, but built in one C call
where a frozen dataclass sets each field through ``object.__setattr__`` (2.8 -> 0.75 µs for an
intent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

#: The ``v`` of every leaf (its schema version).
SCHEMA_VERSION = 1
COMMITMENT_SIZE = 32
_BLOCK = 64  # SHA-256's block size, HMAC's key length


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with microseconds, e.g. ``…T08:06:35.000123Z``."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("expected an aware datetime, got a naive one")
        moment = moment.astimezone(UTC)
    # Two leaves per request are stamped: one %-format is about half of isoformat + replace.
    m = moment
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 - measured faster
        m.year,
        m.month,
        m.day,
        m.hour,
        m.minute,
        m.second,
        m.microsecond,
    )


class UtcText:
    """A clock that reads as RFC 3339 text, like ``rfc3339(datetime.now(UTC))``.

    Every forwarded message stamps two leaves; formatting the date and the time of day once per
    second, and only the microseconds each time, costs a fraction of building a datetime.
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        """Now, e.g. ``2026-11-22T08:06:35.000123Z``."""
        ns = time.time_ns()
        second = ns // 1_000_000_000
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{ns // 1000 % 1_000_000:06d}Z"


@dataclass(frozen=True, slots=True)
class Stamp:
    """When and on which replica a leaf was made."""

    time: datetime
    replica: str

    @classmethod
    def now(cls, replica: str) -> Stamp:
        """A stamp for the current time."""
        return cls(datetime.now(UTC), replica)


def commit_value(key: bytes, path: str, value: str | bytes) -> bytes:
    """Keyed commitment of a removed value: HMAC-SHA256(key, path || 0x00 || value).

    Keyed, because an unkeyed hash of a small-domain value (a phone number) is brute-forced in
    seconds; the path is bound in so that one value under two paths commits differently.
    """
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return hmac.digest(key, path.encode("utf-8") + b"\x00" + raw, "sha256")


class Committer:
    """:func:`commit_value` under one fixed key, with the HMAC key schedule done once.

    HMAC-SHA256 hashes ``key XOR ipad`` and ``key XOR opad`` (one 64-byte block each) before the
    message; copying those two precomputed states costs a third of ``hmac.digest`` per call
    (RFC 2104, the same bytes out).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, path: str, value: str | bytes) -> bytes:
        """``commit_value(key, path, value)``."""
        raw = value.encode("utf-8") if isinstance(value, str) else value
        inner = self._inner.copy()
        inner.update(path.encode("utf-8"))
        inner.update(b"\x00")
        inner.update(raw)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def random_id() -> str:
    """A fresh ``uuid.uuid4().hex``, without building a :class:`uuid.UUID` (a third of the cost):
    122 random bits from ``os.urandom``, the version nibble 4 and the RFC 4122 variant."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def commit_bytes(salt: bytes, data: bytes) -> bytes:
    """Salted commitment of forwarded bytes: SHA-256(salt || data); (salt, data) opens it."""
    return hashlib.sha256(salt + data).digest()


def b64_commitment(commitment: bytes) -> str:
    """Base64 of a commitment, refusing anything that is not exactly 32 bytes."""
    if len(commitment) != COMMITMENT_SIZE:
        raise ValueError(
            f"expected a {COMMITMENT_SIZE}-byte commitment, got {len(commitment)} bytes"
        )
    return base64.b64encode(commitment).decode("ascii")


class FieldRecord(NamedTuple):
    """What a rule did to one field: path, rule id, action, commitment of the removed value."""

    path: str
    rule: str
    action: str
    commitment: bytes
    token_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The leaf's JSON object for this field (``token_id`` only when one was issued)."""
        out: dict[str, Any] = {"path": self.path, "rule": self.rule, "action": self.action}
        out["commitment"] = b64_commitment(self.commitment)
        if self.token_id is not None:
            out["token_id"] = self.token_id
        return out


class BodyRecord(NamedTuple):
    """A body as recorded: its length, a commitment of it, the id of its sealed copy if kept."""

    length: int
    commitment: bytes
    sealed_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The leaf's JSON object for this body."""
        return {
            "length": self.length,
            "commitment": b64_commitment(self.commitment),
            "sealed_id": self.sealed_id,
        }


class Operation(NamedTuple):
    """What was called: the method and a path template (REST) or a SOAP action."""

    method: str
    template: str | None = None
    soap_action: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The leaf's JSON object, without the parts that do not apply."""
        out: dict[str, Any] = {"method": self.method}
        if self.template is not None:
            out["path"] = self.template
        if self.soap_action is not None:
            out["action"] = self.soap_action
        return out


class Intent(NamedTuple):
    """What is about to be forwarded; ``order_ref`` is a keyed commitment, never the reference."""

    request_id: str
    route: str
    direction: str
    operation: Operation
    partner: str | None
    order_ref: bytes | None
    policy_hash: str | None
    body: BodyRecord
    fields: tuple[FieldRecord, ...] = ()


class Outcome(NamedTuple):
    """How a forwarded message ended: status, a commitment of the response, timing, error code."""

    intent_id: str
    status: int | None
    response: BodyRecord | None = None
    upstream_ms: float | None = None
    error: str | None = None
