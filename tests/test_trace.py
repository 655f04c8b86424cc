"""``proxy.trace``: from a decoy or an order to its messages and contacts, with proofs.

The expectations come from :mod:`tests.trace_world` (the receipts the test got while building
the log) and from the leaves read straight from the SQLite file, never from the trace itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proxy.audit.checkpoint import open_checkpoint
from proxy.audit.merkle import leaf_hash, verify_inclusion
from proxy.audit.note import Signer
from proxy.audit.proof_format import InclusionProof
from proxy.trace import TraceError, canonical_contact, order_key_of, trace_contact, trace_order
from proxy.trace_model import Trace, render
from tests.audit.test_verify_support import rows, sql
from tests.storage.logcheck import ORIGIN
from tests.trace_world import PLANTED, REFS, World, build_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The scenario of :mod:`tests.trace_world`."""
    built = await build_world(tmp_path)
    yield built
    await built.close()


def db_of(world: World) -> Path:
    """The SQLite file under the world's store."""
    return Path(world.url.removeprefix("sqlite:///"))


def leaves_on_disk(world: World) -> dict[int, tuple[bytes, dict[str, Any]]]:
    """Every leaf as the database file holds it: bytes and parsed JSON."""
    found = rows(db_of(world), "SELECT idx, data FROM audit_leaf ORDER BY idx")
    return {int(i): (bytes(d), json.loads(bytes(d))) for i, d in found}


def alias_entries(world: World, decoy: str) -> list[int]:
    """The alias leaves naming ``decoy``, found by reading the file."""
    on_disk = leaves_on_disk(world)
    return [
        i for i, (_, leaf) in on_disk.items() if leaf["type"] == "alias" and leaf["decoy"] == decoy
    ]


def check_proofs(world: World, trace: Trace) -> None:
    """Every proof opens with the log's key and leads from the leaf on disk to its root."""
    verifier = Signer(ORIGIN, world.keys.signing_key).verifier()
    on_disk = leaves_on_disk(world)
    assert set(trace.proofs) == set(trace.entries) == set(trace.leaves)
    for index, raw in trace.proofs.items():
        proof = InclusionProof.parse(raw)
        checkpoint = open_checkpoint(proof.checkpoint, [verifier], ORIGIN)
        assert proof.index == index and checkpoint.size == trace.tree_size
        data = on_disk[index][0]
        assert trace.leaves[index] == data
        verify_inclusion(
            index, checkpoint.size, leaf_hash(data), proof.hashes, checkpoint.root_hash
        )


async def test_a_call_on_a_phone_decoy_leads_to_its_order_and_messages(world: World) -> None:
    """The decoy written nationally finds order A only: the two messages that carried the
    phone decoy (not the one that carried none), their outcomes, its three contacts."""
    a = world.orders["A"]
    phone = a.decoys.phone or ""
    trace = await trace_contact(world.store, phone[3:])
    assert trace.subject == "contact" and trace.decoy == phone
    (order,) = trace.orders
    assert order.order_key == base64.b64encode(a.key).decode()
    (decoy,) = order.decoys
    assert (decoy.decoy, decoy.kind, decoy.partner) == (phone, "phone", "P-001")
    assert list(decoy.alias_entries) == alias_entries(world, phone)
    carried = [s for s in a.sent if "phone" in s.kinds]
    assert [m.index for m in order.messages] == [s.index for s in carried]
    assert [m.outcome for m in order.messages] == [s.outcome for s in carried]
    assert [m.intent_id for m in order.messages] == [s.intent_id for s in carried]
    assert all(a.decoys.ids["phone"] in m.decoy_ids for m in order.messages)
    assert {m.route for m in order.messages} == {"tmf622"}
    mine = {cid: v for cid, v in a.contacts.items() if v[1] == phone}
    assert {
        c.contact_id: (c.index, c.decoy, c.classification, c.reason) for c in order.contacts
    } == mine
    assert [c.classification for c in order.contacts] == ["expected", "suspicious", "suspicious"]
    assert order.echoes == () and trace.unattributed == ()
    check_proofs(world, trace)


async def test_a_mail_on_an_email_decoy_in_any_case(world: World) -> None:
    """The alias address in capitals finds the one message that carried it and the mail."""
    a = world.orders["A"]
    email = a.decoys.email or ""
    trace = await trace_contact(world.store, email.upper())
    (order,) = trace.orders
    assert [d.decoy for d in order.decoys] == [email]
    assert [m.index for m in order.messages] == [a.sent[0].index]
    ((contact_id, (index, _, cls, reason)),) = [
        (k, v) for k, v in a.contacts.items() if v[1] == email
    ]
    assert [
        (c.contact_id, c.index, c.channel, c.classification, c.reason) for c in order.contacts
    ] == [(contact_id, index, "mail", cls, reason)]
    assert order.contacts[0].caller == "v***@retail.example.it"
    check_proofs(world, trace)


