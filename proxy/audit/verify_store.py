"""The verifier's adapters for the live store: leaves and checkpoints, and sealed copies.

Both only read. The sealed-copy checker holds the wrapping key (derived from the proxy's
secret) and sees the forwarded bytes in memory to compare them with their commitment; it never
returns, logs or prints them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from proxy.audit.merkle import NodeId
from proxy.audit.records import commit_bytes
from proxy.audit.sealed import SealedError, open_sealed, unwrap_data_key
from proxy.audit.verify_source import SealedResult, StoredLeaf
from proxy.storage.base import Store


@dataclass(frozen=True, slots=True)
class StoreSource:
    """A :class:`~proxy.audit.verify_source.LogSource` over a :class:`Store`'s audit tables."""

    store: Store

    async def size(self) -> int:
        """The head's size."""
        return (await self.store.head()).size

    async def leaves(self, start: int, end: int) -> Sequence[StoredLeaf]:
        """Stored leaves with their stored hashes (compared, never trusted), as the store
        returns them: a copy per leaf would cost a tenth of a verification."""
        return await self.store.leaves(start, end)

    async def checkpoints(self) -> Sequence[tuple[int | None, bytes]]:
        """Every stored checkpoint with the size stored next to it."""
        return [(c.size, c.note) for c in await self.store.checkpoints()]

    async def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Stored subtree hashes."""
        return await self.store.nodes(ids)


def _body(intent: Mapping[str, object]) -> tuple[str, int, bytes] | None:
    """The body record's sealed id, length and commitment, or None if malformed."""
    body = intent.get("body")
    if not isinstance(body, dict):
        return None
    sealed_id, length, commitment = (
        body.get("sealed_id"),
        body.get("length"),
        body.get("commitment"),
    )
    if (
        not isinstance(sealed_id, str)
        or not isinstance(length, int)
        or not isinstance(commitment, str)
    ):
        return None
    try:
        return sealed_id, length, base64.b64decode(commitment, validate=True)
    except binascii.Error:
        return None


@dataclass(slots=True)
class StoreSealedChecker:
    """Opens sealed copies from the store with the wrapping key and checks each commitment."""

    store: Store
    wrapping_key: bytes = field(repr=False)
    _keys: dict[str, bytes | None] = field(default_factory=dict, repr=False)

    async def _data_key(self, period: str) -> bytes | None:
        if period not in self._keys:
            wrapped = await self.store.data_key(period)
            self._keys[period] = (
                None if wrapped is None else unwrap_data_key(self.wrapping_key, period, wrapped)
            )
        return self._keys[period]

    async def check(self, intent: Mapping[str, object]) -> SealedResult:
        """See :class:`~proxy.audit.verify_source.SealedChecker`."""
        body = _body(intent)
        if body is None:
            return SealedResult("mismatch")
        sealed_id, length, commitment = body
        copy = await self.store.sealed(sealed_id)
        if copy is None:
            return SealedResult("missing")
        try:
            key = await self._data_key(copy.period)
            if key is None:
                return SealedResult("shredded", copy.period)
            salt, data = open_sealed(copy, key)
        except SealedError:
            return SealedResult("tampered", copy.period)
        if len(data) != length or commit_bytes(salt, data) != commitment:
            return SealedResult("mismatch", copy.period)
        return SealedResult("ok", copy.period)
