"""Canonical text for matching, with a map back to the original offsets.

Detectors never look at the text as it came: they look at what the incumbent's parser (or a
human reading the incumbent's screen) would see. :func:`prepare` undoes the encodings a message
can carry (XML character and entity references, CDATA markers, JSON escapes, and for query
strings percent-encoding) and then canonicalises characters (NFKC, so fullwidth digits read as
ASCII ones; format characters such as U+200B removed; dash, dot, slash and space variants unified;
digits of every script made ASCII). Every character of the result remembers the span of the
original it came from, so a scrub replaces exactly the original characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final


@dataclass(frozen=True, slots=True)
class Mapped:
    """``text`` derived from ``source``; ``starts``/``ends`` give each character's source span.

    ``starts`` is None when ``text`` is ``source`` unchanged (the common, ASCII case), which keeps
    the map free.
    """

    source: str
    text: str
    starts: Sequence[int] | None = None
    ends: Sequence[int] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``source`` that the characters ``text[start:end]`` came from."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            # An empty span sits before the character at ``start`` (or at the very end).
            edge = self.starts[start] if start < len(self.starts) else len(self.source)
            return edge, edge
        return self.starts[start], self.ends[end - 1]


def identity(text: str) -> Mapped:
    """``text`` mapped onto itself."""
    return Mapped(text, text)


def _rebuild(base: Mapped, pieces: list[tuple[str, int, int]]) -> Mapped:
    # Each piece is (output text, start, end) in ``base.text`` coordinates; compose with the
    # base map so offsets always point into the original source.
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, start, end in pieces:
        if not piece:
            continue
        if end - start == len(piece) and piece == base.text[start:end]:
            # Copied through unchanged: character i maps to base character start + i.
            if base.starts is None or base.ends is None:
                starts.extend(range(start, end))
                ends.extend(range(start + 1, end + 1))
                out.append(piece)
                continue
            starts.extend(base.starts[start:end])
            ends.extend(base.ends[start:end])
        else:
            first, last = base.span(start, end)
            starts.extend([first] * len(piece))
            ends.extend([last] * len(piece))
        out.append(piece)
    return Mapped(base.source, "".join(out), starts, ends)


def _substitute(
    base: Mapped, pattern: re.Pattern[str], decode: Callable[[re.Match[str]], str]
) -> Mapped:
    pieces: list[tuple[str, int, int]] = []
    cursor = 0
    for match in pattern.finditer(base.text):
        pieces.append((base.text[cursor : match.start()], cursor, match.start()))
        pieces.append((decode(match), match.start(), match.end()))
        cursor = match.end()
    if not pieces:
        return base
    pieces.append((base.text[cursor:], cursor, len(base.text)))
    return _rebuild(base, pieces)


# What XML, JSON and HTML-ish producers encode. Only the predefined XML entities (and nbsp,
# which HTML-minded OSSs emit) are named: the parser refuses any other entity anyway.
_ENCODED = re.compile(
    r"&#(?P<dec>[0-9]{1,7});|&#[xX](?P<hex>[0-9a-fA-F]{1,6});"
    r"|&(?P<name>amp|lt|gt|quot|apos|nbsp);"
    r"|\\u(?P<u1>[dD][89abAB][0-9a-fA-F]{2})\\u(?P<u2>[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|\\u(?P<u>[0-9a-fA-F]{4})|\\(?P<esc>[nrtbf/\"\\])"
    r"|<!\[CDATA\[|\]\]>"
)
#: What :func:`decode` looks for before it runs: a text holding none of these is left as it is
#: (per text and in a message's joined texts alike, so both read the same).
ENCODING_MARKS: Final = ("&", "\\", "<![CDATA[", "]]>")


def encoded(text: str) -> bool:
    """Whether ``text`` holds one of :data:`ENCODING_MARKS` (four C-level scans, no generator)."""
    return "&" in text or "\\" in text or "<![CDATA[" in text or "]]>" in text


_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "/": "/", '"': '"', "\\": "\\"}
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2})+|\+")
_PERCENT_ONLY = re.compile(r"(?:%[0-9a-fA-F]{2})+")


def _code_point(value: int, fallback: str) -> str:
    # Surrogates and out-of-range references are not characters; leave them as written.
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return fallback
    return chr(value)


def _decode_one(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups["dec"] is not None:
        return _code_point(int(groups["dec"]), match.group())
    if groups["hex"] is not None:
        return _code_point(int(groups["hex"], 16), match.group())
    if groups["name"] is not None:
        return _NAMED[groups["name"]]
    if groups["u1"] is not None:
        high, low = int(groups["u1"], 16), int(groups["u2"], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    if groups["u"] is not None:
        return _code_point(int(groups["u"], 16), match.group())
    if groups["esc"] is not None:
        return _ESCAPES[groups["esc"]]
    return ""  # a CDATA marker: the sections on either side join into one value


def _decode_percent(match: re.Match[str]) -> str:
    text = match.group()
    if text == "+":
        return " "
    return bytes.fromhex(text.replace("%", "")).decode("utf-8", errors="replace")


def decode(base: Mapped, *, query: bool = False, rounds: int = 3) -> Mapped:
    """Undo character references, entities, JSON escapes and CDATA markers (and percent-encoding
    when ``query``), repeatedly, so double encodings such as ``&amp;#51;`` are undone too."""
    current = base
    for round_ in range(rounds):
        before = current.text
        if query and ("%" in before or (round_ == 0 and "+" in before)):
            # "+" means a space only as written; a "+" that %2B decoded to stays a plus.
            pattern = _PERCENT if round_ == 0 else _PERCENT_ONLY
            current = _substitute(current, pattern, _decode_percent)
        if encoded(current.text):
            current = _substitute(current, _ENCODED, _decode_one)
        if current.text == before:
            break
    return current


