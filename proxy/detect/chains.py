"""Digit chains: digits joined by separators, the raw material of phone numbers.

A chain is a maximal run of digit groups joined by up to three separator characters (space,
``.``, ``-``, ``/``, brackets, ``~``), optionally led by ``+``: ``347.123.45.67``,
``+39 (0)6 1234 5678``, ``3 4 7 1 2 3 4 5 6 7``. A chain never starts inside a word (so a
codice migrazione such as ``TIM0612345678001A`` holds none) unless that word is a phone label
(``tel3471234567``), nor right after ``digit:`` (the minutes of a time); a group glued at its
end to a code (a check letter, a hex tail) is dropped, one run into a word
(``02 12345678Recapito``) is not. Both the phone detector and
the known-value search (:mod:`proxy.detect.known`) read chains; this module also holds the
boundary rules that turn a chain into candidates (identifier tails, protected spans).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, NamedTuple

from proxy.detect.spans import FILLER

#: Words that may be glued to a number with - _ / without making it an identifier's tail.
PHONE_LABELS: Final = frozenset(
    {"tel", "cell", "fax", "mob", "telefono", "cellulare", "recapito", "num", "nr", "n", "numero"}
)
# No look-behind in front: a pattern that starts with a character class lets the regex engine
# skip ahead at C speed; the boundary rules are applied per match in Python instead.
_SEPARATORS: Final = r"[ \t.\-/()\[\]~]"
_CHAIN: Final = re.compile(rf"[0-9](?:{_SEPARATORS}{{0,3}}[0-9])*")
_GROUP: Final = re.compile(r"[0-9]+")
_JOINERS: Final = re.compile(r"[-_/]+")
_LABEL_BEFORE: Final = re.compile(r"([A-Za-z]+)[-_/]$")
#: The letters right before a chain, as a whole word ("tel" in "tel3471234567", not "xtel").
_LABEL_GLUED: Final = re.compile(r"(?<![^\W\d_])([A-Za-z]+)$")
_LETTERS: Final = re.compile(r"[^\W\d_]+")
_HEX_LETTERS: Final = re.compile(r"[A-Fa-f]+")
_DIGIT_BYTES: Final = b"0123456789"
Spans = list[tuple[int, int]]


class Chain(NamedTuple):
    """Digits joined by separators: ``groups`` are ``(start, end)`` of each digit run.

    A named tuple rather than a frozen dataclass: a message's text yields dozens of chains,
    and a tuple is built several times faster.
    """

    start: int
    end: int
    international: bool
    groups: tuple[tuple[int, int], ...]

    @property
    def digits(self) -> int:
        """How many digits the chain holds."""
        return sum(end - start for start, end in self.groups)


def digit_count(text: str) -> int:
    """How many ASCII digits ``text`` holds (C speed: no Python loop)."""
    # Digits are single bytes in UTF-8, and deleting bytes is several times quicker than
    # str.translate (a table look-up per character), the encoding included.
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _DIGIT_BYTES))


@lru_cache(maxsize=32)
def _chain_pattern(min_digits: int) -> re.Pattern[str]:
    # The chains holding at least ``min_digits`` digits, and only those: most chains of a
    # message are short numbers (a civico, a count, a date's parts), and every match handed
    # to Python costs more than the regular expression engine's failed try at it. Greedy and
    # anchored at a chain's first digit, a match spans the whole chain, as ``_CHAIN`` does.
    if min_digits <= 1:
        return _CHAIN
    return re.compile(rf"[0-9](?:{_SEPARATORS}{{0,3}}[0-9]){{{min_digits - 1},}}")


def chains(text: str, min_digits: int = 1) -> list[Chain]:
    """Chains of digit groups in canonical ``text`` holding at least ``min_digits`` digits."""
    found = []
    for match in _chain_pattern(min_digits).finditer(text):
        start, end = match.span()
        groups = [group.span() for group in _GROUP.finditer(text, start, end)]
        prefix = _prefix(text, start)
        if _glued_before(text, prefix):
            if prefix == start:
                groups = groups[1:]  # the first group belongs to a word or to a time
            prefix = groups[0][0] if groups else start
        if end < len(text) and text[end].isalpha() and groups and not _word_after(text, end):
            groups = groups[:-1]  # the last group is glued to a code: not a number of ours
        if groups:
            first = groups[0][0]
            plus = prefix < first and "+" in text[prefix:first]
            found.append(Chain(prefix if plus else first, groups[-1][1], plus, tuple(groups)))
    return found


def _prefix(text: str, start: int) -> int:
    # Where a leading "+", "+ " or "(+" before the first digit begins (``start`` if none).
    at = start
    if at >= 1 and text[at - 1] == "+":
        at -= 1
    elif at >= 2 and text[at - 1] == " " and text[at - 2] == "+":
        at -= 2
    if at < start and at >= 1 and text[at - 1] == "(":
        at -= 1
    return at


def _glued_before(text: str, at: int) -> bool:
    # A chain never starts inside a word or right after "digit:" (the minutes of a time),
    # except right after a phone label written without a space ("tel3471234567").
    if at == 0:
        return False
    before = text[at - 1]
    if before.isalpha():
        label = _LABEL_GLUED.search(text, max(0, at - 12), at)
        return label is None or label.group(1).lower() not in PHONE_LABELS
    return before.isalnum() or (before == ":" and at >= 2 and text[at - 2].isdigit())


def _word_after(text: str, at: int) -> bool:
    """Whether the letters glued to a chain's end at ``at`` are a word, not a code's tail.

    "02 00000000Recapito" (a number run into the next word) is still a number; the check
    letter of a codice migrazione ("…001A"), a hex id's tail ("…78ab") or a unit written
    short are not words: three letters or more, at least one of them past ``f``.
    """
    letters = _LETTERS.match(text, at)
    word = letters.group() if letters is not None else ""
    return len(word) >= 3 and not _HEX_LETTERS.fullmatch(word)


def hangs_off_identifier(text: str, start: int, hidden: Spans) -> bool:
    """Whether a chain starting at ``start`` is the tail of an identifier (``ord-2026-000123``).

    Not when the word before is a phone label (``tel-347…``) or a protected span (a date).
    """
    # "ord-2026-000123": the chain starts right after a joiner that follows a word or number
    # (not a protected span: "12/03/2026-347…" is a date, then a number).
    if start < 2 or text[start - 1] not in "-_/" or not text[start - 2].isalnum():
        return False
    if any(s <= start - 2 < e for s, e in hidden):
        return False
    label = _LABEL_BEFORE.search(text, max(0, start - 12), start)
    return label is None or label.group(1).lower() not in PHONE_LABELS


def identifier_dropped(chain: Chain, text: str, hidden: Spans) -> Chain | None:
    """``chain`` without the groups that belong to an identifier before it (None: all do)."""
    # "ORD-2026-000123 347 1234567": the groups joined to an identifier by - _ / belong to it;
    # what follows the first other separator is a chain of its own.
    if not hangs_off_identifier(text, chain.start, hidden):
        return chain
    groups = chain.groups
    for index in range(1, len(groups)):
        if not _JOINERS.fullmatch(text, groups[index - 1][1], groups[index][0]):
            rest = groups[index:]
            return Chain(rest[0][0], rest[-1][1], False, rest)
    return None


def split(chain: Chain, hidden: Spans) -> list[Chain]:
    """The runs of ``chain``'s groups that no ``hidden`` span touches, each a chain."""
    # The runs of groups that no protected span touches, each a chain of its own.
    if not hidden:
        return [chain]
    parts: list[Chain] = []
    run: list[tuple[int, int]] = []
    for group in (*chain.groups, (-1, -1)):
        if group[0] >= 0 and not any(s < group[1] and group[0] < e for s, e in hidden):
            run.append(group)
            continue
        if run:
            whole = run[0] == chain.groups[0]
            start = chain.start if whole else run[0][0]
            parts.append(Chain(start, run[-1][1], chain.international and whole, tuple(run)))
        run = []
    return parts


def masked(text: str, hidden: Spans) -> str:
    """``text`` with the ``hidden`` spans replaced by the filler, offsets unchanged."""
    pieces, cursor = [], 0
    for start, end in sorted(hidden):
        if end > cursor:
            start = max(start, cursor)
            pieces += [text[cursor:start], FILLER * (end - start)]
            cursor = end
    return "".join([*pieces, text[cursor:]])
