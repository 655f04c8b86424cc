"""Minimisation end to end: the shipped policies (``policies/``), the real proxy, the sandbox.

The OSS sends the real fixtures (``tests/fixtures/``), full of the end customer's data, with
real clients (aiohttp for TMF, zeep for SOAP 1.1 and 1.2 with WS-Addressing). Each test checks
what the sandbox *received* (:mod:`tests.e2e.planted` collects the planted values from the
fixture and looks for them in any spelling), that the sandbox still accepted it (it validates
against the XSD and the JSON Schemas and checks codice fiscale characters), and what the OSS got
back: tokens restored, the partner's contact where it stands in for the customer's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from lxml import etree
from zeep.helpers import serialize_object
from zeep.wsa import WsAddressingPlugin

from proxy.config import HUB_PREFIX
from proxy.formats.soap import parse_xml
from proxy.replies import ERROR_HEADER
from tests.e2e.conftest import (
    ACTION_PREFIX,
    CALLBACK_PATH,
    CIVETTA_NS,
    HDR_NS,
    ORD_NS,
    PARTNER,
    PII_FREE_FIXTURES,
    SHIPPED_POLICIES,
    SOAP11,
    SOAP12,
    WSA_NS,
    Env,
    EnvFactory,
    Seen,
    Version,
    ZeepFactory,
    ZeepOss,
    pii_free_tmf,
    poll,
    read_fixture,
    started_tap,
)
from tests.e2e.planted import Planted, found, has_number, haystack, planted, texts_of

JSON_UTF8 = "application/json;charset=utf-8"
PARTNER_HEADER = {"X-Partner-Id": PARTNER.id}


@dataclass(frozen=True, slots=True)
class TmfCase:
    """A TMF fixture, where it is created, and what of it must survive."""

    fixture: str
    collection: str
    #: The OSS's own reference (the policies' ``order_ref``: tokens are per order).
    order_ref: str
    #: Operational values the incumbent needs as they are.
    keep: tuple[str, ...]
    #: Whether the fixture gives contacts that the partner's stand in for (tickets name none).
    contacts: bool = True

    def __str__(self) -> str:
        """The test id."""
        return self.fixture.removesuffix(".json")

    @property
    def body(self) -> bytes:
        """The fixture as the OSS sends it."""
        return read_fixture("tmf", self.fixture)

    @property
    def planted(self) -> Planted:
        """The end customer's values in the fixture."""
        return planted(self.body, "json", self.keep)


TMF622_V4 = TmfCase(
    "tmf622_v4_order.json",
    "/tmf-api/productOrderingManagement/v4/productOrder",
    "OLO-ORD-2025-004711",
    ("FWB0645678901001A01Y", "0645678901"),
)
TMF622_V5 = TmfCase(
    "tmf622_v5_order.json",
    "/tmf-api/productOrderingManagement/v5/productOrder",
    "OLO-ORD-2025-004712",
    ("TLC0815523344002B02K",),
)
TMF641_V4 = TmfCase(
    "tmf641_v4_order.json",
    "/tmf-api/serviceOrdering/v4/serviceOrder",
    "OLO-SRV-2025-000388",
    ("VOD0645678903002A01Z",),
)
TMF621_V4 = TmfCase(
    "tmf621_v4_ticket.json",
    "/tmf-api/troubleTicket/v4/troubleTicket",
    "OLO-TT-2025-001907",
    # The faulty line (the affected service) and the OLO's own NOC, the reporter.
    ("SRV-FTTH-0645678901", "Accesso FTTH 0645678901", "NOC Fibra Veloce", "+39 02 8765 4321"),
    contacts=False,
)
TMF621_V5 = TmfCase(
    "tmf621_v5_ticket.json",
    "/tmf-api/troubleTicket/v5/troubleTicket",
    "OLO-TT-2025-001908",
    ("0815523344", "SRV-FTTH-0815523344", "Accesso FTTH 0815523344", "NOC Fibra Veloce"),
    contacts=False,
)
TMF_CASES = [TMF622_V4, TMF622_V5, TMF641_V4, TMF621_V4, TMF621_V5]


