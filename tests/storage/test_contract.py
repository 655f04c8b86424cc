"""One contract, every Store implementation: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxy.audit.batch import Batch, BatchEntry, Head, HeadMoved, SealedCopy
from proxy.audit.merkle import EMPTY_ROOT, leaf_hash, root_of
from proxy.storage import Store, StoreError, Subscription, open_store
from proxy.storage.sqlite import MIGRATIONS


def fake_sign(size: int, root: bytes) -> bytes:
    """A stand-in signer: the contract is about storage, not signatures."""
    return f"{size}\n".encode() + root.hex().encode() + b"\n"


def batch(*data: bytes, replica: str = "r1", **extra: object) -> Batch:
    """A batch of plain entries."""
    return Batch(tuple(BatchEntry(d) for d in data), fake_sign, replica, **extra)  # type: ignore[arg-type]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open, empty store of each kind."""
    s = open_store(store_url)
    await s.open()
    yield s
    await s.close()


async def test_meta_round_trip(store: Store) -> None:
    """A meta value written is read back; an absent key is None; overwrite replaces."""
    assert await store.get_meta("origin") is None
    await store.set_meta("origin", "a")
    await store.set_meta("origin", "b")
    assert await store.get_meta("origin") == "b"


async def test_subscription_lifecycle(store: Store) -> None:
    """Put, read, attach the upstream id, delete (once)."""
    sub = Subscription("s1", "tmf622-v4", "http://oss/listener", 1.5)
    await store.put_subscription(sub)
    await store.put_subscription(sub)  # replacing is allowed
    assert await store.get_subscription("s1") == sub
    await store.set_subscription_upstream_id("s1", "up-9")
    got = await store.get_subscription("s1")
    assert got is not None and got.upstream_id == "up-9"
    assert await store.delete_subscription("s1") is True
    assert await store.delete_subscription("s1") is False
    assert await store.get_subscription("s1") is None


async def test_ping_fails_once_closed(store: Store) -> None:
    """Readiness depends on ping: it answers when open and raises StoreError when closed."""
    await store.ping()
    await store.close()
    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.append_batch(batch(b"x"))
    await store.open()


async def test_new_log_is_empty(store: Store) -> None:
    """A new store holds the empty head (root = SHA-256 of nothing) and nothing else."""
    assert await store.head() == Head.empty()
    assert (await store.head()).root == EMPTY_ROOT
    assert await store.latest_checkpoint() is None
    assert await store.checkpoints() == []
    assert await store.leaves(0, 10) == []
    assert await store.pending_intents() == []
    assert await store.data_key_periods() == []


async def test_batches_store_leaves_nodes_head_and_checkpoint(store: Store) -> None:
    """Two batches: indices continue, the head and checkpoint match the reference root, and
    every perfect subtree of the tree can be read back, level 0 included."""
    first = await store.append_batch(batch(*(b"leaf-%d" % i for i in range(5))))
    second = await store.append_batch(batch(*(b"leaf-%d" % i for i in range(5, 11))))
    hashes = [leaf_hash(b"leaf-%d" % i) for i in range(11)]
    assert (first.first_index, first.size) == (0, 5)
    assert (second.first_index, second.size) == (5, 11)
    assert first.root == root_of(hashes[:5]) and second.root == root_of(hashes)
    head = await store.head()
    assert (head.size, head.root, len(head.frontier)) == (11, second.root, 3)
    leaves = await store.leaves(3, 8)
    assert [(x.index, x.data, x.hash) for x in leaves] == [
        (i, b"leaf-%d" % i, hashes[i]) for i in range(3, 8)
    ]
    ids = [(level, i) for level in range(4) for i in range(11 >> level)]
    nodes = await store.nodes(ids)
    assert nodes == {(lv, i): root_of(hashes[i << lv : (i + 1) << lv]) for lv, i in ids}
    assert await store.nodes([(0, 11), (3, 1), (1, 99)]) == {}
    assert [c.size for c in await store.checkpoints()] == [5, 11]
    latest = await store.latest_checkpoint()
    assert latest is not None and latest.note == fake_sign(11, second.root)


async def test_checkpoints_page_by_size(store: Store) -> None:
    """checkpoints(after_size, limit) pages through checkpoints, smallest first."""
    for i in range(5):
        await store.append_batch(batch(b"%d" % i))
    assert [c.size for c in await store.checkpoints(after_size=2)] == [3, 4, 5]
    assert [c.size for c in await store.checkpoints(after_size=1, limit=2)] == [2, 3]


async def test_failed_batch_writes_nothing(store: Store) -> None:
    """A batch whose signing fails raises StoreError and leaves no trace; the next one works."""

    def broken_sign(size: int, root: bytes) -> bytes:
        raise RuntimeError("signer unavailable")

    entry = BatchEntry(b"a", opens="i1", sealed=SealedCopy("s1", "2026-11", b"n" * 12, b"c"))
    with pytest.raises(StoreError):
        await store.append_batch(Batch((entry,), broken_sign, "r1"))
    assert await store.head() == Head.empty()
    assert await store.leaves(0, 5) == []
    assert await store.pending_intents() == []
    assert await store.sealed("s1") is None
    assert (await store.append_batch(batch(b"b"))).first_index == 0


