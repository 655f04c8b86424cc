"""Tests for :mod:`proxy.formats.soap`: envelopes against their HTTP framing."""

from __future__ import annotations

import pytest

from proxy.errors import BodyError, CivettaError, UnsupportedMedia
from proxy.formats.media import parse_media_type
from proxy.formats.soap import (
    SOAP11_NS,
    SOAP12_NS,
    SoapVersion,
    XmlLimits,
    parse_soap,
    parse_xml,
    serialise_xml,
)

MARKER = "Zq7MarkerValue"
TEXT_XML = parse_media_type("text/xml; charset=utf-8")
SOAP_XML = parse_media_type('application/soap+xml; charset=utf-8; action="urn:x:activate"')


def envelope(ns: str, inner: str, prefix: str = "s", declaration: bool = True) -> bytes:
    """A SOAP envelope in namespace ``ns`` holding ``inner``."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else ""
    inner = inner.replace("<s:", f"<{prefix}:").replace("</s:", f"</{prefix}:")
    return f'{head}<{prefix}:Envelope xmlns:{prefix}="{ns}">{inner}</{prefix}:Envelope>'.encode()


BODY = f'<s:Body><a:activate xmlns:a="urn:a"><a:name>{MARKER}</a:name></a:activate></s:Body>'
HEADER = '<s:Header><h:id xmlns:h="urn:h">c-1</h:id></s:Header>'


def test_soap11_request_with_header_and_body() -> None:
    """SOAP 1.1: version, Header, Body and the SOAPAction exactly as sent, quotes included."""
    env = parse_soap(envelope(SOAP11_NS, HEADER + BODY), TEXT_XML, '"urn:x:activate"')
    assert env.version is SoapVersion.V11
    assert env.header is not None
    assert env.header.tag == f"{{{SOAP11_NS}}}Header"
    assert env.body.tag == f"{{{SOAP11_NS}}}Body"
    assert env.body[0].tag == "{urn:a}activate"
    assert env.action == '"urn:x:activate"'
    assert env.media is TEXT_XML


def test_soap12_action_comes_from_the_content_type() -> None:
    """SOAP 1.2: the action is the unquoted 'action' parameter; no Header is fine."""
    env = parse_soap(envelope(SOAP12_NS, BODY), SOAP_XML, None)
    assert env.version is SoapVersion.V12
    assert env.header is None
    assert env.action == "urn:x:activate"


def test_soap12_without_action_parameter_has_no_action() -> None:
    """The action parameter is optional in SOAP 1.2."""
    env = parse_soap(envelope(SOAP12_NS, BODY), parse_media_type("application/soap+xml"), None)
    assert env.action is None


def test_body_elements_are_live_parts_of_the_tree() -> None:
    """Editing env.body edits env.tree, which serialise_xml then writes."""
    env = parse_soap(envelope(SOAP11_NS, BODY), TEXT_XML, '""')
    env.body[0][0].text = "partner"
    out = serialise_xml(env.tree)
    assert b"<a:name>partner</a:name>" in out
    assert MARKER.encode() not in out


def test_comments_and_whitespace_between_envelope_children_are_allowed() -> None:
    """Comments and indentation inside the Envelope are legal SOAP."""
    inner = f"\n  <!-- hdr -->\n  {HEADER}\n  <!-- body -->\n  {BODY}\n"
    env = parse_soap(envelope(SOAP11_NS, inner), TEXT_XML, '""')
    assert env.header is not None


@pytest.mark.parametrize(
    ("content_type", "ns", "error"),
    [
        ("text/xml", SOAP11_NS, None),
        ("text/xml", SOAP12_NS, UnsupportedMedia),
        ("application/soap+xml", SOAP12_NS, None),
        ("application/soap+xml", SOAP11_NS, UnsupportedMedia),
        ("application/xml", SOAP11_NS, UnsupportedMedia),
        ("application/xml", SOAP12_NS, UnsupportedMedia),
        ("application/json", SOAP11_NS, UnsupportedMedia),
        ("text/xml", "urn:not-soap", BodyError),
        ("application/soap+xml", "urn:not-soap", BodyError),
    ],
)
def test_version_and_content_type_must_agree(
    content_type: str, ns: str, error: type[CivettaError] | None
) -> None:
    """The mismatch matrix: type vs envelope namespace (415), or no SOAP envelope (400)."""
    media = parse_media_type(content_type)
    data = envelope(ns, BODY)
    if error is None:
        assert parse_soap(data, media, '""').body is not None
    else:
        with pytest.raises(error):
            parse_soap(data, media, '""')


def test_root_with_the_right_namespace_but_wrong_name_is_refused() -> None:
    """Only {ns}Envelope is a SOAP root."""
    data = f'<s:Body xmlns:s="{SOAP11_NS}"/>'.encode()
    with pytest.raises(BodyError, match="Envelope root element"):
        parse_soap(data, TEXT_XML, '""')


def test_soap11_request_without_soapaction_is_refused() -> None:
    """SOAP 1.1 requests must carry SOAPAction (even an empty one)."""
    with pytest.raises(BodyError, match="SOAPAction"):
        parse_soap(envelope(SOAP11_NS, BODY), TEXT_XML, None)


def test_soap11_response_needs_no_soapaction() -> None:
    """Responses carry no SOAPAction: request=False accepts its absence."""
    env = parse_soap(envelope(SOAP11_NS, BODY), TEXT_XML, None, request=False)
    assert env.action is None


@pytest.mark.parametrize("header", ["urn:x:activate", '"urn:x:activate"'])
def test_soap12_soapaction_header_repeating_the_action_is_accepted(header: str) -> None:
    """A SOAP 1.2 client that also sends SOAPAction is fine if both name the operation."""
    assert parse_soap(envelope(SOAP12_NS, BODY), SOAP_XML, header).action == "urn:x:activate"


def test_soap12_soapaction_header_disagreeing_with_action_is_refused() -> None:
    """Two different actions would let proxy and incumbent route differently."""
    with pytest.raises(BodyError, match="repeat the action") as info:
        parse_soap(envelope(SOAP12_NS, BODY), SOAP_XML, f'"urn:{MARKER}"')
    assert MARKER not in str(info.value)


@pytest.mark.parametrize(
    ("charset", "declaration", "error"),
    [
        ("utf-8", "UTF-8", None),
        ("UTF8", "utf-8", None),
        ("iso-8859-1", "ISO-8859-1", None),
        ("latin1", "iso-8859-1", None),
        ("iso-8859-1", "UTF-8", UnsupportedMedia),
        ("utf-8", "windows-1252", UnsupportedMedia),
        ("x-unknown", "UTF-8", UnsupportedMedia),
    ],
)
def test_charset_parameter_must_match_the_document_encoding(
    charset: str, declaration: str, error: type[CivettaError] | None
) -> None:
    """RFC 7303: the charset parameter overrides the declaration, so both must agree."""
    data = envelope(SOAP11_NS, BODY).replace(b"UTF-8", declaration.encode())
    media = parse_media_type(f"text/xml; charset={charset}")
    if error is None:
        assert parse_soap(data, media, '""').version is SoapVersion.V11
    else:
        with pytest.raises(error, match="charset"):
            parse_soap(data, media, '""')


def test_utf16_document_matches_a_utf16_charset() -> None:
    """A UTF-16 document (BOM) agrees with charset=utf-16."""
    data = envelope(SOAP11_NS, BODY, declaration=False).decode().encode("utf-16")
    env = parse_soap(data, parse_media_type("text/xml; charset=utf-16"), '""')
    assert serialise_xml(env.tree) == data


@pytest.mark.parametrize(
    "inner",
    [
        "",
        HEADER,
        BODY + BODY,
        BODY + HEADER,
        HEADER + HEADER + BODY,
        BODY + "<x:extra xmlns:x='urn:x'/>",
        "<x:first xmlns:x='urn:x'/>" + BODY,
        BODY.replace("s:Body", "t:Body").replace("<t:Body>", f"<t:Body xmlns:t='{SOAP12_NS}'>"),
    ],
    ids=["empty", "header only", "two bodies", "header after body", "two headers",
         "element after body", "element before body", "body of the other version"],
)  # fmt: skip
def test_envelope_must_hold_an_optional_header_then_one_body(inner: str) -> None:
    """Anything but Header? Body inside the Envelope is a 400."""
    with pytest.raises(BodyError, match="optional Header then one Body"):
        parse_soap(envelope(SOAP11_NS, inner), TEXT_XML, '""')


@pytest.mark.parametrize("inner", [f"{MARKER}{BODY}", f"{BODY}{MARKER}", f"{HEADER}{MARKER}{BODY}"])
def test_text_inside_the_envelope_is_refused_without_echoing_it(inner: str) -> None:
    """Character data directly in the Envelope is not SOAP; the message does not quote it."""
    with pytest.raises(BodyError, match="got text") as info:
        parse_soap(envelope(SOAP11_NS, inner), TEXT_XML, '""')
    assert MARKER not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        envelope(SOAP11_NS, BODY.replace("</a:name>", f"</a:name><?keep {MARKER}?>")),
        b"<?xml-stylesheet href='x'?>" + envelope(SOAP11_NS, BODY, declaration=False),
        envelope(SOAP11_NS, BODY) + b"<?after?>",
    ],
    ids=["in body", "in prolog", "after envelope"],
)
def test_processing_instructions_are_refused(data: bytes) -> None:
    """SOAP forbids PIs anywhere; they could carry data no selector looks at."""
    with pytest.raises(BodyError, match="processing instructions") as info:
        parse_soap(data, TEXT_XML, '""')
    assert MARKER not in str(info.value)


def test_pi_lookalike_in_cdata_is_not_a_pi() -> None:
    """'<?' inside CDATA is text, so the envelope is accepted."""
    data = envelope(SOAP11_NS, BODY.replace(MARKER, "<![CDATA[a <?b?> c]]>"))
    assert parse_soap(data, TEXT_XML, '""').body[0][0].text == "a <?b?> c"


def test_xml_hardening_applies_to_soap() -> None:
    """parse_soap inherits every fence of parse_xml, e.g. the DTD ban."""
    data = b'<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + envelope(
        SOAP11_NS, BODY.replace(MARKER, "&x;"), declaration=False
    )
    with pytest.raises(BodyError, match="without a DTD"):
        parse_soap(data, TEXT_XML, '""')


def test_limits_are_passed_through() -> None:
    """XmlLimits given to parse_soap bound the document."""
    with pytest.raises(BodyError, match="at most 2 deep"):
        parse_soap(envelope(SOAP11_NS, BODY), TEXT_XML, '""', XmlLimits(max_depth=2))


SOAP_ROUND_TRIPS = {
    "1.1 with declaration": envelope(SOAP11_NS, HEADER + BODY) + b"\n",
    "1.1 without declaration": envelope(SOAP11_NS, BODY, "soapenv", declaration=False),
    "1.2 with declaration": envelope(SOAP12_NS, "\n  " + HEADER + "\n  " + BODY + "\n", "env"),
    "1.1 latin-1": (
        b"<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        + envelope(SOAP11_NS, BODY, declaration=False).replace(MARKER.encode(), b"Niccol\xf2")
    ),
}


@pytest.mark.parametrize("data", SOAP_ROUND_TRIPS.values(), ids=SOAP_ROUND_TRIPS.keys())
def test_soap_round_trip_is_byte_identical(data: bytes) -> None:
    """parse_soap then serialise_xml of an unmodified envelope returns the same bytes."""
    media = parse_media_type("text/xml" if SOAP11_NS.encode() in data else "application/soap+xml")
    assert serialise_xml(parse_soap(data, media, '""').tree) == data


def test_backwards_compatible_names_are_still_exported() -> None:
    """Modules written against the first soap.py keep working."""
    assert parse_xml(b"<r/>").getroot().tag == "r"
    assert XmlLimits().max_depth == 64