@dataclass(frozen=True, slots=True)
class SoapCase:
    """A SOAP fixture, its operation and answer, and what of it must survive."""

    fixture: str
    operation: str
    #: ``stato`` of the incumbent's answer when it accepts the message.
    accepted: str
    keep: tuple[str, ...]

    def __str__(self) -> str:
        """The test id."""
        return self.fixture.removesuffix(".xml")

    @property
    def body(self) -> bytes:
        """The fixture as on disk."""
        return read_fixture("soap", self.fixture)


ACTIVATION_11 = SoapCase(
    "activation_order_11.xml",
    "SubmitActivationOrder",
    "ACQUISITO",
    # Codice migrazione, number to port, and the quarto referente (the OLO's NOC).
    ("TLC0287654321002K", "0287654321", "NOC Fibra Veloce", "+390245678900"),
)
ACTIVATION_12 = SoapCase(
    "activation_order_12.xml",
    "SubmitActivationOrder",
    "ACQUISITO",
    ("NOC Fibra Veloce", "+390245678900"),
)
TROUBLE_TICKET_11 = SoapCase(
    "trouble_ticket_11.xml",
    "SubmitTroubleTicket",
    "APERTO",
    # The faulty line's number and resource.
    ("0287654321", "FTTH-MI-0000482913"),
)
SOAP_CASES = [ACTIVATION_11, ACTIVATION_12, TROUBLE_TICKET_11]


@pytest.fixture
async def env(make_env: EnvFactory) -> AsyncIterator[Env]:
    """The shipped policies, and a recording hop in front of the sandbox (its exact answers)."""
    async with make_env(policies=SHIPPED_POLICIES, tap_upstream=True) as started:
        yield started


# --- Helpers ----------------------------------------------------------------------------------


def assert_minimised(
    body: bytes, kind: str, values: Planted, keep: tuple[str, ...], contacts: bool = True
) -> None:
    """``body`` carries none of ``values`` and every ``keep`` value as it was; with
    ``contacts``, the partner's phone and e-mail stand in for the customer's."""
    text = haystack(body, kind)
    assert found(values, text) == []
    strings = texts_of(body, kind).strings
    for value in keep:
        assert any(value in s for s in strings), f"kept value {value!r} did not survive"
    if contacts:
        assert has_number(text, PARTNER.phone)
        assert PARTNER.email in text


def restored(value: Any, mapping: Mapping[str, str]) -> Any:
    """``value`` with every token of ``mapping`` replaced by its original (what the OSS must
    get back for an answer of the incumbent)."""
    if isinstance(value, str):
        if value in mapping:
            return mapping[value]
        for token, original in mapping.items():
            value = value.replace(token, original)
        return value
    if isinstance(value, list):
        return [restored(item, mapping) for item in value]
    if isinstance(value, dict):
        return {key: restored(item, mapping) for key, item in value.items()}
    return value


def tokens_in(body: bytes, kind: str, mapping: Mapping[str, str]) -> set[str]:
    """The tokens of ``mapping`` that occur in ``body``."""
    text = "\n".join(texts_of(body, kind).strings)
    return {token for token in mapping if token in text}


def upstream_answer(env: Env, method: str, path: str) -> Seen:
    """The last exchange the recording hop saw for ``method path``."""
    assert env.upstream_tap is not None
    return [s for s in env.upstream_tap.seen if (s.method, s.path) == (method, path)][-1]


async def post_tmf(env: Env, case: TmfCase, body: bytes | None = None) -> dict[str, Any]:
    """POST ``body`` (the fixture) to the case's collection through the proxy; the 201 body."""
    async with env.http.post(
        env.oss(case.collection),
        data=case.body if body is None else body,
        headers={"Content-Type": JSON_UTF8, **PARTNER_HEADER},
    ) as resp:
        assert resp.status == 201, await resp.text()
        assert ERROR_HEADER not in resp.headers
        created: dict[str, Any] = await resp.json()
        return created


