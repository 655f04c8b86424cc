"""Known values: what a message's policy removed (to find again) or allows (to leave alone).

:meth:`ValueSet.compile` classifies each value once per message:

* **phone-like** (only digits and phone punctuation, at least 6 digits): found again in any
  spelling by comparing digits, the national significant number (NSN) and the raw digits, on
  whole digit groups (``+39 347 123 4567``, ``347.1234567``, fullwidth digits), never inside a
  longer alphanumeric token (the codice migrazione embeds the line's number and must survive);
* **e-mail**: compared casefolded; a removed ``mario@x.it`` also catches ``mario+tag@x.it``,
  an allowed one does not extend to other sub-addresses (a per-order decoy must stay exact);
* **codes** (codice fiscale, partita IVA, any alphanumeric id): compared compact, upper case;
* **text**: found as a whole phrase, case-, accent- and whitespace-insensitive. A value that
  looks like a person's name (2 to 4 words of letters, no company form such as ``srl``) is also
  found word by word (``Rossi`` alone), except for particles and address words (``di``, ``via``,
  ``san``) and words under 3 letters. Accepted cost: a surname that is also an ordinary word
  (``Rosso``) is removed from the same message's notes too; allowed values (e.g. the kept
  address) still win, because a span inside an allowed value is never reported.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, overload

from proxy.detect import emails, identifiers, phones
from proxy.detect.blobs import is_blob
from proxy.detect.chains import Chain, chains, digit_count
from proxy.detect.normalise import Mapped, encoded, fold_text, prepare
from proxy.detect.spans import Match

_PHONE_LIKE: Final = re.compile(r"[+(]?[0-9][0-9 .\-/()]*")
_WORD: Final = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_NAME: Final = re.compile(r"[^\W\d_]+(?:['.-][^\W\d_]*)*(?: [^\W\d_]+(?:['.-][^\W\d_]*)*){1,3}")
_SPACES: Final = re.compile(r"\s+")
#: What ``\s`` matches in ASCII besides the plain space.
_ASCII_SPACES: Final = ("\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")
#: Whitespace that is not a single plain space (collapsed for the search of terms).
_RUNS: Final = re.compile(r"\s{2,}|[^\S ]")
_TIMES: Final = re.compile(r"[0-9]{1,2}[:.][0-9]{2}(?: ?[-/] ?[0-9]{1,2}[:.][0-9]{2})?")
_COMPANY_FORMS: Final = frozenset(
    {"srl", "spa", "snc", "sas", "srls", "coop", "ditta", "impresa", "societa", "s.r.l", "s.p.a"}
)
_PARTICLES: Final = frozenset(
    {
        *("di", "da", "de", "del", "dei", "della", "delle", "dello", "degli", "dal", "dalla"),
        *("lo", "la", "le", "il", "van", "von", "der", "den", "sig", "sigra", "dott", "ing"),
        *("via", "viale", "piazza", "corso", "largo", "vicolo", "strada", "localita"),
        *("san", "santa", "santo"),
    }
)
_PREFIXES: Final = frozenset({"39", "0039", "390", "00390", "0"})
MIN_LITERAL: Final = 3
#: Terms longer than this without a space (an attachment's base64, a long id) are searched
#: with ``str.find`` rather than in the regular expression: compiling a pattern costs time in
#: proportion to its text, and a per-message 5 KB literal would cost milliseconds each time.
LONG_TERM: Final = 48


def _nsn(canonical: str, digits: str) -> tuple[str, str | None]:
    # The national significant number and E.164 key of a valid number; an invalid one (a typo
    # the OSS sent) is still searched for by its raw digits.
    e164 = phones.validate(digits, canonical.startswith(("+", "(+")))
    if e164 is None:
        return digits, None
    return phones.national_of(e164), e164


@dataclass(frozen=True, slots=True)
class ValueSet(Sequence[str]):
    """Values of one message compiled for matching (see the module docstring).

    It is also the sequence of the values it was compiled from, so a compiled set can travel
    wherever a ``Sequence[str]`` of values is expected (an action's ``Env``, a scrubber) and
    be compiled once per message rather than once per string scrubbed.
    """

    #: Digit strings to look for in digit chains, each with the E.164 key it stands for.
    needles: Mapping[str, str] = field(default_factory=dict)
    #: Comparison keys: E.164 phones, casefolded e-mails, compact upper-case codes.
    keys: frozenset[str] = frozenset()
    #: E-mail keys without sub-address (a removed mailbox catches its sub-addresses).
    mailboxes: frozenset[str] = frozenset()
    #: Folded phrases (for allowed values: spans never reported).
    literals: tuple[str, ...] = ()
    #: Folded phrases and name words to search whole-word (removed values), longest first.
    terms: tuple[str, ...] = ()
    #: The values this set was compiled from, in the order given.
    values: tuple[str, ...] = ()
    # The search of ``terms`` (pattern, long plain terms), built on first use: allowed sets
    # never search words, so they never pay for it. A one-slot list: the dataclass is frozen.
    _words: list[tuple[re.Pattern[str] | None, tuple[str, ...]]] = field(
        default_factory=list, compare=False, repr=False
    )

    @classmethod
    def compile(cls, values: Iterable[str], *, search: bool = True) -> ValueSet:
        """Classify ``values`` (empty and blank ones are ignored).

        ``search=False`` for values that are only ever allowed, never searched for: the set
        gets no :attr:`terms` (a name's words are not worked out), the rest is the same.
        """
        given = tuple(values)
        needles: dict[str, str] = {}
        keys: set[str] = set()
        literals: set[str] = set()
        terms: set[str] | None = set() if search else None
        for value in dict.fromkeys(given):  # a value repeated in a message is classified once
            _classify(value, needles, keys, literals, terms)
        mailboxes = frozenset(emails.mailbox(key) for key in keys if "@" in key)
        ordered = _ordered(terms) if terms else ()
        return cls(needles, frozenset(keys), mailboxes, tuple(sorted(literals)), ordered, given)

    def __len__(self) -> int:
        """How many values the set was compiled from."""
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        """The values the set was compiled from."""
        return self.values[index]

    def __bool__(self) -> bool:
        """Always true, like any object: an empty set is still a set (callers test fields)."""
        return True

    @property
    def words(self) -> re.Pattern[str] | None:
        """The phrases and name words as one whole-word pattern over folded text (None: none to
        search by pattern; :attr:`plain` holds the long terms). Built on first use, for callers
        that want a pattern: :func:`find_words` searches the terms without one."""
        if not self._words:
            short = tuple(t for t in self.terms if len(t) <= LONG_TERM or " " in t)
            self._words.append((_pattern(short), self.plain))
        return self._words[0][0]

    @property
    def plain(self) -> tuple[str, ...]:
        """Terms longer than :data:`LONG_TERM` without spaces, searched on the text as is."""
        return tuple(t for t in self.terms if len(t) > LONG_TERM and " " not in t)

    @property
    def shortest(self) -> int:
        """The length of the shortest phone-like needle (a large number when there is none)."""
        return min(map(len, self.needles), default=1 << 30)

    def without(self, allowed: ValueSet) -> ValueSet:
        """This set minus what ``allowed`` holds: an allowed value is never a finding."""
        if not allowed.keys:
            return self
        needles = {n: k for n, k in self.needles.items() if k not in allowed.keys}
        # The terms are unchanged: share the pattern (compiled at most once for both).
        return ValueSet(
            needles,
            self.keys - allowed.keys,
            self.mailboxes,
            self.literals,
            self.terms,
            self.values,
            self._words,
        )

    def union(self, other: ValueSet) -> ValueSet:
        """Both sets in one: how a message's values join constant ones compiled at load."""
        if not other.values:
            return self
        if not self.values:
            return other
        return ValueSet(
            {**self.needles, **other.needles},
            self.keys | other.keys,
            self.mailboxes | other.mailboxes,
            tuple(sorted({*self.literals, *other.literals})),
            _ordered({*self.terms, *other.terms}),
            (*self.values, *other.values),
        )

    def holds_email(self, key: str) -> bool:
        """Whether the e-mail ``key`` (or its mailbox) is one of these values."""
        return key in self.keys or emails.mailbox(key) in self.mailboxes


def _classify(
    value: str,
    needles: dict[str, str],
    keys: set[str],
    literals: set[str],
    terms: set[str] | None,
) -> None:
    # One value's needles, keys, literal and search terms (None: not wanted), added to the
    # sets given.
    canonical = _canonical(value)
    if not canonical:
        return
    if len(canonical) < MIN_LITERAL and canonical.isascii() and canonical.isalnum():
        # "B", "12", "RM": no address, no number, too short a literal; only the code key.
        keys.add(canonical.upper())
        return
    if is_blob(canonical) and not _PHONE_LIKE.fullmatch(canonical):
        # An attachment: no address (no "@", no brackets, no spaces), no number; what the
        # general case below would do, without its scans of a long text for an address.
        keys.add(identifiers.compact(canonical))
        folded = _single_spaced(canonical.lower())
        if _distinctive(folded, digit_count(canonical)):
            literals.add(folded)
            if terms is not None:
                terms.add(folded)
                terms.update(_name_words(folded))
        return
    # Canonical digits are ASCII ones; digit_count runs at C speed (a long value costs little).
    ascii_ = canonical.isascii()
    count = digit_count(canonical) if ascii_ else sum(ch.isdigit() for ch in canonical)
    # Digits only, or no "@" and no disguise: no e-mail (parse would say so, at a higher cost).
    maybe_email = count < len(canonical) and ("@" in canonical or emails.disguised(canonical))
    email = emails.parse(canonical) if maybe_email else None
    if email is not None:
        keys.add(email)
    elif count >= 6 and _PHONE_LIKE.fullmatch(canonical):
        digits = "".join(ch for ch in canonical if ch.isdigit())
        nsn, e164 = _nsn(canonical, digits)
        key = e164 or digits
        keys.update({key, digits})
        needles.update({nsn: key, digits: key})
    keys.add(identifiers.compact(canonical))
    folded = _single_spaced(canonical.lower() if canonical.isascii() else fold_text(canonical))
    if email is None and _distinctive(folded, count):
        literals.add(folded)
        if terms is not None:
            terms.add(folded)
            terms.update(_name_words(folded))


def _canonical(value: str) -> str:
    # ``prepare(value).text.strip()``: plain ASCII (most values) has nothing to decode.
    if value.isascii() and not encoded(value):
        return value.strip()
    return prepare(value).text.strip()


def _single_spaced(text: str) -> str:
    # ``_SPACES.sub(" ", text)``. Without whitespace at either end, splitting on whitespace
    # (``str.isspace``, which is also what ``\s`` matches) and joining with one space is the
    # same, at C speed: most values, and long ones such as an attachment, cost a scan.
    if not text or text[0].isspace() or text[-1].isspace():
        return _SPACES.sub(" ", text)
    return " ".join(text.split())


def _ordered(terms: set[str]) -> tuple[str, ...]:
    # Longest first, so a full name wins over one of its words (ties by text: deterministic).
    return tuple(sorted(terms, key=lambda t: (-len(t), t)))


def _distinctive(folded: str, digits: int) -> bool:
    # Short numbers (a civico, "interno 12") and times or time windows (a fascia di
    # reperibilità that also sits, kept, in the appointment) would match all over an order.
    if len(folded) < MIN_LITERAL or _TIMES.fullmatch(folded):
        return False
    if digits >= 6:
        return True
    letters = 0
    for ch in folded:  # stop at the third letter: a long value (an attachment) costs little
        if ch.isalpha():
            letters += 1
            if letters >= MIN_LITERAL:
                return True
    return False


def _name_words(folded: str) -> list[str]:
    if not _NAME.fullmatch(folded) or any(w.strip(".") in _COMPANY_FORMS for w in folded.split()):
        return []
    return [w for w in _WORD.findall(folded) if len(w) >= MIN_LITERAL and w not in _PARTICLES]


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    # ``terms`` come longest first, so a full name wins over one of its words; spaces match
    # any whitespace. The word boundary in front is checked by find_words: a pattern that
    # starts with the terms' first letters lets the engine skip ahead at C speed.
    alternatives = (re.escape(t).replace(r"\ ", r"\s+") for t in terms)
    return re.compile(rf"(?:{'|'.join(alternatives)})(?!\w)")


def find_words(folded: Mapped, values: ValueSet) -> list[Match]:
    """Whole-word occurrences of ``values``' phrases and name words in ``folded`` text.

    No pattern is compiled per message: each term is searched with ``str.find`` over a view of
    the text with whitespace runs collapsed to one space (terms hold single spaces), and the
    hits are chosen as the old alternation did: leftmost first, the longest term at a position
    (ties by text), never overlapping. Long plain terms may overlap (they are merged later).
    """
    if not values.terms:
        return []
    text = folded.text
    view, breaks, shifts = _collapsed(text)
    candidates: list[tuple[int, int, int]] = []  # (start in view, rank, end in view)
    for rank, term in enumerate(values.terms):
        if len(term) > LONG_TERM and " " not in term:
            continue  # searched below, on the text itself
        start = view.find(term)
        while start != -1:
            end = start + len(term)
            if end == len(view) or not _continues(view[end], term[-1]):
                candidates.append((start, rank, end))
            start = view.find(term, start + 1)
    found = []
    at = 0
    candidates.sort()
    for start, _, end in candidates:
        if start < at or (start > 0 and _continues(view[start - 1], view[start])):
            continue
        first = _unshift(start, breaks, shifts)
        last = _unshift(end - 1, breaks, shifts) + 1
        span = folded.span(first, last)
        found.append(Match(span[0], span[1], "removed_value", text[first:last]))
        at = end
    for term in values.plain:
        # The same whole-word rule: no word character on either side.
        start = text.find(term)
        while start != -1:
            end = start + len(term)
            if (start == 0 or not _continues(text[start - 1], term[0])) and (
                end == len(text) or not _continues(text[end], term[-1])
            ):
                first, last = folded.span(start, end)
                found.append(Match(first, last, "removed_value", term))
            start = text.find(term, start + 1)
    return found


def _collapsed(text: str) -> tuple[str, list[int], list[int]]:
    # ``text`` with every whitespace run that is not a single space made one space, and a
    # sparse map back: view offsets at or after ``breaks[k]`` lie ``shifts[k]`` further on.
    breaks: list[int] = []
    shifts: list[int] = []
    if text.isascii() and "  " not in text and not any(ws in text for ws in _ASCII_SPACES):
        return text, breaks, shifts  # nothing to collapse (C-speed scans, no pattern)
    pieces: list[str] = []
    cursor = shift = 0
    for run in _RUNS.finditer(text):
        start, end = run.span()
        pieces.append(text[cursor:start])
        pieces.append(" ")
        cursor = end
        breaks.append(start - shift + 1)
        shift += end - start - 1
        shifts.append(shift)
    if not breaks:
        return text, breaks, shifts
    pieces.append(text[cursor:])
    return "".join(pieces), breaks, shifts


def _unshift(index: int, breaks: list[int], shifts: list[int]) -> int:
    # The offset in the text of the view's character at ``index``.
    k = bisect_right(breaks, index)
    return index + shifts[k - 1] if k else index


def _in_word(char: str) -> bool:
    # What ``\w`` matches: letters and digits of any script, and the underscore.
    return char.isalnum() or char == "_"


def _continues(char: str, edge: str) -> bool:
    # Whether ``char``, next to a term's ``edge`` character, makes the match part of a longer
    # word: a letter after a letter, a digit after a digit, an underscore after either. A name
    # glued to a number ("…29,90Mario") or a number glued to a word is still found.
    if char == "_" or edge == "_":
        return _in_word(char)
    if edge.isdigit():
        return char.isdigit()
    if edge.isalpha():
        return char.isalpha()
    return _in_word(char)


def find_phones(
    mapped: Mapped, values: ValueSet, within: Sequence[Chain] | None = None
) -> list[Match]:
    """Occurrences of ``values``' phone-like needles in ``mapped`` (source offsets).

    ``within``: the chains of ``mapped.text`` if the caller has them already.
    """
    if not values.needles:
        return []
    found = []
    shortest = values.shortest
    for chain in chains(mapped.text, shortest) if within is None else within:
        if chain.digits < shortest:
            continue
        joined = "".join(mapped.text[start:end] for start, end in chain.groups)
        if not any(needle in joined for needle in values.needles):
            continue  # the common case: build the layout only for chains that hold a needle
        digits, positions, starts, ends = _layout(mapped.text, chain)
        for needle, key in values.needles.items():
            at = digits.find(needle)
            while at != -1:
                end = at + len(needle)
                trunk = at - 1 in starts and digits[at - 1] == "0"
                if end in ends and (at in starts or trunk):
                    begin = at - 1 if trunk and at not in starts else at
                    first = positions[begin]
                    if digits[:begin] in _PREFIXES or (chain.international and begin <= 3):
                        first = chain.start
                    span = mapped.span(first, positions[end - 1] + 1)
                    found.append(Match(span[0], span[1], "removed_value", key))
                at = digits.find(needle, at + 1)
    return found


def _layout(text: str, chain: Chain) -> tuple[str, list[int], set[int], set[int]]:
    # The chain's digits, the text offset of each, and which digit indexes open/close a group.
    digits: list[str] = []
    positions: list[int] = []
    starts: set[int] = set()
    ends: set[int] = set()
    for start, end in chain.groups:
        starts.add(len(digits))
        digits.extend(text[start:end])
        positions.extend(range(start, end))
        ends.add(len(digits))
    return "".join(digits), positions, starts, ends
