"""Tests for proxy.audit.note: key strings, signing and opening C2SP signed notes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.note import (
    MAX_SIGNATURES,
    NoteError,
    Signer,
    Verifier,
    decode_base64,
    is_valid_key_name,
    key_id,
    open_note,
    sign_note,
)

# The example of the signed-note specification (public key only).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6"
    "TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()
# The example of Go's golang.org/x/mod/sumdb/note documentation, which publishes the private
# key: Ed25519 is deterministic, so our signer must reproduce its note byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
    "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()

ALICE = Signer.generate("alice.example/log")
BOB = Signer.generate("bob.example/witness")


def test_key_id_follows_the_specification() -> None:
    """The key id is SHA-256(name || 0x0A || 0x01 || public key)[:4], as in the spec example."""
    raw = base64.b64decode(SPEC_VKEY.split("+", 2)[2])
    assert key_id("example.com/foo", raw[1:]) == 0x530D903A


def test_go_signer_key_reproduces_the_published_note() -> None:
    """Signing Go's example text with Go's example key gives Go's note byte for byte."""
    signer = Signer.parse(GO_SKEY)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.verifier().to_vkey() == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE
    assert open_note(GO_NOTE, [Verifier.parse(GO_VKEY)]).text == GO_TEXT


def test_key_strings_round_trip() -> None:
    """Signer and verifier key strings parse back to the same keys."""
    assert Signer.parse(GO_SKEY).to_skey() == GO_SKEY
    assert Verifier.parse(GO_VKEY).to_vkey() == GO_VKEY
    signer = Signer.parse(ALICE.to_skey())
    assert signer.verifier() == ALICE.verifier()
    assert Verifier.parse(ALICE.verifier().to_vkey()) == ALICE.verifier()


def test_signer_repr_hides_the_private_key() -> None:
    """A signer's repr names the key but never shows the seed."""
    seed = Signer.parse(GO_SKEY).to_skey().rsplit("+", 1)[1]
    assert repr(Signer.parse(GO_SKEY)) == "Signer('PeterNeumann', key_id=c74f20a3)"
    assert seed not in repr(Signer.parse(GO_SKEY))


