"""Proof files from the live store, for ``civetta audit prove``: checked before they are given."""

from __future__ import annotations

from proxy.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from proxy.audit.proof_format import ConsistencyProof, InclusionProof
from proxy.audit.stored import MissingNode, consistency_proof, inclusion_proof
from proxy.audit.verify_checkpoints import peek
from proxy.storage.base import Store


class ProofUnavailable(ValueError):
    """The proof asked for does not exist (sizes out of range) or does not verify."""


async def prove(store: Store, index: int | None, old_size: int | None) -> dict[str, bytes]:
    """The tlog-proof of entry ``index`` and/or the consistency proof from ``old_size``, both
    leading to the latest stored checkpoint; named ``<index>.tlog-proof`` and
    ``<old size>.tlog-consistency``."""
    latest = await store.latest_checkpoint()
    if latest is None:
        raise ProofUnavailable("expected a signed checkpoint, got an empty log")
    top = peek(latest.note)
    out: dict[str, bytes] = {}
    try:
        if index is not None:
            if not 0 <= index < top.size:
                raise ProofUnavailable(f"expected an index below {top.size}, got {index}")
            leaves = await store.leaves(index, index + 1)
            if not leaves:
                raise ProofUnavailable(f"expected entry {index} stored, got none")
            path = await inclusion_proof(store, index, top.size)
            verify_inclusion(index, top.size, leaf_hash(leaves[0].data), path, top.root_hash)
            proof = InclusionProof(index, tuple(path), latest.note)
            out[f"{index}.tlog-proof"] = proof.to_bytes()
        if old_size is not None:
            if not 0 < old_size <= top.size:
                raise ProofUnavailable(f"expected an old size of 1 to {top.size}, got {old_size}")
            old = (await store.checkpoints(after_size=old_size - 1, limit=1))[:1]
            hashes = (
                await consistency_proof(store, old_size, top.size) if old_size < top.size else []
            )
            if old and old[0].size == old_size:
                before = peek(old[0].note)
                verify_consistency(old_size, top.size, hashes, before.root_hash, top.root_hash)
            cons = ConsistencyProof(old_size, top.size, tuple(hashes), latest.note)
            out[f"{old_size}.tlog-consistency"] = cons.to_bytes()
    except (ProofError, MissingNode) as exc:
        raise ProofUnavailable(
            f"expected a proof that verifies, got {exc}; run 'audit verify'"
        ) from exc
    return out
