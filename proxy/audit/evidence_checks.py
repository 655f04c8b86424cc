"""Small checks of an evidence bundle: file names, openings, the manifest's signature."""

from __future__ import annotations

import base64
import binascii
import hashlib

from proxy.audit import evidence_text as names
from proxy.audit.checkpoint import Checkpoint
from proxy.audit.note import NoteError, open_note
from proxy.audit.records import commit_bytes
from proxy.audit.verify_keys import KeySchedule
from proxy.audit.verify_report import Failure, FailureClass


def index_of(rel: str) -> int | None:
    """The entry a file belongs to (``leaves/12.json`` -> 12), if any."""
    head, _, name = rel.partition("/")
    stem = name.split(".", 1)[0]
    return int(stem) if head != names.HELD and stem.isdigit() else None


def opens(leaf: object, salt: bytes | None, body: bytes | None) -> bool:
    """Say whether ``(salt, body)`` opens the leaf's body commitment (and has its length)."""
    record = leaf.get("body") if isinstance(leaf, dict) else None
    if salt is None or body is None or not isinstance(record, dict):
        return False
    try:
        commitment = base64.b64decode(str(record.get("commitment")), validate=True)
    except binascii.Error:
        return False
    return record.get("length") == len(body) and commit_bytes(salt, body) == commitment


def manifest_signature(
    manifest: bytes, signature: bytes, top: Checkpoint, schedule: KeySchedule
) -> Failure | None:
    """The manifest's SHA-256 must be signed by a key in force at the tree size."""
    want = names.manifest_sig_text(top.origin, top.size, hashlib.sha256(manifest).hexdigest())
    in_force = [s.verifier for s in schedule.spans if s.covers(top.size)]
    try:
        if open_note(signature, in_force).text != want:
            raise NoteError("expected it to name this manifest, got another text")
    except NoteError as exc:
        message = f"expected manifest.sig signed by the log: {exc}"
        return Failure(FailureClass.SIGNATURE, "manifest_signature", message)
    return None
