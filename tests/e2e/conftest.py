"""The end-to-end set-up: the sandbox incumbent, a test OSS listener, and the real proxy between.

::

    OSS client ──► proxy oss listener ──► sandbox (TMF REST, SOAP)          outbound routes
    test OSS listener ◄── proxy incumbent listener ◄── sandbox (events, callbacks)   inbound

:class:`Tap` is a recording hop that the tests put on one leg when they need the exact bytes
that crossed it (what the sandbox sent in a callback, what it answered to an order): the sandbox
keeps what it *received*, not what it sent.

Two kinds of set-up. By default the proxy runs the permissive test policies (every message
covered, no rules, egress guard on): tests of the transparent envelope send **personal-data-free
variants** of the fixtures (:func:`pii_free_tmf`, :func:`pii_free_soap_order`), whose only contact
is the partner's own (``policies/partners.yaml``), declared as an operational contact so that the
guard lets it through. ``make_env(policies=SHIPPED_POLICIES)`` runs the shipped policies instead,
for tests that send the real fixtures and check what the sandbox received.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import requests
import zeep
from aiohttp import web
from lxml import etree
from multidict import CIMultiDict, CIMultiDictProxy
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from proxy.config import Direction, Listener, MinimisationConfig, Protocol, Route
from proxy.engine import Partner
from proxy.formats.soap import parse_xml
from proxy.partners import load_partners
from proxy.testing import (
    REPO,
    StartedProxy,
    config,
    route,
    started_app,
    started_proxy,
    started_sandbox,
)

T = TypeVar("T")
FIXTURES = REPO / "tests" / "fixtures"
#: The sandbox's SOAP endpoints, and where the test OSS takes the status callbacks.
SOAP11_PATH = "/ws/wholesale/v1"
SOAP12_PATH = "/ws/wholesale/v1/soap12"
CALLBACK_PATH = "/ws/olo/notifications"
#: How long a test waits for something asynchronous (a notification) before failing.
WAIT_S = 5.0
#: The SOAP route's body limit (a real order is 3-5 KB), small so that 413 is cheap to provoke.
SOAP_MAX_BODY = 32 * 1024
#: Headers an HTTP hop sets for itself; a recording hop neither copies nor compares them.
FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})

ORD_NS = "http://wholesale.example.it/ordering/v1"
HDR_NS = "http://wholesale.example.it/header/v1"
WSA_NS = "http://www.w3.org/2005/08/addressing"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
ACTION_PREFIX = "urn:wholesale:ordering:v1:"

#: The policies shipped in ``policies/``, and the permissive ones the default set-up runs.
SHIPPED_POLICIES = REPO / "policies"
OPEN_POLICIES = FIXTURES / "policy" / "open"
PARTNERS_FILE = REPO / "policies" / "partners.yaml"


def partner(partner_id: str) -> Partner:
    """A partner of the shipped directory (E.164 phone, as the proxy writes it)."""
    found = load_partners(PARTNERS_FILE).get(partner_id)
    assert found is not None, partner_id
    return found


#: The installer on whose behalf the tests order (``X-Partner-Id``).
PARTNER = partner("installer-roma-01")
#: The partner's own line: its phone number in national form (a DN the sandbox accepts).
PARTNER_LINE = PARTNER.phone.removeprefix("+39")
#: The partner's partita IVA (valid check digit): the end customer of a personal-data-free order.
PARTNER_VAT = "02157391000"
#: What the default set-up lets the egress guard pass: the partner's own identifiers only.
OPERATIONAL = (PARTNER.phone, PARTNER.email, PARTNER_VAT)


def read_fixture(*parts: str) -> bytes:
    """A fixture file, as bytes on disk."""
    return FIXTURES.joinpath(*parts).read_bytes()


def _partner_contacts_v4() -> list[dict[str, Any]]:
    return [
        {"mediumType": "phone", "characteristic": {"phoneNumber": PARTNER.phone}},
        {"mediumType": "email", "characteristic": {"emailAddress": PARTNER.email}},
    ]


def _without(items: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [item for item in items if item.get("name") not in names]


def _tmf622_v4_order(order: dict[str, Any]) -> None:
    order["notificationContact"] = PARTNER.email
    order["relatedParty"][0]["name"] = PARTNER.name
    del order["note"]
    item = order["productOrderItem"][0]
    item["appointment"]["description"] = "Sopralluogo concordato, fascia 9-13"
    product = item["product"]
    chars = _without(
        product["productCharacteristic"], "numeroDaPortare", "codiceFiscaleIntestatario"
    )
    contact = next(c for c in chars if c["name"] == "referenteTecnico")
    contact["value"] = {
        "nominativo": PARTNER.name,
        "telefono": PARTNER.phone,
        "email": PARTNER.email,
        "fasciaReperibilita": "18:00-21:00",
    }
    product["productCharacteristic"] = chars
    holder = product["relatedParty"][0]
    holder["name"] = PARTNER.name
    holder["contactMedium"] = _partner_contacts_v4()
    modem = item["productOrderItem"][0]["product"]["productCharacteristic"][0]
    modem["value"] = "Consegnare in portineria"


def _tmf622_v5_order(order: dict[str, Any]) -> None:
    order["notificationContact"] = PARTNER.email
    order["relatedParty"][0]["partyOrPartyRole"]["name"] = PARTNER.name
    del order["note"]
    item = order["productOrderItem"][0]
    item["appointment"]["description"] = "Tecnico atteso dalle 14 alle 18"
    del item["note"]
    product = item["product"]
    second = next(c for c in product["productCharacteristic"] if c["name"] == "referenteSecondario")
    second["value"] = {
        "nominativo": PARTNER.name,
        "recapito": PARTNER.phone,
        "relazione": "installatore",
    }
    # The line holder (an inline Individual) and the site contact go: no person is named.
    del product["relatedParty"]
    del product["place"][0]["place"]["relatedParty"]


def _tmf641_v4_order(order: dict[str, Any]) -> None:
    order["notificationContact"] = PARTNER.email
    order["relatedParty"][0]["name"] = PARTNER.name
    del order["note"]
    item = order["serviceOrderItem"][0]
    item["appointment"]["description"] = "Intervento al terzo piano senza ascensore"
    service = item["service"]
    alternative = next(
        c for c in service["serviceCharacteristic"] if c["name"] == "recapitoAlternativo"
    )
    alternative["value"] = {"nome": PARTNER.name, "telefono": PARTNER.phone, "email": PARTNER.email}
    service["feature"][0]["featureCharacteristic"][0]["value"] = PARTNER.name
    holder = service["relatedParty"][0]
    holder["name"] = PARTNER.name
    holder["contactMedium"] = _partner_contacts_v4()
    del service["note"]


def _tmf621_v4_ticket(ticket: dict[str, Any]) -> None:
    ticket["description"] = "Dal 03/03 la linea FTTH è assente (LED LOS rosso)."
    service = ticket["relatedEntity"][0]
    service["id"], service["name"] = f"SRV-FTTH-{PARTNER_LINE}", f"Accesso FTTH {PARTNER_LINE}"
    ticket["relatedParty"][0]["name"] = PARTNER.name
    ticket["relatedParty"][1]["contactMedium"] = _partner_contacts_v4()[:1]
    del ticket["note"]
    ticket["attachment"][0]["description"] = "Foto dell'ONT con LED LOS acceso"


def _tmf621_v5_ticket(ticket: dict[str, Any]) -> None:
    ticket["description"] = "Velocità misurata 80 Mbit/s su profilo 2500/1000."
    entity = ticket["relatedEntity"][0]["entity"]
    entity["id"], entity["name"] = f"SRV-FTTH-{PARTNER_LINE}", f"Accesso FTTH {PARTNER_LINE}"
    ticket["relatedParty"][0]["partyOrPartyRole"]["name"] = PARTNER.name
    # The note stays (patches append to it), written by the OLO's NOC about the line only.
    ticket["note"][0]["author"] = "NOC OLO"
    ticket["note"][0]["text"] = "Profilo verificato da remoto, nessun allarme sull'OLT"
    chars = _without(ticket["troubleTicketCharacteristic"], "codiceFiscaleIntestatario")
    for char in chars:
        if char["name"] == "numeroLinea":
            char["value"] = PARTNER_LINE
        elif char["name"] == "disponibilitaIntervento":
            char["value"] = {
                "giorni": "sabato",
                "fascia": "9-13",
                "referente": PARTNER.name,
                "telefono": PARTNER.phone,
            }
    ticket["troubleTicketCharacteristic"] = chars


def _tmf622_v4_merge_patch(patch: dict[str, Any]) -> None:
    patch["notificationContact"] = PARTNER.email
    patch["note"][0]["author"] = "back office OLO"
    patch["note"][0]["text"] = (
        "Nuova data concordata con l'installatore, disponibile tutto il giorno"
    )


def _tmf621_v5_json_patch_note(ops: list[dict[str, Any]]) -> None:
    note = ops[0]["value"]
    note["author"] = "NOC OLO"
    note["text"] = "L'installatore conferma l'accesso al locale tecnico dopo le 17"


_PII_FREE: dict[str, Callable[[Any], None]] = {
    "tmf622_v4_order.json": _tmf622_v4_order,
    "tmf622_v5_order.json": _tmf622_v5_order,
    "tmf641_v4_order.json": _tmf641_v4_order,
    "tmf621_v4_ticket.json": _tmf621_v4_ticket,
    "tmf621_v5_ticket.json": _tmf621_v5_ticket,
    "tmf622_v4_merge_patch.json": _tmf622_v4_merge_patch,
    "tmf621_v5_json_patch_note.json": _tmf621_v5_json_patch_note,
}
#: The TMF fixtures that have a personal-data-free variant.
PII_FREE_FIXTURES = tuple(sorted(_PII_FREE))


def pii_free_tmf_document(fixture: str) -> Any:
    """The TMF fixture ``fixture`` with every personal value replaced by the partner's or
    removed; everything else (items, characteristics, places, dates, codes) as in the fixture."""
    document = json.loads(read_fixture("tmf", fixture))
    _PII_FREE[fixture](document)
    return document


def pii_free_tmf(fixture: str) -> bytes:
    """:func:`pii_free_tmf_document` as the OSS sends it (UTF-8, non-ASCII kept)."""
    return json.dumps(pii_free_tmf_document(fixture), ensure_ascii=False, indent=2).encode()


def pii_free_soap_order() -> bytes:
    """``activation_order_11.xml`` without personal data: the partner's company is the customer
    (partita IVA) and the only contact, no notes, attachments, extensions or number to port."""
    tree = parse_xml(read_fixture("soap", "activation_order_11.xml"))
    order = tree.getroot().find(f".//{{{ORD_NS}}}SubmitActivationOrder")
    assert order is not None

    def child(name: str) -> etree._Element:
        found = order.find(f"{{{ORD_NS}}}{name}")
        assert found is not None, name
        return found

    def element(name: str, text: str) -> etree._Element:
        node = etree.Element(f"{{{ORD_NS}}}{name}")
        node.text = text
        return node

    for name in ("numeroDaPortare", "quartoReferente", "note", "allegato", "estensioni"):
        order.remove(child(name))
    customer = child("clienteFinale")
    customer.clear()
    company = etree.SubElement(customer, f"{{{ORD_NS}}}personaGiuridica")
    company.extend([element("ragioneSociale", PARTNER.name), element("partitaIva", PARTNER_VAT)])
    contacts = child("referenti")
    contacts.clear()
    contact = etree.SubElement(contacts, f"{{{ORD_NS}}}referente")
    contact.extend(
        [
            element("nominativo", PARTNER.name),
            element("telefono", PARTNER.phone),
            element("email", PARTNER.email),
        ]
    )
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def free_port() -> int:
    """A loopback port nobody listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Seen:
    """One HTTP request as a test server or hop saw it, and what was answered."""

    method: str
    raw_path: str
    headers: CIMultiDictProxy[str]
    body: bytes
    status: int = 0
    answer_headers: CIMultiDictProxy[str] = field(
        default_factory=lambda: CIMultiDictProxy(CIMultiDict())
    )
    answer: bytes = b""

    @property
    def path(self) -> str:
        """The raw path without the query string."""
        return self.raw_path.split("?", 1)[0]


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """``headers`` without the fields each HTTP hop sets for itself."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in FRAMING)


async def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds; fail the test after :data:`WAIT_S`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"still waiting after {WAIT_S} s for {what}")
        await asyncio.sleep(0.01)


async def poll(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """Fetch until ``done`` holds for the result; return it, or fail after :data:`WAIT_S`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not done(result := await fetch()):
        if loop.time() > deadline:
            pytest.fail(f"still waiting after {WAIT_S} s for {what}")
        await asyncio.sleep(0.01)
    return result


