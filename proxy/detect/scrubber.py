"""Surgical scrubbing of free text: replace only the personal data, keep every other character.

``Scrubber().scrub("Guasto: LED LOS rosso, richiamare 347.123.45.67", known=[], allowed=[])``
returns ``("Guasto: LED LOS rosso, richiamare [rimosso]", 1)``. Dates, times, order ids, the
codice migrazione, measurements (``-27,5 dBm``) and speeds survive; so does every value in
``allowed`` (partner contacts, decoys, kept operational numbers), even when it is also in
``known``: a value the policy keeps elsewhere is already being sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from proxy.detect.finder import Values, compiled, find
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
        matches = self.find(text, known, allowed)
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


@dataclass(frozen=True, slots=True)
class Remembering:
    """A scrubber for one message that remembers the texts it found nothing in.

    The egress guard then skips them: it looks for the same things with no more removed values
    and no fewer allowed ones (see :func:`proxy.minimise.minimise_request`), so a text the
    scrubber found clean is clean for the guard too, and the message's longest strings (notes,
    descriptions) are not scanned twice. A text the scrubber changed is scanned again.
    Lives as long as the message: the texts are that message's own, in memory only.
    """

    scrubber: Scrubber
    clean: set[str]

    def scrub(self, text: str, known: Values, allowed: Values) -> tuple[str, int]:
        """:meth:`Scrubber.scrub`, noting ``text`` when nothing was found in it."""
        scrubbed, count = self.scrubber.scrub(text, known, allowed)
        if count == 0:
            self.clean.add(text)
        return scrubbed, count