async def audit_leaves(env: Env) -> list[bytes]:
    """Every leaf of the proxy's audit log, as stored."""
    store = env.proxy.state.store
    head = await store.head()
    return [leaf.data for leaf in await store.leaves(0, head.size)]


def message_leaves(leaves: list[bytes]) -> list[bytes]:
    """The leaves about messages: all but the ``policy`` leaves (the policy texts in force)."""
    return [data for data in leaves if json.loads(data)["type"] != "policy"]


def leaf_json(leaves: list[bytes], kind: str) -> list[dict[str, Any]]:
    """The leaves of type ``kind``, parsed."""
    parsed = [json.loads(data) for data in leaves]
    return [leaf for leaf in parsed if leaf["type"] == kind]


# --- The personal-data-free variants the transparency tests send --------------------------------


@pytest.mark.parametrize("fixture", PII_FREE_FIXTURES)
def test_pii_free_variants_carry_none_of_the_planted_values(fixture: str) -> None:
    """The variants of ``conftest.py`` that the transparency tests send carry none of the end
    customer's values planted in their fixture (so the egress guard has nothing to find)."""
    original = read_fixture("tmf", fixture)
    values = planted(original, "json")
    assert values.every()
    assert found(values, haystack(pii_free_tmf(fixture), "json")) == []


# --- TMF: create, read, patch -------------------------------------------------------------------


@pytest.mark.parametrize("case", TMF_CASES, ids=str)
async def test_tmf_create_reaches_the_sandbox_minimised_and_the_oss_gets_it_restored(
    env: Env, case: TmfCase
) -> None:
    """A real TMF create reaches the sandbox with none of the end customer's values (names,
    phones in every spelling, e-mails, codici fiscali), every operational value intact and the
    partner's contact in their place; the sandbox accepts it (schema-valid), and the OSS gets the
    201 with every token the sandbox echoed turned back into the original."""
    values = case.planted
    assert found(values, haystack(case.body, "json")) == values.every()
    created = await post_tmf(env, case)
    [got] = await env.sandbox.received()
    assert (got.method, got.path) == ("POST", case.collection)
    assert_minimised(got.body, "json", values, case.keep, case.contacts)
    mapping = await env.proxy.state.vault.mapping(case.order_ref)
    answer = upstream_answer(env, "POST", case.collection)
    assert answer.status == 201
    assert tokens_in(answer.answer, "json", mapping), "the sandbox echoes tokens"
    assert created == restored(json.loads(answer.answer), mapping)
    echoed = json.dumps(created).encode()
    assert not tokens_in(echoed, "json", mapping)
    assert set(mapping.values()) <= set(texts_of(echoed, "json").strings)


# One case per shape of order reference: externalId, externalId[*].id, externalIdentifier[*].id.
@pytest.mark.parametrize("case", [TMF622_V4, TMF622_V5, TMF621_V5], ids=str)
async def test_tmf_get_of_a_created_resource_comes_back_restored(env: Env, case: TmfCase) -> None:
    """GET of a resource created from a real fixture answers the OSS with the originals in
    place of the tokens the sandbox stored (as for the 201 of the create)."""
    created = await post_tmf(env, case)
    path = f"{case.collection}/{created['id']}"
    async with env.http.get(env.oss(path), headers=PARTNER_HEADER) as resp:
        assert resp.status == 200
        got = await resp.json()
    mapping = await env.proxy.state.vault.mapping(case.order_ref)
    answer = upstream_answer(env, "GET", path)
    assert tokens_in(answer.answer, "json", mapping)
    assert got == restored(json.loads(answer.answer), mapping)