_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u02d7\ufe58\ufe63\uff0d\u30fc"
_DOTS = "\u00b7\u2024\u2027\u2219\u22c5\u3002\uff0e\uff61\u30fb"
_SLASHES = "\u2044\u2215\u29f8\uff0f"
_QUOTES = "\u2018\u2019\u201b\u02bc\u2032\uff07"
_TILDES = "\u2053\u223c\u301c"
_UNIFY = str.maketrans(
    {
        **dict.fromkeys(_DASHES, "-"),
        **dict.fromkeys(_DOTS, "."),
        **dict.fromkeys(_SLASHES, "/"),
        **dict.fromkeys(_QUOTES, "'"),
        **dict.fromkeys(_TILDES, "~"),
        "\u2028": "\n",
        "\u2029": "\n",
    }
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Invisible characters that survive NFKC but change nothing a reader sees.
_INVISIBLE = frozenset("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0")


@lru_cache(maxsize=8192)
def canonical_char(char: str) -> str:
    """The canonical spelling of one non-ASCII character ('' when it is invisible)."""
    category = unicodedata.category(char)
    if category == "Cf" or char in _INVISIBLE or "\ufe00" <= char <= "\ufe0f":
        return ""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    if category == "Zs":
        return " "
    out = []
    for part in unicodedata.normalize("NFKC", char):
        if part.isascii():
            out.append(part)
            continue
        digit = unicodedata.decimal(part, None)
        out.append(str(digit) if digit is not None else part.translate(_UNIFY))
    return "".join(out)


def canonicalise(base: Mapped) -> Mapped:
    """Canonical characters for ``base.text``: NFKC, invisibles removed, separators unified."""
    if base.text.isascii():
        return base
    return _per_char(base, canonical_char)


def _per_char(base: Mapped, convert: Callable[[str], str]) -> Mapped:
    # ``convert`` applied to every non-ASCII character of ``base.text``. Italian prose is full
    # of accented letters that stay as they are (è, à, °, €): then nothing changes. When every
    # change is one character for one (fullwidth digits, dashes, accents folded), offsets are
    # unchanged and the base map still holds: a substitution instead of a rebuilt map
    # (``str.translate`` is slow on non-ASCII text: it looks up every character).
    text = base.text
    table = {char: convert(char) for char in set(_NON_ASCII.findall(text))}
    if all(out == char for char, out in table.items()):
        return base
    if all(len(out) == 1 for out in table.values()):
        changed = _NON_ASCII.sub(lambda match: table[match.group()], text)
        return Mapped(base.source, changed, base.starts, base.ends)
    return _substitute(base, _NON_ASCII, lambda match: table[match.group()])


def prepare(text: str, *, query: bool = False) -> Mapped:
    """Decode ``text`` as the incumbent would, then canonicalise it; offsets map to ``text``."""
    return canonicalise(decode(identity(text), query=query))


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(part for part in decomposed if not unicodedata.combining(part)).casefold()


def fold(base: Mapped) -> Mapped:
    """Case- and accent-insensitive view of ``base`` (for names): NFKD, marks dropped, casefold."""
    current = base
    if not current.text.isascii():
        current = _per_char(current, _fold_char)
    lowered = current.text.lower()
    if lowered == current.text:
        return current
    if len(lowered) == len(current.text):
        return Mapped(current.source, lowered, current.starts, current.ends)
    return _rebuild(current, [(char.lower(), i, i + 1) for i, char in enumerate(current.text)])


def fold_text(text: str) -> str:
    """:func:`fold` applied to a plain value (no offsets needed)."""
    return fold(canonicalise(identity(text))).text
