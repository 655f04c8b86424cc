"""Contact intake: record a call, SMS or mail on a decoy, classify it, raise the alarm.

Steps, for every report (from the switch, the mail relay or a partner's report):

1. check it: the decoy is one of the pools' own, the channel fits its kind, the caller is a
   number, an address, an SMS sender or withheld, the time is aware and not in the future;
2. attribute it: the assignment that held the decoy at that time (quarantine is what keeps a
   late call from being blamed on the decoy's next order);
3. classify it (:func:`classify`, pure);
4. append a ``contact`` leaf (caller only as a keyed commitment), then store the row with the
   leaf's index, a masked caller and the partner's note encrypted;
5. count it and, when suspicious, alert (log, metric, webhook in the background).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proxy.audit.decoy_leaves import contact
from proxy.decoys.alerts import Alerts
from proxy.decoys.callers import Caller, parse_caller
from proxy.decoys.classify import Classified, classify
from proxy.decoys.pool import DecoyPool
from proxy.decoys.settings import DecoySettings
from proxy.errors import BodyError, CivettaError
from proxy.metrics import Metrics
from proxy.storage.decoys import ContactRecord, DecoyStore

if TYPE_CHECKING:
    from proxy.decoys.service import AuditSink

CHANNELS: Final = ("call", "sms", "mail")
SOURCES: Final = ("switch", "relay", "report")
#: The callers a channel can have.
_CALLER_KINDS: Final = {
    "call": ("number", "withheld"),
    "sms": ("number", "sender", "withheld"),
    "mail": ("email", "withheld"),
}
#: Clocks drift: a report this far ahead of ours is still accepted.
_SKEW: Final = timedelta(minutes=5)
CALLER_PATH: Final = "$caller"
NOTE_PATH: Final = "$note"
#: ``KeyMaterial.derive(NOTE_KEY_PURPOSE)`` encrypts partners' notes (every process the same).
NOTE_KEY_PURPOSE: Final = "decoys/contact-notes"


class NotADecoy(CivettaError):
    """The contact reported is not one of the configured decoy pools."""

    status = 404
    code = "CIVETTA-NOT-A-DECOY"
    client_fault = True


@dataclass(frozen=True, slots=True)
class ContactReport:
    """A contact as reported: the decoy and the caller in any spelling."""

    decoy: str
    caller: str | None
    at: datetime
    channel: str
    source: str = "switch"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedContact:
    """What intake did with a report."""

    id: str
    decoy: str
    classification: str
    reason: str
    leaf_index: int
    decoy_id: str | None
    partner: str | None


def caller_commitment(commit: Callable[[str, str], bytes], caller: Caller) -> bytes | None:
    """The keyed commitment a contact leaf holds for ``caller`` (None when withheld)."""
    return None if caller.kind == "withheld" else commit(CALLER_PATH, f"{caller.kind}:{caller.key}")


class ContactIntake:
    """Records contacts on decoys (the module's steps)."""

    def __init__(
        self,
        table: DecoyStore,
        audit: AuditSink,
        settings: DecoySettings,
        pool: DecoyPool,
        alerts: Alerts,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        note_key: bytes | None = None,
    ) -> None:
        self._table, self._audit, self._settings = table, audit, settings
        self._pool, self._alerts, self._clock, self._metrics = pool, alerts, clock, metrics
        self._notes = AESGCM(note_key) if note_key is not None else None

    def _check(self, report: ContactReport) -> tuple[str, str, Caller]:
        """1. ``(kind, decoy, caller)``, or a 400/404 naming what is wrong, never a value."""
        found = self._pool.canonical(report.decoy)
        if found is None:
            raise NotADecoy("expected a decoy of the configured pools, got another contact")
        kind, decoy = found
        if report.channel not in CHANNELS:
            raise BodyError(f"expected channel one of {', '.join(CHANNELS)}, got another")
        if report.source not in SOURCES:
            raise BodyError(f"expected source one of {', '.join(SOURCES)}, got another")
        if (kind == "email") != (report.channel == "mail"):
            raise BodyError(f"expected a {kind} decoy on a matching channel, got {report.channel}")
        caller = parse_caller(report.caller)
        if caller is None or caller.kind not in _CALLER_KINDS[report.channel]:
            raise BodyError(f"expected a caller a {report.channel} can have, got another form")
        if report.at.tzinfo is None:
            raise BodyError("expected a time with a UTC offset, got a naive time")
        if report.at > self._clock() + _SKEW:
            raise BodyError("expected a time in the past, got one in the future")
        return kind, decoy, caller

    def _seal(self, contact_id: str, note: str) -> bytes | None:
        if self._notes is None:
            return None
        nonce = os.urandom(12)
        return nonce + self._notes.encrypt(nonce, note.encode(), contact_id.encode())

    def open_note(self, record: ContactRecord) -> str | None:
        """The partner's note of a stored contact (for evidence), or None."""
        if self._notes is None or record.note is None:
            return None
        plain = self._notes.decrypt(record.note[:12], record.note[12:], record.id.encode())
        return plain.decode()

    async def record(self, report: ContactReport) -> RecordedContact:
        """Check, attribute, classify, record and alert (the module's steps)."""
        kind, decoy, caller = self._check(report)
        # 2. Attribution: the newest assignment that held the decoy at that time.
        history = await self._table.history(decoy)
        held = next((row for row in history if row.live_at(report.at)), None)
        # 3. Classification.
        verdict: Classified = classify(caller, report.at, held, self._settings)
        # 4. The leaf first (the evidence), then the row that points at it.
        contact_id = uuid.uuid4().hex
        committed = caller_commitment(self._audit.commit, caller)
        note_c = None if report.note is None else self._audit.commit(NOTE_PATH, report.note)
        leaf = contact(
            self._audit.stamp(),
            contact_id,
            decoy=decoy,
            channel=report.channel,
            at=report.at,
            caller=committed,
            caller_match=verdict.match,
            classification=verdict.classification,
            reason=verdict.reason,
            source=report.source,
            decoy_id=None if held is None else held.decoy_id,
            order_ref=None if held is None else held.order_key,
            partner=None if held is None else held.partner_id,
            note=note_c,
        )
        receipt = await self._audit.append(leaf)
        await self._table.put_contact(
            ContactRecord(
                id=contact_id,
                decoy=decoy,
                channel=report.channel,
                at=report.at,
                recorded_at=self._clock(),
                caller_commitment=committed,
                caller_masked=caller.masked(),
                caller_match=verdict.match,
                classification=verdict.classification,
                reason=verdict.reason,
                source=report.source,
                decoy_id=None if held is None else held.decoy_id,
                order_key=None if held is None else held.order_key,
                partner_id=None if held is None else held.partner_id,
                note=None if report.note is None else self._seal(contact_id, report.note),
                leaf_index=receipt.index,
            )
        )
        done = RecordedContact(
            contact_id,
            decoy,
            verdict.classification,
            verdict.reason,
            receipt.index,
            None if held is None else held.decoy_id,
            None if held is None else held.partner_id,
        )
        self._raise(done, report, kind)
        return done

    def _raise(self, done: RecordedContact, report: ContactReport, kind: str) -> None:
        """5. The metric for every contact; the alert for a suspicious one."""
        if self._metrics is not None:
            self._metrics.decoy_contacts.labels(done.classification, report.channel).inc()
        if done.classification != "suspicious":
            return
        self._alerts.alert(
            "decoy_contact_suspicious",
            {
                "contact_id": done.id,
                "decoy_id": done.decoy_id,
                "decoy": done.decoy,
                "kind": kind,
                "channel": report.channel,
                "at": report.at.isoformat(),
                "classification": done.classification,
                "reason": done.reason,
                "partner": done.partner,
                "leaf_index": done.leaf_index,
            },
        )
