"""Sealed copies: AES-256-GCM under per-period data keys, bound to id and period; shredding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from proxy.audit.batch import Batch, BatchEntry, SealedCopy
from proxy.audit.leaves import commit_bytes
from proxy.audit.sealed import (
    SALT_SIZE,
    SealedError,
    Shredded,
    Vault,
    open_sealed,
    period_end,
    period_of,
    periods_before,
    seal_bytes,
    unwrap_data_key,
    wrap_data_key,
)
from proxy.storage.memory import MemoryStore
from tests.storage.logcheck import Clock

DATA_KEY = b"d" * 32
WRAP = b"w" * 32
BODY = b'{"contact":"+39 347 555 0199"}'


def test_copy_round_trips_and_holds_the_salt_inside() -> None:
    """Opening gives back the salt and the exact bytes; the ciphertext shows neither."""
    copy, salt = seal_bytes(DATA_KEY, "id-1", "2026-11", BODY)
    assert open_sealed(copy, DATA_KEY) == (salt, BODY)
    assert len(salt) == SALT_SIZE
    assert BODY not in copy.ciphertext and salt not in copy.ciphertext
    assert len(copy.ciphertext) == SALT_SIZE + len(BODY) + 16  # salt, bytes, GCM tag


@pytest.mark.parametrize(
    "change",
    [
        {"sealed_id": "id-2"},
        {"period": "2026-12"},
        {"ciphertext": b"X" + seal_bytes(DATA_KEY, "id-1", "2026-11", BODY)[0].ciphertext[1:]},
    ],
    ids=["moved-id", "moved-period", "flipped-byte"],
)
def test_a_moved_or_altered_copy_does_not_open(change: dict[str, object]) -> None:
    """The associated data binds id and period; GCM catches any altered byte."""
    copy, _ = seal_bytes(DATA_KEY, "id-1", "2026-11", BODY)
    with pytest.raises(SealedError):
        open_sealed(dataclasses.replace(copy, **change), DATA_KEY)  # type: ignore[arg-type]
    with pytest.raises(SealedError):
        open_sealed(copy, b"e" * 32)


def test_wrapped_data_key_is_bound_to_its_period() -> None:
    """A wrapped key unwraps for its own period only, and only under the wrapping key."""
    wrapped = wrap_data_key(WRAP, "2026-11", DATA_KEY)
    assert DATA_KEY not in wrapped
    assert unwrap_data_key(WRAP, "2026-11", wrapped) == DATA_KEY
    with pytest.raises(SealedError):
        unwrap_data_key(WRAP, "2026-10", wrapped)
    with pytest.raises(SealedError):
        unwrap_data_key(b"v" * 32, "2026-11", wrapped)


def test_periods() -> None:
    """Periods are UTC months; a period lies before a date when it ends on or before it."""
    assert period_of(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "2026-12"
    assert period_end("2026-12") == date(2027, 1, 1)
    assert period_end("2026-02") == date(2026, 3, 1)
    periods = ["2026-11", "2026-09", "2026-10"]
    assert periods_before(periods, date(2026, 11, 1)) == ["2026-09", "2026-10"]
    assert periods_before(periods, date(2026, 10, 31)) == ["2026-09"]


async def test_vault_shares_one_key_per_period_between_replicas() -> None:
    """Two vaults on one store (two replicas) seal under the same stored key for a period,
    a new period gets a new key, and each sealing's commitment opens with its salt."""
    store, clock = MemoryStore(), Clock(datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    await store.open()
    a, b = Vault(store, WRAP, clock), Vault(store, WRAP, clock)
    first, second = await a.seal(BODY), await b.seal(b"other")
    assert await store.data_key_periods() == ["2026-10"]
    clock.now = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    third = await a.seal(BODY)
    assert await store.data_key_periods() == ["2026-10", "2026-11"]
    assert (first.copy.period, third.copy.period) == ("2026-10", "2026-11")
    assert first.commitment == commit_bytes(first.salt, BODY)
    assert first.commitment != third.commitment  # fresh salt each time
    assert first.body.length == len(BODY) and first.body.sealed_id == first.sealed_id
    for sealing in (first, second, third):
        await store.append_batch(_batch_with(sealing.copy))
    assert await b.open(first.sealed_id) == (first.salt, BODY)
    assert await a.open(second.sealed_id) == (second.salt, b"other")


async def test_open_after_shredding_and_unknown_ids() -> None:
    """Once a period's key is gone its copies are Shredded; an unknown id is a SealedError."""
    store = MemoryStore()
    await store.open()
    vault = Vault(store, WRAP, Clock(datetime(2026, 9, 3, tzinfo=UTC)))
    sealing = await vault.seal(BODY)
    await store.append_batch(_batch_with(sealing.copy, erase=("2026-09",)))
    with pytest.raises(Shredded):
        await vault.open(sealing.sealed_id)
    with pytest.raises(SealedError, match="none for this id"):
        await vault.open("nope")


def _batch_with(copy: SealedCopy, erase: tuple[str, ...] = ()) -> Batch:
    """A one-intent batch that stores ``copy`` (and erases periods)."""
    return Batch((BatchEntry(b"intent", sealed=copy),), lambda s, r: b"cp", "r1", erase)
