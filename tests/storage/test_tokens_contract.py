"""The token vault's part of the Store contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from proxy.audit.batch import Batch, BatchEntry
from proxy.storage import Store, StoreError, open_store, postgres_schema, sqlite_schema
from proxy.storage.base import unique_tokens

ORDER_A = b"A" * 32
ORDER_B = b"B" * 32


def fake_sign(size: int, root: bytes) -> bytes:
    """A stand-in signer: these tests are about token rows, not signatures."""
    return b"%d\n" % size + root.hex().encode()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open, empty store of each kind (the parametrised ``store_url`` of conftest)."""
    s = open_store(store_url)
    await s.open()
    yield s
    await s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of each store that outlives its process: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/civetta.db"
    url: str = request.getfixturevalue("pg_url")
    return url


async def test_put_then_read_one_order(store: Store) -> None:
    """Pairs put under an order come back from tokens_for; another order has none."""
    await store.put_tokens(ORDER_A, [("tok_1", b"c1"), ("tok_2", b"c2")])
    assert await store.tokens_for(ORDER_A) == {"tok_1": b"c1", "tok_2": b"c2"}
    assert await store.tokens_for(ORDER_B) == {}


async def test_putting_a_pair_again_keeps_the_first_ciphertext(store: Store) -> None:
    """(order_key, token) is unique: a repeat put (fresh nonce, new bytes) changes nothing,
    within one call and across calls, and an empty put is a no-op."""
    await store.put_tokens(ORDER_A, [("tok_1", b"first"), ("tok_1", b"same call")])
    await store.put_tokens(ORDER_A, [("tok_1", b"later"), ("tok_2", b"c2")])
    await store.put_tokens(ORDER_A, [])
    await store.put_tokens(ORDER_B, [])
    assert await store.tokens_for(ORDER_A) == {"tok_1": b"first", "tok_2": b"c2"}
    assert await store.tokens_for(ORDER_B) == {}
    assert await store.erase_tokens(ORDER_B) == 0


async def test_lookup_finds_tokens_of_any_order(store: Store) -> None:
    """lookup_tokens maps each known token to its order key and ciphertext; unknown tokens,
    repeats and an empty request are fine."""
    await store.put_tokens(ORDER_A, [("tok_a", b"ca")])
    await store.put_tokens(ORDER_B, [("tok_b", b"cb"), ("tok_c", b"cc")])
    got = await store.lookup_tokens(["tok_a", "tok_b", "tok_a", "tok_unknown"])
    assert got == {"tok_a": (ORDER_A, b"ca"), "tok_b": (ORDER_B, b"cb")}
    assert await store.lookup_tokens([]) == {}


async def test_lookup_leaves_out_a_token_held_by_two_orders(store: Store) -> None:
    """The same token text in two orders (short digits tokens can coincide) is ambiguous:
    lookup leaves it out, while each order still has its own row."""
    await store.put_tokens(ORDER_A, [("123", b"ca"), ("tok_a", b"xa")])
    await store.put_tokens(ORDER_B, [("123", b"cb")])
    assert await store.lookup_tokens(["123", "tok_a"]) == {"tok_a": (ORDER_A, b"xa")}
    assert await store.tokens_for(ORDER_A) == {"123": b"ca", "tok_a": b"xa"}
    assert await store.tokens_for(ORDER_B) == {"123": b"cb"}


async def test_lookup_of_many_tokens(store: Store) -> None:
    """A lookup of more tokens than one SQLite statement binds still answers all of them."""
    items = [(f"tok_{i:04d}", b"%d" % i) for i in range(1000)]
    await store.put_tokens(ORDER_A, items)
    got = await store.lookup_tokens([t for t, _ in items] + ["tok_nope"])
    assert got == {t: (ORDER_A, c) for t, c in items}


async def test_erase_deletes_one_order_only(store: Store) -> None:
    """erase_tokens removes one order's rows, returns their count, and nothing else goes;
    the order can be given tokens again afterwards."""
    await store.put_tokens(ORDER_A, [("tok_1", b"c1"), ("tok_2", b"c2")])
    await store.put_tokens(ORDER_B, [("tok_3", b"c3")])
    assert await store.erase_tokens(ORDER_A) == 2
    assert await store.erase_tokens(ORDER_A) == 0
    assert await store.tokens_for(ORDER_A) == {}
    assert await store.lookup_tokens(["tok_1", "tok_3"]) == {"tok_3": (ORDER_B, b"c3")}
    await store.put_tokens(ORDER_A, [("tok_1", b"new")])
    assert await store.tokens_for(ORDER_A) == {"tok_1": b"new"}


