"""Signing-key rotation: a ``key`` leaf naming the new key, published under both keys.

The rotation is one batch holding one ``key`` leaf (new key, ``previous_key_id`` = the old
one), whose checkpoint is signed by the old key (which authorises its successor, see
:mod:`proxy.audit.verify_keys`) and by the new one (so that verifiers that know either accept
it). After it the old key may no longer sign alone.

:class:`~proxy.audit.log.AuditLog` signs with one key, loaded at start, so a rotation is done
with every replica stopped: :func:`rotate_key_files` writes the new key next to the old one
first (``signing.key.next``), appends the rotation, then swaps the files; run again after a
crash, it resumes where it stopped instead of making a second key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from proxy.audit import leaves
from proxy.audit.batch import Batch, BatchEntry, BatchResult, HeadMoved
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.note import NoteError, Signer, open_note
from proxy.audit.records import Stamp
from proxy.keys import SIGNING_KEY, generate_signing_key, load_signing_key
from proxy.storage.base import Store

NEXT_SUFFIX = ".next"
#: The replica name stamped on leaves that the command line appends.
CLI_REPLICA = "cli"


class RotationError(Exception):
    """A rotation cannot be done now (another writer, a half-finished state); says why."""


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: the key ids, the key leaf's index and the publishing checkpoint."""

    old_key_id: int
    new_key_id: int
    index: int
    checkpoint: bytes
    resumed: bool
    retired_file: Path


async def append_rotation(
    store: Store, origin: str, old: Signer, new: Signer, now: datetime | None = None
) -> BatchResult:
    """Append the ``key`` leaf for ``new`` in a batch signed by ``old`` and ``new``.

    The batch applies only to the head read here: if another writer appends in between, it
    raises RotationError (stop every replica first) instead of rotating under a running proxy.
    """
    head = await store.head()
    stamp = Stamp(now or datetime.now(UTC), CLI_REPLICA)
    verifier = new.verifier()
    data = leaves.key(stamp, new.name, verifier.public_key, new.key_id, old.key_id)

    def sign(size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(origin, size, root), [old, new])

    batch = Batch((BatchEntry(data),), sign, CLI_REPLICA, expect_size=head.size)
    try:
        return await store.append_batch(batch)
    except HeadMoved as exc:
        raise RotationError(
            "expected no other writer during a rotation, got an append: stop every replica"
        ) from exc


async def _published(store: Store, new: Signer) -> tuple[int, bytes] | None:
    """The rotation already in the log (a resumed run): latest checkpoint signed by ``new``."""
    latest = await store.latest_checkpoint()
    if latest is None:
        return None
    try:
        open_note(latest.note, [new.verifier()])
    except NoteError:
        return None
    return latest.size - 1, latest.note


async def rotate_key_files(
    store: Store, keys_dir: Path, origin: str, now: datetime | None = None
) -> Rotation:
    """Rotate the signing key in ``keys_dir``: new key file, rotation leaf, swap the files.

    Steps: 1. create (or, resuming, reuse) ``signing.key.next``; 2. append the rotation unless
    the latest checkpoint already carries the new key's signature; 3. move the old key to
    ``signing.key.retired-<key id>`` and the new one to ``signing.key``.
    """
    current, pending = keys_dir / SIGNING_KEY, keys_dir / (SIGNING_KEY + NEXT_SUFFIX)
    if not current.exists() and pending.exists():
        raise RotationError(
            f"expected {SIGNING_KEY}, got only {pending.name}: a rotation stopped between its "
            f"two renames; rename {pending.name} to {SIGNING_KEY} to finish it"
        )
    old = Signer(origin, load_signing_key(current))
    resumed = pending.exists()
    new = Signer(origin, load_signing_key(pending) if resumed else generate_signing_key(pending))
    if new.key_id == old.key_id:
        raise RotationError("expected a new key different from the current one, got the same")
    done = await _published(store, new) if resumed else None
    if done is None:
        result = await append_rotation(store, origin, old, new, now)
        done = (result.first_index, result.checkpoint)
    retired = keys_dir / f"{SIGNING_KEY}.retired-{old.key_id:08x}"
    os.replace(current, retired)
    os.replace(pending, current)
    fd = os.open(keys_dir, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames are durable before the command says so
    finally:
        os.close(fd)
    return Rotation(old.key_id, new.key_id, done[0], done[1], resumed, retired)
