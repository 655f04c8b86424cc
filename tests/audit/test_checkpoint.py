"""Tests for proxy.audit.checkpoint: the C2SP tlog-checkpoint text and its signed note."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from proxy.audit.merkle import MAX_SIZE
from proxy.audit.note import NoteError, Signer, sign_note

ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()
LOG = Signer.generate("civetta.example/audit")
# The example text of the tlog-checkpoint specification.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_to_text_writes_the_three_lines_and_extensions() -> None:
    """The text is origin, decimal size and base64 root, then extension lines, each ending \\n."""
    assert Checkpoint("log.example/a", 5, ROOT).to_text() == f"log.example/a\n5\n{ROOT_B64}\n"
    with_ext = Checkpoint("log.example/a", 0, ROOT, ("ext one", "ext two"))
    assert with_ext.to_text() == f"log.example/a\n0\n{ROOT_B64}\next one\next two\n"


def test_specification_example_parses_and_round_trips() -> None:
    """The tlog-checkpoint spec's example text parses and is written back identically."""
    cp = Checkpoint.parse(SPEC_TEXT)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.to_text() == SPEC_TEXT


LINE = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1)


@given(
    LINE,
    st.integers(0, MAX_SIZE),
    st.binary(min_size=32, max_size=32),
    st.lists(LINE, max_size=3).map(tuple),
)
def test_parse_inverts_to_text(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    """Every valid checkpoint survives to_text and parse unchanged."""
    cp = Checkpoint(origin, size, root, extensions)
    assert Checkpoint.parse(cp.to_text()) == cp


@pytest.mark.parametrize(
    "text",
    [
        SPEC_TEXT[:-1],  # no final newline
        "example.com/log\n5\n",  # two lines
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"log\n05\n{ROOT_B64}\n",  # leading zero
        f"log\n+5\n{ROOT_B64}\n",  # sign
        f"log\n-1\n{ROOT_B64}\n",  # negative
        f"log\n 5\n{ROOT_B64}\n",  # space
        f"log\n\u0665\n{ROOT_B64}\n",  # Arabic-Indic digit five
        f"log\n{1 << 64}\n{ROOT_B64}\n",  # above uint64
        f"log\n{'9' * 5000}\n{ROOT_B64}\n",  # absurdly long
        f"log\n5\n{ROOT_B64[:-4]}\n",  # short root
        f"log\n5\n{base64.b64encode(bytes(33)).decode()}\n",  # long root
        f"log\n5\n{ROOT_B64.rstrip('=')}\n",  # unpadded root
        f"log\n5\n{base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode()}\n",  # URL-safe
        f"log\n5\n{ROOT_B64}\n\n",  # empty extension line
        f"log\r\n5\n{ROOT_B64}\n",  # carriage return
        f"lo\tg\n5\n{ROOT_B64}\n",  # control character
    ],
)
def test_parse_rejects_malformed_text(text: str) -> None:
    """Checkpoint.parse refuses every deviation from the strict format."""
    with pytest.raises(CheckpointError, match="expected"):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("log", -1, ROOT, ()),
        ("log", MAX_SIZE + 1, ROOT, ()),
        ("log", 1, ROOT[:31], ()),
        ("log", 1, ROOT, ("",)),
        ("log", 1, ROOT, ("two\nlines",)),
    ],
)
def test_constructor_refuses_values_that_cannot_be_written(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    """A Checkpoint that could not round-trip through text cannot be built."""
    with pytest.raises(CheckpointError, match="expected"):
        Checkpoint(origin, size, root, extensions)


def test_signed_checkpoint_opens_with_the_log_key() -> None:
    """sign_checkpoint makes a signed note that open_checkpoint returns as the checkpoint."""
    cp = Checkpoint(LOG.name, 42, ROOT)
    note = sign_checkpoint(cp, [LOG])
    assert note.startswith(f"{cp.to_text()}\n\u2014 {LOG.name} ".encode())
    assert open_checkpoint(note, [LOG.verifier()], LOG.name) == cp


def test_open_checkpoint_refuses_another_origin() -> None:
    """A correctly signed checkpoint of another log is refused."""
    note = sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), [LOG])
    with pytest.raises(CheckpointError, match="expected origin"):
        open_checkpoint(note, [LOG.verifier()], LOG.name)


def test_open_checkpoint_refuses_unknown_keys_and_altered_sizes() -> None:
    """A checkpoint signed by an unknown key, or altered after signing, does not open."""
    cp = Checkpoint(LOG.name, 42, ROOT)
    stranger = Signer.generate(LOG.name)
    with pytest.raises(NoteError, match="known key"):
        open_checkpoint(sign_checkpoint(cp, [stranger]), [LOG.verifier()], LOG.name)
    altered = sign_checkpoint(cp, [LOG]).replace(b"\n42\n", b"\n43\n")
    with pytest.raises(NoteError, match="valid signature"):
        open_checkpoint(altered, [LOG.verifier()], LOG.name)


def test_open_checkpoint_refuses_a_signed_text_that_is_no_checkpoint() -> None:
    """A validly signed note whose text is not a checkpoint raises CheckpointError."""
    note = sign_note(f"{LOG.name}\nfive\n{ROOT_B64}\n", [LOG])
    with pytest.raises(CheckpointError, match="decimal tree size"):
        open_checkpoint(note, [LOG.verifier()], LOG.name)