class OssListener:
    """The operator's OSS on the notification side: records every request and acknowledges it.

    TMF events (``/.../listener/{eventName}``) get 204 for state and status changes and 201 for
    every other event, so a test can tell which answer went back; SOAP callbacks get a
    ``NotifyOrderStatusResponse`` in the SOAP version they came in. Anything else is a 404.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    @staticmethod
    def tmf_status(event_name: str) -> int:
        """The status the listener answers for an event name."""
        return 204 if event_name.endswith(("StateChangeEvent", "StatusChangeEvent")) else 201

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.rel_url.raw_path
        headers: dict[str, str] = {}
        answer = b""
        if "/listener/" in path:
            status = self.tmf_status(path.rsplit("/", 1)[1])
        elif path.startswith(CALLBACK_PATH) and request.method == "POST":
            soap12 = request.content_type == "application/soap+xml"
            status, answer = 200, soap_ack(soap12)
            headers["Content-Type"] = (
                "application/soap+xml; charset=utf-8" if soap12 else "text/xml; charset=utf-8"
            )
        else:
            status = 404
        self.seen.append(
            Seen(
                request.method,
                request.rel_url.raw_path_qs,
                request.headers,
                body,
                status,
                CIMultiDictProxy(CIMultiDict(headers)),
                answer,
            )
        )
        return web.Response(status=status, body=answer or None, headers=headers)

    def under(self, prefix: str) -> list[Seen]:
        """The requests whose path starts with ``prefix``, oldest first."""
        return [s for s in self.seen if s.path.startswith(prefix)]

    async def wait_for(self, prefix: str, count: int) -> list[Seen]:
        """Wait until ``count`` requests arrived under ``prefix``; return them."""
        await wait_until(lambda: len(self.under(prefix)) >= count, f"{count} requests at {prefix}")
        return self.under(prefix)


def soap_ack(soap12: bool) -> bytes:
    """The OSS's answer to a ``NotifyOrderStatus`` callback."""
    env = SOAP12_NS if soap12 else SOAP11_NS
    return (
        f'<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="{env}"><e:Body>'
        f'<o:NotifyOrderStatusResponse xmlns:o="{ORD_NS}"><o:codiceOrdineOLO>ACK</o:codiceOrdineOLO>'
        "<o:esito>OK</o:esito></o:NotifyOrderStatusResponse></e:Body></e:Envelope>"
    ).encode()


