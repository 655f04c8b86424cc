"""The byte scan in front of the XML parser: BOM, XML declaration, and prolog.

It is the first of :mod:`proxy.formats.xml_body`'s fences. It refuses any ``<!`` markup before
the root element (a DTD, however spelt) and any encoding outside a short list whose ASCII bytes
mean ASCII: under UTF-7 or EBCDIC, ``<!DOCTYPE`` would not look like ``<!DOCTYPE`` to a byte
scan, and libxml2 honours both. UTF-16 (with a BOM) is transcoded and scanned the same way.

It also records what libxml2 drops but a byte-identical round trip needs: the declaration as
written, the BOM and the whitespace around the prolog's nodes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import cast

from proxy.errors import BodyError, UnsupportedMedia


@dataclass(frozen=True, slots=True)
class XmlLayout:
    """What libxml2 does not keep but a byte-identical round trip needs, and the charset read."""

    charset: str  # normalised Python codec name: utf-8, iso8859-1, cp1252, utf-16 ...
    encoding: str  # the label handed to libxml2's serialiser, as the document spelt it
    codec: str = "ascii"  # how to write the declaration and gaps (utf-16-le/be for UTF-16)
    bom: bytes = b""
    declaration: str = ""  # verbatim, "" when the document had none
    gaps: tuple[str, ...] = ("",)  # whitespace before each prolog comment/PI and the root
    end: str = ""  # whitespace after the last node


_WS = rb"[ \t\r\n]"
_EQ = _WS + rb"*=" + _WS + rb"*"
_DECL_RE = re.compile(
    rb"<\?xml" + _WS + rb"+version" + _EQ + rb"(?:\"1\.[0-9]+\"|'1\.[0-9]+')"
    rb"(?:" + _WS + rb"+encoding" + _EQ + rb"(?:\"([A-Za-z][\w.-]*)\"|'([A-Za-z][\w.-]*)'))?"
    rb"(?:" + _WS + rb"+standalone" + _EQ + rb"(?:\"(?:yes|no)\"|'(?:yes|no)'))?" + _WS + rb"*\?>"
)
_NODE = rb"<!--.*?-->|<\?.*?\?>"
_PROLOG_RE = re.compile(rb"(?:" + _WS + rb"*(?:" + _NODE + rb"))*" + _WS + rb"*", re.S)
_NODE_RE = re.compile(_NODE, re.S)
# Charsets whose bytes below 0x80 are ASCII, so that the byte scan reads them right.
_ASCII_CHARSETS = frozenset(
    {"utf-8", "ascii"}
    | {f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))}
    | {f"cp{n}" for n in range(1250, 1259)}
)
_UTF16_CHARSETS = frozenset({"utf-16", "utf-16-le", "utf-16-be"})
_UTF16_BOMS = {b"\xff\xfe": ("utf-16-le", "UTF-16LE"), b"\xfe\xff": ("utf-16-be", "UTF-16BE")}
_UTF8_BOM = b"\xef\xbb\xbf"


def charset_of(label: str) -> str | None:
    """The normalised Python codec name for an encoding label, or None if unknown."""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def scan_prolog(data: bytes) -> XmlLayout:
    """Fence 1: read BOM, declaration and prolog; refuse DTDs and encodings the scan cannot read."""
    # 1. Encoding family from the first bytes (XML 1.0 Appendix F).
    bom = data[:2] if data[:2] in _UTF16_BOMS else data[:3] if data[:3] == _UTF8_BOM else b""
    if len(bom) == 2:
        if data[2:4] == b"\x00\x00":
            raise UnsupportedMedia("expected XML in UTF-8 or UTF-16, got UTF-32")
        codec, encoding = _UTF16_BOMS[bom]
        try:  # UTF-16 is rare: transcode it so that one byte scanner serves every encoding
            text = data[2:].decode(codec).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(
                f"expected valid UTF-16, got a bad sequence at byte {exc.start + 2}"
            ) from exc
    else:
        codec, encoding, text = "ascii", "UTF-8", data[len(bom) :]
        if b"\x00" in text[:4] or text[:4] == b"\x4c\x6f\xa7\x94":
            raise UnsupportedMedia(
                "expected XML in UTF-8, or UTF-16 with a BOM, got UTF-16/32 or EBCDIC"
            )
    # 2. The declaration, verbatim; its encoding must be one whose bytes this scan can read.
    declaration, pos = "", 0
    decl = _DECL_RE.match(text)
    if decl is not None:
        declaration, pos = decl.group().decode("ascii"), decl.end()
        label = (decl.group(1) or decl.group(2) or b"").decode("ascii")
        allowed = _UTF16_CHARSETS if len(bom) == 2 else {"utf-8"} if bom else _ASCII_CHARSETS
        if label and charset_of(label) not in allowed:
            raise UnsupportedMedia(
                "expected an XML encoding of UTF-8, UTF-16, US-ASCII, ISO-8859-n or windows-125n "
                "agreeing with the byte order mark, got another encoding"
            )
        if label and len(bom) != 2:
            encoding = label
    elif text.startswith(b"<?xml") and text[5:6] in (b" ", b"\t", b"\r", b"\n"):
        # libxml2 may accept a declaration this scan cannot read, with an encoding it never saw.
        raise BodyError("expected a well-formed XML declaration, got one that cannot be read")
    # 3. Comments, PIs and whitespace up to the root; any other <! here is a DTD, however spelt.
    prolog_end = cast(re.Match[bytes], _PROLOG_RE.match(text, pos)).end()
    if text.startswith(b"<!", prolog_end):
        raise BodyError(
            "expected an XML document without a DTD, got <! markup before the root element"
        )
    gaps: list[str] = []
    for node in _NODE_RE.finditer(text, pos, prolog_end):
        gaps.append(text[pos : node.start()].decode("ascii"))
        pos = node.end()
    gaps.append(text[pos:prolog_end].decode("ascii"))
    # 4. Trailing whitespace.
    end = len(text)
    while end > prolog_end and text[end - 1] in b" \t\r\n":
        end -= 1
    return XmlLayout(
        charset="utf-16" if len(bom) == 2 else charset_of(encoding) or "utf-8",
        encoding=encoding,
        codec=codec,
        bom=bom,
        declaration=declaration,
        gaps=tuple(gaps),
        end=text[end:].decode("ascii"),
    )