async def test_merge_patch_reaches_the_sandbox_minimised_and_comes_back_restored(
    env: Env,
) -> None:
    """A merge-patch+json PATCH of a TMF622 v4 order (a new notification contact and a note
    with the customer's new mobile) reaches the sandbox with the partner's e-mail and the note
    scrubbed, the sandbox applies it, and the OSS's answer carries the originals again."""
    created = await post_tmf(env, TMF622_V4)
    patch = read_fixture("tmf", "tmf622_v4_merge_patch.json")
    values = planted(patch, "json")
    path = f"{TMF622_V4.collection}/{created['id']}"
    async with env.http.patch(
        env.oss(path),
        data=patch,
        headers={"Content-Type": "application/merge-patch+json", **PARTNER_HEADER},
    ) as resp:
        assert resp.status == 200, await resp.text()
        patched = await resp.json()
    got = (await env.sandbox.received())[-1]
    assert (got.method, got.headers["Content-Type"]) == ("PATCH", "application/merge-patch+json")
    assert found(values, haystack(got.body, "json")) == []
    sent = json.loads(got.body)
    assert sent["notificationContact"] == PARTNER.email
    assert "disponibile tutto il giorno" in sent["note"][0]["text"]
    assert sent["description"] is None
    mapping = await env.proxy.state.vault.mapping(TMF622_V4.order_ref)
    answer = upstream_answer(env, "PATCH", path)
    assert patched == restored(json.loads(answer.answer), mapping)
    assert patched["relatedParty"][0]["name"] == "Mario Rossi"


async def test_json_patch_note_is_scrubbed_at_the_sandbox(env: Env) -> None:
    """A json-patch+json PATCH adding a note with the customer's new number to a TMF621 v5
    ticket reaches the sandbox with the same operations, the number gone from the note's text
    (the rest of it kept); the sandbox applies it and the OSS's answer is restored."""
    created = await post_tmf(env, TMF621_V5)
    patch = read_fixture("tmf", "tmf621_v5_json_patch_note.json")
    values = planted(patch, "json")
    path = f"{TMF621_V5.collection}/{created['id']}"
    async with env.http.patch(
        env.oss(path),
        data=patch,
        headers={"Content-Type": "application/json-patch+json", **PARTNER_HEADER},
    ) as resp:
        assert resp.status == 200, await resp.text()
        patched = await resp.json()
    got = (await env.sandbox.received())[-1]
    assert got.headers["Content-Type"] == "application/json-patch+json"
    assert found(values, haystack(got.body, "json")) == []
    ops = json.loads(got.body)
    assert [(op["op"], op["path"]) for op in ops] == [("add", "/note/-"), ("replace", "/severity")]
    assert "nuovo recapito" in ops[0]["value"]["text"]
    assert patched["severity"] == "Major"
    assert patched["note"][-1]["text"] == ops[0]["value"]["text"]
    mapping = await env.proxy.state.vault.mapping(TMF621_V5.order_ref)
    assert patched == restored(json.loads(upstream_answer(env, "PATCH", path).answer), mapping)


async def patch_query(env: Env, ops: list[dict[str, Any]]) -> tuple[int, Any, list[Any]]:
    """Create the TMF621 v5 fixture, then PATCH it with JSON Patch Query ``ops`` through the
    proxy: the OSS's status and body, and the operations the sandbox received (if any)."""
    created = await post_tmf(env, TMF621_V5)
    path = f"{TMF621_V5.collection}/{created['id']}"
    async with env.http.patch(
        env.oss(path),
        json=ops,
        headers={"Content-Type": "application/json-patch-query+json", **PARTNER_HEADER},
    ) as resp:
        status, answer = resp.status, await resp.json()
    got = (await env.sandbox.received())[-1]
    if got.method != "PATCH":
        return status, answer, []
    assert got.headers["Content-Type"] == "application/json-patch-query+json"
    received: list[Any] = json.loads(got.body)
    return status, answer, received


#: A number the customer gives in a patched note (the fixture's customer's mobile).
NEW_NUMBER = "+39 333 987 6543"


async def test_json_patch_query_note_is_scrubbed_at_the_sandbox(env: Env) -> None:
    """A TMF621 v5 json-patch-query PATCH replacing the note ``/note?id=77456`` with one that
    carries a phone number and the customer as author reaches the sandbox with its query path
    as sent, the number scrubbed from the text and the author pseudonymised, and the sandbox
    applies it to the selected note."""
    note = {
        "@type": "Note",
        "id": "77456",
        "author": "Giulia Esposito",
        "text": f"Richiamare al {NEW_NUMBER}",
    }
    ops = [{"op": "replace", "path": "/note?id=77456", "value": note}]
    status, patched, received = await patch_query(env, ops)
    assert status == 200, patched
    [sent] = received
    assert (sent["op"], sent["path"]) == ("replace", "/note?id=77456")
    assert sent["value"]["text"].startswith("Richiamare al")
    assert not has_number(sent["value"]["text"], NEW_NUMBER)
    assert "Esposito" not in sent["value"]["author"]
    [stored] = [n for n in patched["note"] if n["id"] == "77456"]
    assert stored["text"] == sent["value"]["text"]


