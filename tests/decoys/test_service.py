"""DecoyService.assign: one decoy per order and kind, announced once, never shared, quarantined."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from pathlib import Path

import pytest

from proxy.actions.alias import decoy_id
from proxy.audit.log import AuditLog
from proxy.audit.records import Stamp
from proxy.audit.writer import Receipt
from proxy.decoys.pool import PoolExhausted
from proxy.decoys.service import ORDER_PATH, DecoyService
from proxy.decoys.settings import PhoneRange
from proxy.errors import AuditUnavailable
from proxy.state import engine_keys
from tests.actions.support import PARTNER
from tests.decoys.conftest import DOMAIN, Rig, close_rig, decoy_settings, make_rig

ORDER = "OLO-ORD-2026-000101"


async def test_an_order_gets_one_decoy_per_kind_for_every_message(any_rig: Rig) -> None:
    """The first message of an order gets a phone and an e-mail decoy; later messages of the
    same order get the same ones; another order gets others."""
    service = any_rig.service
    first = await service.assign(ORDER, PARTNER.id, {"phone", "email"})
    assert first.phone is not None and first.phone in service.settings.phone_ranges[0]
    assert first.email is not None and first.email.endswith("@" + DOMAIN)
    again = await service.assign(ORDER, PARTNER.id, {"email", "phone"})
    assert again == first
    other = await service.assign("OLO-ORD-2026-000102", PARTNER.id, {"phone", "email"})
    assert other.phone != first.phone and other.email != first.email
    assert dict(first.as_mapping()) == {"phone": first.phone, "email": first.email}


async def test_alias_leaf_is_appended_once_per_assignment(any_rig: Rig) -> None:
    """Each new assignment is announced by one alias leaf: decoy in clear, order keyed,
    partner by id, and the decoy id the alias action computes from the engine's keys."""
    service = any_rig.service
    got = await service.assign(ORDER, PARTNER.id, {"phone"})
    await service.assign(ORDER, PARTNER.id, {"phone"})
    (leaf,) = await any_rig.leaves("alias")
    assert leaf["decoy"] == got.phone and leaf["decoy_kind"] == "phone"
    assert leaf["partner"] == PARTNER.id
    order_key = any_rig.log.commit(ORDER_PATH, ORDER)
    assert base64.b64decode(leaf["order_ref"]) == order_key
    assert got.phone is not None
    expected_id = decoy_id(engine_keys(any_rig.keys).commit, ORDER, got.phone)
    assert leaf["decoy_id"] == got.ids["phone"] == expected_id
    row = await any_rig.store.decoys.for_order(order_key, "phone")
    assert row is not None and row.alias_index is not None
    assert ORDER.encode() not in await any_rig.raw()
    issued = any_rig.metrics.registry.get_sample_value(
        "civetta_decoys_issued_total", {"kind": "phone"}
    )
    assert issued == 1


async def test_two_hundred_orders_in_parallel_never_share_a_decoy(tmp_path: Path) -> None:
    """200 orders assigned at once from a pool of 250: all distinct, and each order's decoy
    is the same when asked again in parallel."""
    pool = PhoneRange(390299990000, 390299990249)
    rig = await make_rig("memory://", tmp_path, decoy_settings(phone_ranges=(pool,)))
    try:
        orders = [f"OLO-ORD-{i:05d}" for i in range(200)]
        first = await asyncio.gather(
            *(rig.service.assign(o, PARTNER.id, {"phone"}) for o in orders)
        )
        assert len({d.phone for d in first}) == 200
        again = await asyncio.gather(
            *(rig.service.assign(o, PARTNER.id, {"phone"}) for o in orders)
        )
        assert [d.phone for d in again] == [d.phone for d in first]
        assert len(await rig.leaves("alias")) == 200
    finally:
        await close_rig(rig)