async def test_conditional_batch_loses_to_a_moved_head(store: Store) -> None:
    """expect_size guards log initialisation: a head of another size raises HeadMoved."""
    await store.append_batch(batch(b"init", expect_size=0))
    with pytest.raises(HeadMoved):
        await store.append_batch(batch(b"init again", expect_size=0))
    assert (await store.head()).size == 1


async def test_pending_intents_follow_intents_and_outcomes(store: Store) -> None:
    """An intent adds a pending row, its outcome removes it; both in one batch add none."""
    await store.append_batch(
        Batch((BatchEntry(b"i1", opens="i1"), BatchEntry(b"i2", opens="i2")), fake_sign, "r1")
    )
    await store.append_batch(Batch((BatchEntry(b"i3", opens="i3"),), fake_sign, "r2"))
    await store.append_batch(
        Batch(
            (
                BatchEntry(b"o1", closes="i1"),
                BatchEntry(b"i4", opens="i4"),
                BatchEntry(b"o4", closes="i4"),
            ),
            fake_sign,
            "r1",
        )
    )
    assert [(p.intent_id, p.replica, p.index) for p in await store.pending_intents()] == [
        ("i2", "r1", 1),
        ("i3", "r2", 2),
    ]
    assert [p.intent_id for p in await store.pending_intents("r2")] == ["i3"]


async def test_data_keys_sealed_copies_and_erasure(store: Store) -> None:
    """The first stored data key of a period wins; copies commit with their batch; erasing a
    period in a batch deletes its key and nothing else."""
    assert await store.put_data_key("2026-10", b"first") == b"first"
    assert await store.put_data_key("2026-10", b"second") == b"first"
    await store.put_data_key("2026-11", b"nov")
    copy = SealedCopy("abc", "2026-10", b"\x01" * 12, b"ciphertext")
    await store.append_batch(Batch((BatchEntry(b"intent", sealed=copy),), fake_sign, "r1"))
    assert await store.sealed("abc") == copy
    assert await store.sealed("nope") is None
    assert await store.data_key_periods() == ["2026-10", "2026-11"]
    await store.append_batch(batch(b"erasure", erase_periods=("2026-10",)))
    assert await store.data_key("2026-10") is None
    assert await store.data_key("2026-11") == b"nov"
    assert await store.sealed("abc") == copy  # the copy stays; without its key it is noise


async def test_sqlite_survives_reopen_and_is_private(tmp_path: Path) -> None:
    """SQLite data is durable across close/open; the file is 0600, in WAL mode, migrated."""
    path = tmp_path / "x" / "c.db"
    s = open_store(f"sqlite:///{path}")
    await s.open()
    await s.set_meta("k", "v")
    await s.append_batch(batch(b"a", b"b"))
    await s.close()
    s2 = open_store(f"sqlite:///{path}")
    await s2.open()
    assert await s2.get_meta("k") == "v"
    assert await s2.get_meta("schema_version") == str(len(MIGRATIONS))
    assert (await s2.head()).size == 2
    await s2.close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unknown_scheme_is_refused() -> None:
    """An unsupported storage URL is refused with the scheme named."""
    with pytest.raises(StoreError, match="'redis'"):
        open_store("redis://x")


def test_postgres_schema_name_is_checked() -> None:
    """A schema name that is not a plain identifier is refused before any connection."""
    with pytest.raises(StoreError, match="schema name"):
        open_store("postgresql://u@h/db?schema=x;drop")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_stores_on_one_database_keep_one_head(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two store objects on one database (two processes' worth of connections) appending at
    once never fork the log: indices are gapless and every checkpoint is its prefix's root."""
    store_url = (
        f"sqlite:///{tmp_path}/shared.db" if kind == "sqlite" else request.getfixturevalue("pg_url")
    )
    first, second = open_store(store_url), open_store(store_url)
    await first.open()
    await second.open()
    try:

        async def writer(store: Store, name: bytes) -> None:
            for i in range(15):
                await store.append_batch(batch(*(name + b"-%d-%d" % (i, j) for j in range(3))))

        await asyncio.gather(writer(first, b"a"), writer(second, b"b"))
        head = await first.head()
        leaves = await second.leaves(0, head.size)
        assert head.size == 90 and [x.index for x in leaves] == list(range(90))
        hashes = [leaf_hash(x.data) for x in leaves]
        checkpoints = await first.checkpoints()
        assert len(checkpoints) == 30
        for c in checkpoints:
            assert c.note == fake_sign(c.size, root_of(hashes[: c.size]))
    finally:
        await first.close()
        await second.close()
