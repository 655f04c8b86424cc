"""Contact intake: attribution, classification, leaves without callers, notes, alerts."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from structlog.testing import capture_logs

from proxy.decoys.contacts import CALLER_PATH, ContactReport, NotADecoy
from proxy.errors import BodyError
from tests.actions.support import PARTNER
from tests.decoys.conftest import FIRST, INCUMBENT_NOC, Rig, close_rig, decoy_settings, make_rig

ORDER = "OLO-ORD-2026-000777"
#: Planted: a retail agent's mobile, and a partner's note that names the customer.
AGENT = "+39 347 111 2233"
NOTE = "Il tecnico TIM ha detto a Mario Rossi che solo una linea TIM sarebbe riparata"


@dataclass
class Receiver:
    """A loopback alert receiver: records every POST; answers ``status``; may hold replies."""

    status: int = 204
    posts: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append(await request.json())
        if self.release is not None:
            await self.release.wait()
        return web.Response(status=self.status)


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver and its URL."""
    found = Receiver()
    app = web.Application()
    app.router.add_post("/alerts", found.handle)
    server = await aiohttp_server(app)
    yield found, str(server.make_url("/alerts"))
    if found.release is not None:
        found.release.set()


async def hooked_rig(tmp_path: Path, url: str, timeout_s: float = 5.0) -> Rig:
    """A rig whose alerts go to ``url``."""
    settings = decoy_settings(alert_webhook=url, alert_timeout_s=timeout_s)
    return await make_rig("memory://", tmp_path, settings)


def report(decoy: str, caller: str | None, rig: Rig, **extra: Any) -> ContactReport:
    """A call on ``decoy`` now."""
    values: dict[str, Any] = {"channel": "call", "source": "switch", "note": None}
    values.update(extra)
    return ContactReport(decoy, caller, rig.clock(), **values)


