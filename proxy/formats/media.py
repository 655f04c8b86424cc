"""Content types and content codings: which format a body is in, and how to get at its bytes.

Both headers are parsed strictly (RFC 9110 §8.3, §8.4): a proxy that guesses where the client
and the incumbent would disagree opens a smuggling channel, so anything odd is refused (415).
Errors name headers, codings and limits, never bytes of the body.
"""

from __future__ import annotations

import codecs
import enum
import gzip
import re
import zlib
from dataclasses import dataclass

from proxy.errors import BodyError, BodyTooLarge, UnsupportedMedia

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TCHARS_RE = re.compile(_TCHARS)
_TYPE_RE = re.compile(rf"[ \t]*({_TCHARS}/{_TCHARS})[ \t]*")
# OWS ";" OWS [ name "=" ( token / quoted-string ) ]: empty parameters are legal (RFC 9110 §5.6.6).
_PARAM_RE = re.compile(
    rf';[ \t]*(?:({_TCHARS})=(?:({_TCHARS})|"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff]'
    r'|\\[\t \x21-\x7e\x80-\U0010ffff])*)"))?[ \t]*'
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)
_ESCAPE_RE = re.compile(r'(["\\])')


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed ``Content-Type``: lower-case ``type/subtype``, parameters, the header as sent."""

    type: str
    params: tuple[tuple[str, str], ...] = ()
    raw: str = ""

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or None when absent."""
        wanted = name.lower()
        return next((value for key, value in self.params if key == wanted), None)

    def format(self) -> str:
        """Render the media type in canonical form (values quoted only where they must be)."""
        parts = [self.type]
        for name, value in self.params:
            if not _TCHARS_RE.fullmatch(value):
                value = '"' + _ESCAPE_RE.sub(r"\\\1", value) + '"'
            parts.append(f"{name}={value}")
        return "; ".join(parts)


def parse_media_type(header: str | None) -> MediaType:
    """Parse a ``Content-Type`` header or raise :class:`UnsupportedMedia`."""
    if header is None or not header.strip():
        raise UnsupportedMedia("expected a Content-Type header, got none")
    match = _TYPE_RE.match(header)
    if match is None:
        raise UnsupportedMedia("expected a Content-Type of the form type/subtype, got another form")
    params: list[tuple[str, str]] = []
    pos = match.end()
    while pos < len(header):
        param = _PARAM_RE.match(header, pos)
        if param is None:
            raise UnsupportedMedia(
                f"expected '; name=value' parameters in Content-Type, got bad syntax at {pos}"
            )
        pos = param.end()
        name, token, quoted = param.groups()
        if name is None:
            continue
        name = name.lower()
        if any(key == name for key, _ in params):
            # Two charsets (or actions) would let two readers pick different ones.
            raise UnsupportedMedia(
                f"expected parameter {name!r} once in Content-Type, got it twice"
            )
        value = token if token is not None else _QUOTED_PAIR_RE.sub(r"\1", quoted)
        params.append((name, value))
    return MediaType(match.group(1).lower(), tuple(params), header)


class BodyKind(enum.Enum):
    """The wire formats civetta parses on protected routes."""

    SOAP11 = "soap11"
    SOAP12 = "soap12"
    JSON = "json"
    MERGE_PATCH = "merge-patch"
    JSON_PATCH = "json-patch"
    JSON_PATCH_QUERY = "json-patch-query"


_KINDS = {
    "text/xml": BodyKind.SOAP11,
    "application/soap+xml": BodyKind.SOAP12,
    "application/json": BodyKind.JSON,
    "application/merge-patch+json": BodyKind.MERGE_PATCH,
    "application/json-patch+json": BodyKind.JSON_PATCH,
    "application/json-patch-query+json": BodyKind.JSON_PATCH_QUERY,
}
_SOAP_KINDS = frozenset({BodyKind.SOAP11, BodyKind.SOAP12})


def kind_of(media: MediaType) -> BodyKind | None:
    """The body kind a media type announces, or None for one civetta does not parse."""
    kind = _KINDS.get(media.type)
    if kind is None and media.type.startswith("application/") and media.type.endswith("+json"):
        return BodyKind.JSON  # RFC 6839 structured syntax suffix, e.g. application/problem+json
    return kind


