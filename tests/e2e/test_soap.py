"""SOAP end to end: zeep, built from the WSDL in ``schemas/``, talks to the sandbox through civetta."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from lxml import etree
from zeep.exceptions import Fault
from zeep.wsa import WsAddressingPlugin

from proxy.formats.soap import parse_xml
from proxy.replies import ERROR_HEADER
from tests.e2e.conftest import (
    ACTION_PREFIX,
    CALLBACK_PATH,
    CIVETTA_NS,
    FIXTURES,
    HDR_NS,
    ORD_NS,
    PARTNER,
    PARTNER_LINE,
    PARTNER_VAT,
    SOAP11,
    SOAP11_PATH,
    SOAP12,
    SOAP12_NS,
    SOAP12_PATH,
    SOAP_MAX_BODY,
    WSA_NS,
    Env,
    EnvFactory,
    Version,
    ZeepFactory,
    ZeepOss,
    free_port,
    soap_ack,
    started_tap,
)

VERSIONS = pytest.mark.parametrize("version", [SOAP11, SOAP12], ids=str)


def activation_order(code: str, **changes: Any) -> dict[str, Any]:
    """zeep keyword arguments of a valid FTTH activation order free of personal data (the
    partner's company is the customer and the only contact), with ``changes`` applied."""
    order: dict[str, Any] = {
        "codiceOrdineOLO": code,
        "dataOrdine": "2025-03-14T10:22:31+01:00",
        "tipoOrdine": "ATTIVAZIONE",
        "servizio": "FTTH_GPON",
        "profilo": "1000/300",
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
            "personaGiuridica": {"ragioneSociale": PARTNER.name, "partitaIva": PARTNER_VAT}
        },
        "referenti": {
            "referente": [
                {
                    "nominativo": PARTNER.name,
                    "telefono": PARTNER.phone,
                    "email": PARTNER.email,
                    "fasciaReperibilita": "18:00-21:00",
                },
                {"nominativo": PARTNER.name, "telefono": PARTNER_LINE},
            ]
        },
        "note": "Accesso dal cortile interno, armadio al piano terra.",
    }
    order.update(changes)
    return order


def trouble_ticket(code: str) -> dict[str, Any]:
    """zeep keyword arguments of a valid trouble ticket on the partner's own line."""
    return {
        "codiceTicketOLO": code,
        "idRisorsa": "FTTH-RM-0000482913",
        "numeroLinea": PARTNER_LINE,
        "tipoGuasto": "ASSENZA_SERVIZIO",
        "sintomo": "LED LOS rosso sull'ONT",
        "descrizione": "La linea non naviga dal 2/4, ONT raggiungibile fino alle 19:40.",
        "dataOraRilevazione": "2025-04-03T08:12:00+02:00",
        "referenti": {"referente": [{"nominativo": PARTNER.name, "telefono": PARTNER.phone}]},
    }


async def submit(oss: ZeepOss, code: str, *extra_headers: Any, **changes: Any) -> Any:
    """Submit a valid activation order (with ``changes``) with its ``hdr:header``."""
    return await oss.call(
        "SubmitActivationOrder",
        **activation_order(code, **changes),
        _soapheaders=[oss.header("SubmitActivationOrder", f"corr-{code}"), *extra_headers],
    )


def text_at(node: etree._Element, path: str) -> str | None:
    """Text at ``path`` written with ``ord:``, ``hdr:``, ``wsa:`` and ``civetta:`` prefixes."""
    nsmap = {"ord": ORD_NS, "hdr": HDR_NS, "wsa": WSA_NS, "civetta": CIVETTA_NS}
    found = node.find(path, namespaces=nsmap)
    return None if found is None else found.text


def civetta_code(detail: etree._Element | None) -> str | None:
    """civetta's error code in a fault's detail, or None when the fault is not civetta's."""
    error = None if detail is None else detail.find(f"{{{CIVETTA_NS}}}error")
    return None if error is None else error.get("code")


def fault_detail(root: etree._Element, version: Version) -> etree._Element | None:
    """The detail element of the fault in envelope ``root`` (1.1 ``detail``, 1.2 ``Detail``)."""
    detail = "detail" if version is SOAP11 else f"{{{SOAP12_NS}}}Detail"
    return root.find(f"{{{version.envelope_ns}}}Body/{{{version.envelope_ns}}}Fault/{detail}")


