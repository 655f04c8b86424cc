"""Base64 blobs: attachments carried inline, which the detectors do not read.

A policy drops attachments or inspects their content (DOMAIN.md §6.1); undecoded, base64 holds
no ``@`` and no spaces, and digits that happen to sit between ``+`` and ``/`` would only be
noise. Decoding here would cost more than the rest of the scan and would still miss compressed
PDF streams. A dropped attachment is still a removed value: it is looked for whole, as text.
"""

from __future__ import annotations

from typing import Final

#: Shorter texts are never taken for a blob.
MIN_BLOB: Final = 128
# Line breaks are allowed (MIME wraps base64), spaces are not: prose is words and spaces.
_BASE64_ALPHABET: Final = str.maketrans(
    "", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\r\n"
)


def is_blob(text: str) -> bool:
    """Whether ``text`` is base64 content of at least :data:`MIN_BLOB` characters."""
    # Deleting the base64 alphabet (C speed) leaves at most the padding of a blob.
    if len(text) < MIN_BLOB or not text.isascii():
        return False
    return text.translate(_BASE64_ALPHABET) in ("", "=", "==")
