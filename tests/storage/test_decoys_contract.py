"""The decoy part of the Store contract (``store.decoys``), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from proxy.storage import Store, StoreError, open_store
from proxy.storage.decoys import (
    SEEN_GRANULARITY,
    Candidate,
    ContactRecord,
    from_us,
    to_us,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDER_A, ORDER_B, ORDER_C = b"A" * 32, b"B" * 32, b"C" * 32
QUARANTINE = timedelta(days=30)


def cands(*decoys: str) -> list[Candidate]:
    """Candidates with ids derived from the decoy (ids are opaque to the store)."""
    return [Candidate(d, "id-" + d.lstrip("+")) for d in decoys]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open, empty store of each kind."""
    s = open_store(store_url)
    await s.open()
    yield s
    await s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of each store that several processes or pools can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/civetta.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_microsecond_times_round_trip() -> None:
    """Times are stored as whole microseconds: exact both ways, naive times refused."""
    moment = datetime(2026, 3, 2, 9, 0, 1, 123456, tzinfo=UTC)
    assert from_us(to_us(moment)) == moment
    with pytest.raises(ValueError, match="aware"):
        to_us(datetime(2026, 3, 2))


async def test_the_same_order_keeps_its_decoy(store: Store) -> None:
    """The first free candidate goes live; later calls for the order return it whatever they
    offer, and the order has one live decoy per kind."""
    first = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    assert first is not None
    again = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000002"), T0)
    assert again == first
    assert (first.decoy, first.kind, first.partner_id, first.issued_at) == (
        "+3902000001",
        "phone",
        "P1",
        T0,
    )
    assert first.decoy_id == "id-3902000001" and first.alias_index is None
    mail = await store.decoys.assign("email", ORDER_A, "P1", cands("o-x@d.example.it"), T0)
    assert mail is not None and mail.decoy == "o-x@d.example.it"
    assert await store.decoys.for_order(ORDER_A, "phone") == first
    assert await store.decoys.for_order(ORDER_B, "phone") is None


async def test_a_live_decoy_is_never_given_to_another_order(store: Store) -> None:
    """A taken candidate is skipped for the next; when all are taken the answer is None."""
    a = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    b = await store.decoys.assign("phone", ORDER_B, "P1", cands("+3902000001", "+3902000002"), T0)
    assert a is not None and b is not None and b.decoy == "+3902000002"
    c = await store.decoys.assign("phone", ORDER_C, "P1", cands("+3902000001", "+3902000002"), T0)
    assert c is None
    assert await store.decoys.for_order(ORDER_C, "phone") is None


async def test_closing_quarantine_and_release(store: Store) -> None:
    """A closed order's decoy stays live through the quarantine, then returns to the pool,
    where another order may get it; the history keeps both assignments, newest first."""
    a = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    assert a is not None
    assert await store.decoys.close_order(ORDER_A, T0 + timedelta(days=1)) == 1
    assert await store.decoys.close_order(ORDER_A, T0 + timedelta(days=2)) == 0
    closed = await store.decoys.for_order(ORDER_A, "phone")
    assert closed is not None and closed.closed_at == T0 + timedelta(days=1)
    early = T0 + timedelta(days=30)
    assert await store.decoys.release_expired(early, QUARANTINE) == 0
    assert await store.decoys.assign("phone", ORDER_B, "P2", cands("+3902000001"), early) is None
    late = T0 + timedelta(days=31)
    assert await store.decoys.release_expired(late, QUARANTINE) == 1
    assert await store.decoys.for_order(ORDER_A, "phone") is None
    b = await store.decoys.assign("phone", ORDER_B, "P2", cands("+3902000001"), late)
    assert b is not None and b.decoy == a.decoy
    history = await store.decoys.history("+3902000001")
    assert [h.order_key for h in history] == [ORDER_B, ORDER_A]
    assert history[1].released_at == late and history[0].released_at is None
    assert [row.order_key for row in await store.decoys.live()] == [ORDER_B]
    assert [h.seq for h in await store.decoys.assignments_for(ORDER_A)] == [a.seq]


async def test_a_message_on_a_closed_order_reopens_it(store: Store) -> None:
    """An order that sends again after being closed is active again: closed_at is cleared
    and seen_at moves to the message."""
    await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    await store.decoys.close_order(ORDER_A, T0 + timedelta(minutes=5))
    later = T0 + timedelta(minutes=10)
    row = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000009"), later)
    assert row is not None and row.closed_at is None and row.seen_at == later
    assert row.decoy == "+3902000001"


async def test_seen_at_moves_only_after_the_granularity(store: Store) -> None:
    """Steady traffic costs no write: seen_at moves only once it is an hour (or more) old."""
    await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    soon = await store.decoys.assign("phone", ORDER_A, "P1", [], T0 + timedelta(minutes=59))
    assert soon is not None and soon.seen_at == T0
    later = T0 + SEEN_GRANULARITY
    moved = await store.decoys.assign("phone", ORDER_A, "P1", [], later)
    assert moved is not None and moved.seen_at == later


async def test_announcement_and_partner_change(store: Store) -> None:
    """mark_announced records the alias leaf's index; a new partner for the order replaces
    the old one and clears the index (the service announces again)."""
    row = await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    assert row is not None
    await store.decoys.mark_announced(row.seq, 42)
    same = await store.decoys.assign("phone", ORDER_A, "P1", [], T0)
    assert same is not None and same.alias_index == 42
    moved = await store.decoys.assign("phone", ORDER_A, "P2", [], T0)
    assert moved is not None
    assert (moved.partner_id, moved.alias_index, moved.decoy) == ("P2", None, row.decoy)