def body_kind(media: MediaType) -> BodyKind:
    """Like :func:`kind_of`, but refuse unknown types and JSON in any charset but UTF-8 (415)."""
    kind = kind_of(media)
    if kind is None:
        raise UnsupportedMedia(
            f"expected an XML (SOAP) or JSON content type, got {media.type} on a protected route"
        )
    charset = media.param("charset")
    if kind not in _SOAP_KINDS and charset is not None and _charset_name(charset) != "utf-8":
        # RFC 8259 §8.1: JSON between systems is UTF-8; anything else is a decoding disagreement.
        raise UnsupportedMedia(f"expected charset=utf-8 for {media.type}, got another charset")
    return kind


def _charset_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


# Content codings: each decoder maps a coding to the zlib window bits it needs.
_GZIP_BITS = 16 + zlib.MAX_WBITS
_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
_MAX_CODINGS = 3  # more layers than this is an amplification attempt, not a client


def decode_content(
    body: bytes, content_encoding: str | None, max_bytes: int
) -> tuple[bytes, tuple[str, ...]]:
    """Undo ``Content-Encoding``; return the bytes and the codings applied, in header order.

    ``identity`` is dropped from the result. Every layer is inflated at most to ``max_bytes``.
    """
    codings = _parse_codings(content_encoding)
    for coding in reversed(codings):
        body = _inflate(body, coding, max_bytes)
    if len(body) > max_bytes:
        raise BodyTooLarge(f"expected a body of at most {max_bytes} bytes, got {len(body)}")
    return body, codings


def encode_content(body: bytes, codings: tuple[str, ...]) -> bytes:
    """Re-apply ``codings`` (as returned by :func:`decode_content`) in the same order.

    ``deflate`` is always written zlib-wrapped, the form RFC 9110 §8.4.1.2 defines.
    """
    for coding in codings:
        if coding == "deflate":
            body = zlib.compress(body, 6)
        else:
            # mtime=0: the same bytes give the same output, so audit records are reproducible.
            body = gzip.compress(body, compresslevel=6, mtime=0)
    return body


def _parse_codings(header: str | None) -> tuple[str, ...]:
    if header is None:
        return ()
    codings: list[str] = []
    for item in header.split(","):
        coding = item.strip(" \t").lower()
        if coding in ("", "identity"):
            continue  # empty list elements are legal; identity changes nothing
        if coding not in _CODINGS:
            shown = (
                coding if _TCHARS_RE.fullmatch(coding) and len(coding) <= 32 else "an invalid one"
            )
            raise UnsupportedMedia(
                f"expected Content-Encoding gzip, x-gzip, deflate or identity, got {shown}"
            )
        codings.append(coding)
    if len(codings) > _MAX_CODINGS:
        raise UnsupportedMedia(
            f"expected at most {_MAX_CODINGS} content codings, got {len(codings)}"
        )
    return tuple(codings)


def _inflate(data: bytes, coding: str, max_bytes: int) -> bytes:
    if coding != "deflate":
        bits = _GZIP_BITS
    elif len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        bits = zlib.MAX_WBITS  # a valid zlib header (RFC 1950)
    else:
        bits = -zlib.MAX_WBITS  # raw deflate, which browsers and some servers send instead
    inflater = zlib.decompressobj(bits)
    try:
        # max_length bounds the output: a zip bomb stops at max_bytes + 1, never inflates further.
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise BodyError(f"expected valid {coding} data, got a corrupt stream") from exc
    if len(out) > max_bytes:
        raise BodyTooLarge(
            f"expected a {coding} body inflating to at most {max_bytes} bytes, got more"
        )
    if not inflater.eof:
        raise BodyError(f"expected a complete {coding} stream, got a truncated one")
    if inflater.unused_data:
        # Trailing bytes (or a second gzip member) are read differently by different servers.
        raise BodyError(f"expected one {coding} stream, got trailing data after it")
    return out
