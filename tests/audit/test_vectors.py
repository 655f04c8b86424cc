"""Conformance against vectors from independent implementations (``shared/vectors/``).

The vectors live beside the repository (CI clones it with ``shared/`` next to it). Without
them the tests skip with the reason, except under CI=true, where a missing vector is a failure.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from proxy.audit.merkle import (
    CompactRange,
    NodeId,
    ProofError,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from proxy.audit.note import NoteError, Verifier, open_note

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
RFC6962 = VECTORS / "rfc6962"
NOTE_EXAMPLE = VECTORS / "signed-note" / "example.txt"
CASES = sorted(RFC6962.rglob("*.json")) if RFC6962.is_dir() else []
EXPECTED_CASES = 196
# The tree the vectors describe: the RFC 6962 example leaves (transparency-dev/merkle README).
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


def require(path: Path) -> None:
    """Skip when a vector is missing, or fail under CI=true."""
    if path.exists():
        return
    reason = f"expected test vectors at {path} (shared/ beside the repository), found none"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def load(path: Path) -> dict[str, Any]:
    """Read one vector case."""
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def b64(values: list[str] | None) -> list[bytes]:
    """Decode a vector's list of base64 hashes (null means none)."""
    return [base64.b64decode(v) for v in values or []]


def rfc_tree() -> tuple[list[bytes], dict[NodeId, bytes]]:
    """Leaf hashes and stored nodes of the RFC 6962 example tree."""
    leaves = [leaf_hash(x) for x in RFC_LEAVES]
    cr = CompactRange()
    nodes: dict[NodeId, bytes] = {}
    for h in leaves:
        for level, index, node in cr.append(h):
            nodes[level, index] = node
    return leaves, nodes


def test_every_rfc6962_vector_is_present() -> None:
    """All 196 RFC 6962 cases are found, so none can silently drop out of the run."""
    require(RFC6962)
    assert len(CASES) == EXPECTED_CASES
    assert {p.relative_to(RFC6962).parts[0] for p in CASES} == {"inclusion", "consistency"}


@pytest.mark.parametrize("path", CASES, ids=[str(p.relative_to(RFC6962)) for p in CASES])
def test_rfc6962_vector(path: Path) -> None:
    """The verifier accepts exactly the vectors without wantErr (inclusion and consistency)."""
    case = load(path)
    kind = path.relative_to(RFC6962).parts[0]
    if kind == "inclusion":
        args: tuple[Any, ...] = (
            case["leafIdx"],
            case["treeSize"],
            base64.b64decode(case["leafHash"]),
            b64(case["proof"]),
            base64.b64decode(case["root"]),
        )
        check: Any = verify_inclusion
    else:
        args = (
            case["size1"],
            case["size2"],
            b64(case["proof"]),
            base64.b64decode(case["root1"]),
            base64.b64decode(case["root2"]),
        )
        check = verify_consistency
    if case["wantErr"]:
        with pytest.raises(ProofError):
            check(*args)
    else:
        check(*args)


HAPPY = [p for p in CASES if p.name == "happy-path.json"]


@pytest.mark.parametrize("path", HAPPY, ids=[str(p.relative_to(RFC6962)) for p in HAPPY])
def test_generated_proofs_equal_the_vectors(path: Path) -> None:
    """Proofs and roots built by the plans equal the vectors' happy paths byte for byte."""
    case = load(path)
    leaves, nodes = rfc_tree()
    if "leafIdx" in case:
        index, size = case["leafIdx"], case["treeSize"]
        assert root_of(leaves[:size]) == base64.b64decode(case["root"])
        assert leaves[index] == base64.b64decode(case["leafHash"])
        assert inclusion_plan(index, size).finish(nodes) == b64(case["proof"])
    else:
        size1, size2 = case["size1"], case["size2"]
        assert root_of(leaves[:size1]) == base64.b64decode(case["root1"])
        assert root_of(leaves[:size2]) == base64.b64decode(case["root2"])
        assert consistency_plan(size1, size2).finish(nodes) == b64(case["proof"])


def note_example() -> tuple[Verifier, bytes]:
    """The verifier key and the signed note of the signed-note specification's example."""
    require(NOTE_EXAMPLE)
    data = NOTE_EXAMPLE.read_bytes()
    head, note = data.split(b"\n---\n", 1)
    vkey = [line for line in head.decode().splitlines() if not line.startswith("#")]
    assert len(vkey) == 1
    return Verifier.parse(vkey[0]), note


def test_signed_note_example_verifies() -> None:
    """The specification's example note opens under its verifier key."""
    verifier, note = note_example()
    assert (
        verifier.to_vkey()
        == "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    opened = open_note(note, [verifier])
    assert opened.text == "This is an example message.\n"
    assert [(s.name, s.key_id) for s in opened.verified] == [("example.com/foo", 0x530D903A)]
    assert opened.unverified == ()


@pytest.mark.parametrize("mask", [0x01, 0x02, 0x20, 0x80], ids=lambda m: f"xor-{m:#04x}")
def test_signed_note_example_fails_after_any_byte_change(mask: int) -> None:
    """Changing any single byte of the example's text or signature makes it fail to open."""
    verifier, note = note_example()
    opened_anyway = []
    for i in range(len(note)):
        changed = bytearray(note)
        changed[i] ^= mask
        try:
            open_note(bytes(changed), [verifier])
        except NoteError:
            continue
        opened_anyway.append(i)
    assert opened_anyway == []