async def test_an_order_brings_every_decoy_message_contact_and_echo(world: World) -> None:
    """By order reference: both decoys, all three messages (each with the decoys it carried),
    all four contacts and the echo on its third request."""
    a = world.orders["A"]
    trace = await trace_order(world.store, order_key_of(world.keys.derive("commitment"), REFS["A"]))
    assert trace.subject == "order" and trace.decoy is None
    (order,) = trace.orders
    assert sorted(d.decoy for d in order.decoys) == sorted(
        [a.decoys.phone or "", a.decoys.email or ""]
    )
    assert [m.index for m in order.messages] == [s.index for s in a.sent]
    by_kind = {kind: a.decoys.ids[kind] for kind in ("phone", "email")}
    assert [set(m.decoy_ids) for m in order.messages] == [
        {by_kind[k] for k in s.kinds} for s in a.sent
    ]
    assert sorted(c.contact_id for c in order.contacts) == sorted(a.contacts)
    assert [e.index for e in order.echoes] == [world.echo]
    assert order.echoes[0].request_id == a.sent[2].request_id
    check_proofs(world, trace)


async def test_outcomes_states_and_soap_operations(world: World) -> None:
    """B's SOAP message timed out upstream; C's decoy was closed before its late call."""
    commit_key = world.keys.derive("commitment")
    b = await trace_order(world.store, order_key_of(commit_key, REFS["B"]))
    (message,) = b.orders[0].messages
    assert (message.route, message.operation) == (
        "soap-wba",
        "POST /wba/OrderService (urn:submitOrder)",
    )
    assert message.status == "error CIVETTA-UPSTREAM-TIMEOUT"
    assert message.outcome == world.orders["B"].sent[0].outcome
    c = await trace_contact(world.store, world.orders["C"].decoys.phone or "")
    (decoy,) = c.orders[0].decoys
    assert decoy.closed_at == "2026-11-03T00:00:00.000000Z" and decoy.released_at is None
    assert [x.reason for x in c.orders[0].contacts] == ["after_order_closed"]


async def test_a_contact_on_a_decoy_no_order_held(world: World) -> None:
    """A pool number never issued: no order, one unattributed contact, proven."""
    index, spare = world.unattributed
    trace = await trace_contact(world.store, spare)
    assert trace.orders == () and trace.found
    (contact,) = trace.unattributed
    assert (contact.index, contact.classification, contact.order_key) == (
        index,
        "unattributed",
        None,
    )
    assert trace.entries == (index,)
    check_proofs(world, trace)


async def test_nothing_found_and_contacts_of_no_known_form(world: World) -> None:
    """An unused pool number finds nothing; text that is neither a number nor an address is
    refused; an unknown order finds nothing."""
    issued = {o.decoys.phone for o in world.orders.values()} | {world.unattributed[1]}
    unused = next(n for n in world.service.pool.random("phone", 10) if n not in issued)
    assert not (await trace_contact(world.store, unused)).found
    with pytest.raises(TraceError, match="expected a phone number or an e-mail address"):
        await trace_contact(world.store, "the technician")
    assert canonical_contact("02 9999 0001") == "+390299990001"
    nobody = order_key_of(world.keys.derive("commitment"), "OLO-ORD-NOBODY")
    assert not (await trace_order(world.store, nobody)).found


async def test_no_personal_value_in_the_trace_text_or_json(world: World) -> None:
    """Order references, customers' values, callers and the partner's note appear nowhere in
    what ``civetta trace`` prints; callers only masked."""
    commit_key = world.keys.derive("commitment")
    traces = [
        await trace_order(world.store, order_key_of(commit_key, ref)) for ref in REFS.values()
    ]
    traces += [
        await trace_contact(world.store, o.decoys.phone or "") for o in world.orders.values()
    ]
    traces.append(await trace_contact(world.store, world.unattributed[1]))
    shown = "\n".join("\n".join(render(t)) + json.dumps(t.to_json()) for t in traces)
    for value in PLANTED:
        assert value not in shown, value
    assert "+39********77" in shown and "withheld" in shown


async def test_a_damaged_log_gives_no_trace(world: World) -> None:
    """A contact entry changed in the database no longer matches the signed tree: the trace
    refuses instead of handing out a proof that does not verify."""
    index = next(iter(world.orders["A"].contacts.values()))[0]
    data = leaves_on_disk(world)[index][0].replace(b'"expected"', b'"suspicious"')
    assert sql(db_of(world), "UPDATE audit_leaf SET data = ? WHERE idx = ?", (data, index)) == 1
    with pytest.raises(TraceError, match=f"expected the proof of entry {index} to verify"):
        await trace_contact(world.store, world.orders["A"].decoys.phone or "")
