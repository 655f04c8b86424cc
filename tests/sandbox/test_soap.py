"""The sandbox incumbent's SOAP service, driven by zeep as the OLO's OSS would drive it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree
from pytest_aiohttp import AiohttpClient, AiohttpServer
from zeep import xsd
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin

from proxy.formats.soap import parse_xml
from proxy.sandbox.app import SandboxSettings, build_app
from proxy.sandbox.soap import HEADER_XSD, ORDERING_XSD, PATH_SOAP11, PATH_SOAP12
from proxy.sandbox.soap_messages import (
    ACTION_PREFIX,
    HDR_NS,
    ORD_NS,
    SOAP11,
    SOAP12,
    WSA_NS,
    SoapVersion,
    load_schema,
)
from proxy.sandbox.soap_orders import CAUSALE_RECAPITI_ERRATI

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
WSDL = SCHEMAS / "soap" / "wholesale-ordering-v1.wsdl"
FIXTURES = REPO / "tests" / "fixtures" / "soap"
WSDL_NS = "http://wholesale.example.it/ordering/v1/wsdl"
BINDINGS = {
    SOAP11: f"{{{WSDL_NS}}}WholesaleOrderingSoap11Binding",
    SOAP12: f"{{{WSDL_NS}}}WholesaleOrderingSoap12Binding",
}
PATHS = {SOAP11: PATH_SOAP11, SOAP12: PATH_SOAP12}
#: HTTP status and zeep's fault code of a client fault, per SOAP version.
CLIENT_FAULTS = {SOAP11: (500, "soap:Client"), SOAP12: (400, "env:Sender")}
VERSIONS = pytest.mark.parametrize("version", [SOAP11, SOAP12], ids=["soap11", "soap12"])
LISTENER_PATH = "/ws/olo/notifications"
REPLY_TO_PATH = "/oss/replies"
CONTACTS = [
    {
        "nominativo": "Giulia Bianchi",
        "telefono": "+393471234567",
        "email": "giulia.bianchi85@example.it",
        "fasciaReperibilita": "18:00-21:00",
    },
    {"nominativo": "Marco Rossi", "telefono": "3389876543"},
]


def soap_header(msg_name: str, correlation_id: str) -> dict[str, Any]:
    """zeep's value for the ``hdr:header`` part."""
    return {
        "header": {
            "activityName": "ordering",
            "msgName": msg_name,
            "msgType": "REQUEST",
            "senderURI": "urn:olo:fibraveloce:oss",
            "destinationURI": "urn:wholesale:incumbent",
            "correlationId": correlation_id,
            "timestamp": "2025-03-14T10:22:31+01:00",
        }
    }


def activation_order(code: str, **changes: Any) -> dict[str, Any]:
    """zeep keyword arguments of a valid FTTH migration order, with ``changes`` applied."""
    order: dict[str, Any] = {
        "codiceOrdineOLO": code,
        "dataOrdine": "2025-03-14T10:22:31+01:00",
        "tipoOrdine": "MIGRAZIONE",
        "servizio": "FTTH_GPON",
        "profilo": "1000/300",
        "codiceMigrazione": "TLC0287654321002K",
        "numeroDaPortare": "0287654321",
        "sedeImpianto": {
            "particellaToponomastica": "VIALE",
            "via": "MONZA",
            "civico": "148",
            "cap": "20127",
            "comune": "MILANO",
            "provincia": "MI",
            "codiceIstat": "015146",
            "idCivicoNetMap": "38501127734",
        },
        "clienteFinale": {
            "personaFisica": {
                "nome": "Giulia",
                "cognome": "Bianchi",
                "codiceFiscale": "BNCGLI85M52F205H",
            }
        },
        "referenti": {"referente": CONTACTS},
        "quartoReferente": {"nominativo": "NOC Fibra Veloce", "telefono": "+390245678900"},
        "note": "Richiamare dopo le 18 al 347 123 4567.",
    }
    order.update(changes)
    return order