class Tap:
    """A recording HTTP hop: forwards each request to ``target`` and keeps both directions.

    It adds nothing and decodes nothing (no automatic headers, no decompression), so what it
    records is what crossed the wire on its leg.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: list[Seen] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.app.cleanup_ctx.append(self._session)
        self._client: aiohttp.ClientSession | None = None

    async def _session(self, app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=WAIT_S),
        ) as session:
            self._client = session
            yield

    async def _handle(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        async with self._client.request(
            request.method,
            self.target + request.rel_url.raw_path_qs,
            headers=end_to_end(request.headers),
            data=body,
            allow_redirects=False,
        ) as resp:
            answer = await resp.read()
            self.seen.append(
                Seen(
                    request.method,
                    request.rel_url.raw_path_qs,
                    request.headers,
                    body,
                    resp.status,
                    resp.headers,
                    answer,
                )
            )
            return web.Response(status=resp.status, body=answer, headers=end_to_end(resp.headers))

    async def wait_for(self, count: int) -> list[Seen]:
        """Wait until ``count`` exchanges crossed the hop; return them."""
        await wait_until(lambda: len(self.seen) >= count, f"{count} exchanges through the tap")
        return list(self.seen)


@asynccontextmanager
async def started_tap(target: str) -> AsyncIterator[tuple[str, Tap]]:
    """A :class:`Tap` to ``target`` on a free port: ``(base_url, tap)``."""
    tap = Tap(target)
    async with started_app(tap.app, auto_decompress=False) as url:
        yield url, tap


@dataclass(frozen=True, slots=True)
class Received:
    """One request the sandbox recorded (``GET /_sandbox/received``)."""

    method: str
    path: str
    query_string: str
    headers: CIMultiDict[str]
    body: bytes


class Sandbox:
    """The sandbox incumbent's control endpoints, reached directly (never through the proxy)."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self._http = http

    async def received(self) -> list[Received]:
        """Every request the sandbox received so far, oldest first."""
        async with self._http.get(self.url + "/_sandbox/received") as resp:
            assert resp.status == 200
            items = (await resp.json())["received"]
        return [
            Received(
                item["method"],
                item["path"],
                item["query_string"],
                CIMultiDict((k, v) for k, v in item["headers"]),
                base64.b64decode(item["body_b64"]),
            )
            for item in items
        ]

    async def script(self, **script: Any) -> None:
        """Make the sandbox misbehave (``path_prefix``, ``delay_s``, ``status`` ...)."""
        async with self._http.post(self.url + "/_sandbox/script", json=script) as resp:
            assert resp.status == 204

    async def deliveries(self) -> list[dict[str, Any]]:
        """The TMF notifications the sandbox posted, with the status it got back."""
        async with self._http.get(self.url + "/_sandbox/tmf/deliveries") as resp:
            assert resp.status == 200
            found: list[dict[str, Any]] = (await resp.json())["deliveries"]
            return found


