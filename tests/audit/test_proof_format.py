"""Tests for proxy.audit.proof_format: tlog-proof files and civetta's consistency proof files."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from proxy.audit.merkle import (
    CompactRange,
    NodeId,
    ProofError,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
)
from proxy.audit.note import NoteError, Signer
from proxy.audit.proof_format import (
    CONSISTENCY_HEADER,
    INCLUSION_HEADER,
    ConsistencyProof,
    InclusionProof,
    ProofFormatError,
)

ORIGIN = "civetta.example/audit"
LOG = Signer.generate(ORIGIN)
H = [leaf_hash(bytes([i])) for i in range(3)]
B = [base64.b64encode(h).decode() for h in H]
CHECKPOINT = sign_checkpoint(Checkpoint(ORIGIN, 3, H[0]), [LOG])
# The example of the tlog-proof specification; its checkpoint is kept verbatim, unopened.
SPEC_PROOF = b"""c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\xe2\x80\x94 example.com/fancylog hI2DJw[...]1roloI=
"""


def build(size: int) -> tuple[list[bytes], dict[NodeId, bytes], CompactRange]:
    """A log of ``size`` leaves with every stored node, as a store keeps it."""
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(size)]
    nodes: dict[NodeId, bytes] = {}
    cr = CompactRange()
    for h in leaves:
        for level, index, node in cr.append(h):
            nodes[level, index] = node
    return leaves, nodes, cr


def test_inclusion_proof_is_written_in_the_tlog_proof_layout() -> None:
    """The file is the header, optional extra, index, hashes, a blank line and the checkpoint."""
    plain = InclusionProof(2, (H[0], H[1]), CHECKPOINT).to_bytes()
    assert plain == f"{INCLUSION_HEADER}\nindex 2\n{B[0]}\n{B[1]}\n\n".encode() + CHECKPOINT
    extra = InclusionProof(0, (), CHECKPOINT, b"ctx").to_bytes()
    assert extra == f"{INCLUSION_HEADER}\nextra Y3R4\nindex 0\n\n".encode() + CHECKPOINT


def test_specification_example_parses_and_round_trips() -> None:
    """The tlog-proof spec's example parses to its index, extra and hashes, and back."""
    proof = InclusionProof.parse(SPEC_PROOF)
    assert proof.index == 73894
    assert proof.extra is not None
    assert proof.extra.startswith(b"age-v1.2.1-darwin-arm64")
    assert len(proof.hashes) == 5
    assert proof.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert proof.to_bytes() == SPEC_PROOF


@given(
    st.integers(0, (1 << 64) - 2),
    st.lists(st.binary(min_size=32, max_size=32), max_size=64).map(tuple),
    st.none() | st.binary(min_size=1, max_size=64),
)
def test_inclusion_proof_round_trips(
    index: int, hashes: tuple[bytes, ...], extra: bytes | None
) -> None:
    """Every valid inclusion proof survives to_bytes and parse unchanged."""
    proof = InclusionProof(index, hashes, CHECKPOINT, extra)
    assert InclusionProof.parse(proof.to_bytes()) == proof


@given(
    st.integers(1, 1 << 40),
    st.integers(0, 1 << 40),
    st.lists(st.binary(min_size=32, max_size=32), max_size=128).map(tuple),
)
def test_consistency_proof_round_trips(old: int, more: int, hashes: tuple[bytes, ...]) -> None:
    """Every valid consistency proof survives to_bytes and parse unchanged."""
    proof = ConsistencyProof(old, old + more, hashes, CHECKPOINT)
    assert ConsistencyProof.parse(proof.to_bytes()) == proof


def test_consistency_proof_layout() -> None:
    """The consistency file is header, old and new sizes, hashes, blank line, checkpoint."""
    data = ConsistencyProof(2, 3, (H[2],), CHECKPOINT).to_bytes()
    assert data == f"{CONSISTENCY_HEADER}\nold 2\nnew 3\n{B[2]}\n\n".encode() + CHECKPOINT


def head(*lines: str) -> bytes:
    """A proof file with the given lines before the blank line and a checkpoint after it."""
    return "".join(line + "\n" for line in lines).encode() + b"\n" + CHECKPOINT


