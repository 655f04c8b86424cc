"""SOAP 1.1 and 1.2 envelopes on top of the hardened XML layer (:mod:`proxy.formats.xml_body`).

:func:`parse_soap` checks that the HTTP framing and the envelope agree, because a proxy and the
incumbent that disagree on which operation or version a message is can be played off against
each other. The checks, and what a failure raises:

============================================================  ==============================
content type neither ``text/xml`` nor ``application/soap+xml``  :class:`UnsupportedMedia` 415
``charset`` parameter differs from the document's encoding      :class:`UnsupportedMedia` 415
envelope namespace of the other SOAP version                    :class:`UnsupportedMedia` 415
SOAP 1.1 request without ``SOAPAction``                         :class:`BodyError` 400
SOAP 1.2 ``SOAPAction`` header disagreeing with ``action``      :class:`BodyError` 400
root not an Envelope; not exactly ``Header?`` then ``Body``     :class:`BodyError` 400
text or processing instructions in the message                  :class:`BodyError` 400
============================================================  ==============================

Stricter than SOAP 1.1 on one point: elements after ``Body`` (allowed by 1.1 §4.3, never used
in practice) are refused, since no policy would look at them. Processing instructions are
forbidden by both versions (1.1 §3, 1.2 Part 1 §5) and could carry data no selector sees.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lxml import etree

from proxy.errors import BodyError, UnsupportedMedia
from proxy.formats.media import MediaType
from proxy.formats.xml_body import XmlLimits, parse_xml, read_xml, serialise_xml
from proxy.formats.xml_prolog import XmlLayout, charset_of

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "SoapEnvelope",
    "SoapVersion",
    "XmlLimits",
    "parse_soap",
    "parse_xml",
    "serialise_xml",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"


class SoapVersion(enum.Enum):
    """A SOAP version, valued by its envelope namespace."""

    V11 = SOAP11_NS
    V12 = SOAP12_NS

    @property
    def media_type(self) -> str:
        """The content type this version travels under (SOAP 1.1 §6.1.1, SOAP 1.2 Part 2 §7)."""
        return "text/xml" if self is SoapVersion.V11 else "application/soap+xml"

    @property
    def label(self) -> str:
        """Human-readable name for messages."""
        return "SOAP 1.1" if self is SoapVersion.V11 else "SOAP 1.2"


_DEFAULT_LIMITS = XmlLimits()
_BY_MEDIA = {version.media_type: version for version in SoapVersion}
_HAS_PI = etree.XPath("boolean(//processing-instruction())")


@dataclass(frozen=True, slots=True)
class SoapEnvelope:
    """A parsed SOAP message; ``header`` and ``body`` are live elements of ``tree``."""

    tree: etree._ElementTree
    version: SoapVersion
    header: etree._Element | None
    body: etree._Element
    #: SOAP 1.1: the ``SOAPAction`` header exactly as sent (quotes included; forwarded as is).
    #: SOAP 1.2: the unquoted ``action`` parameter of the content type, or None.
    action: str | None
    media: MediaType


def parse_soap(
    data: bytes,
    media: MediaType,
    soap_action: str | None,
    limits: XmlLimits = _DEFAULT_LIMITS,
    *,
    request: bool = True,
) -> SoapEnvelope:
    """Parse a SOAP message and check it against its HTTP framing (see the module table).

    ``request=False`` is for responses, which carry no ``SOAPAction``.
    """
    # 1. The content type names the version; the action comes from the framing.
    version = _BY_MEDIA.get(media.type)
    if version is None:
        raise UnsupportedMedia(
            f"expected text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2), got {media.type}"
        )
    action = _action(version, media, soap_action, request)
    # 2. The XML itself, with every hardening of parse_xml.
    tree, layout = read_xml(data, limits)
    _check_charset(media, layout)
    # 3. The envelope, its namespace and its children.
    root = tree.getroot()
    if root.tag != f"{{{version.value}}}Envelope":
        other = SoapVersion.V12 if version is SoapVersion.V11 else SoapVersion.V11
        if root.tag == f"{{{other.value}}}Envelope":
            raise UnsupportedMedia(
                f"expected a {version.label} envelope for {media.type}, got {other.label}"
            )
        raise BodyError(f"expected a {{{version.value}}}Envelope root element, got another element")
    header, body = _children(root, version)
    if _HAS_PI(tree):  # a C-level walk: cheaper than searching the bytes for "<?"
        raise BodyError("expected a SOAP message without processing instructions, got one")
    return SoapEnvelope(tree, version, header, body, action, media)


def _action(
    version: SoapVersion, media: MediaType, soap_action: str | None, request: bool
) -> str | None:
    if version is SoapVersion.V11:
        if soap_action is None and request:
            raise BodyError("expected a SOAPAction header on a SOAP 1.1 request, got none")
        return soap_action
    action = media.param("action")
    if soap_action is not None and soap_action.strip().strip('"') != (action or ""):
        # Some stacks route on SOAPAction even under 1.2: both must name the same operation.
        raise BodyError(
            "expected a SOAPAction header on a SOAP 1.2 message to repeat the action parameter, "
            "got a different value"
        )
    return action


def _check_charset(media: MediaType, layout: XmlLayout) -> None:
    # RFC 7303 §3.2: the charset parameter overrides the declaration. If the two differ, the
    # proxy (which reads the declaration) and the incumbent could decode different text.
    label = media.param("charset")
    if label is None:
        return
    charset = charset_of(label)
    if charset != layout.charset and not (
        layout.charset == "utf-16" and (charset or "").startswith("utf-16")
    ):
        raise UnsupportedMedia(
            "expected the Content-Type charset to match the XML document's encoding, got another"
        )


def _children(
    root: etree._Element, version: SoapVersion
) -> tuple[etree._Element | None, etree._Element]:
    """Return (Header or None, Body) after checking the Envelope holds exactly those."""
    expected = f"expected the {version.label} Envelope to hold an optional Header then one Body"
    if root.text is not None and root.text.strip(" \t\r\n"):
        raise BodyError(f"{expected}, got text")
    header_tag, body_tag = f"{{{version.value}}}Header", f"{{{version.value}}}Body"
    elements: list[etree._Element] = []
    for child in root:
        if child.tail is not None and child.tail.strip(" \t\r\n"):
            raise BodyError(f"{expected}, got text")
        if isinstance(child.tag, str):  # comments are allowed; PIs are caught by the caller
            elements.append(child)
    tags = [child.tag for child in elements]
    if tags == [body_tag]:
        return None, elements[0]
    if tags == [header_tag, body_tag]:
        return elements[0], elements[1]
    found = f"{len(elements)} elements" if body_tag in tags else "no Body"
    raise BodyError(f"{expected}, got {found}")