@dataclass(slots=True)
class Env:
    """Everything a test drives: the proxy, the sandbox, the OSS listener, an HTTP client."""

    proxy: StartedProxy
    sandbox: Sandbox
    listener: OssListener
    listener_url: str
    #: A plain client session for the test's own requests (closed after the test).
    http: aiohttp.ClientSession
    #: The recording hop between the proxy and the sandbox, when the test asked for one.
    upstream_tap: Tap | None = None

    def oss(self, path: str) -> str:
        """A URL on the proxy's OSS-facing listener."""
        return self.proxy.oss_url + path

    def incumbent(self, path: str) -> str:
        """A URL on the proxy's incumbent-facing listener."""
        return self.proxy.incumbent_url + path


def routes(incumbent: str, listener: str, soap_upstream: str, soap_total_s: float) -> list[Route]:
    """The routes of config.example.yaml, pointed at the incumbent and the test OSS listener."""
    tmf = [
        route(name, prefix, incumbent)
        for name, prefix in (
            ("tmf622-v4", "/tmf-api/productOrderingManagement/v4/"),
            ("tmf622-v5", "/tmf-api/productOrderingManagement/v5/"),
            ("tmf641-v4", "/tmf-api/serviceOrdering/v4/"),
            ("tmf621-v4", "/tmf-api/troubleTicket/v4/"),
            ("tmf621-v5", "/tmf-api/troubleTicket/v5/"),
        )
    ]
    soap = replace(
        route(
            "wholesale-soap",
            SOAP11_PATH,
            soap_upstream,
            protocol=Protocol.SOAP,
            methods=["POST"],
            total_s=soap_total_s,
        ),
        max_body_bytes=SOAP_MAX_BODY,
    )
    inbound = [
        route(
            "tmf-listener", "/listener/", listener, direction=Direction.INBOUND, methods=["POST"]
        ),
        route(
            "soap-callbacks",
            CALLBACK_PATH,
            listener,
            protocol=Protocol.SOAP,
            direction=Direction.INBOUND,
            methods=["POST"],
        ),
    ]
    return [*tmf, soap, *inbound]


