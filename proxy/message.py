"""A protected request's body, understood: media type, content coding, parsed document.

:func:`parse_message` is step 2 of the handler for protected routes. It refuses what it cannot
understand (fail closed): an unknown media type or coding is 415, a body that does not parse
is 400, and a body of the wrong family for the route (JSON on a SOAP route) is 415.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

from proxy.config import Limits, Protocol, Route
from proxy.errors import BodyError, UnsupportedMedia
from proxy.formats.json_body import parse_json, parse_json_patch
from proxy.formats.media import (
    BodyKind,
    MediaType,
    body_kind,
    decode_content,
    kind_of,
    parse_media_type,
)
from proxy.formats.soap import XmlLimits, parse_soap

_SOAP_KINDS = frozenset({BodyKind.SOAP11, BodyKind.SOAP12})
_REST_KINDS = frozenset(
    {BodyKind.JSON, BodyKind.MERGE_PATCH, BodyKind.JSON_PATCH, BodyKind.JSON_PATCH_QUERY}
)
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed body: ``wire`` as received, ``plain`` after undoing the content coding."""

    kind: BodyKind
    media: MediaType
    codings: tuple[str, ...]
    wire: bytes
    plain: bytes
    document: Any


def parse_message(
    route: Route, method: str, headers: CIMultiDictProxy[str], wire: bytes, limits: Limits
) -> Message | None:
    """Parse the body of a request on a protected route; None for a request without a body."""
    if not wire:
        if method in _BODYLESS:
            return None
        raise BodyError(f"expected a body for {method} on a protected route, got none")
    media = parse_media_type(headers.get("Content-Type"))
    kind = body_kind(media)  # an unknown type, or JSON not in UTF-8: 415
    allowed = _SOAP_KINDS if route.protocol is Protocol.SOAP else _REST_KINDS
    if kind not in allowed:
        raise UnsupportedMedia(
            f"expected a {route.protocol.value.upper()} media type on this route, got {media.type or 'none'}"
        )
    plain, codings = decode_content(wire, headers.get("Content-Encoding"), limits.max_body_bytes)
    document: Any
    if kind in _SOAP_KINDS:
        document = parse_soap(
            plain,
            media,
            headers.get("SOAPAction"),
            XmlLimits(limits.max_body_bytes, limits.max_xml_depth),
        )
    elif kind in (BodyKind.JSON_PATCH, BodyKind.JSON_PATCH_QUERY):
        document = parse_json_patch(parse_json(plain), query=kind is BodyKind.JSON_PATCH_QUERY)
    else:
        document = parse_json(plain)
    return Message(kind, media, codings, wire, plain, document)


def parse_response(
    route: Route, headers: Mapping[str, str], wire: bytes, limits: Limits
) -> Message | None:
    """Parse an upstream's answer for the way back; None when it is not a body the route's
    policies read (an HTML error page, an empty body). Errors propagate: the caller relays
    such an answer unchanged rather than fail it."""
    if not wire:
        return None
    media = parse_media_type(headers.get("Content-Type"))
    kind = kind_of(media)
    allowed = _SOAP_KINDS if route.protocol is Protocol.SOAP else _REST_KINDS
    if kind is None or kind not in allowed:
        return None
    plain, codings = decode_content(
        wire, headers.get("Content-Encoding"), limits.max_response_bytes
    )
    document: Any
    if kind in _SOAP_KINDS:
        document = parse_soap(
            plain,
            media,
            None,
            XmlLimits(limits.max_response_bytes, limits.max_xml_depth),
            request=False,
        )
    else:
        document = parse_json(plain)
    return Message(kind, media, codings, wire, plain, document)
