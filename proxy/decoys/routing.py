"""The routing directory: where the operator's switch and mail relay forward a decoy.

A call or mail on a live decoy goes to the partner's real phone or e-mail, from the partner
directory as it is now (a partner who changes number is followed at once). A decoy in
quarantine (its order closed) is still live and still forwarded: a late genuine call must get
through, and it is recorded like any other. A released or never-issued decoy has no route.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from proxy.actions.base import Partner
from proxy.audit.records import rfc3339
from proxy.decoys.pool import DecoyPool
from proxy.storage.decoys import DecoyAssignment, DecoyStore

#: Columns of the exported live table, in order.
COLUMNS = (
    "decoy",
    "kind",
    "forward_to",
    "partner",
    "decoy_id",
    "state",
    "issued_at",
    "closed_at",
)


class PartnerLookup(Protocol):
    """The partner with an id, from the directory in force (it reloads with the policies)."""

    def __call__(self, partner_id: str) -> Partner | None:
        """The partner, or None when the directory no longer has it."""
        ...


@dataclass(frozen=True, slots=True)
class Forwarding:
    """One live decoy and where it goes; ``forward_to`` None when the partner is unknown."""

    decoy: str
    kind: str
    forward_to: str | None
    partner: str
    decoy_id: str
    #: ``active``, or ``quarantine`` once its order closed.
    state: str
    issued_at: datetime
    closed_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the directory API and the JSON export."""
        return {
            "decoy": self.decoy,
            "kind": self.kind,
            "forward_to": self.forward_to,
            "partner": self.partner,
            "decoy_id": self.decoy_id,
            "state": self.state,
            "issued_at": rfc3339(self.issued_at),
            "closed_at": None if self.closed_at is None else rfc3339(self.closed_at),
        }


class RoutingDirectory:
    """Answers the switch and the mail relay from the live assignments."""

    def __init__(
        self, table: DecoyStore, pool: DecoyPool, partners: PartnerLookup | None = None
    ) -> None:
        self._table = table
        self._pool = pool
        self._partners = partners

    def _forwarding(self, row: DecoyAssignment) -> Forwarding:
        partner = self._partners(row.partner_id) if self._partners is not None else None
        target = None
        if partner is not None:
            target = partner.phone if row.kind == "phone" else partner.email
        return Forwarding(
            decoy=row.decoy,
            kind=row.kind,
            forward_to=target or None,
            partner=row.partner_id,
            decoy_id=row.decoy_id,
            state="active" if row.closed_at is None else "quarantine",
            issued_at=row.issued_at,
            closed_at=row.closed_at,
        )

    async def route(self, contact: str) -> Forwarding | None:
        """Where a decoy written in any spelling goes; None when it is not a live decoy."""
        found = self._pool.canonical(contact)
        if found is None:
            return None
        rows = await self._table.history(found[1])
        live = next((r for r in rows if r.released_at is None), None)
        return None if live is None else self._forwarding(live)

    async def table(self) -> list[Forwarding]:
        """Every live decoy with its target, by decoy."""
        return [self._forwarding(row) for row in await self._table.live()]


def to_csv(rows: Sequence[Forwarding]) -> str:
    """The live table as CSV (RFC 4180, header first), for switches that load static tables."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        data = row.to_json()
        writer.writerow(["" if data[c] is None else str(data[c]) for c in COLUMNS])
    return out.getvalue()