def action_of(version: Version, headers: dict[str, str]) -> str:
    """The header that carries the action: SOAPAction (1.1) or Content-Type (1.2)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered["soapaction" if version is SOAP11 else "content-type"]


def assert_civetta_fault(
    oss: ZeepOss, fault: Fault, status: int, code: str, client_fault: bool
) -> None:
    """The last answer is civetta's own fault: status, header, version, code, actor/role."""
    wire = oss.wire[-1]
    assert wire.status == status
    assert wire.response_headers[ERROR_HEADER] == code
    assert wire.response_headers["Content-Type"].startswith(oss.version.media_type)
    assert fault.code == oss.version.civetta_codes[0 if client_fault else 1]
    assert civetta_code(fault.detail) == code
    root = parse_xml(wire.response_body).getroot()
    assert root.tag == f"{{{oss.version.envelope_ns}}}Envelope"
    role = fault.actor if oss.version is SOAP11 else text_at(root, f".//{{{SOAP12_NS}}}Role")
    assert role == CIVETTA_NS


@VERSIONS
async def test_activation_order_reaches_the_sandbox_byte_for_byte(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """An order zeep sends through the proxy is accepted, and the sandbox received exactly the
    bytes zeep sent, with the same SOAPAction / action parameter."""
    oss = make_oss(env, version)
    result = await submit(oss, "FV-E2E-1")
    assert result.body.stato == "ACQUISITO"
    assert result.header.header.correlationId == "corr-FV-E2E-1"
    [sent] = oss.wire
    assert sent.status == 200
    assert ERROR_HEADER not in sent.response_headers
    [got] = await env.sandbox.received()
    assert (got.method, got.path) == ("POST", version.path)
    assert got.body == sent.request_body
    assert action_of(version, dict(got.headers)) == action_of(version, sent.request_headers)
    assert f"{ACTION_PREFIX}SubmitActivationOrder" in action_of(version, dict(got.headers))


@VERSIONS
async def test_trouble_ticket_reaches_the_sandbox_byte_for_byte(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """A trouble ticket through the proxy is opened, and reached the sandbox as zeep sent it."""
    oss = make_oss(env, version)
    result = await oss.call(
        "SubmitTroubleTicket",
        **trouble_ticket("FV-TT-E2E-1"),
        _soapheaders=[oss.header("SubmitTroubleTicket", "corr-tt-1", "assurance")],
    )
    assert result.body.stato == "APERTO"
    assert result.body.codiceTicketOLO == "FV-TT-E2E-1"
    [got] = await env.sandbox.received()
    assert got.body == oss.wire[0].request_body
    assert action_of(version, dict(got.headers)) == action_of(version, oss.wire[0].request_headers)


@VERSIONS
async def test_custom_and_ws_addressing_headers_arrive_untouched(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """The hdr:header block and the WS-Addressing blocks (Action, MessageID, To, ReplyTo) reach
    the sandbox as zeep wrote them."""
    oss = make_oss(env, version, WsAddressingPlugin())
    reply_to = etree.Element(f"{{{WSA_NS}}}ReplyTo")
    etree.SubElement(reply_to, f"{{{WSA_NS}}}Address").text = f"{WSA_NS}/anonymous"
    await submit(oss, "FV-E2E-HDR", reply_to)
    sent = oss.history.last_sent["envelope"]
    [got] = await env.sandbox.received()
    header = parse_xml(got.body).getroot().find(f"{{{version.envelope_ns}}}Header")
    assert header is not None
    sent_header = sent.find(f"{{{version.envelope_ns}}}Header")
    assert [etree.tostring(block) for block in header] == [
        etree.tostring(block) for block in sent_header
    ]
    assert text_at(header, "hdr:header/hdr:correlationId") == "corr-FV-E2E-HDR"
    assert text_at(header, "wsa:Action") == f"{ACTION_PREFIX}SubmitActivationOrder"
    assert text_at(header, "wsa:To") == env.oss(version.path)
    assert (text_at(header, "wsa:MessageID") or "").startswith("urn:uuid:")


@VERSIONS
async def test_sandbox_fault_for_an_invalid_order_is_relayed_unchanged(
    make_env: EnvFactory, make_oss: ZeepFactory, version: Version
) -> None:
    """An order failing the XSD (a CAP outside its pattern) gets the incumbent's own fault, byte
    for byte, with its status (1.1: 500 Client, 1.2: 400 Sender) and no civetta error header."""
    async with make_env(tap_upstream=True) as env:
        assert env.upstream_tap is not None
        oss = make_oss(env, version)
        site = {**activation_order("FV-E2E-BAD")["sedeImpianto"], "cap": "201"}
        fault = await oss.fault(
            "SubmitActivationOrder",
            **activation_order("FV-E2E-BAD", sedeImpianto=site),
            _soapheaders=[oss.header("SubmitActivationOrder", "corr-bad")],
        )
        [incumbent] = env.upstream_tap.seen
    [answer] = oss.wire
    assert (answer.status, fault.code) == version.client_fault
    assert incumbent.status == answer.status
    assert answer.response_body == incumbent.answer
    assert answer.response_headers["Content-Type"] == incumbent.answer_headers["Content-Type"]
    assert ERROR_HEADER not in answer.response_headers
    assert civetta_code(fault.detail) is None
    assert text_at(fault.detail, "ord:erroreWholesale/ord:codiceErrore") == "WS-XSD-001"


def callback_path(version: Version) -> str:
    """Where the OSS takes the callbacks of ``version`` (the WSDL's OloNotificationService)."""
    return CALLBACK_PATH + ("/soap12" if version is SOAP12 else "")


async def order_with_reply_to(oss: ZeepOss, code: str, address: str) -> str | None:
    """Submit an order whose WS-Addressing ReplyTo is ``address``; its ``wsa:MessageID``."""
    reply_to = etree.Element(f"{{{WSA_NS}}}ReplyTo")
    etree.SubElement(reply_to, f"{{{WSA_NS}}}Address").text = address
    await submit(oss, code, reply_to)
    return text_at(oss.history.last_sent["envelope"], ".//wsa:MessageID")


@VERSIONS
async def test_status_callbacks_reach_the_oss_through_the_incumbent_listener(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """With ReplyTo on the proxy's incumbent-facing listener, the sandbox's NotifyOrderStatus
    callbacks (ACCETTATO, then SOSPESO) reach the OSS listener in the order's SOAP version,
    with their action and WS-Addressing answer to the order."""
    oss = make_oss(env, version, WsAddressingPlugin())
    address = env.incumbent(callback_path(version))
    message_id = await order_with_reply_to(oss, "FV-E2E-CB", address)
    delivered = await env.listener.wait_for(CALLBACK_PATH, 2)
    states = []
    for notification in delivered:
        assert notification.path == callback_path(version)
        assert "X-Request-ID" in notification.headers  # set by the proxy on the way
        assert notification.headers["Content-Type"].startswith(version.media_type)
        assert f"{ACTION_PREFIX}NotifyOrderStatus" in action_of(version, dict(notification.headers))
        root = parse_xml(notification.body).getroot()
        assert root.tag == f"{{{version.envelope_ns}}}Envelope"
        assert text_at(root, ".//wsa:To") == address
        assert text_at(root, ".//wsa:RelatesTo") == message_id
        assert text_at(root, ".//hdr:correlationId") == "corr-FV-E2E-CB"
        states.append(text_at(root, ".//ord:stato"))
    assert states == ["ACCETTATO", "SOSPESO"]


@VERSIONS
async def test_status_callbacks_and_acks_cross_the_proxy_unchanged(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """A callback reaches the OSS listener byte for byte as the sandbox sent it (same action),
    and the OSS's ack reaches the sandbox byte for byte as the OSS answered it."""
    # A recording hop in front of the incumbent-facing listener keeps what the sandbox sent.
    async with started_tap(env.proxy.incumbent_url) as (tap_url, tap):
        oss = make_oss(env, version, WsAddressingPlugin())
        await order_with_reply_to(oss, "FV-E2E-CB2", tap_url + callback_path(version))
        delivered = await env.listener.wait_for(CALLBACK_PATH, 2)
        crossed = await tap.wait_for(2)
    for sandbox_sent, oss_got in zip(crossed, delivered, strict=True):
        assert oss_got.path == sandbox_sent.path == callback_path(version)
        assert oss_got.body == sandbox_sent.body
        sent_action = action_of(version, dict(sandbox_sent.headers))
        assert action_of(version, dict(oss_got.headers)) == sent_action
        assert (sandbox_sent.status, sandbox_sent.answer) == (oss_got.status, oss_got.answer)
        assert sandbox_sent.answer_headers["Content-Type"] == oss_got.answer_headers["Content-Type"]
        assert sandbox_sent.answer == soap_ack(version is SOAP12)


@VERSIONS
async def test_unreachable_upstream_is_a_502_civetta_fault(
    make_env: EnvFactory, make_oss: ZeepFactory, version: Version
) -> None:
    """With the incumbent down the OSS gets civetta's 502 fault, in its own SOAP version."""
    async with make_env(soap_upstream=f"http://127.0.0.1:{free_port()}") as env:
        oss = make_oss(env, version)
        fault = await oss.fault(
            "SubmitActivationOrder",
            **activation_order("FV-E2E-DOWN"),
            _soapheaders=[oss.header("SubmitActivationOrder", "corr-down")],
        )
    assert_civetta_fault(oss, fault, 502, "CIVETTA-UPSTREAM-UNREACHABLE", client_fault=False)


@VERSIONS
async def test_slow_upstream_is_a_504_civetta_fault_sent_once(
    make_env: EnvFactory, make_oss: ZeepFactory, version: Version
) -> None:
    """An incumbent slower than the route's timeout gets civetta's 504 fault, and the order
    reached it exactly once (no retry)."""
    async with make_env(soap_total_s=0.2) as env:
        await env.sandbox.script(path_prefix=SOAP11_PATH, delay_s=0.6)
        oss = make_oss(env, version)
        fault = await oss.fault(
            "SubmitActivationOrder",
            **activation_order("FV-E2E-SLOW"),
            _soapheaders=[oss.header("SubmitActivationOrder", "corr-slow")],
        )
        received = await env.sandbox.received()
    assert_civetta_fault(oss, fault, 504, "CIVETTA-UPSTREAM-TIMEOUT", client_fault=False)
    assert [r.body for r in received] == [oss.wire[0].request_body]


@VERSIONS
async def test_body_over_the_limit_is_a_413_civetta_fault(
    env: Env, make_oss: ZeepFactory, version: Version
) -> None:
    """An order over the route's body limit (a large attachment) is refused with 413 and never
    reaches the incumbent."""
    oss = make_oss(env, version)
    attachment = {
        "nome": "planimetria.pdf",
        "mimeType": "application/pdf",
        "contenuto": b"%PDF" + b"\0" * SOAP_MAX_BODY,
    }
    fault = await oss.fault(
        "SubmitActivationOrder",
        **activation_order("FV-E2E-BIG", allegato=[attachment]),
        _soapheaders=[oss.header("SubmitActivationOrder", "corr-big")],
    )
    assert len(oss.wire[0].request_body) > SOAP_MAX_BODY
    assert_civetta_fault(oss, fault, 413, "CIVETTA-TOO-LARGE", client_fault=True)
    assert await env.sandbox.received() == []


# Bodies zeep would never send: a raw client posts them.
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="%(env)s"><soap:Body>
<o:GetOrderStatus xmlns:o="%(ord)s"><o:codiceOrdineOLO>&xxe;</o:codiceOrdineOLO></o:GetOrderStatus>
</soap:Body></soap:Envelope>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soap:Envelope xmlns:soap="%(env)s"><soap:Body>
<o:GetOrderStatus xmlns:o="%(ord)s"><o:codiceOrdineOLO>&lol9;</o:codiceOrdineOLO></o:GetOrderStatus>
</soap:Body></soap:Envelope>"""
PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope>
<soap:Envelope xmlns:soap="%(env)s"><soap:Body>
<o:GetOrderStatus xmlns:o="%(ord)s"><o:codiceOrdineOLO>FV-1</o:codiceOrdineOLO></o:GetOrderStatus>
</soap:Body></soap:Envelope>"""
#: An external DTD on a server the test watches: fetching it would show up there.
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope SYSTEM "%(listener)s/evil.dtd">
<soap:Envelope xmlns:soap="%(env)s"><soap:Body>
<o:GetOrderStatus xmlns:o="%(ord)s"><o:codiceOrdineOLO>FV-1</o:codiceOrdineOLO></o:GetOrderStatus>
</soap:Body></soap:Envelope>"""
HOSTILE = pytest.mark.parametrize(
    "body",
    [XXE, BILLION_LAUGHS, PLAIN_DOCTYPE, EXTERNAL_DTD],
    ids=["xxe", "billion-laughs", "doctype", "external-dtd"],
)


def soap_request_headers(version: Version, operation: str) -> dict[str, str]:
    """The HTTP headers zeep would send for ``operation``."""
    action = ACTION_PREFIX + operation
    if version is SOAP11:
        return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
    return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}


@HOSTILE
@VERSIONS
async def test_dtd_bodies_are_refused_before_the_incumbent(
    env: Env, version: Version, body: bytes
) -> None:
    """XXE, billion laughs, any DOCTYPE and an external DTD get civetta's 400 fault in the
    request's SOAP version; neither the incumbent nor the DTD's server is contacted."""
    data = body % {
        b"env": version.envelope_ns.encode(),
        b"ord": ORD_NS.encode(),
        b"listener": env.listener_url.encode(),
    }
    async with env.http.post(
        env.oss(version.path),
        data=data,
        headers=soap_request_headers(version, "GetOrderStatus"),
    ) as resp:
        assert resp.status == 400
        assert resp.headers[ERROR_HEADER] == "CIVETTA-BAD-BODY"
        assert resp.content_type == version.media_type
        root = parse_xml(await resp.read()).getroot()
    assert root.tag == f"{{{version.envelope_ns}}}Envelope"
    assert civetta_code(fault_detail(root, version)) == "CIVETTA-BAD-BODY"
    assert b"passwd" not in etree.tostring(root)
    assert await env.sandbox.received() == []
    assert env.listener.seen == []


@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=utf-8"])
async def test_wrong_content_type_is_a_415_civetta_fault(env: Env, content_type: str) -> None:
    """A valid envelope under a media type that is not SOAP's is refused with 415 and not sent."""
    async with env.http.post(
        env.oss(SOAP11_PATH),
        data=(FIXTURES / "soap" / "activation_order_11.xml").read_bytes(),
        headers={
            "Content-Type": content_type,
            "SOAPAction": f'"{ACTION_PREFIX}SubmitActivationOrder"',
        },
    ) as resp:
        assert resp.status == 415
        assert resp.headers[ERROR_HEADER] == "CIVETTA-MEDIA"
        root = parse_xml(await resp.read()).getroot()
    assert civetta_code(fault_detail(root, SOAP11)) == "CIVETTA-MEDIA"
    assert await env.sandbox.received() == []


async def test_chunked_body_over_the_limit_is_a_413_civetta_fault(env: Env) -> None:
    """A body sent without Content-Length (chunked) is counted as it streams: past the route's
    limit it is refused with 413 and nothing reaches the incumbent."""
    envelope = (FIXTURES / "soap" / "activation_order_11.xml").read_bytes()
    padding = b"<!--" + b"x" * SOAP_MAX_BODY + b"-->"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(padding), 4096):
            yield padding[start : start + 4096]
        yield envelope

    async with env.http.post(
        env.oss(SOAP11_PATH),
        data=chunks(),
        headers=soap_request_headers(SOAP11, "SubmitActivationOrder"),
    ) as resp:
        assert resp.status == 413
        assert resp.headers[ERROR_HEADER] == "CIVETTA-TOO-LARGE"
        assert resp.content_type == "text/xml"
    assert await env.sandbox.received() == []


async def test_method_other_than_post_is_a_405_civetta_fault(env: Env) -> None:
    """A GET on the SOAP route (POST only) is refused with civetta's 405 fault, not forwarded."""
    async with env.http.get(
        env.oss(SOAP12_PATH), headers={"Content-Type": "application/soap+xml"}
    ) as resp:
        assert resp.status == 405
        assert resp.headers[ERROR_HEADER] == "CIVETTA-METHOD"
        root = parse_xml(await resp.read()).getroot()
    assert civetta_code(fault_detail(root, SOAP12)) == "CIVETTA-METHOD"
    assert await env.sandbox.received() == []
