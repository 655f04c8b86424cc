"""Sealed copies: the exact forwarded bytes, AES-256-GCM encrypted under a key per period.

Each retention period (a calendar month, ``YYYY-MM``) has a random 256-bit data key, stored
only wrapped (AES-256-GCM, the period as associated data) under a key derived from the proxy's
secret (``KeyMaterial.derive("sealed")``). A copy's plaintext is ``salt || bytes``: the salt of
the intent's body commitment lives only inside the ciphertext, so destroying the period's data
key (crypto-shredding) destroys both the bytes and the means to open the commitment, while the
log, which holds only the commitment, still verifies. The associated data binds each copy to
its id and period, so a copy moved under another id or period no longer opens.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proxy.audit.batch import SealedCopy
from proxy.audit.records import BodyRecord

SALT_SIZE = 32
_NONCE_SIZE = 12
_ID_SIZE = 16  # a copy's id: 128 random bits, 32 hex digits


class SealedError(Exception):
    """A sealed copy or data key does not open (missing, tampered or moved)."""


class Shredded(SealedError):
    """The data key of the copy's period was destroyed: the copy is unreadable for good."""


def period_of(moment: datetime) -> str:
    """The retention period (``YYYY-MM``, UTC month) of a moment."""
    return f"{moment.year:04d}-{moment.month:02d}"


def period_start(period: str) -> date:
    """The first day of a period."""
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, 1)


def period_end(period: str) -> date:
    """The first day after a period."""
    year, month = (int(part) for part in period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


def periods_before(periods: Iterable[str], before: date) -> list[str]:
    """The periods that end on or before ``before``, i.e. lie wholly before that date."""
    return sorted(p for p in periods if period_end(p) <= before)


def _key_aad(period: str) -> bytes:
    return b"civetta/data-key/v1\x00" + period.encode("ascii")


def _copy_aad(sealed_id: str, period: str) -> bytes:
    return b"civetta/sealed/v1\x00" + sealed_id.encode("ascii") + b"\x00" + period.encode("ascii")


def wrap_data_key(wrapping_key: bytes, period: str, data_key: bytes) -> bytes:
    """Encrypt a data key for storage: ``nonce || AES-GCM(data key)``, bound to its period."""
    nonce = os.urandom(_NONCE_SIZE)
    return nonce + AESGCM(wrapping_key).encrypt(nonce, data_key, _key_aad(period))


def unwrap_data_key(wrapping_key: bytes, period: str, wrapped: bytes) -> bytes:
    """Decrypt a stored data key; SealedError when it was altered or belongs to another period."""
    try:
        return AESGCM(wrapping_key).decrypt(
            wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:], _key_aad(period)
        )
    except InvalidTag as exc:
        raise SealedError(
            "expected a data key wrapped for this period, got one that does not open"
        ) from exc


def seal_bytes(
    data_key: bytes, sealed_id: str, period: str, data: bytes
) -> tuple[SealedCopy, bytes]:
    """Encrypt ``salt || data`` with a fresh salt; return the copy and the salt."""
    sealing = _seal(AESGCM(data_key), sealed_id, period, data, os.urandom(SALT_SIZE + _NONCE_SIZE))
    return sealing.copy, sealing.salt


def _seal(aead: AESGCM, sealed_id: str, period: str, data: bytes, fresh: bytes) -> Sealing:
    """Seal ``data`` with the salt and nonce taken from the random bytes ``fresh``."""
    salt, nonce = fresh[:SALT_SIZE], fresh[SALT_SIZE : SALT_SIZE + _NONCE_SIZE]
    plain = salt + data
    ciphertext = aead.encrypt(nonce, plain, _copy_aad(sealed_id, period))
    # SHA-256(salt || data) is commit_bytes(salt, data), hashed from the buffer already built.
    commitment = hashlib.sha256(plain).digest()
    return Sealing(SealedCopy(sealed_id, period, nonce, ciphertext), salt, commitment, len(data))


