"""Tests for :mod:`proxy.formats.xml_body` and its prolog scan: attacks, limits, round trips."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from proxy.errors import BodyError, BodyTooLarge, UnsupportedMedia
from proxy.formats import xml_body
from proxy.formats.xml_body import XmlLimits, layout_of, parse_xml, read_xml, serialise_xml
from proxy.formats.xml_prolog import XmlLayout

MARKER = "Zq7MarkerValue"
PASSWD = "file:///etc/passwd"

# -- DTDs and entities: every spelling is refused before libxml2 sees it ----------------------

XXE_FILE = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{PASSWD}">]><r>&x;</r>'
XXE_PARAMETER = (
    f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{PASSWD}"> %p;]><r>{MARKER}</r>'
)
XXE_EXTERNAL_DTD = f'<!DOCTYPE r SYSTEM "{PASSWD}"><r/>'
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]><lolz>&lol9;</lolz>"
)
QUADRATIC = f'<!DOCTYPE r [<!ENTITY a "{"A" * 50_000}">]><r>{"&a;" * 2_000}</r>'

DOCTYPES = {
    "file entity": XXE_FILE,
    "parameter entity": XXE_PARAMETER,
    "external DTD": XXE_EXTERNAL_DTD,
    "billion laughs": BILLION_LAUGHS,
    "quadratic blow-up": QUADRATIC,
    "lower case": "<!doctype r><r/>",
    "mixed case": "<!DocType r><r/>",
    "space after <!": "<! DOCTYPE r><r/>",
    "after whitespace": "\n\t <!DOCTYPE r><r/>",
    "after comment and PI": '<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n<!DOCTYPE r><r/>',
    "bare ENTITY": '<!ENTITY x "y"><r/>',
}


@pytest.mark.parametrize("doc", DOCTYPES.values(), ids=DOCTYPES.keys())
def test_any_dtd_is_refused(doc: str) -> None:
    """XXE, parameter entities, entity expansion bombs and odd DOCTYPE spellings: all 400."""
    with pytest.raises(BodyError, match="without a DTD"):
        parse_xml(doc.encode())


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_dtd_in_utf16_is_refused(codec: str) -> None:
    """UTF-16 hides '<!DOCTYPE' from a byte search; the scan reads it anyway."""
    bom = {"utf-16": "", "utf-16-le": "\ufeff", "utf-16-be": "\ufeff"}[codec]
    data = (bom + XXE_FILE.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')).encode(codec)
    with pytest.raises(BodyError, match="without a DTD"):
        parse_xml(data)


def test_dtd_after_utf8_bom_is_refused() -> None:
    """A byte order mark in front does not move the scan off the prolog."""
    with pytest.raises(BodyError, match="without a DTD"):
        parse_xml(b"\xef\xbb\xbf" + XXE_FILE.encode())


def test_doctype_text_inside_cdata_is_only_text() -> None:
    """'<!DOCTYPE' in character data is not a DTD: the document parses, nothing expands."""
    tree = parse_xml(b"<r><![CDATA[<!DOCTYPE html>]]></r>")
    assert tree.getroot().text == "<!DOCTYPE html>"


def test_undeclared_entity_reference_is_refused() -> None:
    """Without a DTD, &name; cannot be resolved, and libxml2 reports it."""
    with pytest.raises(BodyError, match="syntax error at line 1"):
        parse_xml(f"<r>&{MARKER};</r>".encode())


def test_parser_refuses_dtds_even_without_the_byte_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fences 2 and 4: with the scan disabled, nothing is read and the DTD is still refused."""
    monkeypatch.setattr(xml_body, "scan_prolog", lambda data: XmlLayout("utf-8", "UTF-8"))
    with pytest.raises(BodyError, match="document type declaration"):
        parse_xml(XXE_FILE.encode())


def test_deny_resolver_refuses_loads_the_parser_is_configured_to_make() -> None:
    """Fence 3: even a parser told to load DTDs and entities reads no file through it."""
    parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True)
    parser.resolvers.add(xml_body._DENY)
    with pytest.raises(BodyError, match="no external resources"):
        etree.fromstring(XXE_FILE.encode(), parser)


def test_xinclude_is_not_processed() -> None:
    """An xi:include stays an element; the file it names is never read."""
    doc = f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{PASSWD}" parse="text"/></r>'
    tree = parse_xml(doc.encode())
    assert tree.getroot()[0].tag == "{http://www.w3.org/2001/XInclude}include"
    assert b"root:" not in serialise_xml(tree)


def test_processing_instructions_are_allowed_by_the_xml_layer() -> None:
    """PIs are legal XML; only the SOAP layer refuses them."""
    tree = parse_xml(b'<?xml-stylesheet href="a"?><r><?pi data?></r>')
    pi = tree.getroot()[0]
    assert isinstance(pi, etree._ProcessingInstruction)
    assert pi.target == "pi"


