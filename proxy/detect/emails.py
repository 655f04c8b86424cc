"""E-mail addresses in free text, in any case, with sub-addresses, IDN and common disguises.

Plain addresses are matched by shape: a local part of letters (any script), digits and
``. _ % + -``; ``@`` (optionally with one space either side); a domain of labels and a TLD of
letters (any script) or punycode. The key is the casefolded address, so ``Mario.Rossi@EXAMPLE.it``
and ``mario.rossi@example.it`` compare equal.

Disguises accepted, because people type them into notes to dodge filters or spam bots:
``[at]``, ``(at)``, ``{at}``, ``<at>``, ``(chiocciola)`` and the same with ``dot``/``punto`` for the
dots; the bare words `` at `` / `` chiocciola `` with `` dot `` / `` punto `` only when the address
ends in a common TLD (so "meet at home dot" is not an address). Not accepted: spelt-out
addresses without any marker ("mario rossi example it"), which no detector can tell from prose.
"""

from __future__ import annotations

import contextlib
import re
from typing import Final

from proxy.detect.spans import Match

_LOCAL = r"[\w%+-]+(?:\.[\w%+-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,24}|xn--[a-z0-9-]{1,59})"
_PLAIN: Final = re.compile(
    rf"(?<![\w.%+-])(?P<local>{_LOCAL}) ?@ ?(?P<domain>(?:{_LABEL}\.)+{_TLD})(?![\w-]|\.[^\W_])",
    re.IGNORECASE,
)


def _bracketed(words: str) -> str:
    return (
        rf" ?(?:\[ ?(?:{words}) ?\]|\( ?(?:{words}) ?\)|\{{ ?(?:{words}) ?\}}|< ?(?:{words}) ?>) ?"
    )


_AT = rf"(?:{_bracketed('at|chiocciola')}| (?:at|chiocciola) )"
_DOT = rf"(?:{_bracketed('dot|punto')}| (?:dot|punto) |\.)"
_COMMON_TLDS = (
    "it|com|net|org|eu|info|biz|me|io|de|fr|es|uk|ch|at|be|nl|us|sm|va|cloud|email|online|pec"
)
_DISGUISED: Final = re.compile(
    rf"(?<![\w.%+-])(?P<local>{_LOCAL})(?P<at>{_AT})"
    rf"(?P<domain>{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}(?P<tld>{_TLD}))(?![\w-])",
    re.IGNORECASE,
)
_DOT_SPLIT: Final = re.compile(_DOT, re.IGNORECASE)
_TLD_WORDS: Final = frozenset(_COMMON_TLDS.split("|"))
#: Substrings of lower-cased text that every disguise contains (``in`` runs at C speed).
#: How far back from an ``@`` a local part is looked for (64 characters, an optional space and
#: a little slack).
_LOCAL_REACH: Final = 66
#: How far after it the domain may reach (255 characters and slack).
_DOMAIN_REACH: Final = 258
_MARKERS: Final = ("chiocciola", " at ", "(at", "[at", "{at", "<at", "( at", "[ at", "{ at", "< at")
#: Any of them, in one scan (a long text costs one pass, not one per marker).
_MARKER: Final = re.compile("|".join(map(re.escape, _MARKERS)))


def key_of(local: str, domain: str) -> str:
    """The comparison key of an address: casefolded ``local@domain``, the domain in punycode."""
    domain = domain.casefold()
    if not domain.isascii():
        # An invalid IDN is compared as written.
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local.casefold()}@{domain}"


def mailbox(key: str) -> str:
    """``key`` without its sub-address (``mario+ord1@x.it`` -> ``mario@x.it``)."""
    local, _, domain = key.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def find(text: str) -> list[Match]:
    """E-mail addresses in canonical ``text`` as matches (key: casefolded address)."""
    matches = []
    floor = 0
    at = text.find("@")
    while at != -1:
        # Walk back over the local part (at most 64 characters), then match there, anchored:
        # "@type" keys and "@" in prose cost a character test, not a regex search.
        start = at - 1 if at >= 2 and text[at - 1] == " " else at
        while start > max(floor, at - _LOCAL_REACH) and _is_local(text[start - 1]):
            start -= 1
        while start < at and text[start] == ".":
            start += 1
        found = (
            _PLAIN.match(text, start, min(len(text), at + _DOMAIN_REACH)) if start < at else None
        )
        if found is not None and found.start() <= at < found.end():
            key = key_of(found.group("local"), found.group("domain"))
            matches.append(Match(found.start(), found.end(), "email", key))
            floor = found.end()
            at = text.find("@", floor)
        else:
            at = text.find("@", at + 1)
    if disguised(text):
        for found in _DISGUISED.finditer(text):
            bare = found.group("at").strip().casefold() in {"at", "chiocciola"}
            if (bare or _bare(found.group("domain"))) and found.group(
                "tld"
            ).casefold() not in _TLD_WORDS:
                continue  # bare words need a TLD we recognise
            domain = ".".join(_DOT_SPLIT.split(found.group("domain")))
            key = key_of(found.group("local"), domain)
            matches.append(Match(found.start(), found.end(), "email", key))
    return matches


def _is_local(char: str) -> bool:
    return char.isalnum() or char in "._%+-"


def disguised(text: str) -> bool:
    """Whether ``text`` may hold a disguised address (``[at]``, `` chiocciola `` …)."""
    lowered = text.lower()
    # Every marker holds "at" or "chiocciola": two C-speed scans answer most texts.
    if "at" not in lowered and "chiocciola" not in lowered:
        return False
    return _MARKER.search(lowered) is not None


def _bare(domain: str) -> bool:
    # A domain spelt with the bare words " dot " / " punto " rather than brackets or dots.
    lowered = domain.casefold()
    return " dot " in lowered or " punto " in lowered


def parse(value: str) -> str | None:
    """The key of ``value`` when the whole of it (canonical) is one address, else None."""
    stripped = value.strip()
    at = stripped.find("@")
    if 0 < at <= _LOCAL_REACH and len(stripped) <= at + _DOMAIN_REACH:
        # The common case, anchored at both ends: what find() would match from the start.
        whole = _PLAIN.fullmatch(stripped)
        if whole is not None:
            return key_of(whole.group("local"), whole.group("domain"))
        if not disguised(stripped):
            return None  # the plain shape does not cover it, and it holds no disguise
    for found in find(stripped):
        if found.start == 0 and found.end == len(stripped):
            return found.key
    return None
