"""``civetta evidence``: an evidence pack for a complaint to the regulator, from a trace.

The pack is an evidence bundle (:func:`proxy.audit.evidence.export`) of every entry the trace
cites: the ``alias`` entries that issued the decoy, the intents that disclosed it with their
outcomes, the ``contact`` entries and the echoes, each with its C2SP tlog-proof, the signed
checkpoint, the key chain and the trust file; the openings (salt and exact bytes) of the
forwarded messages; and three files the signed manifest lists like every other one:

* ``report.html``: the timeline for people, in Italian and English (:mod:`proxy.evidence_html`);
* ``trace.json``: the same findings for programs (the trace without its proofs);
* ``contacts.json``: the contact records (channel, time, masked caller, classification).

The forwarded bytes hold the decoy and the partner's contact where the customer's were, so
the openings show what the incumbent was given; they are still written owner-only, as every
opening is. Before returning, the pack is verified as a regulator would (``verify_bundle``
with the log's own first key): a pack that does not verify is never handed out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from proxy.audit import evidence_text as names
from proxy.audit.evidence import EvidenceError, Exported, Opener, export
from proxy.audit.evidence_select import Selection
from proxy.audit.evidence_verify import verify_bundle
from proxy.audit.note import Signer
from proxy.audit.records import rfc3339
from proxy.audit.sealed import Shredded
from proxy.audit.trust import read_trust
from proxy.audit.verify_report import Report
from proxy.evidence_html import Opened, report_html
from proxy.storage.base import Store
from proxy.trace_model import Contacted, OrderTrace, Trace

REPORT_HTML = "report.html"
TRACE_JSON = "trace.json"
CONTACTS_JSON = "contacts.json"


@dataclass(frozen=True, slots=True)
class Pack:
    """What :func:`build_pack` wrote, and the verification it passed."""

    directory: Path
    exported: Exported
    trace: Trace
    verified: Report


class _Opened:
    """Opens each sealed copy once: for the report first, then for the export (same bytes)."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._seen: dict[str, tuple[bytes, bytes] | Shredded] = {}

    async def open(self, sealed_id: str) -> tuple[bytes, bytes]:
        """``(salt, bytes)`` of a copy; Shredded (again) when its period's key is gone."""
        if sealed_id not in self._seen:
            try:
                self._seen[sealed_id] = await self._opener.open(sealed_id)
            except Shredded as exc:
                self._seen[sealed_id] = exc
        found = self._seen[sealed_id]
        if isinstance(found, Shredded):
            raise found
        return found


def narrow(trace: Trace, contact_id: str) -> Trace:
    """The trace restricted to one contact: its order (its messages kept) and that contact."""
    for order in trace.orders:
        mine = tuple(c for c in order.contacts if c.contact_id == contact_id)
        if mine:
            return _keep(trace, (replace(order, contacts=mine),), ())
    alone = tuple(c for c in trace.unattributed if c.contact_id == contact_id)
    if not alone:
        raise EvidenceError(f"expected contact {contact_id} on this decoy, got none")
    return _keep(trace, (), alone)


def _keep(trace: Trace, orders: tuple[OrderTrace, ...], alone: tuple[Contacted, ...]) -> Trace:
    kept = replace(trace, orders=orders, unattributed=alone)
    cited = {i for o in kept.orders for i in o.entries()} | {c.index for c in kept.unattributed}
    return replace(
        kept,
        leaves={i: trace.leaves[i] for i in sorted(cited)},
        proofs={i: trace.proofs[i] for i in sorted(cited)},
    )


async def _openings(trace: Trace, opener: _Opened | None) -> dict[int, Opened]:
    """What each message's opening will show (the report states it before the export)."""
    found: dict[int, Opened] = {}
    for order in trace.orders:
        decoys = {d.decoy_id: d.decoy for d in order.decoys}
        for m in order.messages:
            if opener is None or m.sealed_id is None:
                continue
            try:
                _, body = await opener.open(m.sealed_id)
            except Shredded:
                found[m.index] = Opened(None, {})
                continue
            present = {i: decoys[i].encode() in body for i in m.decoy_ids if i in decoys}
            found[m.index] = Opened(names.opening_names(m.index)[1], present)
    return found


async def build_pack(
    store: Store,
    trace: Trace,
    out_dir: Path,
    *,
    signer: Signer,
    opener: Opener | None,
    held: bytes | None = None,
    generated: datetime,
) -> Pack:
    """Write the pack for ``trace`` into ``out_dir`` (which must not exist) and verify it."""
    if not trace.found:
        raise EvidenceError("expected a decoy or an order with audit entries, got none")
    cached = None if opener is None else _Opened(opener)
    opened = await _openings(trace, cached)
    contacts = [asdict(c) for c in trace.contacts()]
    extra = {
        REPORT_HTML: report_html(trace, opened, rfc3339(generated)),
        TRACE_JSON: _json(trace.to_json(proofs=False)),
        CONTACTS_JSON: _json({"contacts": contacts}),
    }
    done = await export(
        store,
        Selection(indices=trace.entries),
        out_dir,
        signer=signer,
        openings=cached,
        held=held,
        extra=extra,
    )
    # The regulator's check, with the log's own first key (theirs is the same, out of band).
    verified = verify_bundle(out_dir, read_trust(out_dir / names.TRUST), held)
    if not verified.ok:
        raise EvidenceError(f"expected the pack to verify, got:\n{verified.summary()}")
    return Pack(out_dir, done, trace, verified)


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
