"""The :class:`Store` protocol and the URL-based factory.

Every implementation passes the same contract tests (``tests/storage/test_contract.py``).
Durability is part of the contract: a coroutine that writes returns only once the write is
committed (SQLite: WAL with ``synchronous=FULL``), because the proxy's invariants (nothing
unlogged leaves) are only as good as that promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from proxy.audit.batch import (
    Batch,
    BatchResult,
    Head,
    HeadMoved,
    Leaf,
    PendingIntent,
    SealedCopy,
    StoredCheckpoint,
)
from proxy.audit.merkle import NodeId
from proxy.errors import AuditUnavailable
from proxy.storage.decoys import DecoyStore


class StoreError(AuditUnavailable):
    """The store failed; callers answer 503 and send nothing."""

    code = "CIVETTA-STORE"


@contextmanager
def batch_failures() -> Iterator[None]:
    """Turn any failure of a batch into StoreError, except HeadMoved (a lost race, not a fault)."""
    try:
        yield
    except (StoreError, HeadMoved):
        raise
    except Exception as exc:
        # A failing sign callback or a head row that does not add up is still a failed batch:
        # the caller answers 503, whatever the cause.
        raise StoreError(f"expected a committed audit batch, got {type(exc).__name__}") from exc


@dataclass(frozen=True, slots=True)
class Subscription:
    """A TMF hub registration: civetta's id for it and the OSS's real callback."""

    id: str
    route: str
    callback: str
    created: float
    upstream_id: str | None = None


class Store(Protocol):
    """What civetta keeps between requests: settings, hub registrations and the audit log.

    Audit writes happen only through :meth:`append_batch`, one transaction per batch. Reads are
    plain and never lock: the verifier and the CLI page through :meth:`leaves` and
    :meth:`checkpoints`, and build proofs with :meth:`nodes` (see ``proxy.audit.stored``).

    The token vault (``proxy.vault``) keeps per-order token rows through :meth:`put_tokens` and
    its siblings; the store sees only keyed order keys, token text and ciphertext.
    """

    @property
    def decoys(self) -> DecoyStore:
        """Decoy assignments, contacts and echo fingerprints (``proxy.storage.decoys``)."""
        ...

    async def open(self) -> None:
        """Connect and migrate the schema to the current version."""

    async def close(self) -> None:
        """Flush and release connections."""

    async def ping(self) -> None:
        """Raise :class:`StoreError` unless the store answers (readiness)."""

    async def get_meta(self, key: str) -> str | None:
        """A small configuration value kept with the data (schema version, log origin …)."""

    async def set_meta(self, key: str, value: str) -> None:
        """Durably set ``key``."""

    async def put_subscription(self, sub: Subscription) -> None:
        """Durably record (or replace) a hub registration."""

    async def get_subscription(self, sub_id: str) -> Subscription | None:
        """The registration with civetta's id ``sub_id``."""

    async def set_subscription_upstream_id(self, sub_id: str, upstream_id: str) -> None:
        """Remember the incumbent's id for a registration (needed to unsubscribe)."""

    async def delete_subscription(self, sub_id: str) -> bool:
        """Forget a registration; False when it did not exist."""

    async def append_batch(self, batch: Batch) -> BatchResult:
        """Append a batch in ONE transaction; return only after COMMIT.

        Inside the transaction: lock and read the head, :func:`~proxy.audit.batch.plan_batch`,
        insert leaves, nodes, pending-intent changes, sealed copies and the signed checkpoint,
        delete the data keys of ``batch.erase_periods``, update the head. Any failure rolls back
        everything and raises :class:`StoreError` (or ``HeadMoved`` for ``expect_size``).
        """

    async def head(self) -> Head:
        """The current tree head (the empty head for a new log)."""

    async def leaves(self, start: int, end: int) -> list[Leaf]:
        """Stored leaves with ``start <= index < end``, in index order (gaps are not filled)."""

    async def nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """The stored hashes of the perfect subtrees ``ids`` (level 0 = leaf hash), one query."""

    async def checkpoints(
        self, after_size: int | None = None, limit: int | None = None
    ) -> list[StoredCheckpoint]:
        """Stored checkpoints with size > ``after_size``, smallest first, at most ``limit``."""

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint with the largest tree size, or None for a new log."""

    async def pending_intents(self, replica: str | None = None) -> list[PendingIntent]:
        """Intents without an outcome (of one replica, or all), by index."""

    async def sealed(self, sealed_id: str) -> SealedCopy | None:
        """The encrypted copy ``sealed_id``, or None."""

    async def data_key(self, period: str) -> bytes | None:
        """The wrapped data key of a retention period, or None (never created, or shredded)."""

    async def put_data_key(self, period: str, wrapped: bytes) -> bytes:
        """Durably store a wrapped data key unless the period has one; return the stored key.

        Replicas racing to create the key of a new period all end up with the winner's key.
        """

    async def data_key_periods(self) -> list[str]:
        """Periods that still have a data key, oldest first."""

    async def put_tokens(self, order_key: bytes, items: Sequence[tuple[str, bytes]]) -> None:
        """Durably store ``(token, ciphertext)`` pairs of one order; return only after COMMIT.

        ``(order_key, token)`` is unique and the first ciphertext stored wins: putting a token
        again (same value, same order, fresh nonce) changes nothing.
        """

    async def tokens_for(self, order_key: bytes) -> dict[str, bytes]:
        """Every token of one order: token -> ciphertext."""

    async def lookup_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """Token -> ``(order_key, ciphertext)`` for the ``tokens`` the store holds (one query).

        A token stored under more than one order is ambiguous and left out (see
        :func:`unique_tokens`): restoring it would be a guess.
        """

    async def erase_tokens(self, order_key: bytes) -> int:
        """Durably delete every token of one order (erasure); return how many there were."""


def unique_tokens(
    rows: Iterable[tuple[str, bytes, bytes]],
) -> dict[str, tuple[bytes, bytes]]:
    """``lookup_tokens``' answer from ``(token, order_key, ciphertext)`` rows, ambiguous tokens out.

    Short ``digits`` tokens of two orders can coincide; such a token maps to no single original,
    so it stays a token rather than being restored to another order's value.
    """
    found: dict[str, tuple[bytes, bytes]] = {}
    ambiguous: set[str] = set()
    for token, order_key, ciphertext in rows:
        if token in found and found[token][0] != order_key:
            ambiguous.add(token)
        found[token] = (order_key, ciphertext)
    return {t: pair for t, pair in found.items() if t not in ambiguous}


def open_store(url: str) -> Store:
    """A store for ``url``: ``sqlite:///path``, ``memory://`` or ``postgresql://…``.

    A PostgreSQL URL may carry ``?schema=NAME`` to keep the tables in that schema.
    """
    if url.startswith("memory://"):
        from proxy.storage.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from proxy.storage.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from proxy.storage.postgres import PostgresStore

        return PostgresStore(url)
    scheme = url.split(":", 1)[0]
    raise StoreError(
        f"expected a sqlite:///, postgresql:// or memory:// storage URL, got scheme {scheme!r}"
    )