def open_sealed(copy: SealedCopy, data_key: bytes) -> tuple[bytes, bytes]:
    """Decrypt a copy; return ``(salt, bytes)``, the opening of the intent's body commitment."""
    try:
        plain = AESGCM(data_key).decrypt(
            copy.nonce, copy.ciphertext, _copy_aad(copy.sealed_id, copy.period)
        )
    except InvalidTag as exc:
        raise SealedError("expected a sealed copy that opens, got one altered or moved") from exc
    return plain[:SALT_SIZE], plain[SALT_SIZE:]


class Sealing(NamedTuple):
    """One sealed body: the copy to store with the intent, and what the intent records (a named
    tuple: one is built per forwarded message, see :mod:`proxy.audit.records`)."""

    copy: SealedCopy
    salt: bytes
    commitment: bytes
    length: int

    @property
    def sealed_id(self) -> str:
        """The copy's id, cited by the intent."""
        return self.copy.sealed_id

    @property
    def body(self) -> BodyRecord:
        """The intent's ``body`` record: length, salted commitment, sealed id."""
        return BodyRecord(self.length, self.commitment, self.copy.sealed_id)


class KeyStore(Protocol):
    """The part of the Store that the vault uses."""

    async def data_key(self, period: str) -> bytes | None:
        """The wrapped data key of a period, or None."""

    async def put_data_key(self, period: str, wrapped: bytes) -> bytes:
        """Store a wrapped key unless the period has one; return the stored key."""

    async def sealed(self, sealed_id: str) -> SealedCopy | None:
        """A stored copy."""


class Vault:
    """Seals bodies under the current period's data key and opens stored copies."""

    def __init__(self, store: KeyStore, wrapping_key: bytes, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._wrapping_key = wrapping_key
        self._clock = clock
        # Only the current period's key is cached (for sealing); shredding refuses the current
        # period, so a cached key is never one another replica has destroyed. The AEAD object
        # is kept with it: its key set-up is not redone per message.
        self._current: tuple[str, AESGCM] | None = None
        self._lock = asyncio.Lock()

    async def _key_for_sealing(self, period: str) -> AESGCM:
        async with self._lock:
            if self._current is not None and self._current[0] == period:
                return self._current[1]
            wrapped = await self._store.data_key(period)
            if wrapped is None:
                fresh = wrap_data_key(
                    self._wrapping_key, period, AESGCM.generate_key(bit_length=256)
                )
                # Another replica may have created the key first: use whichever was stored.
                wrapped = await self._store.put_data_key(period, fresh)
            aead = AESGCM(unwrap_data_key(self._wrapping_key, period, wrapped))
            self._current = (period, aead)
            return aead

    async def seal(self, data: bytes, period: str | None = None) -> Sealing:
        """Seal ``data`` under the current period's key (created durably on first use); the
        caller may pass the current period when it has just read the clock."""
        if period is None:
            period = period_of(self._clock())
        current = self._current
        # The lock is only for fetching or creating a period's key, not for every message.
        aead = current[1] if current is not None and current[0] == period else None
        if aead is None:
            aead = await self._key_for_sealing(period)
        # One read of the system's random source for the salt, the nonce and the copy's id.
        fresh = os.urandom(SALT_SIZE + _NONCE_SIZE + _ID_SIZE)
        return _seal(aead, fresh[-_ID_SIZE:].hex(), period, data, fresh)

    async def open(self, sealed_id: str) -> tuple[bytes, bytes]:
        """Open a stored copy: ``(salt, bytes)``; Shredded once its period's key is gone."""
        copy = await self._store.sealed(sealed_id)
        if copy is None:
            raise SealedError("expected a stored sealed copy, got none for this id")
        wrapped = await self._store.data_key(copy.period)
        if wrapped is None:
            raise Shredded(f"expected the data key of period {copy.period}, got none (shredded)")
        return open_sealed(copy, unwrap_data_key(self._wrapping_key, copy.period, wrapped))