async def test_json_patch_query_member_value_is_scrubbed_at_the_sandbox(env: Env) -> None:
    """A TMF621 v5 json-patch-query PATCH replacing only the text of the selected note
    (``/note?id=77456/text``, as the sandbox and TMF630 allow) with a phone number reaches the
    sandbox with the path as sent and the number scrubbed, and the sandbox applies it."""
    ops = [{"op": "replace", "path": "/note?id=77456/text", "value": f"Richiamare al {NEW_NUMBER}"}]
    status, patched, received = await patch_query(env, ops)
    assert status == 200, patched
    [sent] = received
    assert (sent["op"], sent["path"]) == ("replace", "/note?id=77456/text")
    assert sent["value"].startswith("Richiamare al")
    assert not has_number(sent["value"], NEW_NUMBER)
    [stored] = [n for n in patched["note"] if n["id"] == "77456"]
    assert stored["text"] == sent["value"]


# --- Notifications ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [TMF622_V4, TMF621_V5], ids=str)
async def test_hub_events_reach_the_oss_listener_restored(env: Env, case: TmfCase) -> None:
    """With a hub registered through civetta on the OSS's own listener, the sandbox's events
    about a resource created from a real fixture (its tokens and the partner's contact inside)
    are accepted by civetta (201/204 from the OSS listener back to the sandbox) and reach the
    OSS listener with the tokens turned back into the originals."""
    base = case.collection.rsplit("/", 1)[0]
    async with env.http.post(
        env.oss(base + "/hub"), json={"callback": env.listener_url}, headers=PARTNER_HEADER
    ) as resp:
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["callback"] == env.listener_url
    registered = json.loads((await env.sandbox.received())[0].body)["callback"]
    assert registered.startswith(env.incumbent(HUB_PREFIX))
    created = await post_tmf(env, case)
    deliveries = await poll(env.sandbox.deliveries, lambda d: len(d) >= 2, "2 deliveries")
    assert [d["status"] for d in deliveries[:2]] == [201, 204]
    events = await env.listener.wait_for("/listener/", 2)
    mapping = await env.proxy.state.vault.mapping(case.order_ref)
    assert mapping
    resource = case.collection.rsplit("/", 1)[1]
    for event in events:
        body = json.loads(event.body)
        assert body["event"][resource]["id"] == created["id"]
        assert not tokens_in(event.body, "json", mapping)
        assert set(mapping.values()) & set(texts_of(event.body, "json").strings)


# --- SOAP ---------------------------------------------------------------------------------------


def zeep_call(oss: ZeepOss, fixture: bytes) -> tuple[str, dict[str, Any], Any]:
    """The fixture as zeep call arguments: operation, payload members, ``hdr:header``."""
    root = parse_xml(fixture).getroot()
    body = root.find("{*}Body")
    header = root.find(f"{{*}}Header/{{{HDR_NS}}}header")
    assert body is not None and header is not None
    payload = body[0]
    element = oss.element(etree.QName(payload).text)
    # zeep ships py.typed but leaves its helpers unannotated.
    members = serialize_object(element.parse(payload, oss.client.wsdl.types), dict)  # type: ignore[no-untyped-call]
    header_element = oss.element(f"{{{HDR_NS}}}header")
    parsed = header_element.parse(header, oss.client.wsdl.types)
    header_members = serialize_object(parsed, dict)  # type: ignore[no-untyped-call]
    present = {k: v for k, v in header_members.items() if v is not None}
    return etree.QName(payload).localname, members, header_element(**present)


