"""The echo book: fingerprints remembered per order, echoes recorded as leaves and alerted."""

from __future__ import annotations

import base64

from structlog.testing import capture_logs

from proxy.decoys.echo import find_echoes, fingerprint
from tests.decoys.conftest import Rig

ORDER = "OLO-ORD-2026-000555"
PHONE, NAME = "+39 347 555 0199", "Mario Rossi"


async def test_a_removed_value_echoed_by_the_incumbent_becomes_evidence(rig: Rig) -> None:
    """Sent: fingerprints remembered (no value stored). Back: the echo is found, one echo leaf
    per path with the fingerprint, a metric, one alert; the value is nowhere in the log."""
    assert await rig.service.echoes.remember(ORDER, [PHONE, NAME]) > 0
    stored = await rig.store.decoys.fingerprints(rig.service.order_key(ORDER))
    assert stored and all(len(mark) == 32 for mark in stored)
    notification = {"event": {"productOrder": {"note": [{"text": "richiamare 3475550199"}]}}}
    knowledge = await rig.service.echoes.knowledge(ORDER, originals=[NAME])
    found = find_echoes(notification, knowledge)
    assert [e.path for e in found] == ["$.event.productOrder.note[0].text"]
    with capture_logs() as logs:
        indexes = await rig.service.echoes.report("req-9", "tmf-listener", found)
    (leaf,) = await rig.leaves("echo")
    assert (leaf["request_id"], leaf["route"], leaf["path"]) == (
        "req-9",
        "tmf-listener",
        "$.event.productOrder.note[0].text",
    )
    expected = fingerprint(rig.log.commit, "+393475550199")
    assert base64.b64decode(leaf["commitment"]) == expected and leaf["detector"] == "phone"
    assert len(indexes) == 1
    raw = await rig.raw()
    assert b"3475550199" not in raw and b"Rossi" not in raw
    assert [e["event"] for e in logs] == ["echo_detected"]
    count = rig.metrics.registry.get_sample_value("civetta_echoes_total", {"route": "tmf-listener"})
    assert count == 1


async def test_another_order_knows_nothing(rig: Rig) -> None:
    """Fingerprints are per order: the same value in another order's notification is no echo
    of it (that order never had it removed)."""
    await rig.service.echoes.remember(ORDER, [PHONE])
    knowledge = await rig.service.echoes.knowledge("OLO-ORD-OTHER")
    assert find_echoes({"t": PHONE}, knowledge) == ()
    with capture_logs() as logs:
        assert await rig.service.echoes.report("req-1", "r", ()) == []
    assert logs == [] and await rig.leaves("echo") == []