@dataclass
class Oss:
    """The OLO's OSS: a synchronous zeep client bound to one SOAP port of the sandbox."""

    version: SoapVersion
    client: Any
    service: Any
    history: HistoryPlugin
    statuses: list[int] = field(default_factory=list)

    async def call(self, operation: str, **kwargs: Any) -> Any:
        """Run one zeep call in a worker thread (zeep is synchronous)."""
        return await asyncio.to_thread(getattr(self.service, operation), **kwargs)

    async def fault(self, operation: str, **kwargs: Any) -> Fault:
        """Run a call that must end in a SOAP fault, and return the fault."""
        with pytest.raises(Fault) as caught:
            await self.call(operation, **kwargs)
        return caught.value

    async def submit(self, code: str, **changes: Any) -> Any:
        """Submit a valid activation order (with ``changes``)."""
        return await self.call(
            "SubmitActivationOrder",
            **activation_order(code, **changes),
            _soapheaders=soap_header("SubmitActivationOrder", f"corr-{code}"),
        )

    async def status(self, code: str) -> Any:
        """Ask for an order's status."""
        return await self.call(
            "GetOrderStatus",
            codiceOrdineOLO=code,
            _soapheaders=soap_header("GetOrderStatus", f"status-{code}"),
        )


@dataclass
class Notification:
    """A request the OLO's listener received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    """The OLO's callback listener (a second test server)."""

    server: TestServer
    received: asyncio.Queue[Notification]

    def url(self, path: str) -> str:
        """An absolute URL on the listener."""
        return str(self.server.make_url(path))

    async def next(self) -> Notification:
        """The next notification, or a test failure after a few seconds."""
        return await asyncio.wait_for(self.received.get(), timeout=5)


@pytest.fixture
async def listener(aiohttp_server: AiohttpServer) -> Listener:
    """A listener that records every POST and acknowledges it."""
    queue: asyncio.Queue[Notification] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        await queue.put(Notification(request.path, dict(request.headers), body))
        return web.Response(status=200, body=b"", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    return Listener(await aiohttp_server(app), queue)


SandboxFactory = Callable[[str | None], Awaitable[TestServer]]


@pytest.fixture
def make_sandbox(aiohttp_server: AiohttpServer) -> SandboxFactory:
    """Start the sandbox incumbent (``build_app``), calling back to ``callback_url``."""

    async def start(callback_url: str | None) -> TestServer:
        settings = SandboxSettings(
            schemas_dir=SCHEMAS, notify_delay_s=0.01, soap_callback_url=callback_url
        )
        return await aiohttp_server(build_app(settings))

    return start


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory, listener: Listener) -> TestServer:
    """The sandbox, with status callbacks going to the listener by default."""
    return await make_sandbox(listener.url(LISTENER_PATH))


HttpClient = TestClient[web.Request, None]


@pytest.fixture
async def http(sandbox: TestServer, aiohttp_client: AiohttpClient) -> HttpClient:
    """A plain HTTP client of the sandbox, for what zeep would never send."""
    return await aiohttp_client(sandbox)


@pytest.fixture
def sessions() -> Iterator[list[requests.Session]]:
    """HTTP sessions of the zeep clients, closed after the test."""
    opened: list[requests.Session] = []
    yield opened
    for session in opened:
        session.close()


@pytest.fixture
def make_oss(sessions: list[requests.Session]) -> Callable[..., Oss]:
    """Build an OSS (zeep) bound to one of a sandbox's SOAP ports."""

    def build(server: TestServer, version: SoapVersion, *plugins: Any) -> Oss:
        session = requests.Session()
        # The servers are local: proxies from the environment must not be used.
        session.trust_env = False
        sessions.append(session)
        # zeep ships py.typed but leaves these constructors unannotated.
        history = HistoryPlugin()  # type: ignore[no-untyped-call]
        transport = Transport(session=session)  # type: ignore[no-untyped-call]
        client = zeep.Client(str(WSDL), transport=transport, plugins=[history, *plugins])  # type: ignore[no-untyped-call]
        address = str(server.make_url(PATHS[version]))
        service = client.create_service(BINDINGS[version], address)  # type: ignore[no-untyped-call]
        oss = Oss(version, client, service, history)

        def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            oss.statuses.append(response.status_code)

        session.hooks["response"].append(record)
        return oss

    return build


