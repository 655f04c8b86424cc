"""Surgical scrubbing of free text: replace only the personal data, keep every other character.

``Scrubber().scrub("Guasto: LED LOS rosso, richiamare 347.123.45.67", known=[], allowed=[])``
returns ``("Guasto: LED LOS rosso, richiamare [rimosso]", 1)``. Dates, times, order ids, the
codice migrazione, measurements (``-27,5 dBm``) and speeds survive; so does every value in
``allowed`` (partner contacts, decoys, kept operational numbers), even when it is also in
``known``: a value the policy keeps elsewhere is already being sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from proxy.detect.finder import Values, compiled, find, find_many
from proxy.detect.known import ValueSet
from proxy.detect.spans import Match

PLACEHOLDER: Final = "[rimosso]"


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Replaces phone numbers, e-mails, codici fiscali, partite IVA and known values in text.

    ``placeholder`` must itself be free of anything detectable (it is checked once, here).
    ``thorough`` adds ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) as a second opinion
    on phones. It is off by default: it costs about 0.2 to 0.3 ms per short note, which alone
    would eat most of the engine's per-message budget, and on the test corpus and the property
    tests it has found nothing the chain pass missed (both are run with it on and off).
    """

    placeholder: str = PLACEHOLDER
    thorough: bool = False

    def __post_init__(self) -> None:
        """Refuse a placeholder that the detectors would flag (scrubbing would never settle)."""
        if find(self.placeholder):
            raise ValueError("expected a placeholder free of personal data, got one that is not")

    def find(self, text: str, known: Values, allowed: Values) -> list[Match]:
        """What :meth:`scrub` would replace, as matches in ``text``'s offsets (keys included)."""
        allowed_set = compiled(allowed)
        return find(text, compiled(known).without(allowed_set), allowed_set, thorough=self.thorough)

    def scrub(self, text: str, known: Values, allowed: Values) -> tuple[str, int]:
        """``text`` with each match replaced by the placeholder, and the number of replacements.

        ``known`` are the values the policy removed from structured fields of the same message;
        ``allowed`` are never replaced. Either may be a precompiled :class:`ValueSet`.
        """
        return self.replace(text, self.find(text, known, allowed))

    def replace(self, text: str, matches: Sequence[Match]) -> tuple[str, int]:
        """``text`` with each of ``matches`` (sorted, not overlapping) replaced, and their count."""
        if not matches:
            return text, 0
        pieces = []
        cursor = 0
        for match in matches:
            pieces.append(text[cursor : match.start])
            pieces.append(self.placeholder)
            cursor = match.end
        pieces.append(text[cursor:])
        return "".join(pieces), len(matches)


class Remembering:
    """The scrubber of one message: it scans the texts the free-text rules select in one pass,
    and remembers the texts it found nothing in.

    :meth:`prime` runs the detectors over those texts at once (one joined pass,
    :func:`~proxy.detect.finder.find_many`) before the free-text rules, so each ``scrub`` of a
    primed text with the primed values is a look-up rather than a call with its fixed cost.
    The egress guard then skips the texts found clean: it looks for the same things with no
    more removed values and no fewer allowed ones (see :func:`proxy.minimise.minimise_request`),
    so a text clean here is clean for it too. A text the rules changed is scanned again.
    Lives as long as the message: the texts are that message's own, in memory only.
    """

    __slots__ = ("_allowed", "_known", "_primed", "clean", "scrubber")

    def __init__(self, scrubber: Scrubber) -> None:
        """Wrap the proxy's ``scrubber`` for one message."""
        self.scrubber = scrubber
        #: Texts known to hold nothing for the primed (or given) values.
        self.clean: set[str] = set()
        self._primed: dict[str, list[Match]] = {}
        self._known: object = None
        self._allowed: object = None

    def prime(self, texts: Sequence[str], known: ValueSet, allowed: ValueSet) -> None:
        """Detect in all of ``texts`` at once, for later ``scrub`` calls with these values.

        Only for the proxy's own :class:`Scrubber`: a substitute keeps being asked each time.
        """
        if type(self.scrubber) is not Scrubber:
            return
        unique = list(dict.fromkeys(texts))
        found = find_many(unique, known.without(allowed), allowed, thorough=self.scrubber.thorough)
        self._primed = dict(zip(unique, found, strict=True))
        self.clean.update(text for text, matches in self._primed.items() if not matches)
        self._known, self._allowed = known, allowed

    def scrub(self, text: str, known: Values, allowed: Values) -> tuple[str, int]:
        """:meth:`Scrubber.scrub`, from the primed pass when it covered ``text``."""
        primed = (
            self._primed.get(text) if known is self._known and allowed is self._allowed else None
        )
        if primed is not None:
            return self.scrubber.replace(text, primed)
        scrubbed, count = self.scrubber.scrub(text, known, allowed)
        if count == 0:
            self.clean.add(text)
        return scrubbed, count
