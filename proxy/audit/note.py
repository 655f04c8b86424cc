"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys (signature type 0x01).

A note is a text ending in a newline, a blank line, and signature lines
``— <key name> base64(uint32 key id || signature)``. Key strings use the formats of Go's
``golang.org/x/mod/sumdb/note``, so keys and notes interoperate with that ecosystem:
verifier key ``name+hexid+base64(0x01 || public key)``, signer key
``PRIVATE+KEY+name+hexid+base64(0x01 || seed)``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_TYPE_ED25519 = 0x01
#: The spec requires accepting at least 16; Go's note package stops at 100, and so do we.
MAX_SIGNATURES = 100
_DASH = "\u2014 "
#: Control characters other than newline (one C scan instead of a generator per character).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_SKEY_PREFIX = "PRIVATE+KEY+"


class NoteError(Exception):
    """A note or key string is malformed, or its signatures do not verify."""


def decode_base64(text: str) -> bytes:
    """Decode standard base64 (RFC 4648 §4) strictly: padded and canonical, or ValueError."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("expected standard base64, got other characters") from exc
    # Re-encoding catches missing padding and non-zero trailing bits: one value, one encoding.
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("expected canonical base64, got a non-canonical encoding")
    return raw


def is_valid_key_name(name: str) -> bool:
    """Say whether ``name`` is a valid key name: non-empty, no spaces, '+' or control chars."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(name) and not any(c == "+" or c.isspace() or c < " " for c in name)


def key_id(name: str, public_key: bytes) -> int:
    """Return the Ed25519 key id: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    digest = sha256(name.encode("utf-8") + b"\n\x01" + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_text(text: str) -> bytes:
    """Encode a note text, refusing what the spec forbids."""
    if not text.endswith("\n"):
        raise NoteError("expected the note text to end with a newline, got none")
    if _CONTROL.search(text):
        raise NoteError("expected no control characters besides newline, got one")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("expected the note text to be valid Unicode, got a surrogate") from exc


@dataclass(frozen=True, slots=True)
class Verifier:
    """A known Ed25519 public key under a key name; ``key_id`` is derived from both."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteError("expected a key name without spaces or '+', got an invalid one")
        if len(self.public_key) != 32:
            raise NoteError(f"expected a 32-byte Ed25519 key, got {len(self.public_key)} bytes")
        # Frozen dataclass: derived fields are set once here, through object.__setattr__.
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse a verifier key string ``name+hexid+base64(0x01 || public key)``."""
        name, key = _parse_key_string(vkey, "verifier key")
        verifier = cls(name, key)
        if vkey.split("+", 2)[1] != f"{verifier.key_id:08x}":
            raise NoteError("expected the verifier key id to match the key, got another id")
        return verifier

    def to_vkey(self) -> str:
        """Format as a verifier key string."""
        key = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{key}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Say whether ``signature`` is this key's Ed25519 signature of ``text``."""
        try:
            self._key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


def _parse_key_string(key: str, what: str) -> tuple[str, bytes]:
    """Split ``name+hexid+base64(type || key)``; return name and raw key (id checked by caller)."""
    parts = key.split("+", 2)  # base64 may hold '+'; names and hex ids never do
    if len(parts) != 3 or not is_valid_key_name(parts[0]):
        raise NoteError(f"expected a {what} of the form name+id+key, got another form")
    if len(parts[1]) != 8 or any(c not in "0123456789abcdef" for c in parts[1]):
        raise NoteError(f"expected 8 lowercase hex digits as {what} id, got another form")
    try:
        raw = decode_base64(parts[2])
    except ValueError as exc:
        raise NoteError(f"expected base64 {what} material: {exc}") from exc
    if len(raw) != 33 or raw[0] != SIGNATURE_TYPE_ED25519:
        raise NoteError(f"expected a type 0x01 Ed25519 {what} of 33 bytes, got another key")
    return parts[0], raw[1:]


