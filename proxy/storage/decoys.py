"""The decoy part of the Store contract: assignments, contacts and echo fingerprints.

Every store exposes it as ``store.decoys`` (composition keeps the store modules small). Rows
hold keyed order keys (the audit log's commitment of the order reference, never the reference),
decoys (the operator's own numbers and aliases, not personal data), partner ids, and a caller
only as a keyed commitment plus a masked form. Times are whole microseconds since the epoch.

Two invariants are enforced by unique indexes in SQL, so that two replicas on one PostgreSQL
database cannot break them whatever they race on:

* a decoy is live (``released_at`` NULL) in at most one assignment;
* an order has at most one live assignment per kind: every message of the order gets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, unlike floats)."""
    if moment.tzinfo is None:
        raise ValueError("expected an aware datetime, got a naive one")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    """The inverse of :func:`to_us`, in UTC."""
    return _EPOCH + timedelta(microseconds=us)


def maybe_us(moment: datetime | None) -> int | None:
    """:func:`to_us`, None passing through."""
    return None if moment is None else to_us(moment)


def maybe_dt(us: object) -> datetime | None:
    """:func:`from_us` of a column that may be NULL."""
    return None if us is None else from_us(int(str(us)))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A decoy the pool offers for an order, with the id it would have there."""

    decoy: str
    decoy_id: str


@dataclass(frozen=True, slots=True)
class DecoyAssignment:
    """One decoy given to one order (a row; ``seq`` is the store's own row number)."""

    seq: int
    decoy_id: str
    decoy: str
    kind: str
    order_key: bytes
    partner_id: str
    issued_at: datetime
    #: The order's latest message (updated at most hourly): the active window runs from it.
    seen_at: datetime
    closed_at: datetime | None = None
    released_at: datetime | None = None
    #: Index of the ``alias`` leaf that announced this assignment; None until appended.
    alias_index: int | None = None

    def live_at(self, moment: datetime) -> bool:
        """Whether the decoy belonged to this order at ``moment``."""
        return self.issued_at <= moment and (self.released_at is None or moment < self.released_at)


#: Columns of an assignment row, in :class:`DecoyAssignment` order (SQL stores share it).
ASSIGNMENT_COLUMNS = (
    "seq, decoy_id, decoy, kind, order_key, partner_id, issued_at, seen_at, closed_at, "
    "released_at, alias_index"
)


def assignment_of(row: Sequence[object]) -> DecoyAssignment:
    """A :class:`DecoyAssignment` from a row of :data:`ASSIGNMENT_COLUMNS`."""
    index = row[10]
    return DecoyAssignment(
        seq=int(str(row[0])),
        decoy_id=str(row[1]),
        decoy=str(row[2]),
        kind=str(row[3]),
        order_key=bytes(row[4]),  # type: ignore[call-overload]  # BLOB/BYTEA: bytes-like
        partner_id=str(row[5]),
        issued_at=from_us(int(str(row[6]))),
        seen_at=from_us(int(str(row[7]))),
        closed_at=maybe_dt(row[8]),
        released_at=maybe_dt(row[9]),
        alias_index=None if index is None else int(str(index)),
    )


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A call, SMS or mail on a decoy, as stored: no caller in clear."""

    id: str
    decoy: str
    channel: str
    at: datetime
    recorded_at: datetime
    #: Keyed commitment of the normalised caller; None when the caller was withheld.
    caller_commitment: bytes | None
    caller_masked: str
    #: The configured expected-caller entry the caller matched (an operational contact).
    caller_match: str | None
    classification: str
    reason: str
    source: str
    decoy_id: str | None = None
    order_key: bytes | None = None
    partner_id: str | None = None
    #: The partner's note, AES-GCM encrypted, or None.
    note: bytes | None = None
    leaf_index: int | None = None


#: Columns of a contact row, in :class:`ContactRecord` order.
CONTACT_COLUMNS = (
    "id, decoy, channel, at, recorded_at, caller_commitment, caller_masked, caller_match, "
    "classification, reason, source, decoy_id, order_key, partner_id, note, leaf_index"
)


def contact_row(c: ContactRecord) -> tuple[object, ...]:
    """The values of a contact row, in :data:`CONTACT_COLUMNS` order."""
    return (
        c.id,
        c.decoy,
        c.channel,
        to_us(c.at),
        to_us(c.recorded_at),
        c.caller_commitment,
        c.caller_masked,
        c.caller_match,
        c.classification,
        c.reason,
        c.source,
        c.decoy_id,
        c.order_key,
        c.partner_id,
        c.note,
        c.leaf_index,
    )


def contact_of(row: Sequence[object]) -> ContactRecord:
    """A :class:`ContactRecord` from a row of :data:`CONTACT_COLUMNS`."""

    def blob(value: object) -> bytes | None:
        return None if value is None else bytes(value)  # type: ignore[call-overload]

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return ContactRecord(
        id=str(row[0]),
        decoy=str(row[1]),
        channel=str(row[2]),
        at=from_us(int(str(row[3]))),
        recorded_at=from_us(int(str(row[4]))),
        caller_commitment=blob(row[5]),
        caller_masked=str(row[6]),
        caller_match=text(row[7]),
        classification=str(row[8]),
        reason=str(row[9]),
        source=str(row[10]),
        decoy_id=text(row[11]),
        order_key=blob(row[12]),
        partner_id=text(row[13]),
        note=blob(row[14]),
        leaf_index=None if row[15] is None else int(str(row[15])),
    )


#: ``seen_at`` is refreshed at most this often, so that steady traffic costs no write.
SEEN_GRANULARITY = timedelta(hours=1)


class DecoyStore(Protocol):
    """What :mod:`proxy.decoys` keeps; every write returns only after COMMIT."""

    async def assign(
        self,
        kind: str,
        order_key: bytes,
        partner_id: str,
        candidates: Sequence[Candidate],
        at: datetime,
    ) -> DecoyAssignment | None:
        """The order's live decoy of ``kind``, or the first free candidate made live for it.

        Atomic: the same order always gets the same live decoy, a live decoy is never given
        to a second order. A closed order that sends again is reopened; one whose partner
        changed gets the new partner and ``alias_index`` None (announce again); ``seen_at``
        moves on when older than :data:`SEEN_GRANULARITY`. None: every candidate was taken.
        """

    async def for_order(self, order_key: bytes, kind: str) -> DecoyAssignment | None:
        """The order's live assignment of ``kind``."""

    async def history(self, decoy: str) -> list[DecoyAssignment]:
        """Every assignment of ``decoy``, newest first (for attribution at a given time)."""

    async def assignments_for(self, order_key: bytes) -> list[DecoyAssignment]:
        """Every assignment of one order, oldest first (``civetta trace --order``)."""

    async def mark_announced(self, seq: int, leaf_index: int) -> None:
        """Record the index of the ``alias`` leaf of assignment ``seq``."""

    async def close_order(self, order_key: bytes, at: datetime) -> int:
        """Close the order's live, open assignments at ``at``; return how many."""

    async def release_expired(self, now: datetime, quarantine: timedelta) -> int:
        """Release every assignment closed at or before ``now - quarantine``; return how many."""

    async def live(self, kind: str | None = None) -> list[DecoyAssignment]:
        """Live assignments (closed ones in quarantine included), by decoy."""

    async def put_contact(self, record: ContactRecord) -> None:
        """Durably store a contact (ids are unique; a repeated id is an error)."""

    async def contacts(
        self, decoy: str | None = None, order_key: bytes | None = None
    ) -> list[ContactRecord]:
        """Contacts on ``decoy`` and/or attributed to ``order_key`` (all when neither), by time."""

    async def put_fingerprints(self, order_key: bytes, fingerprints: Sequence[bytes]) -> None:
        """Remember keyed fingerprints of values removed from one order (echo detection)."""

    async def fingerprints(self, order_key: bytes) -> frozenset[bytes]:
        """The fingerprints of one order."""