def test_signatures_are_plain_ed25519_over_the_text() -> None:
    """The signature after the key id is an RFC 8032 signature of the note text."""
    line = ALICE.sign("hello\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert int.from_bytes(raw[:4], "big") == ALICE.key_id
    Ed25519PublicKey.from_public_bytes(ALICE.verifier().public_key).verify(raw[4:], b"hello\n")


TEXT_CHARACTERS = st.characters(
    min_codepoint=0x20, exclude_categories=["Cs"], include_characters="\n"
)


@given(st.text(TEXT_CHARACTERS, max_size=200))
def test_any_valid_text_round_trips(text: str) -> None:
    """Any text without control characters, blank lines included, signs and opens intact."""
    body = text + "\n"
    opened = open_note(sign_note(body, [ALICE]), [ALICE.verifier()])
    assert opened.text == body


def test_text_with_blank_lines_splits_at_the_last_one() -> None:
    """Blank lines inside the text are text; the last blank line separates the signatures."""
    text = "one\n\n\ntwo\n\n"
    assert open_note(sign_note(text, [ALICE]), [ALICE.verifier()]).text == text


def test_unknown_keys_are_ignored_and_reported_once() -> None:
    """Signatures by keys not known are listed as unverified, duplicates once."""
    note = sign_note("multi\n", [ALICE, BOB])
    line = note.decode().splitlines(keepends=True)[-1]
    opened = open_note(note + line.encode(), [ALICE.verifier()])
    assert [(s.name, s.key_id) for s in opened.verified] == [(ALICE.name, ALICE.key_id)]
    assert [(s.name, s.key_id) for s in opened.unverified] == [(BOB.name, BOB.key_id)]


def test_a_key_sharing_only_the_name_is_unknown() -> None:
    """A verifier with the signer's name but another key does not count as the signer."""
    impostor = Signer.generate(ALICE.name)
    with pytest.raises(NoteError, match="known key, got none"):
        open_note(sign_note("x\n", [ALICE]), [impostor.verifier()])


def test_bad_signature_from_a_known_key_rejects_the_note() -> None:
    """A failing signature from a known key rejects the note even if another one verifies."""
    good = sign_note("text\n", [ALICE])
    forged = BOB.sign("other\n").encode()
    with pytest.raises(NoteError, match="valid signature from key bob"):
        open_note(good + forged, [ALICE.verifier(), BOB.verifier()])


def test_repeated_signatures_of_a_known_key_are_all_checked() -> None:
    """A second, bad signature line of a known key is verified, not skipped as a duplicate."""
    good = sign_note("text\n", [ALICE])
    bad = ALICE.sign("other\n").encode()
    with pytest.raises(NoteError, match="valid signature"):
        open_note(good + bad, [ALICE.verifier()])
    assert len(open_note(good + good.split(b"\n\n")[1], [ALICE.verifier()]).verified) == 1


def tamper(note: bytes, old: bytes, new: bytes) -> bytes:
    """Replace one occurrence, failing the test if there is none."""
    assert old in note
    return note.replace(old, new, 1)


@pytest.mark.parametrize(
    ("label", "note"),
    [
        ("altered text", tamper(SPEC_NOTE, b"example", b"exbmple")),
        ("altered signature", tamper(SPEC_NOTE, b"Uw2QOkn8", b"Uw2QOkn9")),
        ("altered key id", tamper(SPEC_NOTE, b"foo Uw2Q", b"foo Vw2Q")),
        ("non-canonical base64", tamper(SPEC_NOTE, b"yaQM=", b"yaQN=")),
        ("unpadded base64", tamper(SPEC_NOTE, b"yaQM=", b"yaQM")),
        ("no final newline", SPEC_NOTE[:-1]),
        ("no blank line", tamper(SPEC_NOTE, b".\n\n", b".\n")),
        ("hyphen for em dash", tamper(SPEC_NOTE, "\u2014".encode(), b"-")),
        ("two spaces", tamper(SPEC_NOTE, b"foo ", b"foo  ")),
        ("control character", tamper(SPEC_NOTE, b"This", b"Th\x07s")),
        ("carriage return", tamper(SPEC_NOTE, b"message.\n", b"message.\r\n")),
        ("junk after signatures", SPEC_NOTE + b"junk\n"),
        ("blank line at end", SPEC_NOTE + b"\n"),
        ("no signatures", b"text\n\n"),
        ("empty", b""),
        ("invalid UTF-8", tamper(SPEC_NOTE, b"This", b"Th\xffs")),
        ("short signature", tamper(SPEC_NOTE, SPEC_NOTE.split(b" ")[-1], b"Uw2QOg==\n")),
        ("key name with '+'", tamper(SPEC_NOTE, b"foo U", b"f+o U")),
    ],
)
def test_malformed_or_tampered_notes_are_rejected(label: str, note: bytes) -> None:
    """open_note raises NoteError on every malformed or altered form of the spec example."""
    with pytest.raises(NoteError):
        open_note(note, [Verifier.parse(SPEC_VKEY)])


def test_signature_count_is_limited_above_the_spec_minimum() -> None:
    """Notes with 16 signatures open; more than MAX_SIGNATURES is refused."""
    note = sign_note("x\n", [ALICE])
    junk = [f"\u2014 junk{i} AAAAAAA=\n".encode() for i in range(MAX_SIGNATURES)]
    assert len(open_note(note + b"".join(junk[:15]), [ALICE.verifier()]).unverified) == 15
    with pytest.raises(NoteError, match="at most"):
        open_note(note + b"".join(junk), [ALICE.verifier()])


@pytest.mark.parametrize("text", ["no newline", "bell\x07\n", "", "tab\there\n", "\ud800\n"])
def test_sign_note_refuses_text_the_spec_forbids(text: str) -> None:
    """Texts without a final newline, with control characters or surrogates are refused."""
    with pytest.raises(NoteError, match="expected"):
        sign_note(text, [ALICE])


def test_sign_note_needs_distinct_signers() -> None:
    """sign_note refuses no signers and the same key twice."""
    with pytest.raises(NoteError, match="at least one"):
        sign_note("x\n", [])
    with pytest.raises(NoteError, match="distinct"):
        sign_note("x\n", [ALICE, Signer.parse(ALICE.to_skey())])


@pytest.mark.parametrize("name", ["example.com/log", "ünïcode.example/ok", "a"])
def test_valid_key_names(name: str) -> None:
    """Names without spaces, '+' or control characters are accepted."""
    assert is_valid_key_name(name)
    assert Signer.generate(name).name == name


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\x01b", "a\ud800"]
)
def test_invalid_key_names(name: str) -> None:
    """Empty names, spaces of any kind, '+', control characters and surrogates are refused."""
    assert not is_valid_key_name(name)
    with pytest.raises(NoteError, match="key name"):
        Signer.generate(name)


