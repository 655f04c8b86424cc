"""Hardened XML and SOAP handling: the only place in civetta that builds an XML parser.

No DTD (any ``<!DOCTYPE`` is rejected: SOAP forbids it), no entity expansion, no network, and
limits on size and depth. Bytes in, bytes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from proxy.errors import BodyError

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Bounds on what the parser accepts."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64


def _parser() -> etree.XMLParser:
    # Fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        strip_cdata=False,
    )


def parse_xml(data: bytes, limits: XmlLimits = XmlLimits()) -> etree._ElementTree:
    """Parse ``data`` safely or raise :class:`BodyError` naming what was wrong, never a value."""
    if len(data) > limits.max_bytes:
        raise BodyError(f"expected an XML document of at most {limits.max_bytes} bytes, got {len(data)}")
    if b"<!DOCTYPE" in data or b"<!doctype" in data:
        raise BodyError("expected an XML document without a DTD, got a <!DOCTYPE declaration")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else 0
        raise BodyError(f"expected well-formed XML, got a syntax error at line {line}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise BodyError("expected an XML document without a DTD, got a document type declaration")
    depth = _depth(root)
    if depth > limits.max_depth:
        raise BodyError(f"expected XML nested at most {limits.max_depth} deep, got {depth}")
    return tree


def _depth(root: etree._Element) -> int:
    deepest = 0
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node)
    return deepest