def reply_to(address: str) -> etree._Element:
    """A WS-Addressing ``ReplyTo`` block for ``address``."""
    block = etree.Element(f"{{{WSA_NS}}}ReplyTo")
    etree.SubElement(block, f"{{{WSA_NS}}}Address").text = address
    return block


def callback_path(version: Version) -> str:
    """Where the OSS takes the status callbacks of ``version``."""
    return CALLBACK_PATH + ("/soap12" if version is SOAP12 else "")


async def send_soap(env: Env, oss: ZeepOss, case: SoapCase, callbacks: str | None = None) -> Any:
    """Send the case's fixture with zeep, with a WS-Addressing ReplyTo on ``callbacks`` (by
    default civetta's incumbent-facing listener)."""
    operation, members, header = zeep_call(oss, case.body)
    assert operation == case.operation
    address = callbacks or env.incumbent(callback_path(oss.version))
    return await oss.call(operation, **members, _soapheaders=[header, reply_to(address)])


@pytest.mark.parametrize("version", [SOAP11, SOAP12], ids=str)
@pytest.mark.parametrize("case", SOAP_CASES, ids=str)
async def test_soap_fixture_reaches_the_sandbox_minimised_and_valid(
    env: Env, make_oss: ZeepFactory, case: SoapCase, version: Version
) -> None:
    """A real SOAP order or ticket, sent by zeep with WS-Addressing, reaches the sandbox with
    none of the end customer's values (structured, in notes and CDATA, in extensions and
    attachments), every operational value intact and the partner's contact in the referenti;
    the sandbox accepts it (XSD and codice fiscale check character) and the action and
    WS-Addressing blocks arrive as zeep wrote them."""
    values = planted(case.body, "xml", case.keep)
    oss = make_oss(env, version, WsAddressingPlugin(), partner=PARTNER.id)
    result = await send_soap(env, oss, case)
    assert result.body.stato == case.accepted
    [sent] = oss.wire
    assert found(values, haystack(sent.request_body, "xml")) == values.every()
    [got] = await env.sandbox.received()
    assert_minimised(got.body, "xml", values, case.keep)
    root = parse_xml(got.body).getroot()
    contacts = root.findall(f".//{{{ORD_NS}}}referenti/{{{ORD_NS}}}referente")
    assert contacts
    for contact in contacts:
        assert contact.findtext(f"{{{ORD_NS}}}nominativo") == PARTNER.name
        assert contact.findtext(f"{{{ORD_NS}}}telefono") == PARTNER.phone
    lowered = {k.lower(): v for k, v in got.headers.items()}
    action = lowered["soapaction"] if version is SOAP11 else lowered["content-type"]
    assert ACTION_PREFIX + case.operation in action
    sent_header = parse_xml(sent.request_body).getroot().find(f"{{{version.envelope_ns}}}Header")
    got_header = root.find(f"{{{version.envelope_ns}}}Header")
    assert sent_header is not None and got_header is not None
    assert [etree.tostring(b) for b in got_header] == [etree.tostring(b) for b in sent_header]


