"""A realistic log for the trace, evidence and report tests: three orders with decoys, their
messages (sealed copies), contacts of every class, an echo and a block, across two months.

Built with the real pieces (SQLite store, AuditLog, DecoyService), in the order the proxy and
the switch would produce them. What went in is written down in :class:`World` as the test saw
it happen (receipt indexes, contact ids), so tests compare against that, not against the code
under test. :data:`PLANTED` lists personal values the scenario uses: customers' contacts and
names (removed from every message), callers, a partner's note, and the order references.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from proxy.audit import leaves
from proxy.audit.log import AuditLog
from proxy.audit.records import BodyRecord, FieldRecord, Intent, Operation, Outcome
from proxy.decoys.contacts import ContactReport
from proxy.decoys.echo import Echo, fingerprint
from proxy.decoys.service import ORDER_PATH, Decoys, DecoyService
from proxy.keys import KeyMaterial
from proxy.storage import Store, open_store
from tests.actions.support import PARTNER
from tests.decoys.conftest import INCUMBENT_NOC, decoy_settings
from tests.storage.logcheck import Clock, keys_in, open_log

REFS = {
    "A": "OLO-ORD-2026-PLANT-0001",
    "B": "OLO-ORD-2026-PLANT-0002",
    "C": "OLO-ORD-2026-PLANT-0003",
}
CUSTOMER = {
    "A": ("+393471234501", "mario.plantarossi@example.com", "Mario Plantarossi"),
    "B": ("+393471234502", "lucia.plantabianchi@example.com", "Lucia Plantabianchi"),
    "C": ("+393471234503", "aldo.plantaverdi@example.com", "Aldo Plantaverdi"),
}
STREET = "Via dei Piantati 7"
RETAIL_CALLER = "+39 347 999 8877"
RETAIL_MAIL = "venditore.plant@retail.example.it"
DIALLER = "+39 333 000 1122"
NOTE = "PIANTATO: il tecnico ha detto che solo una linea TIM sarebbe stata riparata"
#: Personal values that must never appear outside the openings (and not there either).
PLANTED = (
    *REFS.values(),
    *(v for values in CUSTOMER.values() for v in values),
    STREET,
    "+393479998877",
    "3479998877",
    RETAIL_MAIL,
    "+393330001122",
    "3330001122",
    NOTE,
)
TMF = Operation("POST", "/tmf-api/productOrderingManagement/v4/productOrder")
SOAP = Operation("POST", "/wba/OrderService", "urn:submitOrder")
PHONE_PATH = "$.relatedParty[0].contactMedium[0].characteristic.phoneNumber"
MAIL_PATH = "$.relatedParty[0].contactMedium[1].characteristic.emailAddress"


@dataclass(frozen=True, slots=True)
class Sent:
    """One intent the test appended: what it carried and how it ended."""

    index: int
    intent_id: str
    request_id: str
    route: str
    kinds: tuple[str, ...]
    outcome: int
    body: bytes


@dataclass(slots=True)
class Order:
    """One order of the scenario, as the test built it (filled in while it is built)."""

    ref: str
    key: bytes
    decoys: Decoys
    sent: list[Sent] = field(default_factory=list)
    #: contact id -> (leaf index, decoy, classification, reason)
    contacts: dict[str, tuple[int, str, str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class World:
    """The scenario's store, log and service, and what went into the log (filled in while
    it is built: the builder's steps need the store and the log first)."""

    url: str
    store: Store
    log: AuditLog
    service: DecoyService
    clock: Clock
    keys: KeyMaterial
    orders: dict[str, Order]
    unattributed: tuple[int, str] = (0, "")
    echo: int = 0
    block: int = 0

    async def close(self) -> None:
        """Stop the service, the log and the store."""
        await self.service.close()
        await self.log.stop()
        await self.store.close()


def _body(ref: str, decoys: Decoys) -> bytes:
    """A forwarded order: the decoys and the partner's contact, no customer data."""
    document = {
        "externalId": ref,
        "relatedParty": [
            {"role": "customer", "name": "tok-name-7f3a", "contactMedium": [
                {"characteristic": {"phoneNumber": decoys.phone}},
                {"characteristic": {"emailAddress": decoys.email}},
            ]},
            {"role": "installer", "id": PARTNER.id, "phone": PARTNER.phone},
        ],
        "place": [{"street": "tok-addr-91c2"}],
    }  # fmt: skip
    return json.dumps(document, sort_keys=True).encode()