async def test_a_suspicious_call_is_recorded_and_alerted(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """A stranger calling the decoy: contact leaf (caller committed, never in clear), row with
    masked caller and leaf index, metric, log event and one webhook POST without the caller."""
    got, url = receiver
    rig = await hooked_rig(tmp_path, url)
    try:
        decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
        assert decoys.phone is not None
        rig.clock.now += timedelta(days=1)
        with capture_logs() as logs:
            done = await rig.service.intake.record(
                report("02 9999 " + decoys.phone[-4:], AGENT, rig)
            )
        await rig.service.alerts.drain()
        assert (done.classification, done.reason) == ("suspicious", "unknown_caller")
        assert done.decoy == decoys.phone and done.partner == PARTNER.id
        (leaf,) = await rig.leaves("contact")
        assert leaf["contact_id"] == done.id and leaf["decoy_id"] == decoys.ids["phone"]
        assert leaf["order_ref"] == base64.b64encode(rig.service.order_key(ORDER)).decode()
        expected = rig.log.commit(CALLER_PATH, "number:+393471112233")
        assert base64.b64decode(leaf["caller"]) == expected
        assert leaf["caller_match"] is None and leaf["source"] == "switch"
        (row,) = await rig.store.decoys.contacts(decoy=decoys.phone)
        assert row.leaf_index == done.leaf_index and row.caller_masked == "+39********33"
        for place in (await rig.raw(), repr(row).encode(), repr(got.posts).encode()):
            assert b"3471112233" not in place and b"347 111" not in place
        assert [p["event"] for p in got.posts] == ["decoy_contact_suspicious"]
        assert got.posts[0]["contact_id"] == done.id and got.posts[0]["decoy"] == decoys.phone
        assert [entry["event"] for entry in logs] == ["decoy_contact_suspicious"]
        count = rig.metrics.registry.get_sample_value(
            "civetta_decoy_contacts_total", {"classification": "suspicious", "channel": "call"}
        )
        assert count == 1
    finally:
        await close_rig(rig)


async def test_an_expected_call_raises_no_alert(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """The incumbent's operational number inside the active window: expected, no webhook."""
    got, url = receiver
    rig = await hooked_rig(tmp_path, url)
    try:
        decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
        assert decoys.phone is not None
        done = await rig.service.intake.record(report(decoys.phone, INCUMBENT_NOC, rig))
        await rig.service.alerts.drain()
        assert (done.classification, done.reason) == ("expected", "operational_caller_in_window")
        (leaf,) = await rig.leaves("contact")
        assert leaf["caller_match"] == INCUMBENT_NOC
        assert got.posts == []
    finally:
        await close_rig(rig)


async def test_a_late_report_is_attributed_to_the_order_that_held_the_decoy(rig: Rig) -> None:
    """The decoy went to another order after quarantine; a partner reports a call from before:
    it is pinned on the first order, a call now on the second; a never-issued decoy pins none."""
    first = await rig.service.assign("ORD-A", PARTNER.id, {"phone"})
    called_at = rig.clock()
    others = [await rig.service.assign(f"ORD-{i}", PARTNER.id, {"phone"}) for i in range(9)]
    await rig.service.close_order("ORD-A")
    rig.clock.now += timedelta(days=31)
    second = await rig.service.assign("ORD-B", PARTNER.id, {"phone"})
    assert second.phone == first.phone and first.phone is not None
    old = await rig.service.intake.record(
        ContactReport(first.phone, AGENT, called_at + timedelta(hours=1), "call", "report")
    )
    new = await rig.service.intake.record(report(first.phone, AGENT, rig))
    assert (old.decoy_id, new.decoy_id) == (first.ids["phone"], second.ids["phone"])
    assert old.decoy_id != new.decoy_id
    assert others and all(o.phone != first.phone for o in others)


async def test_a_decoy_never_issued_is_unattributed_and_not_alerted(rig: Rig) -> None:
    """Someone dialling through the range: recorded, pinned on no order, no alert."""
    with capture_logs() as logs:
        done = await rig.service.intake.record(report(FIRST, AGENT, rig))
    assert (done.classification, done.decoy_id, done.partner) == ("unattributed", None, None)
    (leaf,) = await rig.leaves("contact")
    assert leaf["order_ref"] is None and leaf["partner"] is None
    assert logs == []


async def test_a_partner_note_is_stored_encrypted_and_committed(rig: Rig) -> None:
    """The note never appears in clear: the leaf holds its commitment, the row its ciphertext,
    which the service opens again for evidence."""
    decoys = await rig.service.assign(ORDER, PARTNER.id, {"email"})
    assert decoys.email is not None
    done = await rig.service.intake.record(
        report(decoys.email, "offerte@retail.example.it", rig, channel="mail", note=NOTE)
    )
    (leaf,) = await rig.leaves("contact")
    assert base64.b64decode(leaf["note"]) == rig.log.commit("$note", NOTE)
    (row,) = await rig.store.decoys.contacts(order_key=rig.service.order_key(ORDER))
    assert row.id == done.id and row.note is not None
    for place in (await rig.raw(), row.note, repr(row).encode()):
        assert b"Rossi" not in place and b"offerte" not in place
    assert rig.service.intake.open_note(row) == NOTE


@pytest.mark.parametrize(
    ("decoy", "caller", "channel", "error", "message"),
    [
        ("+393471234567", AGENT, "call", NotADecoy, "expected a decoy of the configured pools"),
        (FIRST, AGENT, "mail", BodyError, "expected a phone decoy on a matching channel"),
        (FIRST, "someone@example.org", "call", BodyError, "expected a caller a call can have"),
        (FIRST, "TIM", "call", BodyError, "expected a caller a call can have"),
        (FIRST, AGENT, "fax", BodyError, "expected channel one of call, sms, mail"),
    ],
)
async def test_bad_reports_are_refused_without_values(
    rig: Rig, decoy: str, caller: str, channel: str, error: type[Exception], message: str
) -> None:
    """Each mistake is named by what was expected; the message carries no number or address."""
    with pytest.raises(error, match=message) as caught:
        await rig.service.intake.record(report(decoy, caller, rig, channel=channel))
    assert "347" not in str(caught.value) and "@" not in str(caught.value)
    assert await rig.leaves("contact") == []


async def test_times_must_be_aware_and_not_in_the_future(rig: Rig) -> None:
    """A naive time is ambiguous; a time ahead of the clock (beyond skew) is a mistake."""
    with pytest.raises(BodyError, match="with a UTC offset"):
        await rig.service.intake.record(
            ContactReport(FIRST, AGENT, rig.clock().replace(tzinfo=None), "call")
        )
    with pytest.raises(BodyError, match="in the past"):
        await rig.service.intake.record(
            ContactReport(FIRST, AGENT, rig.clock() + timedelta(hours=1), "call")
        )


async def test_a_failing_webhook_never_blocks_or_fails_intake(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """Intake returns while the receiver still holds the request; a receiver that then fails
    (500) is counted as a failed delivery, and the contact stands."""
    got, url = receiver
    got.status, got.release = 500, asyncio.Event()
    rig = await hooked_rig(tmp_path, url)
    try:
        done = await rig.service.intake.record(report(FIRST, None, rig, channel="sms"))
        assert done.classification == "unattributed"
        decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
        assert decoys.phone is not None
        done = await rig.service.intake.record(report(decoys.phone, None, rig, channel="sms"))
        assert done.reason == "withheld_caller"
        await asyncio.sleep(0.05)
        assert len(got.posts) == 1  # delivered, reply still held: intake did not wait
        got.release.set()
        await rig.service.alerts.drain()
        failed = rig.metrics.registry.get_sample_value(
            "civetta_decoy_alerts_total", {"result": "failed"}
        )
        assert failed == 1
        assert len(await rig.store.decoys.contacts()) == 2
    finally:
        await close_rig(rig)


async def test_an_unreachable_webhook_times_out_quietly(tmp_path: Path) -> None:
    """No receiver at all: the delivery fails within its timeout, logged and counted."""
    rig = await hooked_rig(tmp_path, "http://127.0.0.1:9/alerts", timeout_s=0.5)
    try:
        decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
        assert decoys.phone is not None
        with capture_logs() as logs:
            await rig.service.intake.record(report(decoys.phone, AGENT, rig))
            await rig.service.alerts.drain()
        assert [e["event"] for e in logs] == ["decoy_contact_suspicious", "decoy_alert_failed"]
    finally:
        await close_rig(rig)
