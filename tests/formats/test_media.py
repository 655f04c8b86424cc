"""Tests for :mod:`proxy.formats.media`: content types, body kinds and content codings."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.errors import BodyError, BodyTooLarge, UnsupportedMedia
from proxy.formats.media import (
    BodyKind,
    MediaType,
    body_kind,
    decode_content,
    encode_content,
    kind_of,
    parse_media_type,
)

MARKER = "Zq7MarkerValue"
TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
BODY = b'{"order": "a body long enough to compress: ' + b"0123456789" * 50 + b'"}'


# -- parse_media_type -------------------------------------------------------------------------


def test_soap12_content_type_yields_type_charset_and_quoted_action() -> None:
    """A SOAP 1.2 content type: type lower-cased, quoted action unquoted, raw header kept."""
    header = 'Application/SOAP+XML; Charset=utf-8; action="urn:x:Activate"'
    media = parse_media_type(header)
    assert media.type == "application/soap+xml"
    assert media.params == (("charset", "utf-8"), ("action", "urn:x:Activate"))
    assert media.param("ACTION") == "urn:x:Activate"
    assert media.param("boundary") is None
    assert media.raw == header


def test_quoted_pairs_are_unescaped() -> None:
    """A backslash in a quoted-string escapes the next character (RFC 9110 §5.6.4)."""
    media = parse_media_type(r'text/xml; action="a\"b\\c"')
    assert media.param("action") == 'a"b\\c'


def test_empty_parameters_and_surrounding_whitespace_are_accepted() -> None:
    """Empty list elements and OWS around ';' are legal RFC 9110 syntax."""
    media = parse_media_type(" text/xml ;; charset=utf-8 ; ")
    assert media.type == "text/xml"
    assert media.params == (("charset", "utf-8"),)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "text",
        "text/",
        "/xml",
        "text/xml charset=utf-8",
        "text/xml; charset = utf-8",
        "text/xml; charset",
        'text/xml; action="unterminated',
        "text/xml; charset=utf-8, text/html",
        "text/xml; a=b c",
    ],
)
def test_malformed_content_types_are_refused(header: str | None) -> None:
    """Anything outside RFC 9110 media-type syntax is refused with 415."""
    with pytest.raises(UnsupportedMedia):
        parse_media_type(header)


def test_repeated_parameter_is_refused_whatever_its_case() -> None:
    """Two charsets would let two readers pick different ones: refused."""
    with pytest.raises(UnsupportedMedia, match="'charset' once"):
        parse_media_type("text/xml; charset=utf-8; CHARSET=latin1")


def test_malformed_content_type_message_does_not_echo_it() -> None:
    """The error names the position of the bad syntax, not the header's text."""
    with pytest.raises(UnsupportedMedia) as info:
        parse_media_type(f'text/xml; action="{MARKER}')
    assert MARKER not in str(info.value)


# Characters a quoted-string may carry (RFC 9110 qdtext and quoted-pair), within Latin-1.
_QDTEXT = st.sampled_from("\t" + "".join(chr(c) for c in range(0x20, 0x100) if c != 0x7F))
_MEDIA = st.builds(
    lambda kind, sub, params: MediaType(f"{kind}/{sub}".lower(), tuple(params.items())),
    st.from_regex(TCHARS, fullmatch=True),
    st.from_regex(TCHARS, fullmatch=True),
    st.dictionaries(
        st.from_regex(TCHARS, fullmatch=True).map(str.lower), st.text(_QDTEXT), max_size=4
    ),
)


@given(_MEDIA)
def test_format_then_parse_gives_back_the_media_type(media: MediaType) -> None:
    """parse_media_type(m.format()) has m's type and parameters, quoting or not."""
    parsed = parse_media_type(media.format())
    assert (parsed.type, parsed.params) == (media.type, media.params)


# -- kind_of and body_kind --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("text/xml; charset=utf-8", BodyKind.SOAP11),
        ('application/soap+xml; action="urn:a"', BodyKind.SOAP12),
        ("application/json", BodyKind.JSON),
        ("application/problem+json", BodyKind.JSON),
        ("application/vnd.tmf.productorder+json", BodyKind.JSON),
        ("application/merge-patch+json", BodyKind.MERGE_PATCH),
        ("application/json-patch+json", BodyKind.JSON_PATCH),
        ("application/json-patch-query+json", BodyKind.JSON_PATCH_QUERY),
        ("application/xml", None),
        ("text/json", None),
        ("text/plain", None),
        ('multipart/related; type="application/xop+xml"', None),
    ],
)
def test_kind_of_maps_media_types_to_body_kinds(header: str, kind: BodyKind | None) -> None:
    """Known SOAP and JSON types map to their kind; anything else to None."""
    assert kind_of(parse_media_type(header)) is kind


def test_body_kind_refuses_a_type_civetta_does_not_parse() -> None:
    """A protected route with an unknown content type fails closed (415)."""
    with pytest.raises(UnsupportedMedia, match="text/plain"):
        body_kind(parse_media_type("text/plain"))


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_body_kind_accepts_json_declared_utf8(charset: str) -> None:
    """UTF-8, however spelt, is the one charset JSON may declare."""
    assert body_kind(parse_media_type(f"application/json; charset={charset}")) is BodyKind.JSON


@pytest.mark.parametrize("charset", ["utf-16", "iso-8859-1", "x-unknown"])
def test_body_kind_refuses_json_in_another_charset(charset: str) -> None:
    """A JSON charset other than UTF-8 is refused with 415."""
    with pytest.raises(UnsupportedMedia, match="charset=utf-8"):
        body_kind(parse_media_type(f"application/merge-patch+json; charset={charset}"))


