"""SOAP envelopes, faults and schemas of the sandbox incumbent's wholesale web service.

The wire rules (DOMAIN.md §4): SOAP 1.1 travels as ``text/xml`` with a ``SOAPAction`` header and
answers faults with HTTP 500; SOAP 1.2 travels as ``application/soap+xml; action=...`` and maps
``env:Sender`` faults to 400 and every other fault to 500.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any, Literal, cast

from lxml import etree

from proxy.errors import ConfigError
from proxy.formats.soap import SOAP11_NS, SOAP12_NS, parse_xml

ORD_NS = "http://wholesale.example.it/ordering/v1"
HDR_NS = "http://wholesale.example.it/header/v1"
WSA_NS = "http://www.w3.org/2005/08/addressing"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
ACTION_PREFIX = "urn:wholesale:ordering:v1:"
#: How the incumbent names itself in ``hdr:senderURI``.
INCUMBENT_URI = "urn:wholesale:incumbent:sandbox"

FaultKind = Literal["Client", "Server", "VersionMismatch", "MustUnderstand"]


@dataclass(frozen=True, slots=True)
class SoapVersion:
    """What differs between SOAP 1.1 and SOAP 1.2 on the wire."""

    name: str
    envelope_ns: str
    prefix: str
    media_type: str
    #: Fault code names, by the SOAP 1.1 name of the kind.
    codes: tuple[tuple[FaultKind, str], ...]
    client_fault_status: int

    def code(self, kind: FaultKind) -> str:
        """The local name of the fault code for ``kind`` in this version."""
        return dict(self.codes)[kind]

    def content_type(self, action: str | None) -> str:
        """The ``Content-Type`` of a message; SOAP 1.2 carries the action in it."""
        if self.name == "1.2" and action is not None:
            return f'{self.media_type}; charset=utf-8; action="{action}"'
        return f"{self.media_type}; charset=utf-8"

    def http_headers(self, action: str) -> dict[str, str]:
        """The HTTP headers of a request carrying ``action``."""
        if self.name == "1.1":
            return {"Content-Type": self.content_type(None), "SOAPAction": f'"{action}"'}
        return {"Content-Type": self.content_type(action)}

    def request_action(self, headers: Message) -> str | None:
        """The action a request names: the ``SOAPAction`` header or the ``action`` parameter."""
        raw = headers.get("SOAPAction") if self.name == "1.1" else headers.get_param("action")
        return raw.strip().strip('"') if isinstance(raw, str) else None


_COMMON: tuple[tuple[FaultKind, str], ...] = (
    ("VersionMismatch", "VersionMismatch"),
    ("MustUnderstand", "MustUnderstand"),
)
SOAP11 = SoapVersion(
    "1.1",
    SOAP11_NS,
    "soap",
    "text/xml",
    (("Client", "Client"), ("Server", "Server"), *_COMMON),
    500,
)
SOAP12 = SoapVersion(
    "1.2",
    SOAP12_NS,
    "env",
    "application/soap+xml",
    (("Client", "Sender"), ("Server", "Receiver"), *_COMMON),
    400,
)


def request_headers(content_type: str, soap_action: str | None) -> Message:
    """The request's ``Content-Type`` (with parameters) and ``SOAPAction`` in a parsed form."""
    headers = Message()
    headers["Content-Type"] = content_type
    if soap_action is not None:
        headers["SOAPAction"] = soap_action
    return headers


