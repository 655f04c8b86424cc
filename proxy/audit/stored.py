"""Roots and proofs built from a store's subtree nodes: one ``nodes`` query each, O(log n).

These trust the stored node hashes; the verifier re-hashes leaves instead. A proof built here is
checked with :func:`proxy.audit.merkle.verify_inclusion` / ``verify_consistency`` like any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from proxy.audit.merkle import (
    NodeId,
    ProofPlan,
    consistency_plan,
    inclusion_plan,
    root_plan,
)


class NodeSource(Protocol):
    """Anything that hands out stored subtree hashes (every Store does)."""

    async def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Stored hashes by ``(level, index)``; missing ids are simply absent."""


class MissingNode(Exception):
    """A subtree hash that the tree of that size must have is not stored."""


async def _finish(store: NodeSource, plan: ProofPlan) -> list[bytes]:
    nodes = await store.nodes(plan.node_ids)
    try:
        return plan.finish(nodes)
    except KeyError as exc:
        raise MissingNode(str(exc.args[0])) from None


async def root_at(store: NodeSource, size: int) -> bytes:
    """The root of the first ``size`` leaves, from the stored nodes."""
    return (await _finish(store, root_plan(size)))[0]


async def inclusion_proof(store: NodeSource, index: int, size: int) -> list[bytes]:
    """The RFC 6962 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    return await _finish(store, inclusion_plan(index, size))


async def consistency_proof(store: NodeSource, size1: int, size2: int) -> list[bytes]:
    """The RFC 6962 consistency proof from ``size1`` to ``size2`` leaves."""
    return await _finish(store, consistency_plan(size1, size2))