@pytest.mark.parametrize("version", [SOAP11, SOAP12], ids=str)
async def test_notify_order_status_with_referenti_contattati_reaches_the_oss(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """The sandbox's NotifyOrderStatus callbacks about a real activation order (ACCETTATO, then
    SOSPESO with the referenti the technician tried) are accepted by civetta and reach the OSS
    listener in the order's SOAP version, with the contacts as civetta sent them (the
    partner's), and the OSS's acknowledgement goes back to the sandbox."""
    # A recording hop in front of civetta's listener sees each callback's answer at once.
    async with started_tap(env.proxy.incumbent_url) as (tap_url, tap):
        oss = make_oss(env, version, WsAddressingPlugin(), partner=PARTNER.id)
        await send_soap(env, oss, ACTIVATION_12, tap_url + callback_path(version))
        crossed = await tap.wait_for(2)
    assert [c.status for c in crossed] == [200, 200]
    delivered = env.listener.under(CALLBACK_PATH)
    states = []
    for notification in delivered:
        assert notification.path == callback_path(version)
        root = parse_xml(notification.body).getroot()
        assert root.tag == f"{{{version.envelope_ns}}}Envelope"
        states.append(root.findtext(f".//{{{ORD_NS}}}stato"))
    assert states == ["ACCETTATO", "SOSPESO"]
    suspended = parse_xml(delivered[1].body).getroot()
    tried = suspended.findall(f".//{{{ORD_NS}}}referentiContattati/{{{ORD_NS}}}referente")
    assert len(tried) == 3
    for contact in tried:
        assert contact.findtext(f"{{{ORD_NS}}}nominativo") == PARTNER.name
        assert contact.findtext(f"{{{ORD_NS}}}telefono") == PARTNER.phone


# --- Refusals -----------------------------------------------------------------------------------


def with_uncovered_phone(case: TmfCase) -> tuple[bytes, str]:
    """The case's fixture plus a phone number where no rule of its policy looks; the path."""
    document = json.loads(case.body)
    if case is TMF621_V4:
        # A v5-style characteristic in a v4 ticket: no TMF621 v4 rule covers it.
        document["troubleTicketCharacteristic"] = [
            {"name": "recapitoUrgente", "valueType": "string", "value": "347 123 4567"}
        ]
        return json.dumps(document).encode(), "$.troubleTicketCharacteristic[0].value"
    document["billingAccount"] = {"id": "BA-884213", "name": "Fattura a 347 123 4567"}
    return json.dumps(document).encode(), "$.billingAccount.name"


@pytest.mark.parametrize("case", [TMF621_V4, TMF622_V4], ids=str)
async def test_egress_guard_blocks_a_phone_no_rule_covers(env: Env, case: TmfCase) -> None:
    """A real fixture with a phone number in a field no rule covers is refused with civetta's
    422 CIVETTA-LEAK naming the path but not the value; the sandbox receives nothing and the
    audit log holds a ``block`` leaf naming the path (and no value)."""
    body, where = with_uncovered_phone(case)
    async with env.http.post(
        env.oss(case.collection),
        data=body,
        headers={"Content-Type": JSON_UTF8, **PARTNER_HEADER},
    ) as resp:
        assert resp.status == 422
        assert resp.headers[ERROR_HEADER] == "CIVETTA-LEAK"
        error = await resp.json()
    assert error["code"] == "CIVETTA-LEAK"
    assert where in error["message"]
    values = planted(body, "json", case.keep)
    assert found(values, json.dumps(error)) == []
    assert not has_number(json.dumps(error), "347 123 4567")
    assert await env.sandbox.received() == []
    leaves = await audit_leaves(env)
    [block] = leaf_json(leaves, "block")
    assert block["code"] == "CIVETTA-LEAK"
    assert where in block["paths"]
    assert leaf_json(leaves, "intent") == []
    assert found(values, "\n".join(leaf.decode() for leaf in message_leaves(leaves))) == []


@pytest.mark.parametrize("partner", ["nope", None], ids=["unknown", "missing"])
async def test_unknown_or_missing_partner_is_refused_before_the_sandbox(
    env: Env, partner: str | None
) -> None:
    """An order naming a partner the directory does not know, or none, is refused with
    civetta's 403 CIVETTA-PARTNER and nothing reaches the sandbox."""
    headers = {"Content-Type": JSON_UTF8}
    if partner is not None:
        headers["X-Partner-Id"] = partner
    async with env.http.post(
        env.oss(TMF622_V4.collection), data=TMF622_V4.body, headers=headers
    ) as resp:
        assert resp.status == 403
        assert resp.headers[ERROR_HEADER] == "CIVETTA-PARTNER"
    assert await env.sandbox.received() == []


async def test_a_message_no_policy_covers_is_refused_before_the_sandbox(env: Env) -> None:
    """A TMF622 request no shipped policy covers (a cancelProductOrder create) and a SOAP
    operation none covers get civetta's 403 CIVETTA-NO-POLICY (TMF Error, SOAP fault) and
    nothing reaches the sandbox."""
    cancel = {"productOrder": {"id": "42"}, "cancellationReason": "Cliente irreperibile"}
    async with env.http.post(
        env.oss("/tmf-api/productOrderingManagement/v4/cancelProductOrder"),
        json=cancel,
        headers=PARTNER_HEADER,
    ) as resp:
        assert resp.status == 403
        assert resp.headers[ERROR_HEADER] == "CIVETTA-NO-POLICY"
        assert (await resp.json())["code"] == "CIVETTA-NO-POLICY"
    envelope = (
        f'<e:Envelope xmlns:e="{SOAP11.envelope_ns}"><e:Body>'
        f'<o:CancelOrder xmlns:o="{ORD_NS}"><o:codiceOrdineOLO>FV-1</o:codiceOrdineOLO>'
        "</o:CancelOrder></e:Body></e:Envelope>"
    )
    async with env.http.post(
        env.oss(SOAP11.path),
        data=envelope.encode(),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{ACTION_PREFIX}CancelOrder"',
            **PARTNER_HEADER,
        },
    ) as resp:
        assert resp.status == 403
        assert resp.headers[ERROR_HEADER] == "CIVETTA-NO-POLICY"
        fault = parse_xml(await resp.read()).getroot()
    error = fault.find(f".//{{{CIVETTA_NS}}}error")
    assert error is not None and error.get("code") == "CIVETTA-NO-POLICY"
    assert await env.sandbox.received() == []