def parse_notification(notification: Notification, version: SoapVersion) -> etree._Element:
    """The payload of a callback, after checking its envelope against the XSDs."""
    root = parse_xml(notification.body).getroot()
    env = version.envelope_ns
    header = root.find(f"{{{env}}}Header/{{{HDR_NS}}}header")
    payload = root.find(f"{{{env}}}Body/{{{ORD_NS}}}NotifyOrderStatus")
    assert header is not None
    assert payload is not None
    load_schema(SCHEMAS / HEADER_XSD).assertValid(header)
    load_schema(SCHEMAS / ORDERING_XSD).assertValid(payload)
    return root


def child_text(node: etree._Element, path: str) -> str | None:
    """Text at ``path``, written with ``ord:``/``hdr:``/``wsa:`` prefixes."""
    nsmap = {"ord": ORD_NS, "hdr": HDR_NS, "wsa": WSA_NS}
    found = node.find(path, namespaces=nsmap)
    return None if found is None else found.text


async def until_status(oss: Oss, code: str, stato: str) -> Any:
    """Poll GetOrderStatus until the order reaches ``stato`` (at most a few seconds)."""
    for _ in range(200):
        result = await oss.status(code)
        if result.body.stato == stato:
            return result
        await asyncio.sleep(0.02)
    pytest.fail(f"order never reached {stato}")


@VERSIONS
async def test_valid_order_is_acquired_and_echoes_the_correlation_id(
    sandbox: TestServer, make_oss: Callable[..., Oss], version: SoapVersion
) -> None:
    """A valid order gets HTTP 200, stato ACQUISITO, a wholesale id, and the request's
    correlationId back in the response's hdr:header."""
    oss = make_oss(sandbox, version)
    result = await oss.submit("FV-OK-1")
    assert oss.statuses == [200]
    assert result.body.codiceOrdineOLO == "FV-OK-1"
    assert result.body.stato == "ACQUISITO"
    assert result.body.idOrdineWholesale.startswith("ORD-")
    assert result.header.header.correlationId == "corr-FV-OK-1"
    assert result.header.header.msgName == "SubmitActivationOrderResponse"


@VERSIONS
async def test_codice_fiscale_failing_the_pattern_is_a_client_fault(
    sandbox: TestServer, make_oss: Callable[..., Oss], version: SoapVersion
) -> None:
    """A codice fiscale outside the XSD pattern (Z is no month letter) is a client fault with
    the version's status and code, naming the element and the facet, not the value."""
    oss = make_oss(sandbox, version)
    person = {"nome": "Giulia", "cognome": "Bianchi", "codiceFiscale": "BNCGLI85Z52F205H"}
    fault = await oss.fault(
        "SubmitActivationOrder",
        **activation_order("FV-BAD-CF", clienteFinale={"personaFisica": person}),
        _soapheaders=soap_header("SubmitActivationOrder", "corr-bad-cf"),
    )
    status, code = CLIENT_FAULTS[version]
    assert oss.statuses == [status]
    assert fault.code == code
    assert "codiceFiscale" in fault.message
    assert "pattern" in fault.message
    assert "BNCGLI85Z52F205H" not in fault.message
    assert child_text(fault.detail, "ord:erroreWholesale/ord:codiceErrore") == "WS-XSD-001"


async def test_codice_fiscale_with_a_wrong_check_character_is_refused(
    sandbox: TestServer, make_oss: Callable[..., Oss]
) -> None:
    """A codice fiscale that fits the pattern but not its check character is refused too."""
    oss = make_oss(sandbox, SOAP11)
    person = {"nome": "Giulia", "cognome": "Bianchi", "codiceFiscale": "BNCGLI85M52F205A"}
    fault = await oss.fault(
        "SubmitActivationOrder",
        **activation_order("FV-BAD-CHECK", clienteFinale={"personaFisica": person}),
        _soapheaders=soap_header("SubmitActivationOrder", "corr-bad-check"),
    )
    assert (oss.statuses, fault.code) == ([500], "soap:Client")
    assert child_text(fault.detail, "ord:erroreWholesale/ord:codiceErrore") == "WS-ANAG-001"