EnvFactory = Callable[..., AbstractAsyncContextManager[Env]]


@pytest.fixture
def make_env(tmp_path: Path) -> EnvFactory:
    """Start an :class:`Env`; options: ``notify_delay_s``, ``soap_total_s``, ``soap_upstream``
    (a URL instead of the sandbox for the SOAP route), ``tap_upstream`` (a :class:`Tap` between
    the proxy and the sandbox on every outbound route) and ``policies`` (a policy directory
    instead of the permissive test policies; only these let :data:`OPERATIONAL` through).

    The incumbent-facing listener has a public URL, so hub registrations are rewritten to come
    back through the proxy (``/_civetta/hub/{id}``)."""

    @asynccontextmanager
    async def start(
        *,
        notify_delay_s: float = 0.0,
        soap_total_s: float = 5.0,
        soap_upstream: str | None = None,
        tap_upstream: bool = False,
        policies: Path = OPEN_POLICIES,
    ) -> AsyncIterator[Env]:
        listener = OssListener()
        async with AsyncExitStack() as stack:
            sandbox_url, _ = await stack.enter_async_context(
                started_sandbox(notify_delay_s=notify_delay_s)
            )
            listener_url = await stack.enter_async_context(started_app(listener.app))
            tap: Tap | None = None
            incumbent = sandbox_url
            if tap_upstream:
                incumbent, tap = await stack.enter_async_context(started_tap(sandbox_url))
            port = free_port()
            cfg = replace(
                config(
                    tmp_path,
                    routes(incumbent, listener_url, soap_upstream or incumbent, soap_total_s),
                ),
                incumbent=Listener(
                    "incumbent", "127.0.0.1", port, public_url=f"http://127.0.0.1:{port}"
                ),
                minimisation=MinimisationConfig(
                    policies_dir=policies,
                    partners_file=PARTNERS_FILE,
                    operational_contacts=OPERATIONAL if policies == OPEN_POLICIES else (),
                ),
            )
            proxy = await stack.enter_async_context(started_proxy(cfg))
            http = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S))
            )
            yield Env(proxy, Sandbox(sandbox_url, http), listener, listener_url, http, tap)

    return start