@pytest.mark.parametrize(
    "vkey",
    [
        SPEC_VKEY.replace("530d903a", "530d903b"),  # wrong id
        SPEC_VKEY.replace("530d903a", "530D903A"),  # uppercase hex
        SPEC_VKEY.replace("530d903a", "530d903"),  # short id
        SPEC_VKEY.replace("+Aeky", "+Akyk"),  # another signature type
        SPEC_VKEY[:-4],  # truncated key
        SPEC_VKEY.rsplit("+", 1)[0],  # missing part
        SPEC_VKEY.replace("example.com/foo", ""),  # empty name
        SPEC_VKEY.replace("example.com/foo", "ex ample"),  # space in name
        SPEC_VKEY.replace("3U2k", "3U2l"),  # non-canonical base64
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str) -> None:
    """Verifier.parse refuses every malformed form of the spec's verifier key."""
    with pytest.raises(NoteError, match="expected"):
        Verifier.parse(vkey)


@pytest.mark.parametrize(
    "skey",
    [
        GO_SKEY.replace("c74f20a3", "c74f20a4"),  # id of another key
        GO_SKEY.removeprefix("PRIVATE+KEY+"),  # a verifier-shaped string
        GO_SKEY[:-4],  # truncated seed
        GO_SKEY.replace("PeterNeumann", "Peter Neumann"),  # space in name
        GO_VKEY,  # a public key is not a signer key
    ],
)
def test_malformed_signer_keys_are_rejected(skey: str) -> None:
    """Signer.parse refuses malformed signer keys and verifier keys."""
    with pytest.raises(NoteError, match="expected"):
        Signer.parse(skey)


def test_verifier_refuses_a_key_of_the_wrong_length() -> None:
    """A verifier needs a 32-byte Ed25519 public key."""
    with pytest.raises(NoteError, match="32-byte"):
        Verifier("example.com/foo", b"\x01" * 31)


@pytest.mark.parametrize(
    ("text", "raw"), [("", b""), ("AA==", b"\x00"), ("AAA=", b"\x00\x00"), ("+/8=", b"\xfb\xff")]
)
def test_decode_base64_accepts_canonical_standard_base64(text: str, raw: bytes) -> None:
    """decode_base64 decodes padded, canonical standard base64."""
    assert decode_base64(text) == raw


@pytest.mark.parametrize("text", ["AA", "AB==", "-_8=", "AA==\n", " AA==", "AA=A", "é"])
def test_decode_base64_rejects_anything_else(text: str) -> None:
    """decode_base64 refuses missing padding, stray bits, URL-safe letters and whitespace."""
    with pytest.raises(ValueError, match="base64"):
        decode_base64(text)