class WholesaleFault(Exception):
    """A fault the simulated incumbent answers with.

    Not part of civetta's error tree: this is what the upstream says, and the proxy relays it.
    """

    def __init__(self, kind: FaultKind, code: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.kind: FaultKind = kind
        self.code = code
        self.reason = reason
        self.status = status

    def http_status(self, version: SoapVersion) -> int:
        """The HTTP status of this fault in ``version``."""
        if self.status is not None:
            return self.status
        return version.client_fault_status if self.kind == "Client" else 500


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """The fields of a request's ``hdr:header`` that the incumbent echoes or routes on."""

    activity_name: str
    sender_uri: str
    correlation_id: str


def text(parent: etree._Element, local: str, ns: str = ORD_NS) -> str | None:
    """The text of the child ``{ns}local`` of ``parent``, or None when absent."""
    child = parent.find(f"{{{ns}}}{local}")
    return None if child is None else (child.text or "")


def add(parent: etree._Element, local: str, value: str | None, ns: str = ORD_NS) -> None:
    """Append ``{ns}local`` with ``value`` to ``parent`` unless ``value`` is None."""
    if value is not None:
        etree.SubElement(parent, f"{{{ns}}}{local}" if ns else local).text = value


def timestamp(when: datetime | None = None) -> str:
    """An ``xs:dateTime`` in UTC, to the second."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds")


def build_header(
    info: HeaderInfo, msg_name: str, msg_type: str, destination: str
) -> etree._Element:
    """An ``hdr:header`` from the incumbent, echoing the requester's correlation id."""
    header = etree.Element(f"{{{HDR_NS}}}header", nsmap={"hdr": HDR_NS})
    add(header, "activityName", info.activity_name, HDR_NS)
    add(header, "msgName", msg_name, HDR_NS)
    add(header, "msgType", msg_type, HDR_NS)
    add(header, "senderURI", INCUMBENT_URI, HDR_NS)
    add(header, "destinationURI", destination, HDR_NS)
    add(header, "correlationId", info.correlation_id, HDR_NS)
    if msg_type == "NOTIFICATION":
        add(header, "communicationPattern", "Notification", HDR_NS)
    add(header, "timestamp", timestamp(), HDR_NS)
    return header


def build_addressing(action: str, to: str, relates_to: str) -> list[etree._Element]:
    """WS-Addressing blocks of a message answering the one whose ``wsa:MessageID`` is given."""
    blocks = []
    for local, value in (
        ("To", to),
        ("Action", action),
        ("MessageID", f"urn:uuid:{uuid.uuid4()}"),
        ("RelatesTo", relates_to),
    ):
        block = etree.Element(f"{{{WSA_NS}}}{local}", nsmap={"wsa": WSA_NS})
        block.text = value
        blocks.append(block)
    return blocks


def build_envelope(
    version: SoapVersion, headers: list[etree._Element], payload: etree._Element
) -> bytes:
    """Serialise an envelope with ``headers`` in ``soap:Header`` and ``payload`` in the body."""
    env = version.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={version.prefix: env, "ord": ORD_NS})
    if headers:
        etree.SubElement(root, f"{{{env}}}Header").extend(headers)
    etree.SubElement(root, f"{{{env}}}Body").append(payload)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def build_fault(
    version: SoapVersion, fault: WholesaleFault, header: etree._Element | None
) -> bytes:
    """Serialise ``fault`` in ``version``, with an ``ord:erroreWholesale`` detail."""
    env, pfx = version.envelope_ns, version.prefix
    detail_payload = etree.Element(f"{{{ORD_NS}}}erroreWholesale")
    add(detail_payload, "codiceErrore", fault.code)
    add(detail_payload, "descrizioneErrore", fault.reason)
    node = etree.Element(f"{{{env}}}Fault")
    code = f"{pfx}:{version.code(fault.kind)}"
    if version.name == "1.1":
        add(node, "faultcode", code, ns="")
        add(node, "faultstring", fault.reason, ns="")
        detail = etree.SubElement(node, "detail")
    else:
        add(etree.SubElement(node, f"{{{env}}}Code"), "Value", code, ns=env)
        reason = etree.SubElement(etree.SubElement(node, f"{{{env}}}Reason"), f"{{{env}}}Text")
        reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        reason.text = fault.reason
        detail = etree.SubElement(node, f"{{{env}}}Detail")
    detail.append(detail_payload)
    return build_envelope(version, [header] if header is not None else [], node)


# Schema messages quote the offending value; like a careful incumbent, the sandbox does not echo
# values (they may be personal data that would then sit in the OSS's logs).
_QUOTED_VALUE = re.compile(r"(?:The value |(?<=: ))'.*'(?= is not)")


def schema_problem(schema: etree.XMLSchema, element: etree._Element) -> str | None:
    """None when ``element`` is valid against ``schema``, else where and why it is not."""
    if schema.validate(element):
        return None
    # lxml-stubs declare the error log empty; at run time it is a sequence of _LogEntry.
    entry = next(iter(cast("Iterable[Any]", schema.error_log)))
    message = _QUOTED_VALUE.sub("the value", entry.message)
    return f"schema validation failed at {entry.path} (line {entry.line}): {message}"


def load_schema(path: Path) -> etree.XMLSchema:
    """Compile one of the project's own XSD files, read with the hardened parser.

    The files are self-contained by design: an ``xs:import``/``xs:include``/``xs:redefine`` with
    a ``schemaLocation`` would make libxml2 fetch and parse the target itself, with its own
    parser options (entities substituted), so such a schema is refused instead.
    """
    tree = parse_xml(path.read_bytes())
    for tag in ("import", "include", "redefine"):
        for node in tree.getroot().iter(f"{{{XSD_NS}}}{tag}"):
            if node.get("schemaLocation") is not None:
                where = f"{path}:{node.sourceline}"
                reason = f"expected a self-contained schema, got xs:{tag} with a schemaLocation"
                raise ConfigError([f"{where}: {reason}"])
    try:
        return etree.XMLSchema(tree)
    except etree.XMLSchemaParseError as exc:
        raise ConfigError([f"{path}: expected a valid XML Schema, got: {exc}"]) from exc
