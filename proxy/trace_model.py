"""What ``civetta trace`` finds: an order's decoys, the messages that disclosed them, the
contacts on them and the echoes of its values, each pinned to an audit entry with its proof.

Everything here is read from the audit log's leaves (the store adds only what the log keeps
out on purpose: the caller's masked form, and when an assignment closed or was released), so
nothing holds a personal value: orders appear as the keyed commitment of their reference,
callers as a masked form, removed values not at all. :func:`render` is the text form that
``civetta trace`` prints (``--json`` prints :meth:`Trace.to_json`): one block per order, each
line naming its audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Issued:
    """A decoy given to an order: the store's assignment joined with its ``alias`` entries."""

    decoy_id: str
    decoy: str
    kind: str
    #: The keyed commitment of the order reference (base64), as intents carry it.
    order_key: str
    partner: str | None
    #: RFC 3339 (UTC); ``issued_at`` falls back on the first alias entry's time.
    issued_at: str | None
    closed_at: str | None
    released_at: str | None
    #: The ``alias`` entries that announced it (more than one after a change of partner).
    alias_entries: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """An intent of the order: a message civetta forwarded, and how it ended."""

    index: int
    time: str
    intent_id: str
    request_id: str
    route: str
    direction: str
    #: ``METHOD path``, with ``(SOAP action)`` after it when there is one.
    operation: str
    partner: str | None
    #: The decoys (by id) this message carried: its ``alias`` field records' token ids.
    decoy_ids: tuple[str, ...]
    #: ``(path, rule, action)`` of each field a rule removed or replaced.
    fields: tuple[tuple[str, str, str], ...]
    sealed_id: str | None
    #: The outcome (or recovery) entry, and the status it gives.
    outcome: int | None
    status: str


@dataclass(frozen=True, slots=True)
class Contacted:
    """A ``contact`` entry: a call, SMS or mail on a decoy, with the caller masked."""

    index: int
    time: str
    contact_id: str
    decoy: str
    decoy_id: str | None
    order_key: str | None
    partner: str | None
    #: When the contact happened, as reported (RFC 3339, UTC).
    at: str
    channel: str
    source: str
    #: The masked caller from the store (``withheld`` when hidden); never the number.
    caller: str
    #: The configured expected caller matched (an operational contact of the incumbent).
    caller_match: str | None
    classification: str
    reason: str


@dataclass(frozen=True, slots=True)
class Echoed:
    """An ``echo`` entry on a request of the order: a removed value came back."""

    index: int
    time: str
    request_id: str
    route: str
    path: str
    detector: str


@dataclass(frozen=True, slots=True)
class OrderTrace:
    """One order (by its keyed commitment) with what the trace found about it."""

    order_key: str
    decoys: tuple[Issued, ...]
    messages: tuple[Message, ...]
    contacts: tuple[Contacted, ...]
    echoes: tuple[Echoed, ...]

    def entries(self) -> set[int]:
        """Every audit entry this order's findings cite."""
        found = {i for d in self.decoys for i in d.alias_entries}
        found |= {m.index for m in self.messages}
        found |= {m.outcome for m in self.messages if m.outcome is not None}
        found |= {c.index for c in self.contacts} | {e.index for e in self.echoes}
        return found

    def to_json(self) -> dict[str, Any]:
        """The order as JSON (lists for tuples)."""
        return {
            "order_key": self.order_key,
            "decoys": [asdict(d) for d in self.decoys],
            "messages": [asdict(m) for m in self.messages],
            "contacts": [asdict(c) for c in self.contacts],
            "echoes": [asdict(e) for e in self.echoes],
        }


