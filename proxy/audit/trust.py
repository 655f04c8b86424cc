"""The trust file: the log's origin and its first public key, which compliance keeps out of band.

Everything else a verifier needs (later keys, their valid ranges) it learns from the log itself,
rooted in this file. The format is a small text file, one ``key value`` per line::

    civetta/trust@v1
    origin civetta.example/audit
    vkey civetta.example/audit+1a2b3c4d+AU5kZ...

``vkey`` is the C2SP / Go ``note`` verifier key string (``name+hexid+base64(0x01 || key)``), so
other ecosystems' tools read it too. Lines starting with ``#`` are comments, for people; the
first line is the header, then exactly one ``origin`` and one ``vkey`` line, in that order.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

from proxy.audit.note import NoteError, Verifier

TRUST_HEADER = "civetta/trust@v1"


class TrustError(Exception):
    """A trust file is malformed; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """The log's origin and the first key that signs its checkpoints."""

    origin: str
    verifier: Verifier

    def __post_init__(self) -> None:
        if not self.origin or any(c < " " for c in self.origin):
            raise TrustError("expected a non-empty origin without control characters, got other")

    def to_text(self) -> str:
        """Format as a trust file, with a comment saying what it is for."""
        return (
            f"{TRUST_HEADER}\n"
            "# civetta audit log trust file: keep a copy out of band (not on the proxy host).\n"
            "# Verify with: civetta audit verify --trust THIS_FILE ...\n"
            f"origin {self.origin}\n"
            f"vkey {self.verifier.to_vkey()}\n"
        )

    @classmethod
    def parse(cls, text: str) -> TrustAnchor:
        """Parse a trust file strictly (comments aside); raise TrustError."""
        if not text.endswith("\n"):
            raise TrustError("expected the trust file to end with a newline, got none")
        lines = [line for line in text[:-1].split("\n") if not line.startswith("#")]
        if len(lines) != 3 or lines[0] != TRUST_HEADER:
            raise TrustError(
                f"expected {TRUST_HEADER!r}, an origin and a vkey line, got {len(lines)} lines"
            )
        origin, vkey = lines[1], lines[2]
        if not origin.startswith("origin ") or not vkey.startswith("vkey "):
            raise TrustError("expected lines 'origin <origin>' then 'vkey <key>', got others")
        try:
            verifier = Verifier.parse(vkey.removeprefix("vkey "))
        except NoteError as exc:
            raise TrustError(f"expected a C2SP verifier key: {exc}") from exc
        return cls(origin.removeprefix("origin "), verifier)


def read_trust(path: Path) -> TrustAnchor:
    """Read and parse the trust file at ``path``; raise TrustError (OSError passes through)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TrustError("expected a UTF-8 trust file, got invalid bytes") from exc
    return TrustAnchor.parse(text)


def write_trust(anchor: TrustAnchor, path: Path) -> None:
    """Write the trust file (public data: ordinary permissions), refusing to overwrite one."""
    with path.open("x", encoding="utf-8") as fh:
        fh.write(anchor.to_text())


def anchor_from_log_init(data: bytes) -> TrustAnchor:
    """The trust file's content as the log's first entry (``log_init``) states it.

    For writing a trust file from a log one runs oneself; a verifier must use the copy kept
    out of band instead, since whoever can rewrite the log can rewrite this entry.
    """
    try:
        leaf = json.loads(data)
        if leaf.get("type") != "log_init":
            raise TrustError("expected a log_init entry at index 0, got another type")
        public = base64.b64decode(str(leaf["public_key"]), validate=True)
        return TrustAnchor(str(leaf["origin"]), Verifier(str(leaf["key_name"]), public))
    except (ValueError, KeyError, AttributeError, binascii.Error, NoteError) as exc:
        raise TrustError(f"expected a log_init entry naming an origin and a key: {exc}") from exc
