"""Key files: the audit signing key (Ed25519) and the secret from which keyed commitments derive.

Files are created with mode 0600 in a 0700 directory and never overwritten; an existing key
file that others can read is refused (like ssh does), because a readable signing key makes the
audit log's signatures worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proxy.errors import ConfigError

SIGNING_KEY = "signing.key"
SECRET_KEY = "secret.key"  # noqa: S105 (a file name, not a secret)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """The keys a running proxy holds."""

    signing_key: Ed25519PrivateKey
    secret: bytes
    generated: tuple[str, ...] = ()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (HMAC commitments, token vault …), independent of the others."""
        return hmac.new(self.secret, b"civetta/" + purpose.encode(), hashlib.sha256).digest()

    def public_key_raw(self) -> bytes:
        """The Ed25519 public key, 32 bytes."""
        return self.signing_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, atomically and durably, never replacing an existing file.

    The content goes to a private temporary file first (fsynced), which is then hard-linked to
    the final name (``link`` fails if the name exists) and the directory fsynced: a crash at any
    point leaves either no key file or a complete one, never an empty one that blocks starts.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_private(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError([f"{path}:1: expected permissions 0600, got {stat.S_IMODE(mode):04o}"])
    return path.read_bytes()


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 key file (PKCS#8 PEM, 0600); refuse to overwrite."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(path, pem)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 key file, checking its permissions."""
    key = serialization.load_pem_private_key(_read_private(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError([f"{path}:1: expected an Ed25519 private key, got {type(key).__name__}"])
    return key


def load_keys(directory: Path, generate: bool) -> KeyMaterial:
    """Load the key files in ``directory``, generating missing ones when ``generate`` is set."""
    made: list[str] = []
    if generate:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    signing_path, secret_path = directory / SIGNING_KEY, directory / SECRET_KEY
    if not signing_path.exists():
        if not generate:
            raise ConfigError(
                [f"{signing_path}:1: expected a signing key; run 'civetta keys generate'"]
            )
        generate_signing_key(signing_path)
        made.append(SIGNING_KEY)
    if not secret_path.exists():
        if not generate:
            raise ConfigError(
                [f"{secret_path}:1: expected a secret key; run 'civetta keys generate'"]
            )
        _write_new(secret_path, secrets.token_hex(32).encode() + b"\n")
        made.append(SECRET_KEY)
    secret = bytes.fromhex(_read_private(secret_path).decode().strip())
    if len(secret) != 32:
        raise ConfigError([f"{secret_path}:1: expected 32 bytes of hex, got {len(secret)} bytes"])
    return KeyMaterial(load_signing_key(signing_path), secret, tuple(made))
