"""The checks a strict incumbent runs on a SOAP request before acting on it.

Each check raises :class:`~proxy.sandbox.soap_messages.WholesaleFault` with a reason that names
elements, types and limits, never a value taken from the message.
"""

from __future__ import annotations

from lxml import etree
from stdnum.it import codicefiscale, iva

from proxy.errors import CivettaError
from proxy.formats.soap import SOAP11_NS, SOAP12_NS, parse_xml
from proxy.sandbox.soap_messages import (
    HDR_NS,
    ORD_NS,
    SOAP11,
    WSA_NS,
    FaultKind,
    HeaderInfo,
    SoapVersion,
    WholesaleFault,
    request_headers,
    schema_problem,
    text,
)

#: A ReplyTo that means "answer on this connection": no callback address.
WSA_ANONYMOUS = f"{WSA_NS}/anonymous"
#: Header blocks this service processes; any other block marked mustUnderstand is refused.
UNDERSTOOD_NAMESPACES = frozenset({HDR_NS, WSA_NS})


def read_action(version: SoapVersion, content_type: str, soap_action: str | None) -> str:
    """The request's action, once its media type is the one of ``version``."""
    headers = request_headers(content_type, soap_action)
    media_type = headers.get_content_type() if content_type.strip() else "none"
    if media_type != version.media_type:
        reason = f"expected Content-Type {version.media_type} for SOAP {version.name}"
        raise WholesaleFault("Client", "WS-HTTP-415", f"{reason}, got {media_type}", status=415)
    action = version.request_action(headers)
    if not action:
        where = "a SOAPAction header" if version is SOAP11 else "an action parameter"
        raise WholesaleFault("Client", "WS-ACT-002", f"expected {where}, got none")
    return action


def open_envelope(body: bytes, version: SoapVersion) -> tuple[list[etree._Element], etree._Element]:
    """The header blocks and the single payload element of a ``version`` envelope."""
    try:
        root = parse_xml(body).getroot()
    except CivettaError as exc:  # malformed, DTD, too large or too deep, unknown encoding
        raise WholesaleFault("Client", "WS-XML-001", exc.message) from exc
    env = version.envelope_ns
    if root.tag != f"{{{env}}}Envelope":
        kind: FaultKind = "VersionMismatch" if root.tag in _ENVELOPES else "Client"
        reason = f"expected a SOAP {version.name} Envelope, got {root.tag}"
        raise WholesaleFault(kind, "WS-SOAP-001", reason)
    header, body_node = root.find(f"{{{env}}}Header"), root.find(f"{{{env}}}Body")
    blocks = [] if header is None else [node for node in header if isinstance(node.tag, str)]
    for block in blocks:
        # A block we would silently skip must not be one the sender needs processed.
        required = block.get(f"{{{env}}}mustUnderstand") in ("1", "true")
        if required and etree.QName(block).namespace not in UNDERSTOOD_NAMESPACES:
            reason = f"expected header blocks this service understands, got {block.tag}"
            raise WholesaleFault("MustUnderstand", "WS-SOAP-002", reason)
    payloads = [] if body_node is None else [n for n in body_node if isinstance(n.tag, str)]
    if len(payloads) != 1:
        reason = f"expected one element in the SOAP Body, got {len(payloads)}"
        raise WholesaleFault("Client", "WS-SOAP-003", reason)
    return blocks, payloads[0]


_ENVELOPES = (f"{{{SOAP11_NS}}}Envelope", f"{{{SOAP12_NS}}}Envelope")


def check_header(schema: etree.XMLSchema, blocks: list[etree._Element], name: str) -> HeaderInfo:
    """The request's valid ``hdr:header``, whose ``msgName`` names operation ``name``."""
    header = next((block for block in blocks if block.tag == f"{{{HDR_NS}}}header"), None)
    if header is None:
        reason = "expected an hdr:header block in the SOAP Header, got none"
        raise WholesaleFault("Client", "WS-HDR-001", reason)
    problem = schema_problem(schema, header)
    if problem is not None:
        raise WholesaleFault("Client", "WS-HDR-002", problem)
    if text(header, "msgName", HDR_NS) != name:
        raise WholesaleFault("Client", "WS-HDR-003", f"expected hdr:msgName {name}")
    return HeaderInfo(
        activity_name=text(header, "activityName", HDR_NS) or "",
        sender_uri=text(header, "senderURI", HDR_NS) or "",
        correlation_id=text(header, "correlationId", HDR_NS) or "",
    )


def check_payload(schema: etree.XMLSchema, payload: etree._Element) -> None:
    """The payload validates against the XSD and passes the rules an XSD cannot express."""
    problem = schema_problem(schema, payload)
    if problem is not None:
        raise WholesaleFault("Client", "WS-XSD-001", problem)
    # An XSD pattern cannot check the check character; the incumbent's CRM does.
    for local, module in (("codiceFiscale", codicefiscale), ("partitaIva", iva)):
        for node in payload.iter(f"{{{ORD_NS}}}{local}"):
            if not module.is_valid(node.text or ""):
                reason = f"expected a valid check character in {local}"
                raise WholesaleFault("Client", "WS-ANAG-001", reason)
    if text(payload, "tipoOrdine") == "MIGRAZIONE" and text(payload, "codiceMigrazione") is None:
        reason = "expected codiceMigrazione for tipoOrdine MIGRAZIONE, got none"
        raise WholesaleFault("Client", "WS-ORD-001", reason)


def read_addressing(blocks: list[etree._Element]) -> tuple[str | None, str | None]:
    """The WS-Addressing ``ReplyTo/Address`` (None if absent or anonymous) and ``MessageID``."""
    reply_to = message_id = None
    for block in blocks:
        if block.tag == f"{{{WSA_NS}}}ReplyTo":
            reply_to = text(block, "Address", WSA_NS)
        elif block.tag == f"{{{WSA_NS}}}MessageID":
            message_id = (block.text or "").strip() or None
    reply_to = None if reply_to is None else reply_to.strip()
    return (None if reply_to in (None, "", WSA_ANONYMOUS) else reply_to), message_id
