"""Helpers for audit-log tests: a settable clock, opening logs, and an independent re-check.

``check_whole_log`` is a small verifier of its own: it re-hashes every stored leaf from its
bytes and holds every stored checkpoint against the root of that prefix, trusting no stored
hash, node or head, so tests do not depend on the code they check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxy.audit.checkpoint import open_checkpoint
from proxy.audit.log import AuditLog, AuditSettings
from proxy.audit.merkle import CompactRange, leaf_hash
from proxy.audit.note import Verifier
from proxy.keys import KeyMaterial, load_keys
from proxy.storage import Store, open_store

ORIGIN = "civetta.example/olo-log"


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 9, 30, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def keys_in(directory: Path) -> KeyMaterial:
    """Key files in ``directory``, generated on first use (every replica shares them)."""
    return load_keys(directory, generate=True)


def settings(replica: str = "r1", **overrides: Any) -> AuditSettings:
    """Test settings: the example origin, a short linger."""
    return AuditSettings(origin=ORIGIN, replica=replica, **overrides)


async def open_log(
    url: str,
    keys: KeyMaterial,
    replica: str = "r1",
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    **overrides: Any,
) -> AuditLog:
    """Open a store (or reuse ``store``) and start an AuditLog on it."""
    if store is None:
        store = open_store(url)
        await store.open()
    log = AuditLog(store, keys, settings(replica, **overrides), clock=clock)
    try:
        await log.start()
    except BaseException:
        await store.close()
        raise
    return log


def parse(data: bytes) -> dict[str, Any]:
    """A leaf's JSON."""
    leaf: dict[str, Any] = json.loads(data)
    return leaf


async def check_whole_log(store: Store, verifier: Verifier, origin: str = ORIGIN) -> list[bytes]:
    """Re-hash every leaf; every checkpoint must verify and match its prefix; return the data."""
    head = await store.head()
    leaves = await store.leaves(0, head.size)
    assert [leaf.index for leaf in leaves] == list(range(head.size)), "gaps in the leaves"
    wanted = {c.size: c.note for c in await store.checkpoints()}
    cr = CompactRange()
    seen = 0
    for leaf in leaves:
        cr.append(leaf_hash(leaf.data))
        note = wanted.get(cr.size)
        if note is not None:
            checkpoint = open_checkpoint(note, [verifier], origin)
            assert checkpoint.root_hash == cr.root(), f"checkpoint {cr.size} does not match"
            seen += 1
    assert seen == len(wanted), "a checkpoint beyond the stored leaves"
    assert cr.root() == head.root
    return [leaf.data for leaf in leaves]