async def test_token_calls_fail_with_store_error_when_closed(store: Store) -> None:
    """Every token operation on a closed store raises StoreError (the vault's 503)."""
    await store.close()
    with pytest.raises(StoreError):
        await store.put_tokens(ORDER_A, [("tok_1", b"c1")])
    with pytest.raises(StoreError):
        await store.tokens_for(ORDER_A)
    with pytest.raises(StoreError):
        await store.lookup_tokens(["tok_1"])
    with pytest.raises(StoreError):
        await store.erase_tokens(ORDER_A)
    await store.open()


def test_unique_tokens_drops_only_ambiguous_tokens() -> None:
    """The shared filter keeps a token repeated under one order and drops one under two."""
    rows = [("t1", b"a", b"1"), ("t2", b"a", b"2"), ("t2", b"b", b"3"), ("t1", b"a", b"1")]
    assert unique_tokens(rows) == {"t1": (b"a", b"1")}


async def test_tokens_are_committed_and_survive_reopening(durable_url: str) -> None:
    """A put is visible to a second store on the same database at once (committed), and to
    a new store after closing; an erasure is too."""
    first, second = open_store(durable_url), open_store(durable_url)
    await first.open()
    await second.open()
    try:
        await first.put_tokens(ORDER_A, [("tok_1", b"c1")])
        await first.put_tokens(ORDER_B, [("tok_2", b"c2")])
        assert await second.tokens_for(ORDER_A) == {"tok_1": b"c1"}
        assert await second.erase_tokens(ORDER_B) == 1
    finally:
        await first.close()
        await second.close()
    reopened = open_store(durable_url)
    await reopened.open()
    try:
        assert await reopened.lookup_tokens(["tok_1", "tok_2"]) == {"tok_1": (ORDER_A, b"c1")}
    finally:
        await reopened.close()


async def test_racing_replicas_store_one_ciphertext(durable_url: str) -> None:
    """Two stores (replicas) putting the same token at once both succeed and one ciphertext,
    the same for both, is kept."""
    replicas = [open_store(durable_url) for _ in range(2)]
    for replica in replicas:
        await replica.open()
    try:
        for round_ in range(5):
            token = f"tok_{round_}"
            await asyncio.gather(
                *(r.put_tokens(ORDER_A, [(token, b"from %d" % i)]) for i, r in enumerate(replicas))
            )
            seen = [(await r.tokens_for(ORDER_A))[token] for r in replicas]
            assert seen[0] == seen[1] and seen[0] in (b"from 0", b"from 1")
    finally:
        for replica in replicas:
            await replica.close()


def schema_of(url: str) -> ModuleType:
    """The migrations module of a store URL."""
    return sqlite_schema if url.startswith("sqlite") else postgres_schema


@pytest.fixture
def before_vault(durable_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL whose database will be created with only the migrations before the vault's."""
    module = schema_of(durable_url)
    monkeypatch.setattr(module, "MIGRATIONS", module.MIGRATIONS[:2])
    return durable_url


async def test_an_existing_database_gains_the_vault_table(
    before_vault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at schema version 2, with a log, migrates to the current version: the log
    is as it was and tokens can be stored."""
    old = open_store(before_vault)
    await old.open()
    try:
        assert await old.get_meta("schema_version") == "2"
        await old.append_batch(Batch((BatchEntry(b"kept"),), fake_sign, "r1"))
    finally:
        await old.close()
    monkeypatch.undo()
    new = open_store(before_vault)
    await new.open()
    try:
        current = len(schema_of(before_vault).MIGRATIONS)
        assert current >= 3
        assert await new.get_meta("schema_version") == str(current)
        assert [leaf.data for leaf in await new.leaves(0, 5)] == [b"kept"]
        await new.put_tokens(ORDER_A, [("tok_1", b"c1")])
        assert await new.tokens_for(ORDER_A) == {"tok_1": b"c1"}
    finally:
        await new.close()