@VERSIONS
async def test_missing_required_element_is_a_client_fault(
    sandbox: TestServer, make_oss: Callable[..., Oss], version: SoapVersion
) -> None:
    """An order without clienteFinale (zeep told to skip it) is a schema fault that names the
    element expected at that point."""
    oss = make_oss(sandbox, version)
    fault = await oss.fault(
        "SubmitActivationOrder",
        **activation_order("FV-NO-CLIENT", clienteFinale=xsd.SkipValue),
        _soapheaders=soap_header("SubmitActivationOrder", "corr-no-client"),
    )
    status, code = CLIENT_FAULTS[version]
    assert (oss.statuses, fault.code) == ([status], code)
    assert "clienteFinale" in fault.message


@VERSIONS
async def test_get_order_status_follows_the_order(
    sandbox: TestServer, make_oss: Callable[..., Oss], version: SoapVersion
) -> None:
    """GetOrderStatus answers for a submitted order and reaches SOSPESO with the causale of
    unreachable contacts."""
    oss = make_oss(sandbox, version)
    submitted = await oss.submit("FV-STATUS-1")
    result = await until_status(oss, "FV-STATUS-1", "SOSPESO")
    assert result.body.idOrdineWholesale == submitted.body.idOrdineWholesale
    assert result.body.causale == CAUSALE_RECAPITI_ERRATI
    assert result.header.header.correlationId == "status-FV-STATUS-1"


async def test_get_order_status_of_an_unknown_order_is_a_fault(
    sandbox: TestServer, make_oss: Callable[..., Oss]
) -> None:
    """GetOrderStatus of an order never submitted is a client fault (HTTP 400 in SOAP 1.2)."""
    oss = make_oss(sandbox, SOAP12)
    with pytest.raises(Fault) as caught:
        await oss.status("FV-NEVER")
    assert (oss.statuses, caught.value.code) == ([400], "env:Sender")
    assert child_text(caught.value.detail, "ord:erroreWholesale/ord:codiceErrore") == "WS-ORD-404"


@VERSIONS
async def test_status_callbacks_reach_the_configured_listener(
    sandbox: TestServer, make_oss: Callable[..., Oss], listener: Listener, version: SoapVersion
) -> None:
    """Without ReplyTo, the order's status changes are POSTed to the configured callback URL in
    the order's SOAP version, valid against the XSDs, echoing the correlationId; the suspension
    carries the order's referenti as referentiContattati."""
    oss = make_oss(sandbox, version)
    await oss.submit("FV-CB-1")
    states = []
    for _ in range(2):
        notification = await listener.next()
        assert notification.path == LISTENER_PATH
        action = f"{ACTION_PREFIX}NotifyOrderStatus"
        if version is SOAP11:
            assert notification.headers["Content-Type"].startswith("text/xml")
            assert notification.headers["SOAPAction"] == f'"{action}"'
        else:
            assert notification.headers["Content-Type"].startswith("application/soap+xml")
            assert f'action="{action}"' in notification.headers["Content-Type"]
        root = parse_notification(notification, version)
        assert child_text(root, ".//hdr:correlationId") == "corr-FV-CB-1"
        assert child_text(root, ".//ord:codiceOrdineOLO") == "FV-CB-1"
        states.append(root)
    assert [child_text(root, ".//ord:stato") for root in states] == ["ACCETTATO", "SOSPESO"]
    assert child_text(states[1], ".//ord:causale") == CAUSALE_RECAPITI_ERRATI
    contacted = states[1].findall(f".//{{{ORD_NS}}}referentiContattati/{{{ORD_NS}}}referente")
    assert [child_text(node, "ord:telefono") for node in contacted] == [
        "+393471234567",
        "3389876543",
    ]
    assert child_text(contacted[0], "ord:email") == "giulia.bianchi85@example.it"