@pytest.mark.parametrize(
    "data",
    [
        head("c2sp.org/tlog-proof@v2", "index 0"),  # another version
        head(INCLUSION_HEADER),  # no index
        head(INCLUSION_HEADER, "index 01"),  # leading zero
        head(INCLUSION_HEADER, "index -1"),
        head(INCLUSION_HEADER, "index  1"),
        head(INCLUSION_HEADER, f"index {1 << 64}"),
        head(INCLUSION_HEADER, "Index 1"),
        head(INCLUSION_HEADER, "index 1", "extra Y3R4"),  # extra after index
        head(INCLUSION_HEADER, "extra ", "index 1"),  # empty extra
        head(INCLUSION_HEADER, "extra Y3R", "index 1"),  # bad base64
        head(INCLUSION_HEADER, "extra Y3R4", "extra Y3R4", "index 1"),
        head(INCLUSION_HEADER, "index 1", B[0][:-4]),  # short hash
        head(INCLUSION_HEADER, "index 1", B[0].rstrip("=")),  # unpadded hash
        head(INCLUSION_HEADER, "index 1", B[0], "index 2"),  # field after a hash
        head(INCLUSION_HEADER, "index 1", *[B[0]] * 65),  # too many hashes
        head("\u00e9", "index 1"),  # not ASCII
        f"{INCLUSION_HEADER}\nindex 1\n".encode() + CHECKPOINT,  # no blank line
        f"{INCLUSION_HEADER}\nindex 1\n\n".encode(),  # no checkpoint
        f"{INCLUSION_HEADER}\nindex 1\n\n".encode() + CHECKPOINT[:-1],  # cut checkpoint
        b"",
    ],
)
def test_malformed_inclusion_proofs_are_rejected(data: bytes) -> None:
    """InclusionProof.parse refuses every deviation from the tlog-proof format."""
    with pytest.raises(ProofFormatError, match="expected"):
        InclusionProof.parse(data)


@pytest.mark.parametrize(
    "data",
    [
        head(INCLUSION_HEADER, "old 1", "new 2"),  # another format
        head(CONSISTENCY_HEADER, "new 2", "old 1"),  # swapped lines
        head(CONSISTENCY_HEADER, "old 1"),
        head(CONSISTENCY_HEADER, "old 0", "new 2"),  # from the empty tree
        head(CONSISTENCY_HEADER, "old 3", "new 2"),  # shrinking
        head(CONSISTENCY_HEADER, "old 1", "new 02"),
        head(CONSISTENCY_HEADER, "old 1", "new 2", "extra Y3R4"),
        head(CONSISTENCY_HEADER, "old 1", "new 2", *[B[0]] * 129),
        f"{CONSISTENCY_HEADER}\nold 1\nnew 2\n".encode() + CHECKPOINT,
    ],
)
def test_malformed_consistency_proofs_are_rejected(data: bytes) -> None:
    """ConsistencyProof.parse refuses every deviation from the format."""
    with pytest.raises(ProofFormatError, match="expected"):
        ConsistencyProof.parse(data)


def test_inclusion_proof_verifies_against_its_signed_checkpoint() -> None:
    """An exported inclusion proof, read back, proves the leaf under the trusted key only."""
    leaves, nodes, cr = build(11)
    checkpoint = sign_checkpoint(Checkpoint(ORIGIN, 11, cr.root()), [LOG])
    proof = InclusionProof(7, tuple(inclusion_plan(7, 11).finish(nodes)), checkpoint)
    read = InclusionProof.parse(proof.to_bytes())
    assert read.verify(leaves[7], [LOG.verifier()], ORIGIN).size == 11
    with pytest.raises(ProofError):
        read.verify(leaves[6], [LOG.verifier()], ORIGIN)
    with pytest.raises(CheckpointError, match="origin"):
        read.verify(leaves[7], [LOG.verifier()], "elsewhere.example/log")
    with pytest.raises(NoteError):
        read.verify(leaves[7], [Signer.generate(ORIGIN).verifier()], ORIGIN)


def test_consistency_proof_links_a_held_checkpoint_to_a_newer_one() -> None:
    """An exported consistency proof shows the new checkpoint extends the one held."""
    _, nodes, cr = build(13)
    old = Checkpoint(ORIGIN, 5, build(5)[2].root())
    new_note = sign_checkpoint(Checkpoint(ORIGIN, 13, cr.root()), [LOG])
    hashes = tuple(consistency_plan(5, 13).finish(nodes))
    proof = ConsistencyProof.parse(ConsistencyProof(5, 13, hashes, new_note).to_bytes())
    assert proof.verify(old, [LOG.verifier()], ORIGIN).root_hash == cr.root()
    forked = Checkpoint(ORIGIN, 5, H[0])
    with pytest.raises(ProofError, match="root1"):
        proof.verify(forked, [LOG.verifier()], ORIGIN)
    with pytest.raises(ProofFormatError, match="sizes"):
        proof.verify(Checkpoint(ORIGIN, 6, old.root_hash), [LOG.verifier()], ORIGIN)
    with pytest.raises(CheckpointError, match="origin"):
        proof.verify(Checkpoint("other.example", 5, old.root_hash), [LOG.verifier()], ORIGIN)


def test_constructors_refuse_values_that_cannot_be_written() -> None:
    """Proof values with short hashes, empty extra data or impossible sizes cannot be built."""
    with pytest.raises(ProofFormatError, match="32 bytes"):
        InclusionProof(0, (H[0][:31],), CHECKPOINT)
    with pytest.raises(ProofFormatError, match="extra"):
        InclusionProof(0, (), CHECKPOINT, b"")
    with pytest.raises(ProofFormatError, match="index"):
        InclusionProof(-1, (), CHECKPOINT)
    with pytest.raises(ProofFormatError, match="checkpoint"):
        InclusionProof(0, (), b"")
    with pytest.raises(ProofFormatError, match="old <= new"):
        ConsistencyProof(3, 2, (), CHECKPOINT)