def test_body_kind_leaves_xml_charsets_to_the_soap_layer() -> None:
    """An ISO-8859-1 SOAP message is legal; parse_soap checks it against the document."""
    assert body_kind(parse_media_type("text/xml; charset=iso-8859-1")) is BodyKind.SOAP11


# -- decode_content / encode_content ----------------------------------------------------------


def raw_deflate(data: bytes) -> bytes:
    """Deflate without the zlib wrapper, as some servers send it."""
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("header", "encoded", "codings"),
    [
        (None, BODY, ()),
        ("identity", BODY, ()),
        ("gzip", gzip.compress(BODY), ("gzip",)),
        ("X-GZIP", gzip.compress(BODY), ("x-gzip",)),
        ("deflate", zlib.compress(BODY), ("deflate",)),
        ("deflate", raw_deflate(BODY), ("deflate",)),
        ("gzip, identity", gzip.compress(BODY), ("gzip",)),
        ("deflate,gzip", gzip.compress(zlib.compress(BODY)), ("deflate", "gzip")),
        (" gzip ,, ", gzip.compress(BODY), ("gzip",)),
    ],
)
def test_decode_content_undoes_each_coding(
    header: str | None, encoded: bytes, codings: tuple[str, ...]
) -> None:
    """identity, gzip, x-gzip, zlib and raw deflate, and stacks, decode to the body."""
    assert decode_content(encoded, header, 1 << 20) == (BODY, codings)


@pytest.mark.parametrize("codings", [(), ("gzip",), ("x-gzip",), ("deflate",), ("gzip", "deflate")])
def test_encode_content_reverses_decode_content(codings: tuple[str, ...]) -> None:
    """encode then decode with the same codings gives back the body, in the same order."""
    encoded = encode_content(BODY, codings)
    assert decode_content(encoded, ", ".join(codings) or None, 1 << 20) == (BODY, codings)


def test_encode_content_writes_no_gzip_timestamp() -> None:
    """The gzip MTIME field is zero, so the audited bytes can be reproduced later."""
    assert encode_content(BODY, ("gzip",))[4:8] == b"\0\0\0\0"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 64 KiB of gzip that inflates to 64 MiB."""
    return gzip.compress(b"\0" * (64 << 20), compresslevel=9)


def test_gzip_bomb_stops_at_the_limit_without_inflating_it(gzip_bomb: bytes) -> None:
    """A zip bomb raises BodyTooLarge and memory stays near the limit, far below the bomb."""
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="1048576"):
            decode_content(gzip_bomb, "gzip", 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_stacked_bomb_is_bounded_at_every_layer(gzip_bomb: bytes) -> None:
    """gzip inside gzip: the inner layer is bounded as well."""
    with pytest.raises(BodyTooLarge):
        decode_content(gzip.compress(gzip_bomb), "gzip, gzip", 1 << 20)


def test_deflate_bomb_is_bounded() -> None:
    """The deflate path honours the limit too."""
    with pytest.raises(BodyTooLarge):
        decode_content(zlib.compress(b"\0" * (8 << 20)), "deflate", 1 << 20)


def test_identity_body_over_the_limit_is_too_large() -> None:
    """The limit applies to uncompressed bodies as well."""
    with pytest.raises(BodyTooLarge):
        decode_content(BODY, None, len(BODY) - 1)


def test_body_exactly_at_the_limit_is_accepted() -> None:
    """The limit is inclusive: max_bytes bytes pass."""
    assert decode_content(gzip.compress(BODY), "gzip", len(BODY))[0] == BODY


@pytest.mark.parametrize(
    ("header", "encoded", "reason"),
    [
        ("gzip", b"\x1f\x8b\x08\x00" + b"not gzip at all" * 4, "corrupt"),
        ("gzip", BODY, "corrupt"),
        ("deflate", b"\xff" * 64, "corrupt"),
        ("gzip", gzip.compress(BODY)[:-10], "truncated"),
        ("deflate", zlib.compress(BODY)[:-6], "truncated"),
        ("gzip", gzip.compress(BODY) + b"trailing", "trailing"),
        ("gzip", gzip.compress(BODY) + gzip.compress(BODY), "trailing"),
    ],
)
def test_corrupt_truncated_or_padded_streams_are_body_errors(
    header: str, encoded: bytes, reason: str
) -> None:
    """Damaged compressed data is a 400, with a reason and no data in the message."""
    with pytest.raises(BodyError, match=reason):
        decode_content(encoded, header, 1 << 20)


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "gzip, br", "exi", "gzip;q=1"])
def test_unknown_codings_are_unsupported(header: str) -> None:
    """Codings civetta cannot undo are refused with 415, never passed through."""
    with pytest.raises(UnsupportedMedia, match="expected Content-Encoding"):
        decode_content(b"", header, 1 << 20)


def test_unknown_coding_message_shows_no_arbitrary_header_text() -> None:
    """A coding that is not a short token is not quoted back."""
    with pytest.raises(UnsupportedMedia) as info:
        decode_content(b"", f"{MARKER} {MARKER}", 1 << 20)
    assert MARKER not in str(info.value)


def test_too_many_stacked_codings_are_refused() -> None:
    """More than three layers is an amplification attempt, not a client."""
    with pytest.raises(UnsupportedMedia, match="at most 3"):
        decode_content(b"", "gzip, gzip, gzip, gzip", 1 << 20)


def test_corrupt_stream_message_contains_no_body_bytes() -> None:
    """The marker inside undecodable data does not reach the message."""
    with pytest.raises(BodyError) as info:
        decode_content(MARKER.encode() * 3, "gzip", 1 << 20)
    assert MARKER not in str(info.value)