async def test_callback_goes_to_the_ws_addressing_reply_to(
    sandbox: TestServer, make_oss: Callable[..., Oss], listener: Listener
) -> None:
    """A WS-Addressing ReplyTo wins over the configured URL, and the notification relates to
    the order's MessageID."""
    oss = make_oss(sandbox, SOAP12, WsAddressingPlugin())
    reply_to = etree.Element(f"{{{WSA_NS}}}ReplyTo")
    etree.SubElement(reply_to, f"{{{WSA_NS}}}Address").text = listener.url(REPLY_TO_PATH)
    header_element = oss.client.get_element(f"{{{HDR_NS}}}header")
    hdr = header_element(**soap_header("SubmitActivationOrder", "corr-wsa")["header"])
    await oss.call(
        "SubmitActivationOrder", **activation_order("FV-WSA-1"), _soapheaders=[hdr, reply_to]
    )
    sent = oss.history.last_sent["envelope"]
    message_id = child_text(sent, ".//wsa:MessageID")
    assert message_id is not None
    for _ in range(2):
        notification = await listener.next()
        assert notification.path == REPLY_TO_PATH
        root = parse_notification(notification, SOAP12)
        assert child_text(root, ".//wsa:RelatesTo") == message_id
        assert child_text(root, ".//wsa:To") == listener.url(REPLY_TO_PATH)


async def test_no_callback_without_an_address(
    make_sandbox: SandboxFactory, make_oss: Callable[..., Oss], listener: Listener
) -> None:
    """With neither ReplyTo nor a configured URL the order still progresses, and nothing is
    called back."""
    server = await make_sandbox(None)
    oss = make_oss(server, SOAP11)
    await oss.submit("FV-QUIET-1")
    await until_status(oss, "FV-QUIET-1", "SOSPESO")
    assert listener.received.empty()


async def test_trouble_ticket_fixture_is_accepted(http: HttpClient) -> None:
    """The trouble ticket sample, posted as an OSS would, is opened (stato APERTO)."""
    response = await http.post(
        PATH_SOAP11,
        data=(FIXTURES / "trouble_ticket_11.xml").read_bytes(),
        headers=SOAP11.http_headers(f"{ACTION_PREFIX}SubmitTroubleTicket"),
    )
    assert response.status == 200
    root = parse_xml(await response.read()).getroot()
    assert child_text(root, ".//ord:stato") == "APERTO"
    assert child_text(root, ".//hdr:correlationId") == "fv-3d9a0c55-81e2-4b7f-a0d4-c9e21f6b8a70"


@pytest.mark.parametrize(
    ("name", "version"),
    [("activation_order_11.xml", SOAP11), ("activation_order_12.xml", SOAP12)],
    ids=["soap11", "soap12"],
)
async def test_activation_fixtures_are_accepted(
    http: HttpClient, name: str, version: SoapVersion
) -> None:
    """The activation samples are accepted by the endpoint of their SOAP version."""
    response = await http.post(
        PATHS[version],
        data=(FIXTURES / name).read_bytes(),
        headers=version.http_headers(f"{ACTION_PREFIX}SubmitActivationOrder"),
    )
    assert response.status == 200
    assert response.content_type == version.media_type
    root = parse_xml(await response.read()).getroot()
    assert child_text(root, ".//ord:stato") == "ACQUISITO"


@VERSIONS
async def test_every_request_is_recorded(
    sandbox: TestServer,
    make_oss: Callable[..., Oss],
    http: HttpClient,
    version: SoapVersion,
) -> None:
    """Accepted and refused requests alike appear in /_sandbox/received, byte for byte, with
    the action where the SOAP version puts it."""
    oss = make_oss(sandbox, version)
    await oss.submit("FV-REC-1")
    sent = etree.tostring(oss.history.last_sent["envelope"])
    await http.post(PATHS[version], data=b"<not-soap/>", headers=version.http_headers("x"))
    received = (await (await http.get("/_sandbox/received")).json())["received"]
    assert [item["path"] for item in received] == [PATHS[version], PATHS[version]]
    first = received[0]
    assert etree.tostring(parse_xml(base64.b64decode(first["body_b64"])).getroot()) == sent
    headers = {name.lower(): value for name, value in first["headers"]}
    action = f"{ACTION_PREFIX}SubmitActivationOrder"
    if version is SOAP11:
        assert headers["soapaction"] == f'"{action}"'
    else:
        assert f'action="{action}"' in headers["content-type"]
    assert base64.b64decode(received[1]["body_b64"]) == b"<not-soap/>"


