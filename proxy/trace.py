"""``civetta trace``: from a decoy (or an order reference) to the order that held it, every
message that disclosed it, every contact on it, and an inclusion proof for each.

Steps of :func:`trace_contact` and :func:`trace_order`:

1. the latest signed checkpoint fixes the tree every proof leads to;
2. the store's decoy tables name the orders that held the decoy (or the order's decoys), when
   assignments closed, and the callers' masked forms (the log keeps only commitments);
3. one pass over the log: a leaf is parsed only when its bytes contain something being looked
   for (the decoy, an order's commitment, an intent or request id already found), so a long
   log costs a substring test per leaf;
4. per order: its decoys (assignment and ``alias`` entries), the intents whose field records
   carry one of the decoys, their outcomes, the contacts and the echoes of its requests;
5. an inclusion proof for every entry cited, checked against the re-hashed leaf before it is
   returned: a trace never hands out a proof that does not verify.

Order references are never read or printed: intents, ``alias`` and ``contact`` entries carry
``HMAC(K, "$order_ref" || 0 || ref)``, which is what the trace compares.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence

from proxy.audit.evidence_select import ORDER_REF_PATH
from proxy.audit.merkle import ProofError, leaf_hash, verify_inclusion
from proxy.audit.proof_format import InclusionProof
from proxy.audit.records import commit_value
from proxy.audit.stored import MissingNode, inclusion_proof
from proxy.audit.verify_checkpoints import peek
from proxy.decoys.callers import email_key, phone_e164
from proxy.storage.base import Store
from proxy.storage.decoys import ContactRecord, DecoyAssignment
from proxy.trace_leaves import Leaf, contacted_of, echoed_of, issued_of, message_of, text
from proxy.trace_model import Contacted, OrderTrace, Trace

_CHUNK = 8192


class TraceError(Exception):
    """The trace cannot be made: an empty log, a contact of no known form, a damaged log."""


def canonical_contact(text: str) -> str | None:
    """A decoy as stored: E.164 for a number in any spelling, the casefolded address."""
    return email_key(text) if "@" in text else phone_e164(text)


def order_key_of(commit_key: bytes, reference: str) -> bytes:
    """The keyed commitment of an order reference (``KeyMaterial.derive("commitment")``)."""
    return commit_value(commit_key, ORDER_REF_PATH, reference)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _escaped(text: str) -> bytes:
    """``text`` as it appears inside a canonical JSON string (what a leaf's bytes hold)."""
    return json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8")


class _Scan:
    """Step 3: the leaves that concern the question, found in one pass."""

    def __init__(self, decoy: str | None, order_keys: Iterable[str]) -> None:
        self.decoy = decoy
        self.order_keys: set[str] = set()
        self.needles: set[bytes] = set() if decoy is None else {_escaped(decoy)}
        self.intent_ids: set[str] = set()
        self.request_ids: set[str] = set()
        self.data: dict[int, bytes] = {}
        self.by_type: dict[str, list[tuple[int, Leaf]]] = {}
        self.closing: dict[str, tuple[int, Leaf]] = {}
        for key in order_keys:
            self._watch_order(key)

    def _watch_order(self, key: str) -> None:
        self.order_keys.add(key)
        self.needles.add(_escaped(key))

    def feed(self, index: int, data: bytes) -> None:
        """Look at one leaf."""
        if not any(needle in data for needle in self.needles):
            return
        try:
            leaf = json.loads(data)
        except ValueError:
            return  # not a leaf civetta wrote: 'civetta audit verify' reports it
        if isinstance(leaf, dict) and self._wanted(index, leaf):
            self.data[index] = data
            self.by_type.setdefault(str(leaf["type"]), []).append((index, leaf))

    def _wanted(self, index: int, leaf: Leaf) -> bool:
        kind, order = leaf.get("type"), text(leaf, "order_ref")
        if kind in ("alias", "contact"):
            if self.decoy is None:
                return order in self.order_keys
            if leaf.get("decoy") != self.decoy:
                return False
            if kind == "alias" and order is not None:
                self._watch_order(order)  # an order the store no longer knows still counts
            return True
        if kind == "intent" and order in self.order_keys:
            for key, found in (("intent_id", self.intent_ids), ("request_id", self.request_ids)):
                value = text(leaf, key)
                if value is not None:
                    found.add(value)
                    self.needles.add(_escaped(value))
            return True
        closes = leaf.get("intent_id")
        if kind in ("outcome", "recovery") and closes in self.intent_ids:
            if closes in self.closing:
                return False  # a second outcome is the verifier's finding, not the trace's
            self.closing[str(closes)] = (index, leaf)
            return True
        return kind == "echo" and leaf.get("request_id") in self.request_ids

    def found(self, kind: str) -> list[tuple[int, Leaf]]:
        """The leaves of one type found, in log order."""
        return self.by_type.get(kind, [])


def _orders(
    scan: _Scan, rows: Sequence[DecoyAssignment], records: Sequence[ContactRecord]
) -> tuple[list[OrderTrace], list[Contacted]]:
    """Step 4: the findings grouped by order."""
    masked = {r.id: r.caller_masked for r in records}
    newest = {r.decoy_id: r for r in sorted(rows, key=lambda r: r.issued_at)}
    aliases: dict[str, list[tuple[int, Leaf]]] = {}
    for index, leaf in scan.found("alias"):
        aliases.setdefault(str(leaf.get("decoy_id")), []).append((index, leaf))
    issued = [issued_of(d, newest.get(d), aliases.get(d, [])) for d in {*newest, *aliases}]
    contacts = [contacted_of(i, leaf, masked) for i, leaf in scan.found("contact")]
    keys = {d.order_key for d in issued} | {c.order_key for c in contacts if c.order_key}
    wanted = {d.decoy_id for d in issued}
    orders = []
    for key in keys:
        messages = [
            message_of(i, leaf, scan.closing.get(str(leaf.get("intent_id"))))
            for i, leaf in scan.found("intent")
            if leaf.get("order_ref") == key
        ]
        if scan.decoy is not None:  # a decoy was asked about: the messages that carried it
            messages = [m for m in messages if wanted & set(m.decoy_ids)]
        requests = {m.request_id for m in messages}
        echoes = [echoed_of(i, e) for i, e in scan.found("echo") if e.get("request_id") in requests]
        decoys = sorted((d for d in issued if d.order_key == key), key=lambda d: d.issued_at or "")
        mine = [c for c in contacts if c.order_key == key]
        orders.append(OrderTrace(key, tuple(decoys), tuple(messages), tuple(mine), tuple(echoes)))
    orders.sort(key=lambda o: min(o.entries(), default=-1))
    return orders, [c for c in contacts if c.order_key is None]


async def _trace(
    store: Store,
    decoy: str | None,
    order_keys: set[str],
    rows: Sequence[DecoyAssignment],
    records: Sequence[ContactRecord],
) -> Trace:
    latest = await store.latest_checkpoint()  # 1.
    if latest is None:
        raise TraceError("expected a signed checkpoint, got an empty log")
    top = peek(latest.note)
    scan = _Scan(decoy, order_keys | {_b64(r.order_key) for r in rows})
    for begin in range(0, top.size, _CHUNK):  # 3.
        for stored in await store.leaves(begin, min(begin + _CHUNK, top.size)):
            scan.feed(stored.index, stored.data)
    orders, unattributed = _orders(scan, rows, records)  # 4.
    cited = {i for o in orders for i in o.entries()} | {c.index for c in unattributed}
    proofs: dict[int, bytes] = {}
    for index in sorted(cited):  # 5.
        try:
            path = await inclusion_proof(store, index, top.size)
            verify_inclusion(index, top.size, leaf_hash(scan.data[index]), path, top.root_hash)
        except (ProofError, MissingNode) as exc:
            raise TraceError(
                f"expected the proof of entry {index} to verify, got {exc}; "
                "run 'civetta audit verify'"
            ) from exc
        proofs[index] = InclusionProof(index, tuple(path), latest.note).to_bytes()
    return Trace(
        subject="order" if decoy is None else "contact",
        decoy=decoy,
        tree_size=top.size,
        checkpoint=latest.note,
        orders=tuple(orders),
        unattributed=tuple(unattributed),
        leaves={i: scan.data[i] for i in sorted(cited)},
        proofs=proofs,
    )


async def trace_contact(store: Store, contact: str) -> Trace:
    """Everything about a decoy written in any spelling, for every order that ever held it."""
    decoy = canonical_contact(contact)
    if decoy is None:
        raise TraceError("expected a phone number or an e-mail address, got another form")
    rows = await store.decoys.history(decoy)  # 2.
    records = await store.decoys.contacts(decoy=decoy)
    return await _trace(store, decoy, set(), rows, records)


async def trace_order(store: Store, order_key: bytes) -> Trace:
    """Everything about one order, given the keyed commitment of its reference."""
    rows = await store.decoys.assignments_for(order_key)  # 2.
    records = await store.decoys.contacts(order_key=order_key)
    return await _trace(store, None, {_b64(order_key)}, rows, records)
