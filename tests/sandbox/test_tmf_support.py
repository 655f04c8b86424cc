"""Shared helpers of the TMF sandbox tests: the app, the fixtures, a listener (no tests here)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from proxy.sandbox.app import SandboxSettings, build_app
from proxy.sandbox.tmf_model import TmfApi, api_by_key

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
FIXTURES = REPO / "tests" / "fixtures" / "tmf"

Client = TestClient[web.Request, web.Application]
#: How long a test waits for the sandbox to act or notify before failing.
WAIT_S = 5.0


def sandbox(*, notifications: bool = True) -> web.Application:
    """The sandbox incumbent on the repository's schemas, notifying without delay."""
    return build_app(
        SandboxSettings(schemas_dir=SCHEMAS, notify_delay_s=0, notifications=notifications)
    )


def fixture(name: str) -> Any:
    """A fresh copy of a JSON fixture of ``tests/fixtures/tmf``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Case:
    """One TMF API with its fixture and the queries and patches its tests use."""

    api: TmfApi
    body_file: str
    #: A list filter on personal data, and the value that selects the fixture.
    person_filter: tuple[str, str]
    #: A list filter on the OLO's own order or ticket code.
    external_filter: tuple[str, str]
    #: A note as this API version writes one (v5 needs ``@type``).
    note: dict[str, Any]
    #: Where deleting a property makes the fixture invalid, and the path the 400 names.
    required: tuple[tuple[str | int, ...], str]

    @property
    def body(self) -> Any:
        """A fresh copy of the fixture body."""
        return fixture(self.body_file)

    def __str__(self) -> str:
        """The API key, as the test id."""
        return self.api.key


CASES = (
    Case(
        api_by_key("tmf622-v4"),
        "tmf622_v4_order.json",
        ("relatedParty.name", "Mario Rossi"),
        ("externalId", "OLO-ORD-2025-004711"),
        {"text": "Richiamare il cliente al 347 123 4567"},
        (
            ("productOrderItem", 0, "action"),
            "missing required property 'action' at $.productOrderItem[0]",
        ),
    ),
    Case(
        api_by_key("tmf622-v5"),
        "tmf622_v5_order.json",
        ("relatedParty.partyOrPartyRole.name", "Giulia Esposito"),
        ("externalId.id", "OLO-ORD-2025-004712"),
        {"@type": "Note", "text": "Richiamare la cliente al 333 987 6543"},
        (
            (
                "productOrderItem",
                0,
                "product",
                "relatedParty",
                0,
                "partyOrPartyRole",
                "contactMedium",
                0,
                "phoneNumber",
            ),
            "missing required property 'phoneNumber' at "
            "$.productOrderItem[0].product.relatedParty[0].partyOrPartyRole.contactMedium[0]",
        ),
    ),
    Case(
        api_by_key("tmf641-v4"),
        "tmf641_v4_order.json",
        ("relatedParty.name", "Bruno Ferrari"),
        ("externalId", "OLO-SRV-2025-000388"),
        {"text": "Richiamare il sig. Ferrari al 328 123 4567"},
        (
            ("serviceOrderItem", 0, "service"),
            "missing required property 'service' at $.serviceOrderItem[0]",
        ),
    ),
    Case(
        api_by_key("tmf621-v4"),
        "tmf621_v4_ticket.json",
        ("relatedParty.name", "Mario Rossi"),
        ("externalId", "OLO-TT-2025-001907"),
        {"text": "Il cliente chiede di essere richiamato al 347 123 4567"},
        (("severity",), "missing required property 'severity' at $"),
    ),
    Case(
        api_by_key("tmf621-v5"),
        "tmf621_v5_ticket.json",
        ("relatedParty.partyOrPartyRole.name", "Giulia Esposito"),
        ("externalIdentifier.id", "OLO-TT-2025-001908"),
        {"@type": "Note", "text": "La cliente chiede di essere richiamata al 333 987 6543"},
        (("ticketType",), "missing required property 'ticketType' at $"),
    ),
)


def case(key: str) -> Case:
    """The case of the API with this key."""
    return next(c for c in CASES if c.api.key == key)


def without(document: Any, path: tuple[str | int, ...]) -> Any:
    """A copy of ``document`` with the member at ``path`` removed."""
    result = copy.deepcopy(document)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return result


def local(href: str) -> str:
    """The path of an absolute ``href``, for the test client."""
    return "/" + href.split("://", 1)[1].split("/", 1)[1]


async def create(client: Client, item: Case, **headers: str) -> dict[str, Any]:
    """POST the case's fixture; the created resource."""
    response = await client.post(item.api.collection, json=item.body, headers=headers)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def wait_until(check: Callable[[], Any]) -> None:
    """Poll the coroutine function ``check`` (it asks the sandbox over HTTP) until it is true."""
    for _ in range(int(WAIT_S / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still false after {WAIT_S} s")


class Listener:
    """An OSS notification listener: records every POST to ``/{name}/listener/{event}``."""

    def __init__(self) -> None:
        self.received: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self.app = web.Application()
        self.app.router.add_post("/{name}/listener/{event}", self._listen)

    def queue(self, name: str) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        """The events received on callback ``/{name}``: (listener event name, envelope)."""
        return self.received.setdefault(name, asyncio.Queue())

    async def _listen(self, request: web.Request) -> web.Response:
        self.queue(request.match_info["name"]).put_nowait(
            (request.match_info["event"], await request.json())
        )
        return web.Response(status=201)

    async def next(self, name: str) -> tuple[str, dict[str, Any]]:
        """The next event received on ``/{name}``, waiting at most ``WAIT_S``."""
        async with asyncio.timeout(WAIT_S):
            return await self.queue(name).get()
