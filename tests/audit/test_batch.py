"""The storage-agnostic arithmetic of one batch (``proxy.audit.batch.plan_batch``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.batch import Batch, BatchEntry, Head, HeadMoved, SealedCopy, plan_batch
from proxy.audit.merkle import leaf_hash, root_of


def sign(size: int, root: bytes) -> bytes:
    """A stand-in signer that records what it was asked to sign."""
    return b"%d:" % size + root


def entries(*data: bytes) -> tuple[BatchEntry, ...]:
    """Plain entries."""
    return tuple(BatchEntry(d) for d in data)


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8))
def test_any_split_into_batches_gives_the_reference_tree(sizes: list[int]) -> None:
    """However leaves are split into batches, indices run on, each signed root is the RFC 6962
    root of its prefix, and the stored nodes are exactly the perfect subtrees, each once."""
    head = Head.empty()
    data = [b"leaf %d" % i for i in range(sum(sizes))]
    hashes = [leaf_hash(d) for d in data]
    nodes: dict[tuple[int, int], bytes] = {}
    at = 0
    for n in sizes:
        plan = plan_batch(head, Batch(entries(*data[at : at + n]), sign, "r1"))
        assert plan.result.first_index == at
        assert [leaf.index for leaf in plan.leaves] == list(range(at, at + n))
        assert plan.result.root == root_of(hashes[: at + n]) == plan.head.root
        assert plan.result.checkpoint == sign(at + n, plan.result.root)
        for level, index, h in plan.nodes:
            assert (level, index) not in nodes
            nodes[(level, index)] = h
        head, at = plan.head, at + n
    total = len(data)
    perfect = {
        (lv, i): root_of(hashes[i << lv : (i + 1) << lv])
        for lv in range(1, total.bit_length())
        for i in range(total >> lv)
    }
    assert nodes == perfect


def test_leaf_hash_is_taken_from_the_stored_bytes() -> None:
    """Each planned leaf carries its data object itself and the hash of exactly those bytes."""
    data = b'{"type":"heartbeat"}'
    plan = plan_batch(Head.empty(), Batch(entries(data), sign, "r1"))
    assert plan.leaves[0].data is data
    assert plan.leaves[0].hash == leaf_hash(data)


def test_a_head_whose_root_does_not_match_its_frontier_is_refused() -> None:
    """An altered head row is never extended (nor signed)."""
    good = plan_batch(Head.empty(), Batch(entries(b"a", b"b", b"c"), sign, "r1")).head
    bad = Head(good.size, b"\x00" * 32, good.frontier)
    with pytest.raises(ValueError, match="frontier"):
        plan_batch(bad, Batch(entries(b"d"), sign, "r1"))


def test_expect_size_and_empty_batches() -> None:
    """A conditional batch on a moved head raises HeadMoved; an empty batch is refused."""
    with pytest.raises(HeadMoved, match="size 1, got 0"):
        plan_batch(Head.empty(), Batch(entries(b"a"), sign, "r1", expect_size=1))
    with pytest.raises(ValueError, match="at least one entry"):
        plan_batch(Head.empty(), Batch((), sign, "r1"))


def test_pending_rows_and_sealed_copies() -> None:
    """Intents open rows at their index for the batch's replica; an intent closed in the same
    batch opens none; sealed copies are collected in order."""
    copy = SealedCopy("s", "2026-11", b"\x00" * 12, b"c")
    batch = Batch(
        (
            BatchEntry(b"i1", opens="i1", sealed=copy),
            BatchEntry(b"i2", opens="i2"),
            BatchEntry(b"o2", closes="i2"),
            BatchEntry(b"o0", closes="i0"),
        ),
        sign,
        "r7",
    )
    plan = plan_batch(Head.empty(), batch)
    assert [(p.intent_id, p.replica, p.index) for p in plan.opened] == [("i1", "r7", 0)]
    assert plan.closed == ("i0",)
    assert plan.sealed == (copy,)


def test_head_round_trips_through_its_row() -> None:
    """The head's frontier blob reads back to the same head; a torn blob is refused."""
    head = plan_batch(Head.empty(), Batch(entries(*(b"%d" % i for i in range(7))), sign, "r1")).head
    assert Head.from_row(head.size, head.root, head.frontier_blob()) == head
    with pytest.raises(ValueError, match="whole hashes"):
        Head.from_row(head.size, head.root, head.frontier_blob()[:-1])
