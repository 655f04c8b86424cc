"""Tests for proxy.audit.merkle: hashing, CompactRange, proof plans and verification."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.audit.merkle import (
    EMPTY_ROOT,
    MAX_SIZE,
    CompactRange,
    NodeId,
    ProofError,
    ProofPlan,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    node_hash,
    root_of,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 example leaves and the roots of their prefixes, as published with the
# Certificate Transparency reference code (and used by the transparency-dev vectors).
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SMALL = 300
LARGE = (1 << 17) + 4321
EXTRA = leaf_hash(b"not in the tree")


@dataclass(frozen=True, slots=True)
class Tree:
    """Leaf hashes and every stored node, as a store would keep them."""

    leaves: list[bytes]
    nodes: dict[NodeId, bytes]


@functools.cache
def tree(size: int) -> Tree:
    """Build a tree of distinct leaves through CompactRange, keeping every completed node."""
    cr = CompactRange()
    leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(size)]
    nodes: dict[NodeId, bytes] = {}
    for h in leaves:
        for level, index, node in cr.append(h):
            nodes[level, index] = node
    return Tree(leaves, nodes)


def flip(h: bytes, bit: int) -> bytes:
    """Flip one bit of a hash."""
    out = bytearray(h)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def accepted(
    check: Callable[..., None], mutants: Iterator[tuple[str, tuple[object, ...]]]
) -> list[str]:
    """Return the labels of the mutants that ``check`` wrongly accepts."""
    passed = []
    for label, args in mutants:
        try:
            check(*args)
        except ProofError:
            continue
        passed.append(label)
    return passed


def test_leaf_and_node_hashes_use_rfc6962_prefixes() -> None:
    """Leaf and node hashes are SHA-256 over 0x00 || data and 0x01 || left || right."""
    assert leaf_hash(b"") == bytes.fromhex(RFC_ROOTS[0])
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")) == bytes.fromhex(RFC_ROOTS[1])
    assert node_hash(b"a", b"b") == sha256(b"\x01ab").digest()


def test_root_of_matches_published_rfc6962_roots() -> None:
    """root_of over the RFC 6962 example leaves gives the published roots of every prefix."""
    hashes = [leaf_hash(x) for x in RFC_LEAVES]
    assert [root_of(hashes[: n + 1]).hex() for n in range(8)] == RFC_ROOTS


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    """The empty tree's root is SHA-256 of the empty string, from every entry point."""
    assert sha256(b"").digest() == EMPTY_ROOT
    assert root_of([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    assert root_plan(0).finish({}) == [EMPTY_ROOT]


def test_compact_range_root_equals_root_of_for_every_prefix() -> None:
    """CompactRange.root() equals the reference MTH after every append, 0 to 300 leaves."""
    leaves = tree(SMALL).leaves
    cr = CompactRange()
    assert cr.root() == root_of([])
    for n, h in enumerate(leaves, start=1):
        cr.append(h)
        assert (cr.size, cr.root()) == (n, root_of(leaves[:n])), n
        assert len(cr.hashes) == n.bit_count()


def test_append_reports_exactly_the_completed_perfect_subtrees() -> None:
    """append returns the leaf and each subtree it completes, each with its true hash."""
    leaves = tree(SMALL).leaves
    cr = CompactRange()
    for n, h in enumerate(leaves):
        completed = cr.append(h)
        assert completed[0] == (0, n, h)
        # Leaf n completes one subtree per trailing one bit of n.
        assert len(completed) == 1 + ((n ^ (n + 1)).bit_length() - 1)
        for level, index, node in completed:
            assert (index + 1) << level == n + 1
            assert node == root_of(leaves[index << level : (index + 1) << level])


def test_from_state_resumes_appending_where_it_stopped() -> None:
    """A frontier saved at any size and restored continues to the same roots."""
    leaves = tree(70).leaves
    for cut in range(71):
        cr = CompactRange()
        for h in leaves[:cut]:
            cr.append(h)
        resumed = CompactRange.from_state(cr.size, cr.hashes)
        assert resumed.hashes == cr.hashes
        for h in leaves[cut:]:
            resumed.append(h)
        assert resumed.root() == root_of(leaves)


@pytest.mark.parametrize(
    ("size", "hashes"),
    [
        (3, [EXTRA]),  # popcount(3) == 2
        (4, [EXTRA, EXTRA]),
        (0, [EXTRA]),
        (1, [EXTRA[:31]]),
        (-1, []),
        (1 << 64, []),
    ],
)
def test_from_state_rejects_inconsistent_state(size: int, hashes: list[bytes]) -> None:
    """from_state refuses a hash count other than popcount(size), short hashes, bad sizes."""
    with pytest.raises(ValueError, match="expected"):
        CompactRange.from_state(size, hashes)


def test_append_rejects_a_hash_of_the_wrong_length() -> None:
    """append refuses anything but a 32-byte leaf hash and leaves the range unchanged."""
    cr = CompactRange()
    with pytest.raises(ValueError, match="32-byte"):
        cr.append(b"\x00" * 31)
    assert cr.size == 0


def test_every_proof_of_small_trees_verifies() -> None:
    """For every size 1..64, every inclusion and consistency proof and root plan verifies."""
    t = tree(64)
    for size in range(1, 65):
        root = root_of(t.leaves[:size])
        assert root_plan(size).finish(t.nodes) == [root]
        for index in range(size):
            proof = inclusion_plan(index, size).finish(t.nodes)
            verify_inclusion(index, size, t.leaves[index], proof, root)
        for size1 in range(1, size + 1):
            proof = consistency_plan(size1, size).finish(t.nodes)
            verify_consistency(size1, size, proof, root_of(t.leaves[:size1]), root)


def inclusion_mutants(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes, bit: int
) -> Iterator[tuple[str, tuple[object, ...]]]:
    """Every single mutation of an inclusion proof that must not verify."""
    for i in range(len(proof)):
        yield (
            f"flip proof[{i}]",
            (index, size, leaf, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]], root),
        )
        yield f"drop proof[{i}]", (index, size, leaf, proof[:i] + proof[i + 1 :], root)
    for i in range(len(proof) + 1):
        yield f"add at {i}", (index, size, leaf, [*proof[:i], EXTRA, *proof[i:]], root)
    yield "flip leaf", (index, size, flip(leaf, bit), proof, root)
    yield "flip root", (index, size, leaf, proof, flip(root, bit))
    yield "index + 1", (index + 1, size, leaf, proof, root)
    yield "index - 1", (index - 1, size, leaf, proof, root)
    yield "size * 2", (index, size * 2, leaf, proof, root)
    if size > 1:  # a one-leaf tree's root is its leaf hash: swapping changes nothing
        yield "swap leaf and root", (index, size, root, proof, leaf)