@pytest.fixture
async def env(make_env: EnvFactory) -> AsyncIterator[Env]:
    """The default set-up: no notification delay, generous timeouts."""
    async with make_env() as started:
        yield started


# --- The SOAP OSS: zeep, built from the WSDL in schemas/ -----------------------------------

WSDL = REPO / "schemas" / "soap" / "wholesale-ordering-v1.wsdl"
WSDL_NS = "http://wholesale.example.it/ordering/v1/wsdl"
CIVETTA_NS = "urn:civetta:proxy"


@dataclass(frozen=True, slots=True)
class Version:
    """What a test needs to know about one SOAP version."""

    name: str
    binding: str
    path: str
    envelope_ns: str
    media_type: str
    #: The HTTP status and zeep's fault code of the incumbent's client fault.
    client_fault: tuple[int, str]
    #: zeep's fault code of civetta's client and server faults.
    civetta_codes: tuple[str, str]

    def __str__(self) -> str:
        """The test id."""
        return self.name


SOAP11 = Version(
    "soap11",
    f"{{{WSDL_NS}}}WholesaleOrderingSoap11Binding",
    SOAP11_PATH,
    SOAP11_NS,
    "text/xml",
    (500, "soap:Client"),
    ("soap:Client", "soap:Server"),
)
SOAP12 = Version(
    "soap12",
    f"{{{WSDL_NS}}}WholesaleOrderingSoap12Binding",
    SOAP12_PATH,
    SOAP12_NS,
    "application/soap+xml",
    (400, "env:Sender"),
    ("env:Sender", "env:Receiver"),
)