async def test_live_lists_by_kind_and_decoy(store: Store) -> None:
    """live() holds live assignments (quarantined ones too), sorted by decoy, per kind."""
    await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000009"), T0)
    await store.decoys.assign("phone", ORDER_B, "P1", cands("+3902000001"), T0)
    await store.decoys.assign("email", ORDER_A, "P1", cands("o-a@d.example.it"), T0)
    await store.decoys.close_order(ORDER_B, T0)
    assert [r.decoy for r in await store.decoys.live("phone")] == ["+3902000001", "+3902000009"]
    assert [r.decoy for r in await store.decoys.live("email")] == ["o-a@d.example.it"]
    assert len(await store.decoys.live()) == 3


def contact(cid: str, decoy: str, at: datetime, order: bytes | None) -> ContactRecord:
    """A contact row with a commitment, a masked caller and an encrypted note."""
    return ContactRecord(
        id=cid,
        decoy=decoy,
        channel="call",
        at=at,
        recorded_at=at + timedelta(seconds=1),
        caller_commitment=b"c" * 32,
        caller_masked="+39********67",
        caller_match=None,
        classification="suspicious",
        reason="unknown_caller",
        source="switch",
        decoy_id=None if order is None else "id-1",
        order_key=order,
        partner_id=None if order is None else "P1",
        note=b"\x01sealed" if order is not None else None,
        leaf_index=7,
    )


async def test_contacts_round_trip_and_filter(store: Store) -> None:
    """Contacts come back as stored, by time, filtered by decoy and by order; an id is unique."""
    late = contact("c2", "+3902000001", T0 + timedelta(hours=2), ORDER_A)
    early = contact("c1", "+3902000001", T0, ORDER_A)
    other = contact("c3", "+3902000002", T0 + timedelta(hours=1), None)
    for record in (late, early, other):
        await store.decoys.put_contact(record)
    assert await store.decoys.contacts() == [early, other, late]
    assert await store.decoys.contacts(decoy="+3902000001") == [early, late]
    assert await store.decoys.contacts(order_key=ORDER_A) == [early, late]
    assert await store.decoys.contacts(decoy="+3902000002", order_key=ORDER_A) == []
    with pytest.raises(StoreError):
        await store.decoys.put_contact(early)


async def test_fingerprints_accumulate_per_order(store: Store) -> None:
    """Fingerprints are a set per order: repeats and empty puts change nothing."""
    await store.decoys.put_fingerprints(ORDER_A, [b"f1" * 16, b"f2" * 16])
    await store.decoys.put_fingerprints(ORDER_A, [b"f2" * 16, b"f3" * 16])
    await store.decoys.put_fingerprints(ORDER_B, [])
    assert await store.decoys.fingerprints(ORDER_A) == {b"f1" * 16, b"f2" * 16, b"f3" * 16}
    assert await store.decoys.fingerprints(ORDER_B) == frozenset()


async def test_decoy_calls_fail_with_store_error_when_closed(store: Store) -> None:
    """A closed store refuses decoy work with StoreError (503), never a driver error."""
    await store.close()
    with pytest.raises(StoreError):
        await store.decoys.assign("phone", ORDER_A, "P1", cands("+3902000001"), T0)
    with pytest.raises(StoreError):
        await store.decoys.live()
    await store.open()


async def test_parallel_orders_never_share_a_decoy(store: Store) -> None:
    """200 orders assigned at once from one shared candidate list of 200 decoys: every order
    gets one, no two the same; a second round gives each order its own decoy again."""
    pool = [f"+39020000{i:04d}" for i in range(200)]
    orders = [i.to_bytes(32, "big") for i in range(200)]

    async def one(order: bytes, shift: int) -> str:
        offered = pool[shift:] + pool[:shift]
        row = await store.decoys.assign("phone", order, "P1", cands(*offered), T0)
        assert row is not None
        return row.decoy

    first = await asyncio.gather(*(one(o, i % 7) for i, o in enumerate(orders)))
    assert len(set(first)) == 200
    second = await asyncio.gather(*(one(o, 3) for o in orders))
    assert second == first


async def test_two_stores_on_one_database_agree(durable_url: str) -> None:
    """Two stores (two replicas' pools) racing on one database: the same order gets the same
    decoy from both, and different orders never share one."""
    replicas = [open_store(durable_url) for _ in range(2)]
    for replica in replicas:
        await replica.open()
    try:
        pool = cands(*(f"+39020000{i:04d}" for i in range(60)))
        calls = [
            replicas[i % 2].decoys.assign("phone", (i // 2).to_bytes(32, "big"), "P1", pool, T0)
            for i in range(100)
        ]
        rows = await asyncio.gather(*calls)
        by_order: dict[bytes, set[str]] = {}
        for row in rows:
            assert row is not None
            by_order.setdefault(row.order_key, set()).add(row.decoy)
        assert all(len(decoys) == 1 for decoys in by_order.values())
        assert len({next(iter(d)) for d in by_order.values()}) == 50
        live = await replicas[1].decoys.live("phone")
        assert len(live) == 50 == len({r.decoy for r in live})
    finally:
        for replica in replicas:
            await replica.close()