@dataclass(frozen=True, slots=True)
class Trace:
    """The answer to ``civetta trace``: orders, unattributed contacts, proofs.

    ``leaves`` and ``proofs`` hold, for every entry cited, its exact bytes and its C2SP
    tlog-proof against ``checkpoint`` (the latest signed checkpoint, of ``tree_size``).
    """

    #: ``contact`` (a decoy was asked about) or ``order`` (an order reference was).
    subject: str
    decoy: str | None
    tree_size: int
    checkpoint: bytes
    orders: tuple[OrderTrace, ...]
    unattributed: tuple[Contacted, ...]
    leaves: Mapping[int, bytes]
    proofs: Mapping[int, bytes]

    @property
    def entries(self) -> tuple[int, ...]:
        """Every entry cited, in log order."""
        return tuple(sorted(self.proofs))

    @property
    def found(self) -> bool:
        """Whether the trace found anything at all."""
        return bool(self.orders or self.unattributed)

    def messages(self) -> tuple[Message, ...]:
        """Every message of every order, in log order."""
        return tuple(sorted((m for o in self.orders for m in o.messages), key=lambda m: m.index))

    def contacts(self) -> tuple[Contacted, ...]:
        """Every contact, attributed or not, in log order."""
        found = [c for o in self.orders for c in o.contacts] + list(self.unattributed)
        return tuple(sorted(found, key=lambda c: c.index))

    def to_json(self, *, proofs: bool = True) -> dict[str, Any]:
        """The trace as JSON; ``proofs`` False leaves the proof texts out."""
        out: dict[str, Any] = {
            "subject": self.subject,
            "decoy": self.decoy,
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint.decode(),
            "orders": [o.to_json() for o in self.orders],
            "unattributed": [asdict(c) for c in self.unattributed],
            "entries": list(self.entries),
        }
        if proofs:
            out["proofs"] = {str(i): self.proofs[i].decode() for i in self.entries}
        return out


def _decoy(d: Issued) -> str:
    state = "open" if d.closed_at is None else f"closed {d.closed_at}"
    if d.released_at is not None:
        state += f", released {d.released_at}"
    entries = ", ".join(map(str, d.alias_entries)) or "none (not announced)"
    return (
        f"  decoy {d.decoy} ({d.kind}, id {d.decoy_id}) for partner {d.partner or '-'}: "
        f"issued {d.issued_at or '-'}, {state}; alias entry {entries}"
    )


def _message(m: Message, names: dict[str, str]) -> str:
    carried = ", ".join(names.get(i, i) for i in m.decoy_ids) or "no decoy"
    ended = m.status if m.outcome is None else f"{m.status} (entry {m.outcome})"
    return (
        f"    {m.time}  entry {m.index}  {m.route}  {m.operation}  intent {m.intent_id}"
        f"  -> {ended}; carried {carried}"
    )


def _contact(c: Contacted) -> str:
    matched = f", matched {c.caller_match}" if c.caller_match else ""
    return (
        f"    {c.at}  entry {c.index}  {c.channel} on {c.decoy} from {c.caller}: "
        f"{c.classification} ({c.reason}{matched}); contact {c.contact_id}, via {c.source}"
    )


def _order(order: OrderTrace, subject: str) -> list[str]:
    lines = [f"order {order.order_key} (keyed commitment of the order reference)"]
    lines += [_decoy(d) for d in order.decoys]
    names = {d.decoy_id: d.decoy for d in order.decoys}
    heading = "messages that disclosed it" if subject == "contact" else "messages of the order"
    lines.append(f"  {heading}: {len(order.messages) or 'none'}")
    lines += [_message(m, names) for m in order.messages]
    lines.append(f"  contacts: {len(order.contacts) or 'none'}")
    lines += [_contact(c) for c in order.contacts]
    if order.echoes:
        lines.append(f"  echoes (removed values that came back): {len(order.echoes)}")
        lines += [
            f"    {e.time}  entry {e.index}  {e.route} request {e.request_id} at {e.path}"
            f" ({e.detector})"
            for e in order.echoes
        ]
    return lines


def _count(contacts: Iterable[Contacted], classification: str) -> int:
    return sum(1 for c in contacts if c.classification == classification)


def render(trace: Trace) -> list[str]:
    """The trace as lines of text, summary first."""
    contacts = trace.contacts()
    what = f"decoy {trace.decoy}" if trace.subject == "contact" else "the order"
    lines = [
        f"{what}: {len(trace.orders)} order(s), {len(trace.messages())} message(s), "
        f"{len(contacts)} contact(s) ({_count(contacts, 'suspicious')} suspicious, "
        f"{_count(contacts, 'unattributed')} on no order)",
        f"proofs: {len(trace.proofs)} entries, each verified against the signed checkpoint "
        f"of {trace.tree_size} entries",
    ]
    for order in trace.orders:
        lines += ["", *_order(order, trace.subject)]
    if trace.unattributed:
        lines += ["", "contacts when no order held the decoy:"]
        lines += [_contact(c) for c in trace.unattributed]
    return lines