class Signer:
    """An Ed25519 private key under a key name; signs note texts. Holds a secret: never log."""

    __slots__ = ("_key", "_key_id", "_name", "_public")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not is_valid_key_name(name):
            raise NoteError("expected a key name without spaces or '+', got an invalid one")
        self._name = name
        self._key = private_key
        self._public = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, self._public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """Create a signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """Parse a signer key string ``PRIVATE+KEY+name+hexid+base64(0x01 || seed)``."""
        if not skey.startswith(_SKEY_PREFIX):
            raise NoteError("expected a signer key starting with PRIVATE+KEY+, got another form")
        body = skey.removeprefix(_SKEY_PREFIX)
        name, seed = _parse_key_string(body, "signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if body.split("+", 2)[1] != f"{signer.key_id:08x}":
            raise NoteError("expected the signer key id to match the key, got another id")
        return signer

    def to_skey(self) -> str:
        """Format as a signer key string; the result is secret."""
        seed = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + self._key.private_bytes_raw())
        return f"{_SKEY_PREFIX}{self._name}+{self._key_id:08x}+{seed.decode()}"

    @property
    def name(self) -> str:
        """The key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The key id, as in the signature line prefix."""
        return self._key_id

    def verifier(self) -> Verifier:
        """Return the matching verifier."""
        return Verifier(self._name, self._public)

    def sign(self, text: str) -> str:
        """Sign a note text; return the signature line, newline included."""
        return self._signature_line(_check_text(text))

    def _signature_line(self, encoded: bytes) -> str:
        """The signature line of a note text that :func:`_check_text` already checked and encoded."""
        sig = self._key.sign(encoded)
        blob = base64.b64encode(self._key_id.to_bytes(4, "big") + sig).decode()
        return f"{_DASH}{self._name} {blob}\n"

    def __repr__(self) -> str:
        return f"Signer({self._name!r}, key_id={self._key_id:08x})"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note: key name, key id and the signature bytes after the id."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose signatures from known keys all verified."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Sign ``text`` (ending in a newline) with every signer; return the note's bytes."""
    encoded = _check_text(text)
    if not signers:
        raise NoteError("expected at least one signer, got none")
    if len({(s.name, s.key_id) for s in signers}) != len(signers):
        raise NoteError("expected distinct signing keys, got the same key twice")
    # The text is checked and encoded once here, not again by each signer.
    return encoded + b"\n" + "".join(s._signature_line(encoded) for s in signers).encode("utf-8")


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_DASH):
        raise NoteError("expected a signature line starting with an em dash, got another line")
    name, _, blob = line.removeprefix(_DASH).partition(" ")
    if not is_valid_key_name(name):
        raise NoteError("expected a valid key name in a signature line, got an invalid one")
    try:
        raw = decode_base64(blob)
    except ValueError as exc:
        raise NoteError(f"expected a base64 signature: {exc}") from exc
    if len(raw) < 5:
        raise NoteError(f"expected a key id and a signature, got {len(raw)} bytes")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def open_note(note: bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Parse a note and verify it: every known key's signature must verify, and one at least."""
    try:
        whole = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("expected a UTF-8 note, got invalid bytes") from exc
    if _CONTROL.search(whole):
        raise NoteError("expected no control characters besides newline, got one")
    split = whole.rfind("\n\n")  # the text may hold blank lines: the last one separates
    if split < 0 or not whole.endswith("\n"):
        raise NoteError("expected text, a blank line and signature lines, got another layout")
    text = whole[: split + 1]
    lines = whole[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"expected at most {MAX_SIGNATURES} signatures, got {len(lines)}")
    known = {(v.name, v.key_id): v for v in verifiers}
    encoded = text.encode("utf-8")
    verified: dict[tuple[str, int], NoteSignature] = {}
    unverified: dict[NoteSignature, None] = {}
    for line in lines:
        sig = _parse_signature_line(line)
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified[sig] = None  # unknown keys are ignored (kept for the record, once)
        elif verifier.verify(encoded, sig.signature):
            verified.setdefault((sig.name, sig.key_id), sig)
        else:
            # The spec says SHOULD reject; a known key that signed wrongly is never benign.
            raise NoteError(f"expected a valid signature from key {sig.name}, got a bad one")
    if not verified:
        raise NoteError("expected a signature from a known key, got none")
    return OpenedNote(text, tuple(verified.values()), tuple(unverified))
