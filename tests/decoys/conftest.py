"""Fixtures for the decoy tests: small pools, a settable clock, a service over a real audit log.

The pools are tiny on purpose (ten numbers), so that exhaustion and reuse are easy to reach.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from proxy.audit.log import AuditLog
from proxy.decoys.callers import parse_expected
from proxy.decoys.service import DecoyService
from proxy.decoys.settings import DecoySettings, PhoneRange
from proxy.keys import KeyMaterial
from proxy.metrics import Metrics
from proxy.storage import Store, open_store
from tests.actions.support import PARTNER
from tests.storage.logcheck import Clock, keys_in, open_log, parse

FIRST, LAST = "+390299990000", "+390299990009"
DOMAIN = "alias.olo.example.it"
INCUMBENT_NOC = "+390612345678"
EXPECTED = (INCUMBENT_NOC, "+3906999*", "@wholesale.incumbent.example.it")


def decoy_settings(**overrides: Any) -> DecoySettings:
    """Ten phone decoys, an alias domain, three expected callers, 30 days of quarantine."""
    expected = tuple(e for e in (parse_expected(t) for t in EXPECTED) if e is not None)
    values: dict[str, Any] = {
        "phone_ranges": (PhoneRange(int(FIRST[1:]), int(LAST[1:])),),
        "email_domain": DOMAIN,
        "quarantine_days": 30,
        "active_window_days": 10,
        "expected_callers": expected,
    }
    values.update(overrides)
    return DecoySettings(**values)


@dataclass
class Rig:
    """A decoy service on a store and a started audit log, with the pieces tests look at."""

    store: Store
    log: AuditLog
    service: DecoyService
    clock: Clock
    keys: KeyMaterial
    metrics: Metrics = field(default_factory=Metrics.create)

    async def leaves(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every leaf of the log (of one type), parsed."""
        head = await self.store.head()
        found = [parse(leaf.data) for leaf in await self.store.leaves(0, head.size)]
        return [leaf for leaf in found if kind is None or leaf["type"] == kind]

    async def raw(self) -> bytes:
        """Every leaf's bytes, joined: what a search for planted values looks at."""
        head = await self.store.head()
        return b"\n".join(leaf.data for leaf in await self.store.leaves(0, head.size))


async def make_rig(
    url: str, tmp_path: Path, settings: DecoySettings | None = None, **options: Any
) -> Rig:
    """Open a store at ``url``, start an audit log and a service over it."""
    store = open_store(url)
    await store.open()
    clock = Clock()
    keys = keys_in(tmp_path / "keys")
    log = await open_log(url, keys, store=store, clock=clock)
    metrics = Metrics.create()
    service = DecoyService(
        store,
        log,
        settings or decoy_settings(),
        partners=lambda pid: PARTNER if pid == PARTNER.id else None,
        metrics=metrics,
        clock=clock,
        note_key=b"n" * 32,
        **options,
    )
    return Rig(store, log, service, clock, keys, metrics)


async def close_rig(rig: Rig) -> None:
    """Stop everything the rig started."""
    await rig.service.close()
    await rig.log.stop()
    await rig.store.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig on the memory store."""
    made = await make_rig("memory://", tmp_path)
    yield made
    await close_rig(made)


@pytest.fixture
async def any_rig(store_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig on each store: memory, SQLite, PostgreSQL."""
    made = await make_rig(store_url, tmp_path)
    yield made
    await close_rig(made)