DOCTYPE_BODY = b"""<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<soap:Envelope xmlns:soap="%s"><soap:Body><x>&lol2;</x></soap:Body></soap:Envelope>"""


@VERSIONS
async def test_doctype_is_refused(http: HttpClient, version: SoapVersion) -> None:
    """A body with a DTD is a client fault naming the DTD, in the endpoint's SOAP version."""
    response = await http.post(
        PATHS[version],
        data=DOCTYPE_BODY % version.envelope_ns.encode(),
        headers=version.http_headers(f"{ACTION_PREFIX}GetOrderStatus"),
    )
    status, code = CLIENT_FAULTS[version]
    assert response.status == status
    root = parse_xml(await response.read()).getroot()
    assert root.tag == f"{{{version.envelope_ns}}}Envelope"
    fault_text = etree.tostring(root, encoding="unicode")
    assert code.split(":")[1] in fault_text
    assert "DTD" in fault_text


async def test_wrong_media_type_for_the_endpoint_is_415(http: HttpClient) -> None:
    """SOAP 1.2's media type at the SOAP 1.1 endpoint is refused with HTTP 415."""
    response = await http.post(
        PATH_SOAP11,
        data=(FIXTURES / "activation_order_11.xml").read_bytes(),
        headers=SOAP12.http_headers(f"{ACTION_PREFIX}SubmitActivationOrder"),
    )
    assert response.status == 415
    assert b"WS-HTTP-415" in await response.read()


async def test_action_must_name_the_operation_in_the_body(http: HttpClient) -> None:
    """A SOAPAction naming another operation than the body's is a client fault."""
    response = await http.post(
        PATH_SOAP11,
        data=(FIXTURES / "activation_order_11.xml").read_bytes(),
        headers=SOAP11.http_headers(f"{ACTION_PREFIX}GetOrderStatus"),
    )
    assert response.status == 500
    assert b"WS-ACT-001" in await response.read()


async def test_soap12_envelope_at_the_soap11_endpoint_is_a_version_mismatch(
    http: HttpClient,
) -> None:
    """A SOAP 1.2 envelope sent as text/xml to the SOAP 1.1 endpoint is a VersionMismatch."""
    response = await http.post(
        PATH_SOAP11,
        data=(FIXTURES / "activation_order_12.xml").read_bytes(),
        headers=SOAP11.http_headers(f"{ACTION_PREFIX}SubmitActivationOrder"),
    )
    assert response.status == 500
    root = parse_xml(await response.read()).getroot()
    assert child_text(root, ".//faultcode") == "soap:VersionMismatch"


async def test_unknown_mandatory_header_block_is_refused(http: HttpClient) -> None:
    """A header block marked mustUnderstand that the service does not know is refused."""
    data = (FIXTURES / "activation_order_11.xml").read_bytes()
    block = (
        b'<sec:Security xmlns:sec="urn:example:security" '
        b'soap-env:mustUnderstand="1"/></soap-env:Header>'
    )
    response = await http.post(
        PATH_SOAP11,
        data=data.replace(b"</soap-env:Header>", block),
        headers=SOAP11.http_headers(f"{ACTION_PREFIX}SubmitActivationOrder"),
    )
    assert response.status == 500
    root = parse_xml(await response.read()).getroot()
    assert child_text(root, ".//faultcode") == "soap:MustUnderstand"


async def test_fault_after_the_header_echoes_the_correlation_id(http: HttpClient) -> None:
    """Once the hdr:header is valid, even a fault carries the requester's correlationId."""
    data = (FIXTURES / "activation_order_11.xml").read_bytes()
    response = await http.post(
        PATH_SOAP11,
        data=data.replace(b"<ns0:cap>20127</ns0:cap>", b"<ns0:cap>2012</ns0:cap>"),
        headers=SOAP11.http_headers(f"{ACTION_PREFIX}SubmitActivationOrder"),
    )
    assert response.status == 500
    root = parse_xml(await response.read()).getroot()
    assert child_text(root, ".//hdr:correlationId") == "fv-7f3c2a1e-5b7d-4e0a-9c61-2f8e4d1a0b93"
    assert "cap" in (child_text(root, ".//faultstring") or "")