async def _send(w: World, label: str, kinds: tuple[str, ...], *, soap: bool = False) -> Sent:
    """Assign (as the proxy does per message), seal, append the intent and its outcome."""
    order = w.orders[label]
    phone, mail, name = CUSTOMER[label]
    decoys = await w.service.assign(
        order.ref, PARTNER.id, {"phone", "email"} & set(kinds) or {"phone"}
    )
    if not order.decoys.ids:
        order.decoys = decoys  # the first message's: later ones may ask for fewer kinds
    records = [FieldRecord("$.relatedParty[0].name", "name", "drop", w.log.commit("$.n", name))]
    records.append(
        FieldRecord(
            "$.place[0].street", "addr", "tokenise", w.log.commit("$.s", STREET), "tok-addr-91c2"
        )
    )
    if "phone" in kinds:
        records.append(
            FieldRecord(
                PHONE_PATH, "phone", "alias", w.log.commit(PHONE_PATH, phone), decoys.ids["phone"]
            )
        )
    if "email" in kinds:
        records.append(
            FieldRecord(
                MAIL_PATH, "mail", "alias", w.log.commit(MAIL_PATH, mail), decoys.ids["email"]
            )
        )
    body = _body(order.ref, decoys if kinds else Decoys())
    sealing = await w.log.seal(body)
    request_id = f"req-{label}-{len(order.sent) + 1}"
    intent = Intent(
        request_id, "soap-wba" if soap else "tmf622", "outbound", SOAP if soap else TMF,
        PARTNER.id, order.key, "ab" * 32,
        BodyRecord(sealing.length, sealing.commitment, sealing.sealed_id), tuple(records),
    )  # fmt: skip
    receipt = await w.log.append_intent(intent, sealing)
    assert receipt.intent_id is not None
    w.clock.now += timedelta(seconds=1)
    if soap:
        result = Outcome(receipt.intent_id, None, error="CIVETTA-UPSTREAM-TIMEOUT")
    else:
        response = BodyRecord(2, w.log.commit("$response", b"{}"))
        result = Outcome(receipt.intent_id, 201, response, 12.5)
    done = await w.log.append_outcome(result)
    sent = Sent(receipt.index, receipt.intent_id, request_id, intent.route, kinds, done.index, body)
    order.sent.append(sent)
    return sent


async def _call(
    w: World,
    label: str | None,
    decoy: str,
    caller: str | None,
    at: datetime,
    channel: str = "call",
    note: str | None = None,
) -> int:
    """A contact on ``decoy`` reported a minute after it happened."""
    w.clock.now = at + timedelta(minutes=1)
    done = await w.service.intake.record(ContactReport(decoy, caller, at, channel, "switch", note))
    if label is not None:
        w.orders[label].contacts[done.id] = (
            done.leaf_index,
            done.decoy,
            done.classification,
            done.reason,
        )
    return done.leaf_index


async def build_world(tmp_path: Path) -> World:
    """The scenario (see the module docstring), on SQLite under ``tmp_path/data``."""
    url = f"sqlite:///{tmp_path}/data/civetta.db"
    store = open_store(url)
    await store.open()
    clock = Clock(datetime(2026, 10, 27, 9, 0, tzinfo=UTC))
    keys = keys_in(tmp_path / "keys")
    log = await open_log(url, keys, store=store, clock=clock)
    service = DecoyService(store, log, decoy_settings(), clock=clock, note_key=b"n" * 32)
    orders = {k: Order(ref, log.commit(ORDER_PATH, ref), Decoys()) for k, ref in REFS.items()}
    w = World(url, store, log, service, clock, keys, orders)
    day = datetime(2026, 10, 27, tzinfo=UTC)
    clock.now = day + timedelta(hours=9, minutes=5)
    await _send(w, "A", ("phone", "email"))
    clock.now = day + timedelta(hours=10)
    await _send(w, "B", ("phone",), soap=True)
    a_phone, a_mail = w.orders["A"].decoys.phone or "", w.orders["A"].decoys.email or ""
    await _call(w, "A", a_phone, INCUMBENT_NOC, day + timedelta(days=1, hours=8))
    await _call(
        w, "B", w.orders["B"].decoys.phone or "", "+390699912345", day + timedelta(days=1, hours=9)
    )
    clock.now = day + timedelta(days=2)
    await _send(w, "C", ("phone",))
    clock.now = day + timedelta(days=3)
    w.block = (
        await log.append(
            leaves.block(log.stamp(), "req-X", "tmf622", "outbound", "CIVETTA-LEAK", ("$.note",))
        )
    ).index
    clock.now = datetime(2026, 10, 31, 23, 59, 59, 500000, tzinfo=UTC)  # its outcome is in November
    await _send(w, "A", ("phone",))
    clock.now = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    third = await _send(w, "A", ())
    mark = fingerprint(log.commit, CUSTOMER["A"][0])
    w.echo = (
        await service.echoes.report(third.request_id, "tmf622", [Echo("$.note", mark, "phone")])
    )[0]
    clock.now = datetime(2026, 11, 3, tzinfo=UTC)
    await service.close_order(REFS["C"])
    nov = datetime(2026, 11, 5, 15, 30, tzinfo=UTC)
    await _call(w, "A", a_phone[3:], RETAIL_CALLER, nov, note=NOTE)
    await _call(w, "A", a_mail.upper(), RETAIL_MAIL, nov + timedelta(minutes=5), "mail")
    await _call(w, "C", w.orders["C"].decoys.phone or "", INCUMBENT_NOC, nov + timedelta(days=1))
    await _call(w, "A", a_phone, "anonymous", nov + timedelta(days=1, hours=1))
    issued = {o.decoys.phone for o in orders.values()}
    spare = next(n for n in service.pool.random("phone", 10) if n not in issued)
    w.unattributed = (await _call(w, None, spare, DIALLER, nov + timedelta(days=2)), spare)
    clock.now = datetime(2026, 11, 20, tzinfo=UTC)
    return w
