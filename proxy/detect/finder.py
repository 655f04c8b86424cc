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
from proxy.detect.chains import chains, digit_count
from proxy.detect.known import ValueSet
from proxy.detect.normalise import ENCODING_MARKS, Mapped, fold, identity, prepare
from proxy.detect.spans import Match, merge

EMPTY: Final = ValueSet()
#: Base64 content (attachments) is not decoded here: a policy drops or inspects attachments.
#: Undecoded, it holds no ``@`` and no spaces; digits that happen to sit between ``+`` and
#: ``/`` would only be noise.
MIN_BLOB: Final = 128
#: What :func:`find_many` puts between texts: nothing any detector reads across.
SEPARATOR: Final = "\x00"
# Line breaks are allowed (MIME wraps base64), spaces are not: prose is words and spaces.
_BASE64_ALPHABET: Final = str.maketrans(
    "", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\r\n"
)

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
    if _nothing_to_see(text, removed, query):
        return []
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
    found = [_promote(_to_source(mapped, hit), removed) for hit in hits]
    if runs and removed.needles:
        found.extend(known.find_phones(mapped, removed, runs))
    folded: Mapped | None = None
    if removed.terms:
        folded = fold(mapped)
        found.extend(known.find_words(folded, removed))
    if found and (allowed.keys or allowed.literals):
        found = _drop_allowed(found, mapped, folded, allowed)
    return merge(found)


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
    would dominate. Base64 blobs are left out (see the module docstring), and so are the texts
    in ``skip``: known to hold nothing for these values (the caller vouches for that).
    """
    kept = [
        i
        for i, text in enumerate(texts)
        if text and (len(text) < MIN_BLOB or not _is_blob(text)) and text not in skip
    ]
    lengths = [len(texts[i]) + len(SEPARATOR) for i in kept]
    starts = [0, *accumulate(lengths)][: len(kept)]
    joined = SEPARATOR.join([texts[i] for i in kept])
    result: list[list[Match]] = [[] for _ in texts]
    for match in find(joined, removed, allowed, thorough=thorough):
        slot = bisect_right(starts, match.start) - 1
        base = starts[slot]
        shifted = Match(match.start - base, match.end - base, match.kind, match.key)
        result[kept[slot]].append(shifted)
    return result


def _is_blob(text: str) -> bool:
    # Deleting the base64 alphabet (C speed) leaves at most the padding of a blob.
    if len(text) < MIN_BLOB or not text.isascii():
        return False
    return text.translate(_BASE64_ALPHABET) in ("", "=", "==")


def _nothing_to_see(text: str, removed: ValueSet, query: bool) -> bool:
    # The cheap gate every string of a message passes through: most are short codes, enums
    # and dates, answered here with a handful of C-level string operations.
    if text.isspace() or not text:
        return True
    if query or not text.isascii() or any(mark in text for mark in ENCODING_MARKS):
        return False  # encoded or non-ASCII: canonicalise first, then look
    if _is_blob(text):
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
