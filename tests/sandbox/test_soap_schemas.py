"""The WSDL and XSDs of the wholesale SOAP interface, and the sample messages in fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import zeep
from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

from proxy.errors import ConfigError
from proxy.formats.soap import SOAP11_NS, SOAP12_NS, parse_xml
from proxy.sandbox.soap import HEADER_XSD, ORDERING_XSD, PATH_SOAP11, PATH_SOAP12
from proxy.sandbox.soap_checks import check_payload
from proxy.sandbox.soap_messages import ACTION_PREFIX, HDR_NS, ORD_NS, load_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
WSDL = SCHEMAS / "soap" / "wholesale-ordering-v1.wsdl"
FIXTURES = REPO / "tests" / "fixtures" / "soap"
WSDL_NS = "http://wholesale.example.it/ordering/v1/wsdl"

#: service -> port -> (binding class, binding local name, address, operations)
EXPECTED_PORTS = {
    "WholesaleOrderingService": {
        "WholesaleOrderingSoap11Port": (
            Soap11Binding,
            "WholesaleOrderingSoap11Binding",
            "http://localhost:8090/ws/wholesale/v1",
        ),
        "WholesaleOrderingSoap12Port": (
            Soap12Binding,
            "WholesaleOrderingSoap12Binding",
            "http://localhost:8090/ws/wholesale/v1/soap12",
        ),
    },
    "OloNotificationService": {
        "OloNotificationSoap11Port": (
            Soap11Binding,
            "OloNotificationSoap11Binding",
            "http://localhost:8081/ws/olo/notifications",
        ),
        "OloNotificationSoap12Port": (
            Soap12Binding,
            "OloNotificationSoap12Binding",
            "http://localhost:8081/ws/olo/notifications/soap12",
        ),
    },
}
OPERATIONS = {
    "WholesaleOrderingService": {"SubmitActivationOrder", "SubmitTroubleTicket", "GetOrderStatus"},
    "OloNotificationService": {"NotifyOrderStatus"},
}


def wsdl_services() -> dict[str, Any]:
    """The WSDL's services as zeep loads them."""
    # zeep ships py.typed but leaves Client unannotated.
    client = zeep.Client(str(WSDL))  # type: ignore[no-untyped-call]
    return dict(client.wsdl.services)


def test_wsdl_binds_every_operation_on_both_soap_versions() -> None:
    """Each service has a SOAP 1.1 and a SOAP 1.2 port binding all its operations, each with
    a ``urn:wholesale:ordering:v1:<operation>`` action and ``hdr:header`` as a header part."""
    services = wsdl_services()
    assert set(services) == set(EXPECTED_PORTS)
    for service_name, ports in EXPECTED_PORTS.items():
        assert set(services[service_name].ports) == set(ports)
        for port_name, (binding_class, binding_name, address) in ports.items():
            port = services[service_name].ports[port_name]
            assert isinstance(port.binding, binding_class)
            assert port.binding.name.text == f"{{{WSDL_NS}}}{binding_name}"
            assert port.binding_options["address"] == address
            assert set(port.binding._operations) == OPERATIONS[service_name]
            for name in OPERATIONS[service_name]:
                operation = port.binding._operations[name]
                assert operation.soapaction == f"{ACTION_PREFIX}{name}"
                for message in (operation.input, operation.output):
                    parts = [element.qname for _, element in message.header.type.elements]
                    assert parts == [etree.QName(HDR_NS, "header")]
                    assert message.body.qname.namespace == ORD_NS


def test_sandbox_paths_are_the_wsdl_addresses() -> None:
    """The sandbox serves its SOAP 1.1 and 1.2 endpoints at the paths of the WSDL's addresses."""
    ports = wsdl_services()["WholesaleOrderingService"].ports
    paths = {name: urlsplit(port.binding_options["address"]).path for name, port in ports.items()}
    assert paths == {
        "WholesaleOrderingSoap11Port": PATH_SOAP11,
        "WholesaleOrderingSoap12Port": PATH_SOAP12,
    }


@pytest.mark.parametrize("name", [HEADER_XSD, ORDERING_XSD])
def test_xsd_compiles_from_the_hardened_parser(name: str) -> None:
    """Each XSD is self-contained and compiles from bytes read by ``parse_xml``."""
    schema = load_schema(SCHEMAS / name)
    assert isinstance(schema, etree.XMLSchema)


def test_schema_with_a_schema_location_is_refused(tmp_path: Path) -> None:
    """An ``xs:import`` with a ``schemaLocation`` is refused rather than fetched by libxml2."""
    xsd = tmp_path / "importing.xsd"
    xsd.write_bytes(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">'
        b'<xs:import namespace="urn:o" schemaLocation="file:///etc/passwd"/></xs:schema>'
    )
    with pytest.raises(ConfigError, match="self-contained"):
        load_schema(xsd)


FIXTURE_FILES = {
    "activation_order_11.xml": (SOAP11_NS, "SubmitActivationOrder"),
    "activation_order_12.xml": (SOAP12_NS, "SubmitActivationOrder"),
    "trouble_ticket_11.xml": (SOAP11_NS, "SubmitTroubleTicket"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_FILES))
def test_fixture_is_a_valid_request(name: str) -> None:
    """Each sample message is a SOAP envelope whose header and payload validate against the
    XSDs and whose codice fiscale / partita IVA have valid check characters."""
    envelope_ns, operation = FIXTURE_FILES[name]
    root = parse_xml((FIXTURES / name).read_bytes()).getroot()
    assert root.tag == f"{{{envelope_ns}}}Envelope"
    header = root.find(f"{{{envelope_ns}}}Header/{{{HDR_NS}}}header")
    payload = root.find(f"{{{envelope_ns}}}Body/{{{ORD_NS}}}{operation}")
    assert header is not None
    assert payload is not None
    load_schema(SCHEMAS / HEADER_XSD).assertValid(header)
    check_payload(load_schema(SCHEMAS / ORDERING_XSD), payload)


def test_activation_fixture_carries_the_hard_cases() -> None:
    """The SOAP 1.1 activation sample has contacts where filters miss them: a CDATA section in
    ``note``, a foreign-namespace ``estensioni`` block and a base64 attachment, at about 8 KB."""
    data = (FIXTURES / "activation_order_11.xml").read_bytes()
    assert 7_000 < len(data) < 10_000
    root = parse_xml(data).getroot()
    note = root.find(f".//{{{ORD_NS}}}note")
    assert note is not None
    assert b"<![CDATA[" in data
    assert "+39 347-123-45-67" in (note.text or "")
    extension = root.find(f".//{{{ORD_NS}}}estensioni")
    assert extension is not None
    assert len(extension) == 1
    assert etree.QName(extension[0]).namespace not in (ORD_NS, HDR_NS)
    assert root.find(f".//{{{ORD_NS}}}allegato/{{{ORD_NS}}}contenuto") is not None


def test_soap12_fixture_carries_ws_addressing() -> None:
    """The SOAP 1.2 sample carries WS-Addressing Action, MessageID, To and ReplyTo."""
    root = parse_xml((FIXTURES / "activation_order_12.xml").read_bytes()).getroot()
    header = root.find(f"{{{SOAP12_NS}}}Header")
    assert header is not None
    wsa = "http://www.w3.org/2005/08/addressing"
    names = {
        etree.QName(block).localname for block in header if etree.QName(block).namespace == wsa
    }
    assert names == {"Action", "MessageID", "To", "ReplyTo"}