def consistency_mutants(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes, bit: int
) -> Iterator[tuple[str, tuple[object, ...]]]:
    """Every single mutation of a consistency proof that must not verify."""
    for i in range(len(proof)):
        yield (
            f"flip proof[{i}]",
            (size1, size2, [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]], root1, root2),
        )
        yield f"drop proof[{i}]", (size1, size2, proof[:i] + proof[i + 1 :], root1, root2)
    for i in range(len(proof) + 1):
        yield f"add at {i}", (size1, size2, [*proof[:i], EXTRA, *proof[i:]], root1, root2)
    yield "flip root1", (size1, size2, proof, flip(root1, bit), root2)
    yield "flip root2", (size1, size2, proof, root1, flip(root2, bit))
    yield "size1 + 1", (size1 + 1, size2, proof, root1, root2)
    yield "size1 - 1", (size1 - 1, size2, proof, root1, root2)
    yield "size2 * 2", (size1, size2 * 2, proof, root1, root2)
    if size1 != size2:
        yield "swapped roots", (size1, size2, proof, root2, root1)
        yield "swapped sizes", (size2, size1, proof, root1, root2)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(0, 255))
def test_inclusion_proofs_verify_and_every_mutation_fails(data: st.DataObject, bit: int) -> None:
    """A generated inclusion proof verifies; each single mutation of it is rejected."""
    t = tree(SMALL)
    size = data.draw(st.integers(1, SMALL), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_of(t.leaves[:size])
    proof = inclusion_plan(index, size).finish(t.nodes)
    verify_inclusion(index, size, t.leaves[index], proof, root)
    assert (
        accepted(
            verify_inclusion, inclusion_mutants(index, size, t.leaves[index], proof, root, bit)
        )
        == []
    )


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(0, 255))
def test_consistency_proofs_verify_and_every_mutation_fails(data: st.DataObject, bit: int) -> None:
    """A generated consistency proof verifies; each single mutation of it is rejected."""
    t = tree(SMALL)
    size2 = data.draw(st.integers(1, SMALL), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    root1, root2 = root_of(t.leaves[:size1]), root_of(t.leaves[:size2])
    proof = consistency_plan(size1, size2).finish(t.nodes)
    verify_consistency(size1, size2, proof, root1, root2)
    assert (
        accepted(verify_consistency, consistency_mutants(size1, size2, proof, root1, root2, bit))
        == []
    )


@settings(max_examples=25, deadline=None)
@given(st.data(), st.integers(0, 255))
def test_proofs_of_a_large_tree_verify_and_mutations_fail(data: st.DataObject, bit: int) -> None:
    """In a tree of 2**17 + 4321 leaves, sampled proofs verify and their mutations fail."""
    t = tree(LARGE)
    size2 = data.draw(st.integers(1, LARGE), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    index = data.draw(st.integers(0, size2 - 1), label="index")
    root1, root2 = root_of(t.leaves[:size1]), root_of(t.leaves[:size2])
    assert root_plan(size2).finish(t.nodes) == [root2]
    incl = inclusion_plan(index, size2).finish(t.nodes)
    verify_inclusion(index, size2, t.leaves[index], incl, root2)
    assert (
        accepted(
            verify_inclusion, inclusion_mutants(index, size2, t.leaves[index], incl, root2, bit)
        )
        == []
    )
    cons = consistency_plan(size1, size2).finish(t.nodes)
    verify_consistency(size1, size2, cons, root1, root2)
    assert (
        accepted(verify_consistency, consistency_mutants(size1, size2, cons, root1, root2, bit))
        == []
    )


@functools.cache
def uniform_level(level: int) -> bytes:
    """Hash of a perfect subtree of 2**level identical leaves."""
    if level == 0:
        return leaf_hash(b"same")
    below = uniform_level(level - 1)
    return node_hash(below, below)


def uniform_root(size: int) -> bytes:
    """Reference MTH of ``size`` identical leaves, by the recursive definition in O(log n)."""
    if size & (size - 1) == 0:
        return uniform_level(size.bit_length() - 1)
    k = (size - 1).bit_length() - 1
    return node_hash(uniform_level(k), uniform_root(size - (1 << k)))


class UniformNodes(dict[NodeId, bytes]):
    """Every complete node of a tree of identical leaves, computed on demand."""

    def __missing__(self, key: NodeId) -> bytes:
        return uniform_level(key[0])


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(0, 255))
def test_proofs_of_huge_trees_verify(data: st.DataObject, bit: int) -> None:
    """Up to 2**64-1 leaves (identical, so nodes are cheap), plans build proofs that verify."""
    nodes = UniformNodes()
    size2 = data.draw(st.integers(1, MAX_SIZE), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    index = data.draw(st.integers(0, size2 - 1), label="index")
    root1, root2 = uniform_root(size1), uniform_root(size2)
    for plan in (root_plan(size2), inclusion_plan(index, size2), consistency_plan(size1, size2)):
        assert all((i + 1) << level <= size2 for level, i in plan.node_ids)
        assert len(plan.node_ids) <= 2 * 64
    assert root_plan(size2).finish(nodes) == [root2]
    incl = inclusion_plan(index, size2).finish(nodes)
    verify_inclusion(index, size2, uniform_level(0), incl, root2)
    with pytest.raises(ProofError):
        verify_inclusion(index, size2, uniform_level(0), incl, flip(root2, bit))
    cons = consistency_plan(size1, size2).finish(nodes)
    verify_consistency(size1, size2, cons, root1, root2)
    if cons:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, [flip(cons[0], bit), *cons[1:]], root1, root2)


def test_plans_list_each_node_once_and_only_complete_ones() -> None:
    """Plans name each stored node once, and only subtrees complete at the plan's size."""
    for size in range(1, 200):
        plans = [root_plan(size)]
        plans += [inclusion_plan(i, size) for i in range(size)]
        plans += [consistency_plan(m, size) for m in range(1, size + 1)]
        for plan in plans:
            assert len(set(plan.node_ids)) == len(plan.node_ids)
            assert {n for s in plan.segments for n in s} == set(plan.node_ids)
            assert all((i + 1) << level <= size for level, i in plan.node_ids)


@pytest.mark.parametrize(
    ("plan", "args"),
    [
        (inclusion_plan, (5, 5)),
        (inclusion_plan, (-1, 5)),
        (consistency_plan, (0, 5)),
        (consistency_plan, (6, 5)),
        (root_plan, (-1,)),
        (root_plan, (MAX_SIZE + 1,)),
    ],
)
def test_plans_reject_impossible_positions(
    plan: Callable[..., ProofPlan], args: tuple[int, ...]
) -> None:
    """Plans refuse an index outside the tree and consistency from 0 or to a smaller tree."""
    with pytest.raises(ValueError, match="expected"):
        plan(*args)


def test_finish_names_a_missing_node() -> None:
    """finish fails with KeyError naming the node a store did not return."""
    plan = ProofPlan(((1, 0),), (((1, 0),),))
    with pytest.raises(KeyError, match=r"\(1, 0\)"):
        plan.finish({})


def test_consistency_with_equal_sizes_needs_equal_roots_and_no_proof() -> None:
    """Equal sizes verify with an empty proof and equal roots, and fail otherwise."""
    root = root_of(tree(5).leaves)
    verify_consistency(5, 5, [], root, root)
    with pytest.raises(ProofError, match="equal roots"):
        verify_consistency(5, 5, [], root, EXTRA)
    with pytest.raises(ProofError, match="no proof hashes"):
        verify_consistency(5, 5, [EXTRA], root, root)


def test_consistency_from_the_empty_tree_fails() -> None:
    """A consistency proof from size 0 proves nothing and is rejected, even 0 to 0."""
    for size2 in (0, 1, 8):
        with pytest.raises(ProofError, match="empty tree"):
            verify_consistency(0, size2, [], EMPTY_ROOT, EMPTY_ROOT)


def test_inclusion_rejects_short_hashes_in_a_one_leaf_tree() -> None:
    """A one-leaf tree with an empty root and an empty leaf hash does not verify."""
    with pytest.raises(ProofError, match="leaf hash"):
        verify_inclusion(0, 1, b"", [], b"")


def test_errors_say_what_was_expected_without_data() -> None:
    """Proof errors read 'expected X, got Y' and carry no hash values."""
    t = tree(10)
    root = root_of(t.leaves)
    proof = inclusion_plan(3, 10).finish(t.nodes)
    with pytest.raises(ProofError) as exc:
        verify_inclusion(3, 10, t.leaves[3], proof[:-1], root)
    assert str(exc.value) == f"expected {len(proof)} proof hashes, got {len(proof) - 1}"
    with pytest.raises(ProofError) as exc:
        verify_inclusion(3, 10, t.leaves[4], proof, root)
    message = str(exc.value)
    assert message.startswith("expected")
    assert root.hex() not in message
    assert t.leaves[4].hex() not in message