# --- The audit trail ----------------------------------------------------------------------------


async def forward_real_orders(env: Env, make_oss: ZeepFactory) -> list[Planted]:
    """Forward the TMF622 v4, TMF641 and SOAP 1.1 activation fixtures; their planted values."""
    await post_tmf(env, TMF622_V4)
    await post_tmf(env, TMF641_V4)
    oss = make_oss(env, SOAP11, partner=PARTNER.id)
    operation, members, header = zeep_call(oss, ACTIVATION_11.body)
    await oss.call(operation, **members, _soapheaders=[header])
    return [TMF622_V4.planted, TMF641_V4.planted, planted(ACTIVATION_11.body, "xml")]


async def test_intents_record_field_decisions_and_no_planted_value(
    env: Env, make_oss: ZeepFactory
) -> None:
    """The audit intents of forwarded real orders (TMF622 v4, TMF641 v4, a SOAP 1.1
    activation) name the partner and list one field record per decision (path, rule, action,
    a 32-byte commitment; a token id for tokens), and no leaf about a message (intent,
    outcome) holds any value planted in those fixtures, kept values included."""
    values = await forward_real_orders(env, make_oss)
    leaves = await audit_leaves(env)
    intents = {leaf["route"]: leaf for leaf in leaf_json(leaves, "intent")}
    assert set(intents) == {"tmf622-v4", "tmf641-v4", "wholesale-soap"}
    assert len(leaf_json(leaves, "outcome")) == 3
    for intent in intents.values():
        assert intent["partner"] == PARTNER.id
        fields = intent["fields"]
        assert fields
        for record in fields:
            assert {"path", "rule", "action", "commitment"} <= set(record)
            assert len(base64.b64decode(record["commitment"], validate=True)) == 32
        assert {"replace", "tokenise"} <= {record["action"] for record in fields}
        assert all(r.get("token_id") for r in fields if r["action"] == "tokenise")
    tmf_fields = {(r["path"], r["action"]) for r in intents["tmf622-v4"]["fields"]}
    assert ("$.notificationContact", "replace") in tmf_fields
    text = "\n".join(leaf.decode("utf-8") for leaf in message_leaves(leaves))
    for case_values in values:
        assert found(case_values, text) == []


async def test_no_audit_leaf_holds_a_planted_value(env: Env, make_oss: ZeepFactory) -> None:
    """After forwarding real orders, no leaf of the audit log at all (policy leaves included:
    they carry the text of every policy in force) holds a value planted in those fixtures."""
    values = await forward_real_orders(env, make_oss)
    text = "\n".join(leaf.decode("utf-8") for leaf in await audit_leaves(env))
    for case_values in values:
        assert found(case_values, text) == []