async def test_exhausted_pool_is_refused_never_reused(rig: Rig) -> None:
    """Ten numbers, ten orders: the eleventh order is refused with a 503 that names no value,
    and no live decoy was handed out twice."""
    got = [await rig.service.assign(f"ORD-{i}", PARTNER.id, {"phone"}) for i in range(10)]
    assert len({d.phone for d in got}) == 10
    with pytest.raises(PoolExhausted) as caught:
        await rig.service.assign("ORD-10", PARTNER.id, {"phone"})
    assert caught.value.status == 503 and caught.value.code == "CIVETTA-DECOY-POOL"
    assert "+39" not in caught.value.message
    # The e-mail pool is independent and does not run out.
    mail = await rig.service.assign("ORD-10", PARTNER.id, {"email"})
    assert mail.email is not None


async def test_quarantine_holds_a_closed_order_decoy_then_releases_it(rig: Rig) -> None:
    """A closed order's decoy is not reused during the quarantine; after it, a full pool
    releases it on demand and the new order gets it, announced by a new alias leaf."""
    got = [await rig.service.assign(f"ORD-{i}", PARTNER.id, {"phone"}) for i in range(10)]
    assert await rig.service.close_order("ORD-3") == 1
    rig.clock.now += timedelta(days=29)
    with pytest.raises(PoolExhausted):
        await rig.service.assign("ORD-NEW", PARTNER.id, {"phone"})
    rig.clock.now += timedelta(days=2)
    new = await rig.service.assign("ORD-NEW", PARTNER.id, {"phone"})
    assert new.phone == got[3].phone
    assert len(await rig.leaves("alias")) == 11
    history = await rig.store.decoys.history(got[3].phone or "")
    assert [h.released_at is None for h in history] == [True, False]


async def test_release_expired_counts_only_decoys_past_quarantine(rig: Rig) -> None:
    """release_expired frees what closed more than the quarantine ago, and nothing else."""
    await rig.service.assign("ORD-A", PARTNER.id, {"phone", "email"})
    await rig.service.assign("ORD-B", PARTNER.id, {"phone"})
    await rig.service.close_order("ORD-A")
    assert await rig.service.release_expired() == 0
    rig.clock.now += timedelta(days=30)
    assert await rig.service.release_expired() == 2
    assert [r.order_key for r in await rig.store.decoys.live()] == [rig.service.order_key("ORD-B")]


async def test_a_failed_announcement_is_retried_by_the_next_message(rig: Rig) -> None:
    """If the alias leaf cannot be appended, assign fails (503) and the next message of the
    order announces the same decoy: no assignment is left without its leaf."""
    failing = DecoyService(rig.store, FailingAudit(rig.log), decoy_settings(), clock=rig.clock)
    with pytest.raises(AuditUnavailable):
        await failing.assign(ORDER, PARTNER.id, {"phone"})
    assert await rig.leaves("alias") == []
    retried = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
    (leaf,) = await rig.leaves("alias")
    assert leaf["decoy"] == retried.phone


async def test_a_new_partner_for_the_order_is_announced_again(rig: Rig) -> None:
    """The order moved to another installer: same decoy, routed to the new partner, and a
    second alias leaf says so."""
    first = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
    moved = await rig.service.assign(ORDER, "P-002", {"phone"})
    assert moved.phone == first.phone
    partners = [leaf["partner"] for leaf in await rig.leaves("alias")]
    assert partners == [PARTNER.id, "P-002"]


async def test_a_kind_without_a_pool_is_refused(tmp_path: Path) -> None:
    """A policy asking for e-mail decoys when only phone ranges are configured is refused."""
    rig = await make_rig("memory://", tmp_path, decoy_settings(email_domain=None))
    try:
        with pytest.raises(PoolExhausted, match="expected a configured email decoy pool"):
            await rig.service.assign(ORDER, PARTNER.id, {"email"})
    finally:
        await close_rig(rig)


class FailingAudit:
    """An audit sink whose appends fail, with the real log's stamps and commitments."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    def stamp(self) -> Stamp:
        """The real log's stamp."""
        return self._log.stamp()

    def commit(self, path: str, value: str | bytes) -> bytes:
        """The real log's commitment (so order keys agree)."""
        return self._log.commit(path, value)

    async def append(self, data: bytes) -> Receipt:
        """Fail like a log whose store is down."""
        raise AuditUnavailable("expected a running audit log, got one failing")
