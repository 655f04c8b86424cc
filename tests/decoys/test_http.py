"""The admin API: routing directory, live table export, contact intake (pytest-aiohttp)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.decoys.http import add_routes
from proxy.decoys.routing import COLUMNS
from tests.actions.support import PARTNER
from tests.decoys.conftest import FIRST, INCUMBENT_NOC, Rig, close_rig, make_rig

ORDER = "OLO-ORD-2026-000888"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def served(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> AsyncIterator[tuple[Rig, Client]]:
    """A rig and a client of an admin app with the decoy routes."""
    rig = await make_rig("memory://", tmp_path)
    app = web.Application()
    add_routes(app, rig.service)
    client = await aiohttp_client(app)
    yield rig, client
    await close_rig(rig)


async def test_the_directory_forwards_a_live_decoy_to_its_partner(
    served: tuple[Rig, Client],
) -> None:
    """GET /v1/decoys/{contact}: the partner's real phone for a phone decoy in any spelling,
    the partner's e-mail for an alias; quarantine still forwards."""
    rig, client = served
    decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone", "email"})
    assert decoys.phone is not None and decoys.email is not None
    response = await client.get(f"/v1/decoys/{decoys.phone[3:]}")
    assert response.status == 200
    body = await response.json()
    assert body["forward_to"] == PARTNER.phone and body["decoy"] == decoys.phone
    assert (body["partner"], body["state"], body["closed_at"]) == (PARTNER.id, "active", None)
    mail = await (await client.get(f"/v1/decoys/{decoys.email.upper()}")).json()
    assert mail["forward_to"] == PARTNER.email
    await rig.service.close_order(ORDER)
    closed = await (await client.get(f"/v1/decoys/{decoys.phone}")).json()
    assert closed["state"] == "quarantine" and closed["forward_to"] == PARTNER.phone


@pytest.mark.parametrize("contact", [FIRST, "+393471234567", "nobody@example.org"])
async def test_anything_but_a_live_decoy_is_404(served: tuple[Rig, Client], contact: str) -> None:
    """A pool number never issued, a foreign number, a foreign address: 404, no echo of it."""
    _, client = served
    response = await client.get(f"/v1/decoys/{contact}")
    assert response.status == 404
    body = await response.json()
    assert body["code"] == "CIVETTA-NOT-A-DECOY" and contact not in await response.text()


async def test_a_released_decoy_has_no_route_and_a_lost_partner_is_503(
    served: tuple[Rig, Client],
) -> None:
    """After the quarantine the decoy is no longer routed; a partner missing from the
    directory is a configuration problem (503), not a silent drop."""
    rig, client = served
    gone = await rig.service.assign("ORD-GONE", "P-REMOVED", {"phone"})
    response = await client.get(f"/v1/decoys/{gone.phone}")
    assert response.status == 503 and (await response.json())["code"] == "CIVETTA-NO-FORWARD"
    await rig.service.close_order("ORD-GONE")
    rig.clock.now += timedelta(days=31)
    await rig.service.release_expired()
    assert (await client.get(f"/v1/decoys/{gone.phone}")).status == 404


async def test_the_live_table_exports_as_json_and_csv(served: tuple[Rig, Client]) -> None:
    """GET /v1/decoys: every live decoy with its target; CSV has the header and one row each."""
    rig, client = served
    decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone", "email"})
    body = await (await client.get("/v1/decoys")).json()
    assert body["count"] == 2
    assert {(d["decoy"], d["forward_to"]) for d in body["decoys"]} == {
        (decoys.phone, PARTNER.phone),
        (decoys.email, PARTNER.email),
    }
    response = await client.get("/v1/decoys?format=csv")
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    assert (await client.get("/v1/decoys?format=xml")).status == 400


async def test_contact_intake_answers_201_with_the_classification(
    served: tuple[Rig, Client],
) -> None:
    """POST /v1/contacts records the contact: the answer classifies it and names its entry."""
    rig, client = served
    decoys = await rig.service.assign(ORDER, PARTNER.id, {"phone"})
    at = rig.clock().isoformat()
    response = await client.post(
        "/v1/contacts",
        json={"decoy": decoys.phone, "caller": INCUMBENT_NOC, "time": at, "channel": "call"},
    )
    assert response.status == 201
    body = await response.json()
    assert (body["classification"], body["decoy_id"]) == ("expected", decoys.ids["phone"])
    (leaf,) = await rig.leaves("contact")
    assert leaf["contact_id"] == body["id"] and body["leaf_index"] >= 0
    assert leaf["source"] == "switch"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"[]", 400, "expected a JSON object, got another value"),
        (b"{", 400, "expected a JSON object, got a body that does not parse"),
        (b'{"decoy": "x", "time": "t", "channel": "call", "phone": "1"}', 400, "got phone"),
        (b'{"decoy": 1, "time": "t", "channel": "call"}', 400, "expected decoy as a string"),
        (
            b'{"decoy": "+390299990000", "time": "yesterday", "channel": "call"}',
            400,
            "expected time in ISO 8601",
        ),
        (
            b'{"decoy": "+393471234567", "time": "2026-01-01T10:00:00+01:00", "channel": "call"}',
            404,
            "expected a decoy of the configured pools",
        ),
        (b"{" + b" " * 70000 + b"}", 413, "expected a report of at most"),
    ],
)
async def test_bad_contact_reports_are_refused(
    served: tuple[Rig, Client], body: bytes, status: int, message: str
) -> None:
    """Malformed, unknown fields, wrong types, bad times, non-decoys, oversized: refused with
    civetta's error, naming no value; nothing is recorded."""
    rig, client = served
    response = await client.post(
        "/v1/contacts", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    error = await response.json()
    assert message in error["message"] and "3471234567" not in error["message"]
    assert await rig.leaves("contact") == []
