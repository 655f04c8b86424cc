"""The token vault: what turns a ``tokenise`` token back into the value it replaced.

Each original is stored only as AES-256-GCM ciphertext (``nonce || ciphertext || tag``, a random
96-bit nonce), under the order's key: an HMAC of the order reference, so the reference itself is
never stored either. The associated data is ``order_key || 0x00 || token``, which binds each
ciphertext to its row: one moved to another token or order no longer opens. Both keys derive
from the vault key (``KeyMaterial.derive("vault")``); destroying it makes every stored original
unreadable at once.

Tokens are deterministic per order (``proxy.actions.tokenise``), so remembering a token again is
a no-op in the store. Every failure, of the store or of a ciphertext, is a :class:`VaultError`
(503: the message is not forwarded) whose text names no value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proxy.actions.base import IssuedToken
from proxy.errors import VaultError

_NONCE_SIZE = 12
_KEY_SIZE = 32


class TokenStore(Protocol):
    """The part of :class:`~proxy.storage.base.Store` that the vault uses."""

    async def put_tokens(self, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
        """Durably store ``(token, ciphertext)`` pairs; existing pairs stay."""

    async def tokens_for(self, order_key: bytes) -> dict[str, bytes]:
        """Every token of one order."""

    async def lookup_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """Token -> ``(order_key, ciphertext)``, unambiguous tokens only."""

    async def erase_tokens(self, order_key: bytes) -> int:
        """Delete one order's tokens; return how many."""


@contextmanager
def _store_failures() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        # Whatever the cause (StoreError, a driver error, a string the driver cannot encode),
        # tokens that are not durable, or not readable, must stop the message.
        raise VaultError(f"expected the token store to answer, got {type(exc).__name__}") from exc


def _aad(order_key: bytes, token: str) -> bytes:
    return order_key + b"\x00" + token.encode()


class TokenVault:
    """Remembers the originals of one order's tokens, encrypted, and gives them back."""

    __slots__ = ("_aead", "_order_mac", "_store")

    def __init__(self, store: TokenStore, key: bytes) -> None:
        if len(key) != _KEY_SIZE:
            raise VaultError(f"expected a {_KEY_SIZE}-byte vault key, got {len(key)} bytes")
        self._store = store
        # Separate keys for the two jobs, so neither use can weaken the other.
        self._order_mac = hmac.digest(key, b"civetta/vault/order-key", hashlib.sha256)
        self._aead = AESGCM(hmac.digest(key, b"civetta/vault/encrypt", hashlib.sha256))

    def order_key(self, order_ref: str) -> bytes:
        """The order's 32-byte key in the store: HMAC of the reference, never the reference."""
        return hmac.digest(self._order_mac, order_ref.encode(), hashlib.sha256)

    def _seal(self, order_key: bytes, token: str, original: str) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, original.encode(), _aad(order_key, token))

    def _open(self, order_key: bytes, token: str, sealed: bytes) -> str:
        try:
            plain = self._aead.decrypt(
                sealed[:_NONCE_SIZE], sealed[_NONCE_SIZE:], _aad(order_key, token)
            )
        except (InvalidTag, ValueError) as exc:
            raise VaultError(
                "expected a token ciphertext that opens under the vault key, "
                "got one altered, moved or sealed under another key"
            ) from exc
        return plain.decode()

    async def remember(self, order_ref: str, tokens: Sequence[IssuedToken]) -> None:
        """Durably store the originals of ``tokens`` under ``order_ref``; known ones stay."""
        if not tokens:
            return
        order_key = self.order_key(order_ref)
        originals: dict[str, str] = {}
        for issued in tokens:
            if originals.setdefault(issued.token, issued.original) != issued.original:
                # Two values, one token: a restore would have to guess (the engine refuses too).
                raise VaultError("expected one original per token, got two for one token")
        items = [(t, self._seal(order_key, t, o)) for t, o in originals.items()]
        with _store_failures():
            await self._store.put_tokens(order_key, items)

    async def mapping(self, order_ref: str) -> dict[str, str]:
        """Token -> original for every token of the order (the ``restore`` action's context)."""
        order_key = self.order_key(order_ref)
        with _store_failures():
            stored = await self._store.tokens_for(order_key)
        return {token: self._open(order_key, token, sealed) for token, sealed in stored.items()}

    async def resolve(self, tokens: Iterable[str]) -> dict[str, str]:
        """Token -> original for tokens of any order (a message whose order is unknown).

        Tokens the vault does not hold, or holds for more than one order, are left out.
        """
        wanted = list(dict.fromkeys(tokens))
        if not wanted:
            return {}
        with _store_failures():
            found = await self._store.lookup_tokens(wanted)
        return {token: self._open(key, token, sealed) for token, (key, sealed) in found.items()}

    async def forget(self, order_ref: str) -> int:
        """Erase every token of the order (GDPR erasure); return how many were stored."""
        with _store_failures():
            return await self._store.erase_tokens(self.order_key(order_ref))