# -- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="UTF-7"?><r>+ADw-!DOCTYPE r+AD4-</r>',
        b'<?xml version="1.0" encoding="EBCDIC-US"?><r/>',
        b'<?xml version="1.0" encoding="x-no-such-charset"?><r/>',
        b'<?xml version="1.0" encoding="UTF-16"?><r/>',
        b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><r/>',
        "<r/>".encode("utf-32"),
        "<r/>".encode("utf-16-le"),
        "<r/>".encode("utf-16-be"),
        '<?xml version="1.0" encoding="cp500"?><r/>'.encode("cp500"),
    ],
    ids=["utf-7", "ebcdic label", "unknown", "utf-16 label on bytes", "bom mismatch",
         "utf-32", "utf-16le no bom", "utf-16be no bom", "ebcdic bytes"],
)  # fmt: skip
def test_encodings_the_scan_cannot_read_are_refused(data: bytes) -> None:
    """Encodings in which '<!DOCTYPE' would not look like ASCII are refused (415)."""
    with pytest.raises(UnsupportedMedia, match="expected"):
        parse_xml(data)


def test_unknown_encoding_label_is_not_echoed() -> None:
    """The label is body text: the message names the accepted list instead."""
    with pytest.raises(UnsupportedMedia) as info:
        parse_xml(f'<?xml version="1.0" encoding="{MARKER}"?><r/>'.encode())
    assert MARKER not in str(info.value)


def test_declaration_the_scan_cannot_read_is_refused() -> None:
    """A '<?xml ' start that is not a declaration the scan understands is refused."""
    with pytest.raises(BodyError, match="XML declaration"):
        parse_xml(b'<?xml version="1.0" encoding="UTF-8" extra="1"?><r/>')


def test_invalid_utf16_is_refused() -> None:
    """An unpaired surrogate in UTF-16 bytes is a 400, with the byte offset."""
    with pytest.raises(BodyError, match="UTF-16"):
        parse_xml(b"\xff\xfe<\x00r\x00/\x00>\x00\x00\xd8")


# -- limits -----------------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    """A document ``depth`` elements deep."""
    return b"<a>" * depth + b"</a>" * depth


def test_depth_at_the_limit_is_accepted() -> None:
    """max_depth elements deep (the root counts as 1) is allowed."""
    assert parse_xml(nested(64)).getroot().tag == "a"


@pytest.mark.parametrize("depth", [65, 200, 100_000])
def test_depth_past_the_limit_is_refused(depth: int) -> None:
    """One level too deep, or a depth bomb past libxml2's own cap of 256, is a 400."""
    with pytest.raises(BodyError, match=r"deep|depth"):
        parse_xml(nested(depth))


def test_custom_depth_limit_applies() -> None:
    """XmlLimits.max_depth is honoured."""
    with pytest.raises(BodyError, match="at most 3 deep"):
        parse_xml(nested(4), XmlLimits(max_depth=3))


def test_document_over_the_size_limit_is_too_large() -> None:
    """Size is checked before any parsing: 413."""
    with pytest.raises(BodyTooLarge, match="at most 100 bytes"):
        parse_xml(b"<r>" + b"x" * 100 + b"</r>", XmlLimits(max_bytes=100))


def test_huge_text_node_within_the_size_limit_parses() -> None:
    """A 3 MiB text node under the 4 MiB default is fine: no entity, no amplification."""
    assert len(parse_xml(b"<r>" + b"x" * (3 << 20) + b"</r>").getroot().text or "") == 3 << 20


def test_text_node_past_libxml2s_cap_is_refused() -> None:
    """Even with a generous byte limit, libxml2's 10 MB text cap stands (no huge_tree)."""
    data = b"<r>" + b"x" * (11 << 20) + b"</r>"
    with pytest.raises(BodyError, match="limits"):
        parse_xml(data, XmlLimits(max_bytes=16 << 20))


# -- errors never quote the document ----------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        f"<r>{MARKER}</r",
        f'<r a="{MARKER}" a="{MARKER}"/>',
        f"<r><{MARKER}></r>",
        f'<!DOCTYPE r [<!ENTITY {MARKER} "{MARKER}">]><r/>',
        f"<r>{MARKER}</r><r/>",
    ],
)
def test_syntax_errors_name_a_position_not_the_content(doc: str) -> None:
    """libxml2's messages quote the document; ours give line and column only."""
    with pytest.raises(BodyError) as info:
        parse_xml(doc.encode())
    assert MARKER not in str(info.value)


# -- round trips ------------------------------------------------------------------------------