def soap_header(msg_name: str, correlation_id: str, activity: str = "ordering") -> dict[str, Any]:
    """zeep's value of the ``hdr:header`` part."""
    return {
        "activityName": activity,
        "msgName": msg_name,
        "msgType": "REQUEST",
        "senderURI": "urn:olo:fibraveloce:oss",
        "destinationURI": "urn:wholesale:incumbent",
        "correlationId": correlation_id,
        "timestamp": "2025-03-14T10:22:31+01:00",
    }


@dataclass(frozen=True, slots=True)
class Wire:
    """One HTTP exchange of the zeep client, as ``requests`` put it on the wire."""

    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


@dataclass
class ZeepOss:
    """The OSS: a synchronous zeep client bound to one SOAP port, pointed at the proxy."""

    version: Version
    client: Any
    service: Any
    history: HistoryPlugin
    wire: list[Wire] = field(default_factory=list)

    async def call(self, operation: str, **kwargs: Any) -> Any:
        """Run one zeep call in a worker thread (zeep is synchronous)."""
        return await asyncio.to_thread(getattr(self.service, operation), **kwargs)

    async def fault(self, operation: str, **kwargs: Any) -> Fault:
        """Run a call that must end in a SOAP fault; return the fault."""
        with pytest.raises(Fault) as caught:
            await self.call(operation, **kwargs)
        return caught.value

    def header(self, msg_name: str, correlation_id: str, activity: str = "ordering") -> Any:
        """The ``hdr:header`` element, for calls that add other header blocks next to it."""
        element = self.client.get_element(f"{{{HDR_NS}}}header")
        return element(**soap_header(msg_name, correlation_id, activity))

    def element(self, name: str) -> Any:
        """A global element of the WSDL's schemas, by ``{namespace}local-name``."""
        return self.client.get_element(name)


@pytest.fixture
def sessions() -> Iterator[list[requests.Session]]:
    """The HTTP sessions of the zeep clients, closed after the test."""
    opened: list[requests.Session] = []
    yield opened
    for session in opened:
        session.close()


ZeepFactory = Callable[..., ZeepOss]


@pytest.fixture
def make_oss(sessions: list[requests.Session]) -> ZeepFactory:
    """Build a zeep OSS for one SOAP version whose address is the proxy's OSS listener;
    ``partner`` names the partner of its messages in ``X-Partner-Id``."""

    def build(env: Env, version: Version, *plugins: Any, partner: str | None = None) -> ZeepOss:
        session = requests.Session()
        session.trust_env = False  # local servers: no proxy from the environment
        if partner is not None:
            session.headers["X-Partner-Id"] = partner
        sessions.append(session)
        # zeep ships py.typed but leaves these constructors unannotated.
        history = HistoryPlugin()  # type: ignore[no-untyped-call]
        transport = Transport(session=session, operation_timeout=10)  # type: ignore[no-untyped-call]
        client = zeep.Client(str(WSDL), transport=transport, plugins=[history, *plugins])  # type: ignore[no-untyped-call]
        service = client.create_service(version.binding, env.oss(version.path))  # type: ignore[no-untyped-call]
        oss = ZeepOss(version, client, service, history)

        def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            body = response.request.body
            assert isinstance(body, bytes)
            oss.wire.append(
                Wire(
                    dict(response.request.headers),
                    body,
                    response.status_code,
                    dict(response.headers),
                    response.content,
                )
            )

        session.hooks["response"].append(record)
        return oss

    return build
