"""The texts that recur from message to message and hold no pattern: a memo of their hashes.

Most strings of a wholesale message are its vocabulary: JSON member names, XML names that
became attribute values, enumerations (``add``, ``residential``, ``Individual``), product names,
fixed descriptions. The phone, e-mail and identifier detectors find nothing in them, every time.
:class:`CleanTexts` remembers that, so the scrubber's joined pass and the egress guard run the
pattern detectors only on texts they have not seen clean before; a remembered text is still
searched for the message's own removed values (those change with every message), which is a
plain substring search.

What is remembered, and why it is safe:

* only **hashes**: ``hash(text)``, CPython's SipHash keyed by a secret drawn at each start of
  the process. No text is kept, so nothing personal outlives its message in here; a customer's
  name that happened to be clean of patterns is a 64-bit number that names nothing. When the
  hash key is fixed (``PYTHONHASHSEED`` set to a number), someone who knows it could build two
  texts with one hash, one clean and one with a phone number: the memo is then off.
* only texts the pattern detectors found **nothing** in, before allowed values were taken out
  (a partner's number is allowed, not clean), ASCII without anything to decode (the text is its
  own canonical form, so the substring search of removed values reads it as the full pass
  does), up to :data:`MAX_LENGTH` characters (long texts are notes: they rarely recur);
* with each hash, the text's **digit count**: a removed phone number is searched in digit
  chains, so a remembered text with as many digits as the shortest removed number goes through
  the full pass again.

Only the default (not ``thorough``) detectors consult it. A hash collision between a clean text
and one with data would let the data through unread: with a secret key that is a 2^-64 chance
per pair of texts, which the memo's bound (:data:`CAPACITY`) keeps to well under 2^-48 per text.
"""

from __future__ import annotations

import os
from typing import Final

#: How many hashes are kept; when full, the memo starts again (the vocabulary is relearned
#: within a message or two, and a stream of one-off texts cannot grow it without bound).
CAPACITY: Final = 1 << 15
#: Longer texts are not remembered.
MAX_LENGTH: Final = 128


def _hash_key_is_secret() -> bool:
    # CPython draws the key at start unless PYTHONHASHSEED names a number.
    seed = os.environ.get("PYTHONHASHSEED", "random")
    return seed == "random" or seed == ""


class CleanTexts:
    """Hashes of texts known to hold no pattern, each with its digit count (module docstring)."""

    __slots__ = ("_digits", "enabled")

    def __init__(self, *, enabled: bool | None = None) -> None:
        """An empty memo; ``enabled`` defaults to whether the hash key is secret."""
        self.enabled = _hash_key_is_secret() if enabled is None else enabled
        self._digits: dict[int, int] = {}

    def __len__(self) -> int:
        """How many hashes are remembered."""
        return len(self._digits)

    def digits(self, text: str) -> int | None:
        """The digit count remembered for ``text``, or None when it is not known clean."""
        return self._digits.get(hash(text)) if self.enabled else None

    def split(self, texts: list[str], shortest: int) -> tuple[list[str], list[str]]:
        """``texts`` as (to read in full, known clean with fewer than ``shortest`` digits).

        ``shortest``: the length of the shortest removed number searched for in digit chains.
        """
        if not self.enabled:
            return texts, []
        fresh: list[str] = []
        seen: list[str] = []
        get = self._digits.get
        for text in texts:
            digits = get(hash(text))
            (seen if digits is not None and digits < shortest else fresh).append(text)
        return fresh, seen

    def add(self, text: str, digits: int) -> None:
        """Remember that ``text`` (ASCII, nothing to decode) holds no pattern and ``digits``."""
        if not self.enabled or len(text) > MAX_LENGTH:
            return
        if len(self._digits) >= CAPACITY:
            self._digits.clear()
        self._digits[hash(text)] = digits

    def clear(self) -> None:
        """Forget everything (tests; a change of detectors)."""
        self._digits.clear()


#: The process's memo, shared by every message.
CLEAN: Final = CleanTexts()
