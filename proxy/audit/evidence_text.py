"""The evidence directory's names and its ``VERIFY.md``: how to check it, with civetta or by hand."""

from __future__ import annotations

import re

FORMAT = "civetta/evidence@v1"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
MANIFEST_SIG_HEADER = "civetta/evidence-manifest@v1"
VERIFY_MD = "VERIFY.md"
TRUST = "trust.txt"
CHECKPOINT = "checkpoint.txt"
LEAVES, PROOFS, KEYS, HELD, OPENINGS = "leaves", "proofs", "keys", "held", "openings"
_RESERVED = frozenset({MANIFEST, MANIFEST_SIG, VERIFY_MD, TRUST, CHECKPOINT})
_EXTRA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def extra_ok(rel: str) -> bool:
    """Whether a caller's extra file may be called ``rel``: a plain top-level name that the
    bundle does not use for its own files or directories."""
    own = _RESERVED | {LEAVES, PROOFS, KEYS, HELD, OPENINGS}
    return _EXTRA_NAME.fullmatch(rel) is not None and rel not in own


def leaf_name(index: int) -> str:
    """``leaves/<index>.json``."""
    return f"{LEAVES}/{index}.json"


def proof_name(index: int) -> str:
    """``proofs/<index>.tlog-proof``."""
    return f"{PROOFS}/{index}.tlog-proof"


def key_names(index: int) -> tuple[str, str, str]:
    """The key leaf, its inclusion proof and its consistency proof to the checkpoint."""
    return f"{KEYS}/{index}.json", f"{KEYS}/{index}.tlog-proof", f"{KEYS}/{index}.tlog-consistency"


def held_names(size: int) -> tuple[str, str]:
    """The held checkpoint's copy and the consistency proof from it."""
    return f"{HELD}/checkpoint.txt", f"{HELD}/{size}.tlog-consistency"


def opening_names(index: int) -> tuple[str, str]:
    """The salt and the exact forwarded bytes of the intent at ``index``."""
    return f"{OPENINGS}/{index}.salt", f"{OPENINGS}/{index}.body"


def manifest_sig_text(origin: str, size: int, digest: str) -> str:
    """The text the log key signs for a manifest (a C2SP signed note)."""
    return f"{MANIFEST_SIG_HEADER}\n{origin}\n{size}\n{digest}\n"


def verify_md(origin: str, size: int, entries: int, openings: int, held: int | None) -> str:
    """The VERIFY.md of one bundle."""
    held_line = (
        f"- `held/`: a consistency proof from the checkpoint of {held} entries you gave us.\n"
        if held is not None
        else ""
    )
    open_line = (
        f"- `openings/`: for {openings} intent(s), the exact bytes forwarded and their salt. "
        "**These are personal data**: keep them as such.\n"
        if openings
        else ""
    )
    return f"""# Evidence from the civetta audit log `{origin}`

{entries} log entries, each proven to be in the log's tree of {size} entries, whose signed
checkpoint is `checkpoint.txt`. Nothing here needs a database or a network connection.

## Contents

- `leaves/<i>.json`: entry `i` of the log, byte for byte (canonical JSON, RFC 8785).
- `proofs/<i>.tlog-proof`: its inclusion proof (C2SP tlog-proof), ending in `checkpoint.txt`.
- `checkpoint.txt`: the signed checkpoint (C2SP tlog-checkpoint, Ed25519 signed note).
- `keys/`: entry 0 (`log_init`) and every `key` entry, each proven in the checkpoint that
  published it (signed by the key before it) and that checkpoint proven consistent with
  `checkpoint.txt`: the chain from the first key to the key that signed `checkpoint.txt`.
- `trust.txt`: the log's origin and first key. **Compare it with the copy you were given out
  of band**; use yours, not this one.
{held_line}{open_line}- `manifest.json`: the SHA-256 of every other file; `manifest.sig`: that manifest's
  SHA-256, signed by the log's key.

## With civetta

    civetta audit verify-bundle THIS_DIRECTORY --trust YOUR_TRUST_FILE [--held YOUR_CHECKPOINT]

Exit code 0: every check passed. 10: a signature (or a key) is wrong; 11: a file, entry or
proof does not match; 12: the log is not consistent with your checkpoint; 13: an entry is not
canonical JSON; 2: the directory or an argument is unusable. A JSON report says which file.

## By hand

1. Files: `jq -r '.files|to_entries[]|"\\(.value)  \\(.key)"' manifest.json | sha256sum -c`.
2. The manifest's signature: `manifest.sig` is a signed note whose text is
   `{MANIFEST_SIG_HEADER}`, the origin, the tree size and `sha256sum manifest.json`.
3. Signatures: signed notes (https://c2sp.org/signed-note). The key id is the first 4 bytes of
   SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key); the signature line is
   `— <key name> base64(key id || Ed25519 signature of the note text)`. `trust.txt` holds the
   key as `name+hexid+base64(0x01 || public key)`, the format of Go's `golang.org/x/mod/sumdb/note`,
   whose `note.Open` checks these notes.
4. Entries (RFC 6962 §2.1): leaf hash = SHA-256(0x00 || the file's bytes, unchanged);
   interior node = SHA-256(0x01 || left || right). Walk the proof's hashes with the algorithm
   of RFC 9162 §2.1.3.2 from the leaf hash, index `i` and tree size {size}: the result must be
   the root hash in `checkpoint.txt` (third line, base64).
5. Keys: apply the same to `keys/<i>.json` against the checkpoint inside `keys/<i>.tlog-proof`
   (it must carry the previous key's signature), then check `keys/<i>.tlog-consistency`
   (RFC 9162 §2.1.4.2) from that checkpoint to `checkpoint.txt`. A `key` entry names the new
   key (`key_name`, base64 `public_key`, `key_id`) and the `previous_key_id` it replaces.
6. Openings: `cat openings/<i>.salt openings/<i>.body | sha256sum` must equal the base64-decoded
   `body.commitment` of `leaves/<i>.json`, and the body's length its `body.length`.

What the log never holds: the values a rule removed (only keyed commitments of them), and the
forwarded bytes (only their length and a salted commitment; the bytes stay encrypted elsewhere
and are destroyed with their retention period's key).
"""
