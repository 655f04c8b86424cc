"""Hardened XML: the only place in civetta that builds an XML parser.

Parsing is fenced four ways, so that one mistake is not enough for an attack to get through:

1. a byte scan of the prolog (:mod:`proxy.formats.xml_prolog`) refuses any DTD, however it is
   spelt, and any encoding in which that scan could be fooled;
2. the parser loads no DTD, resolves no entity and touches no network;
3. a resolver that refuses every external load sits behind the parser;
4. after parsing, ``docinfo`` must show no document type declaration.

XInclude is never processed (nothing here calls ``xinclude()``). Processing instructions are
allowed by this layer; SOAP refuses them (:mod:`proxy.formats.soap`).

**Round trip.** :func:`serialise_xml` reproduces the XML declaration exactly as sent (quotes,
spacing, encoding label, standalone), the BOM, the encoding, prefixes, namespace declarations,
comments, CDATA sections and all whitespace inside the root element, and the whitespace between
the declaration, prolog comments/PIs and the root and at the end of the document. So an
unmodified, typical document comes back byte-identical. What libxml2 does not record cannot be
reproduced: quote style of attributes (always ``"``), whitespace inside tags, ``<a></a>``
versus ``<a/>``, character and predefined-entity references that need no escaping (``&#233;``
comes back as the character when the encoding can hold it, ``&apos;`` as ``'``), CR LF line ends
(normalised on input by XML §2.11), and whitespace between nodes after the root element. That
is why the proxy forwards the original bytes whenever the policy changed nothing, and serialises
only documents it edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from lxml import etree

from proxy.errors import BodyError, BodyTooLarge
from proxy.formats.xml_prolog import XmlLayout, scan_prolog


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Bounds on what the parser accepts."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64


class _Parser(etree.XMLParser):
    """A parser that remembers the layout of the one document it parsed (``tree.parser``)."""

    layout: XmlLayout | None = None


class _DenyResolver(etree.Resolver):
    """Third fence: should libxml2 ever try to load anything, the parse fails."""

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        """Refuse every external DTD, entity or XInclude target."""
        raise BodyError("expected no external resources, got a reference to one")


_DENY = _DenyResolver()
# For a tree civetta did not parse: UTF-8 without a declaration is right for any content.
_UTF8 = XmlLayout("utf-8", "UTF-8")
_RESOURCE_LIMIT = etree.ErrorTypes.ERR_RESOURCE_LIMIT


def parse_xml(data: bytes, limits: XmlLimits = XmlLimits()) -> etree._ElementTree:
    """Parse ``data`` safely or raise :class:`BodyError` naming what was wrong, never a value.

    A document over ``limits.max_bytes`` raises :class:`BodyTooLarge`; an encoding outside
    UTF-8, UTF-16, US-ASCII, ISO-8859-n and windows-125n raises :class:`UnsupportedMedia`.
    """
    return read_xml(data, limits)[0]


def read_xml(data: bytes, limits: XmlLimits = XmlLimits()) -> tuple[etree._ElementTree, XmlLayout]:
    """Like :func:`parse_xml`, also returning the layout the scan read (charset, declaration)."""
    if len(data) > limits.max_bytes:
        raise BodyTooLarge(
            f"expected an XML document of at most {limits.max_bytes} bytes, got {len(data)}"
        )
    layout = scan_prolog(data)
    # A fresh parser per document: it carries the layout, and lxml parsers are best not shared
    # between threads. Creating one costs about a microsecond.
    parser = _Parser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False, remove_comments=False, strip_cdata=False,
    )  # fmt: skip
    parser.resolvers.add(_DENY)
    parser.layout = layout
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        # exc.msg quotes the document (entity names, encodings): only the position may be shown.
        line, column = exc.position
        # libxml2's own caps (depth 256, 10 MB text nodes); lxml-stubs lack .code.
        if cast(Any, exc).code == _RESOURCE_LIMIT:
            raise BodyError(
                f"expected XML within the parser's depth and size limits, got more at line {line}"
            ) from exc
        raise BodyError(
            f"expected well-formed XML, got a syntax error at line {line}, column {column}"
        ) from exc
    tree = root.getroottree()
    info = tree.docinfo
    # Fence 4 (lxml-stubs lack DocInfo.doctype, hence the cast).
    if cast(Any, info).doctype or info.internalDTD is not None:
        raise BodyError("expected an XML document without a DTD, got a document type declaration")
    if _too_deep(limits.max_depth)(tree):
        raise BodyError(f"expected XML nested at most {limits.max_depth} deep, got deeper")
    return tree, layout


@lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> etree.XPath:
    # One C-level pass over the elements down to max_depth + 1: 40x faster than a Python walk.
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")


def layout_of(tree: etree._ElementTree) -> XmlLayout | None:
    """The layout :func:`parse_xml` recorded for ``tree``'s document; None if not parsed there."""
    parser = tree.parser
    return parser.layout if isinstance(parser, _Parser) else None


def serialise_xml(tree: etree._ElementTree) -> bytes:
    """Serialise ``tree`` in its original encoding, with its declaration and prolog layout."""
    root = tree.getroot()
    layout = layout_of(tree) or _UTF8
    before = list(root.itersiblings(preceding=True))[::-1]
    gaps = layout.gaps
    if len(gaps) != len(before) + 1:  # the prolog was edited: keep only the first gap
        gaps = (gaps[0], *("",) * len(before))
    chunks = [layout.bom, layout.declaration.encode(layout.codec)]
    for gap, node in zip(gaps, [*before, root], strict=True):
        chunks.append(gap.encode(layout.codec))
        chunks.append(_dump(node, layout.encoding))
    chunks.extend(_dump(node, layout.encoding) for node in root.itersiblings())
    chunks.append(layout.end.encode(layout.codec))
    return b"".join(chunks)


def _dump(node: etree._Element, encoding: str) -> bytes:
    return cast(
        bytes, etree.tostring(node, encoding=encoding, xml_declaration=False, with_tail=False)
    )