SOAP11 = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:act="urn:x:act">
  <soapenv:Header>
    <hdr:header xmlns:hdr="http://www.tmforum.org/mtop/fmw/xsd/hdr/v1">
      <hdr:correlationId>c-42</hdr:correlationId>
    </hdr:header>
  </soapenv:Header>
  <soapenv:Body>
    <act:activate>
      <!-- customer contact -->
      <act:contact>Mario Rossi &amp; figli &lt;ufficio&gt;</act:contact>
      <act:note><![CDATA[call <after> 18:00 & ask for "Anna"]]></act:note>
      <act:empty/>
    </act:activate>
  </soapenv:Body>
</soapenv:Envelope>
"""
ZEEP = (
    b"<?xml version='1.0' encoding='utf-8'?>\n"
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soap-env:Body><ns0:ping xmlns:ns0="urn:x"><ns0:n>\xc3\xa9</ns0:n></ns0:ping>'
    b"</soap-env:Body></soap-env:Envelope>"
)
SOAP12_NO_DECLARATION = (
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">\n'
    b'\t<env:Body><m:q xmlns:m="urn:m" m:a="1">caf\xc3\xa9 \xe2\x82\xac</m:q></env:Body>\n'
    b"</env:Envelope>"
)
LATIN1 = (
    b'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\r\n'
    b"<!-- generated -->\n<?app version=2?>\n\n<r>citt\xe0 di Forl\xec</r>\n\n"
)
CP1252 = b'<?xml version = "1.0" encoding = "windows-1252" ?><r>\x80 5</r>'
UTF8_BOM = b'\xef\xbb\xbf<?xml version="1.0"?>\n<r>\xc3\xa9</r>'

ROUND_TRIPS = {
    "soap 1.1 typical": SOAP11,
    "zeep style": ZEEP,
    "soap 1.2 without declaration": SOAP12_NO_DECLARATION,
    "iso-8859-1, prolog nodes": LATIN1,
    "windows-1252, odd spacing": CP1252,
    "utf-8 bom": UTF8_BOM,
    "utf-16le bom": '<?xml version="1.0" encoding="UTF-16"?>\n<r a="1">é €</r>\n'.encode("utf-16"),
    "utf-16be bom": "\ufeff<r>é</r>".encode("utf-16-be"),
}


@pytest.mark.parametrize("data", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_unmodified_document_round_trips_byte_identical(data: bytes) -> None:
    """Declaration, encoding, BOM, prefixes, comments, CDATA and whitespace all survive."""
    assert serialise_xml(parse_xml(data)) == data


def test_edit_keeps_the_declared_encoding() -> None:
    """An edited ISO-8859-1 document stays ISO-8859-1; what it cannot hold becomes a reference."""
    tree = parse_xml(LATIN1)
    tree.getroot().text = "Forlì €"
    out = serialise_xml(tree)
    assert out.startswith(b'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\r\n')
    assert b"<r>Forl\xec &#8364;</r>" in out


def test_edited_prolog_falls_back_to_plain_joins() -> None:
    """When prolog nodes are added, gaps no longer line up: only the first one is kept."""
    tree = parse_xml(LATIN1)
    tree.getroot().addprevious(etree.Comment("added"))
    assert serialise_xml(tree) == (
        b'<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>\r\n'
        b"<!-- generated --><?app version=2?><!--added--><r>citt\xe0 di Forl\xec</r>\n\n"
    )


def test_what_cannot_be_preserved_is_normalised() -> None:
    """As documented: attribute quotes, spaces in tags, <a></a>, needless references."""
    tree = parse_xml(b"<r  a='1' ><a></a>&#233;&apos;</r >")
    assert serialise_xml(tree) == b'<r a="1"><a/>\xc3\xa9\'</r>'


def test_layout_records_the_declaration_and_charset() -> None:
    """read_xml returns the layout that serialise_xml uses."""
    tree, layout = read_xml(LATIN1)
    assert layout == layout_of(tree)
    assert layout.charset == "iso8859-1"
    assert layout.declaration.startswith('<?xml version="1.0" encoding="ISO-8859-1"')


def test_tree_built_elsewhere_serialises_as_utf8_without_declaration() -> None:
    """A tree civetta did not parse gets the fallback: UTF-8, no declaration."""
    latin1 = '<?xml version="1.0" encoding="latin1"?><r>\xe9</r>'.encode("latin-1")
    tree = etree.ElementTree(etree.fromstring(latin1))
    assert layout_of(tree) is None
    assert serialise_xml(tree) == b"<r>\xc3\xa9</r>"


def test_deep_copy_keeps_the_layout() -> None:
    """A deep copy shares the parser, hence the layout, of the document it copies."""
    assert serialise_xml(copy.deepcopy(parse_xml(LATIN1))) == LATIN1


def test_layout_survives_the_original_tree_object() -> None:
    """The layout lives with the document, so getroottree() from any element finds it."""
    root = parse_xml(ZEEP).getroot()
    assert serialise_xml(root[0][0].getroottree()) == ZEEP
