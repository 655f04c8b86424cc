"""All detectors over one piece of text, with known values promoted and allowed values dropped.

This is the one place where the scrubber and the egress guard agree on what personal data is:
the scrubber calls :func:`find` on a field, the guard :func:`find_many` on every string of the
message (the same detectors, one pass), so a field the scrubber cleaned never trips the guard.

Base64 blobs (attachments) are skipped, not decoded: a policy must drop attachments or inspect
their content (DOMAIN.md §6.1); decoding them here would cost more than the rest of the scan
and would still miss compressed PDF streams.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from itertools import accumulate
from typing import Final

from proxy.detect import emails, identifiers, known, phones
from proxy.detect.blobs import MIN_BLOB, is_blob
from proxy.detect.chains import chains, digit_count
from proxy.detect.known import ValueSet
from proxy.detect.normalise import Mapped, encoded, fold, identity, prepare
from proxy.detect.spans import Match, merge
from proxy.detect.vocabulary import CLEAN, MAX_LENGTH, CleanTexts

EMPTY: Final = ValueSet()
#: What :func:`find_many` puts between texts: nothing any detector reads across.
SEPARATOR: Final = "\x00"

Values = Sequence[str] | ValueSet


def compiled(values: Values) -> ValueSet:
    """``values`` as a :class:`ValueSet` (compiled once; pass one in to skip the work)."""
    return values if isinstance(values, ValueSet) else ValueSet.compile(values)


def find(
    text: str,
    removed: ValueSet = EMPTY,
    allowed: ValueSet = EMPTY,
    *,
    thorough: bool = False,
    query: bool = False,
) -> list[Match]:
    """Personal data in ``text``: matches in ``text``'s own offsets, overlaps merged.

    ``removed`` should already be ``removed.without(allowed)`` (the callers do that once per
    message); ``query`` also undoes percent-encoding.
    """
    return _find(text, removed, allowed, thorough=thorough, query=query)[0]


def _find(
    text: str, removed: ValueSet, allowed: ValueSet, *, thorough: bool, query: bool = False
) -> tuple[list[Match], list[Match]]:
    # The findings, and what the pattern detectors found before allowed values were taken
    # out (a text with none of the latter is clean of patterns: see vocabulary.py).
    if _nothing_to_see(text, removed, query):
        return [], []
    mapped = prepare(text, query=query)
    canonical = mapped.text
    digits = digit_count(canonical)
    hits = emails.find(canonical)
    if len(canonical) >= 16 or digits >= 11:
        hits.extend(identifiers.find(canonical, digits))
    least = min(phones.MIN_DIGITS, removed.shortest)
    runs = chains(canonical, 1 if thorough else least) if digits >= least else []
    if runs:
        hits.extend(phones.find(canonical, thorough=thorough, within=runs))
    patterns = [_promote(_to_source(mapped, hit), removed) for hit in hits]
    found = list(patterns)
    if runs and removed.needles:
        found.extend(known.find_phones(mapped, removed, runs))
    folded: Mapped | None = None
    if removed.terms:
        folded = fold(mapped)
        found.extend(known.find_words(folded, removed))
    if found and (allowed.keys or allowed.literals):
        found = _drop_allowed(found, mapped, folded, allowed)
    return merge(found), patterns


def find_many(
    texts: Sequence[str],
    removed: ValueSet = EMPTY,
    allowed: ValueSet = EMPTY,
    *,
    thorough: bool = False,
    skip: Collection[str] = (),
) -> list[list[Match]]:
    """:func:`find` over many texts at once: the matches of each, in its own offsets.

    The texts are joined with a separator that no pattern crosses (NUL: no digit, letter,
    space or punctuation), so every detector makes one pass over the whole message instead of
    one call per string: most strings of a message are short codes, and the per-call overhead
    would dominate. Each distinct text is read once (member names repeat all over a
    document). Base64 blobs are left out (see the module docstring), and so are the texts in
    ``skip``: known to hold nothing for these values (the caller vouches for that). Texts the
    process has already found clean of patterns (:mod:`proxy.detect.vocabulary`) are only
    searched for ``removed``'s phrases and words; the others go through every detector, and
    those found clean are remembered.
    """
    unique = [
        text
        for text in dict.fromkeys(texts)
        if text and (len(text) < MIN_BLOB or not is_blob(text)) and text not in skip
    ]
    memo = CLEAN if not thorough and CLEAN.enabled else None
    fresh, seen = (unique, []) if memo is None else memo.split(unique, removed.shortest)
    per_text: dict[str, list[Match]] = {}
    if fresh:
        joined, starts = _join(fresh)
        found, patterns = _find(joined, removed, allowed, thorough=thorough)
        _spread(found, starts, fresh, per_text)
        if memo is not None:
            _remember(memo, fresh, starts, patterns)
    if seen and removed.terms:
        joined, starts = _join(seen)
        _spread(_words(joined, removed, allowed), starts, seen, per_text)
    return [per_text.get(text, []) for text in texts]


def _join(texts: list[str]) -> tuple[str, list[int]]:
    # The texts with SEPARATOR between them, and where each starts.
    lengths = [len(text) + len(SEPARATOR) for text in texts]
    starts = [0, *accumulate(lengths)][: len(texts)]
    return SEPARATOR.join(texts), starts


def _slot(starts: list[int], at: int) -> int:
    return bisect_right(starts, at) - 1


def _spread(
    matches: list[Match], starts: list[int], texts: list[str], into: dict[str, list[Match]]
) -> None:
    # Matches of the joined text, shifted into the offsets of the text each falls in.
    for match in matches:
        slot = _slot(starts, match.start)
        base = starts[slot]
        shifted = Match(match.start - base, match.end - base, match.kind, match.key)
        into.setdefault(texts[slot], []).append(shifted)


def _remember(memo: CleanTexts, texts: list[str], starts: list[int], patterns: list[Match]) -> None:
    # Texts with no pattern hit, read as they are (ASCII, nothing to decode), join the memo.
    flagged = {_slot(starts, hit.start) for hit in patterns}
    for slot, text in enumerate(texts):
        if slot not in flagged and len(text) <= MAX_LENGTH and _as_is(text):
            memo.add(text, digit_count(text))


def _as_is(text: str) -> bool:
    # The text is its own canonical form: nothing to decode, nothing to canonicalise.
    return text.isascii() and not encoded(text)


def _words(joined: str, removed: ValueSet, allowed: ValueSet) -> list[Match]:
    # What _find reports in texts clean of patterns: removed phrases and words only. The
    # texts are ASCII with nothing to decode, so their folded form is their lower case.
    mapped = identity(joined)
    folded = identity(joined.lower())
    found = known.find_words(folded, removed)
    if found and (allowed.keys or allowed.literals):
        found = _drop_allowed(found, mapped, folded, allowed)
    return merge(found)


def _nothing_to_see(text: str, removed: ValueSet, query: bool) -> bool:
    # The cheap gate every string of a message passes through: most are short codes, enums
    # and dates, answered here with a handful of C-level string operations.
    if text.isspace() or not text:
        return True
    if query or not text.isascii() or encoded(text):
        return False  # encoded or non-ASCII: canonicalise first, then look
    if is_blob(text):
        return True  # base64 (an attachment): see the module docstring
    if "@" in text or len(text) >= 16 or digit_count(text) >= 6:
        return False
    if len(text) >= 10 and emails.disguised(text):
        return False
    return not removed.terms or not known.find_words(identity(text.lower()), removed)


def _to_source(mapped: Mapped, hit: Match) -> Match:
    start, end = mapped.span(hit.start, hit.end)
    return Match(start, end, hit.kind, hit.key)


def _promote(hit: Match, removed: ValueSet) -> Match:
    # A detection of a value the policy removed is reported as such: the most telling kind.
    is_removed = removed.holds_email(hit.key) if hit.kind == "email" else hit.key in removed.keys
    return Match(hit.start, hit.end, "removed_value", hit.key) if is_removed else hit


def _drop_allowed(
    found: list[Match], mapped: Mapped, folded: Mapped | None, allowed: ValueSet
) -> list[Match]:
    kept = [hit for hit in found if hit.key not in allowed.keys]
    if not kept or not allowed.literals:
        return kept  # most messages stop here: nothing left, or nothing to look for
    view = folded if folded is not None else fold(mapped)
    spans = []
    for literal in allowed.literals:
        at = view.text.find(literal)
        while at != -1:
            spans.append(view.span(at, at + len(literal)))
            at = view.text.find(literal, at + 1)
    if not spans:
        return kept
    # A hit is allowed when some span starting at or before it reaches its end: with the spans
    # sorted by start, the furthest end among those that start early enough says it (bisect),
    # instead of comparing every hit with every occurrence in the whole message.
    spans.sort()
    starts = [start for start, _ in spans]
    reach = list(accumulate((end for _, end in spans), max))
    return [
        hit for hit in kept if (k := bisect_right(starts, hit.start)) == 0 or reach[k - 1] < hit.end
    ]
