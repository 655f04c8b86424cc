"""The sandbox incumbent's SOAP ordering and assurance service (``schemas/soap/``).

Strict like a real incumbent: the content type must be the endpoint's SOAP version's, the action
must name the operation in the body, the ``hdr:header`` block and the payload must validate
against the XSD, and the codice fiscale or partita IVA must carry a valid check character.
Anything else is answered with a fault. An accepted activation order then moves ACQUISITO ->
ACCETTATO -> SOSPESO (``CAUSALE_RECAPITI_ERRATI``, with the contacts tried), and
each change is called back (``NotifyOrderStatus``, same SOAP version as the order) to the order's
WS-Addressing ``ReplyTo/Address``, else to ``SandboxSettings.soap_callback_url``, else nowhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import aiohttp
import structlog
from aiohttp import web
from lxml import etree

from proxy.sandbox.app import BACKGROUND, CLIENT, SETTINGS, Handler
from proxy.sandbox.soap_checks import (
    check_header,
    check_payload,
    open_envelope,
    read_action,
    read_addressing,
)
from proxy.sandbox.soap_messages import (
    ACTION_PREFIX,
    ORD_NS,
    SOAP11,
    SOAP12,
    HeaderInfo,
    SoapVersion,
    WholesaleFault,
    add,
    build_addressing,
    build_envelope,
    build_fault,
    build_header,
    load_schema,
    text,
    timestamp,
)
from proxy.sandbox.soap_orders import (
    CAUSALE_RECAPITI_ERRATI,
    Callback,
    Order,
    OrderBook,
    Referente,
    notification_payload,
    status_payload,
)

PATH_SOAP11 = "/ws/wholesale/v1"
PATH_SOAP12 = "/ws/wholesale/v1/soap12"
HEADER_XSD = "soap/wholesale-header-v1.xsd"
ORDERING_XSD = "soap/wholesale-ordering-v1.xsd"

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SoapSchemas:
    """The compiled XSDs: the communication header and the ordering payloads."""

    header: etree.XMLSchema
    ordering: etree.XMLSchema


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """A request that passed every check, ready for its operation."""

    version: SoapVersion
    header: HeaderInfo
    payload: etree._Element
    reply_to: str | None
    message_id: str | None


SCHEMAS = web.AppKey("sandbox_soap_schemas", SoapSchemas)
ORDERS = web.AppKey("sandbox_soap_orders", OrderBook)

Operation = Callable[[web.Application, SoapRequest], etree._Element]


def setup(app: web.Application) -> None:
    """Load the XSDs and register the SOAP 1.1 and SOAP 1.2 endpoints on ``app``."""
    schemas_dir = app[SETTINGS].schemas_dir
    app[SCHEMAS] = SoapSchemas(
        load_schema(schemas_dir / HEADER_XSD), load_schema(schemas_dir / ORDERING_XSD)
    )
    app[ORDERS] = OrderBook()
    app.router.add_post(PATH_SOAP11, _endpoint(SOAP11))
    app.router.add_post(PATH_SOAP12, _endpoint(SOAP12))


def _endpoint(version: SoapVersion) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await _serve(request, version)

    return handle


async def _serve(request: web.Request, version: SoapVersion) -> web.Response:
    info: HeaderInfo | None = None
    schemas = request.app[SCHEMAS]
    try:
        # 1. HTTP: the media type of this endpoint's SOAP version, and an action.
        ctype = request.headers.get("Content-Type", "")
        action = read_action(version, ctype, request.headers.get("SOAPAction"))
        # 2. Envelope: hardened parse, right version, understood header blocks, one payload.
        blocks, payload = open_envelope(await request.read(), version)
        # 3. Operation: named by the payload; the action must name the same one.
        name = etree.QName(payload).localname
        operation = _OPERATIONS.get(name) if etree.QName(payload).namespace == ORD_NS else None
        if operation is None:
            reason = f"expected an operation of the ordering service, got {payload.tag}"
            raise WholesaleFault("Client", "WS-OP-001", reason)
        if action != ACTION_PREFIX + name:
            reason = f"expected action {ACTION_PREFIX}{name}, got {action}"
            raise WholesaleFault("Client", "WS-ACT-001", reason)
        # 4. Header, then payload: schema-valid, and the rules an XSD cannot express.
        info = check_header(schemas.header, blocks, name)
        check_payload(schemas.ordering, payload)
        # 5. The operation itself.
        soap_request = SoapRequest(version, info, payload, *read_addressing(blocks))
        result = operation(request.app, soap_request)
    except WholesaleFault as fault:
        header = build_header(info, "erroreWholesale", "ERROR", info.sender_uri) if info else None
        return _reply(version, build_fault(version, fault, header), fault.http_status(version))
    header = build_header(info, f"{name}Response", "RESPONSE", info.sender_uri)
    return _reply(version, build_envelope(version, [header], result), 200)


def _reply(version: SoapVersion, body: bytes, status: int) -> web.Response:
    return web.Response(
        body=body, status=status, headers={"Content-Type": version.content_type(None)}
    )


def _submit_activation_order(app: web.Application, request: SoapRequest) -> etree._Element:
    contacts = request.payload.iterfind(f"{{{ORD_NS}}}referenti/{{{ORD_NS}}}referente")
    order = Order(
        codice_ordine_olo=text(request.payload, "codiceOrdineOLO") or "",
        id_ordine_wholesale=app[ORDERS].next_id("ORD"),
        stato="ACQUISITO",
        data_stato=datetime.now(UTC),
        referenti=tuple(Referente.from_element(node) for node in contacts),
    )
    app[ORDERS].put(order)
    url = request.reply_to or app[SETTINGS].soap_callback_url
    callback = Callback(url, request.version, request.header, request.message_id) if url else None
    if app[SETTINGS].notifications:
        app[BACKGROUND].spawn(_lifecycle(app, order, callback))
    response = etree.Element(f"{{{ORD_NS}}}SubmitActivationOrderResponse")
    add(response, "codiceOrdineOLO", order.codice_ordine_olo)
    add(response, "idOrdineWholesale", order.id_ordine_wholesale)
    add(response, "stato", order.stato)
    add(response, "dataAcquisizione", timestamp(order.data_stato))
    return response


def _submit_trouble_ticket(app: web.Application, request: SoapRequest) -> etree._Element:
    response = etree.Element(f"{{{ORD_NS}}}SubmitTroubleTicketResponse")
    add(response, "codiceTicketOLO", text(request.payload, "codiceTicketOLO"))
    add(response, "idTicketWholesale", app[ORDERS].next_id("TT"))
    add(response, "stato", "APERTO")
    add(response, "dataApertura", timestamp())
    return response


def _get_order_status(app: web.Application, request: SoapRequest) -> etree._Element:
    order = app[ORDERS].get(text(request.payload, "codiceOrdineOLO") or "")
    if order is None:
        raise WholesaleFault(
            "Client",
            "WS-ORD-404",
            "expected the codiceOrdineOLO of a submitted order, got an unknown one",
        )
    return status_payload(order, "GetOrderStatusResponse")


_OPERATIONS: dict[str, Operation] = {
    "SubmitActivationOrder": _submit_activation_order,
    "SubmitTroubleTicket": _submit_trouble_ticket,
    "GetOrderStatus": _get_order_status,
}


async def _lifecycle(app: web.Application, order: Order, callback: Callback | None) -> None:
    # The technicians accept the order, then fail to reach the contacts it gave: the
    # suspension notice carries those contacts back, as a real incumbent's does.
    steps = (("ACCETTATO", None, ()), ("SOSPESO", CAUSALE_RECAPITI_ERRATI, order.referenti))
    for stato, causale, contacted in steps:
        await asyncio.sleep(app[SETTINGS].notify_delay_s)
        order = replace(order, stato=stato, causale=causale, data_stato=datetime.now(UTC))
        app[ORDERS].put(order)
        if callback is not None:
            await _notify(app, order, contacted, callback)


async def _notify(
    app: web.Application, order: Order, contacted: tuple[Referente, ...], callback: Callback
) -> None:
    action = f"{ACTION_PREFIX}NotifyOrderStatus"
    blocks = [
        build_header(
            callback.header, "NotifyOrderStatus", "NOTIFICATION", callback.header.sender_uri
        )
    ]
    if callback.relates_to is not None:
        blocks += build_addressing(action, callback.url, callback.relates_to)
    body = build_envelope(callback.version, blocks, notification_payload(order, contacted))
    try:
        # One attempt, like the proxy's own rule for POSTs: a lost callback is for tests to see.
        async with app[CLIENT].post(
            callback.url, data=body, headers=callback.version.http_headers(action)
        ) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        _log.warning("soap_callback_failed", url=callback.url, error=type(exc).__name__)
