"""Decoys end to end through the real proxy: alias per order, routing directory, contact, echo."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from proxy.config import Direction, MinimisationConfig
from proxy.decoys.callers import parse_expected
from proxy.decoys.settings import DecoySettings, PhoneRange
from proxy.testing import REPO, config, route, started_app, started_proxy
from tests.test_handler import Upstream

POLICY = """\
policies:
  - name: order
    match: {method: POST, path: /tmf-api/productOrderingManagement/v4/productOrder}
    partner: {header: X-Partner-Id}
    order_ref: $.externalId
    rules:
      - {id: phone, select: "$..phoneNumber", action: alias, kind: phone}
      - {id: mail, select: "$..emailAddress", action: alias, kind: email}
    response:
      - {id: back, select: "$..note[*].text", action: restore}
  - name: events
    match: {method: POST, path: "/listener/*"}
    order_ref: $.event.productOrder.externalId
    rules: []
    response:
      - {id: back, select: "$..note[*].text", action: restore}
"""
PHONE = "+39 347 555 0199"


async def test_alias_contact_and_echo_through_the_proxy(tmp_path: Path) -> None:
    """Both messages of an order carry the same decoy, which routes to the partner; a call on it
    is a suspicious contact; a value the incumbent echoes back is an echo leaf; no leaf holds
    the customer's number."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "order.yaml").write_text(POLICY)
    fake, oss = Upstream(), Upstream()
    fake.body = json.dumps({"note": [{"text": "cliente al 347 555 0199"}]}).encode()
    async with (
        started_app(fake.app(), auto_decompress=False) as url,
        started_app(oss.app(), auto_decompress=False) as oss_url,
    ):
        settings = DecoySettings(
            phone_ranges=(PhoneRange(390299990000, 390299990009),),
            email_domain="alias.olo.example.it",
            expected_callers=tuple(e for e in [parse_expected("+390612345678")] if e),
        )
        cfg = config(
            tmp_path,
            [
                route("rest", "/tmf-api/", url),
                route("listener", "/listener/", oss_url, direction=Direction.INBOUND),
            ],
            decoys=settings,
            minimisation=MinimisationConfig(
                policies_dir=policies, partners_file=REPO / "policies" / "partners.yaml"
            ),
        )
        async with started_proxy(cfg) as proxy, aiohttp.ClientSession() as http:
            order = {
                "externalId": "ORD-1",
                "contactMedium": [
                    {"characteristic": {"phoneNumber": PHONE}},
                    {"characteristic": {"emailAddress": "mario@example.org"}},
                ],
            }
            sent: list[dict[str, object]] = []
            for _ in range(2):
                async with http.post(
                    proxy.oss_url + "/tmf-api/productOrderingManagement/v4/productOrder",
                    json=order,
                    headers={"X-Partner-Id": "installer-roma-01"},
                ) as resp:
                    assert resp.status == 200, await resp.text()
                sent.append(json.loads(fake.seen[-1][3]))
            assert sent[0] == sent[1]
            decoy = json.loads(json.dumps(sent[0]))["contactMedium"][0]["characteristic"][
                "phoneNumber"
            ]
            assert decoy.startswith("+3902999900")
            assert "mario" not in json.dumps(sent[0])
            async with http.get(f"{proxy.admin_url}/v1/decoys/{decoy}") as resp:
                assert resp.status == 200
                assert (await resp.json())["forward_to"] == "+390694801234"
            async with http.post(
                f"{proxy.admin_url}/v1/contacts",
                json={
                    "decoy": decoy,
                    "caller": "+393471112233",
                    "channel": "call",
                    "time": datetime.now(UTC).isoformat(),
                },
            ) as resp:
                assert resp.status == 201
                assert (await resp.json())["classification"] == "suspicious"
            # An inbound notification echoing the customer's phone.
            event = {
                "event": {
                    "productOrder": {"externalId": "ORD-1", "note": [{"text": "tel 3475550199"}]}
                }
            }
            async with http.post(
                proxy.incumbent_url + "/listener/productOrderStateChangeEvent", json=event
            ) as resp:
                assert resp.status == 200, await resp.text()
            store = proxy.state.store
            leaves = [
                json.loads(leaf.data) for leaf in await store.leaves(0, (await store.head()).size)
            ]
            kinds = [leaf["type"] for leaf in leaves]
            assert kinds.count("alias") == 2 and kinds.count("contact") == 1
            echo_routes = [leaf["route"] for leaf in leaves if leaf["type"] == "echo"]
            assert echo_routes == ["rest", "rest", "listener"], echo_routes
            intents = [leaf for leaf in leaves if leaf["type"] == "intent"]
            ids = {f.get("token_id") for f in intents[0]["fields"]}
            alias_ids = {leaf["decoy_id"] for leaf in leaves if leaf["type"] == "alias"}
            assert alias_ids <= ids
            assert b"3475550199" not in b"".join(
                leaf.data for leaf in await store.leaves(0, 10_000)
            )
