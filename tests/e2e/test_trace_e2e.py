"""Through the real proxy: a retail call on a decoy is traced back to the exact order and the
messages that disclosed it, and its evidence pack verifies offline and catches tampering."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from proxy.audit.evidence_verify import verify_bundle
from proxy.audit.trust import TrustAnchor
from proxy.config import MinimisationConfig
from proxy.decoys.callers import parse_expected
from proxy.decoys.settings import DecoySettings, PhoneRange
from proxy.evidence_pack import build_pack
from proxy.testing import REPO, config, route, started_app, started_proxy
from proxy.trace import trace_contact
from tests.test_handler import Upstream

POLICY = """\
policies:
  - name: order
    match: {method: POST, path: /tmf-api/productOrderingManagement/v4/productOrder}
    partner: {header: X-Partner-Id}
    order_ref: $.externalId
    rules:
      - {id: phone, select: "$..phoneNumber", action: alias, kind: phone}
"""
CUSTOMERS = {"ORD-E2E-1": "+39 347 555 0101", "ORD-E2E-2": "+39 347 555 0202"}
RETAIL = "+393479990000"


async def test_a_retail_call_is_traced_to_its_order_and_message(tmp_path: Path) -> None:
    """Two orders, two messages each; a suspicious call on the first order's decoy (through
    ``POST /v1/contacts``) traces to that order's two intents, by request id, and nothing of
    the other order's; the pack verifies and a changed report.html is caught."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "order.yaml").write_text(POLICY)
    fake = Upstream()
    async with started_app(fake.app(), auto_decompress=False) as url:
        settings = DecoySettings(
            phone_ranges=(PhoneRange(390299990000, 390299990009),),
            expected_callers=tuple(e for e in [parse_expected("+390612345678")] if e),
        )
        cfg = config(
            tmp_path,
            [route("rest", "/tmf-api/", url)],
            decoys=settings,
            minimisation=MinimisationConfig(
                policies_dir=policies, partners_file=REPO / "policies" / "partners.yaml"
            ),
        )
        async with started_proxy(cfg) as proxy, aiohttp.ClientSession() as http:
            decoys: dict[str, str] = {}
            for n in (1, 2):
                for ref, phone in CUSTOMERS.items():
                    body = {"externalId": ref, "contactMedium": [
                        {"characteristic": {"phoneNumber": phone}}]}  # fmt: skip
                    async with http.post(
                        proxy.oss_url + "/tmf-api/productOrderingManagement/v4/productOrder",
                        json=body,
                        headers={
                            "X-Partner-Id": "installer-roma-01",
                            "X-Request-ID": f"{ref}-m{n}",
                        },
                    ) as resp:
                        assert resp.status == 200, await resp.text()
                    sent = json.loads(fake.seen[-1][3])
                    decoys[ref] = sent["contactMedium"][0]["characteristic"]["phoneNumber"]
            called = decoys["ORD-E2E-1"]
            async with http.post(
                f"{proxy.admin_url}/v1/contacts",
                json={"decoy": called, "caller": RETAIL, "channel": "call",
                      "time": datetime.now(UTC).isoformat()},
            ) as resp:  # fmt: skip
                assert resp.status == 201
                contact = await resp.json()
            store = proxy.state.store
            trace = await trace_contact(store, called)
            (order,) = trace.orders
            assert [m.request_id for m in order.messages] == ["ORD-E2E-1-m1", "ORD-E2E-1-m2"]
            assert all(m.status == "200" and m.route == "rest" for m in order.messages)
            (found,) = order.contacts
            assert (found.contact_id, found.index, found.classification) == (
                contact["id"], contact["leaf_index"], "suspicious"
            )  # fmt: skip
            pack = tmp_path / "pack"
            log = proxy.state.audit
            await build_pack(
                store, trace, pack, signer=log.signer, opener=log.vault, generated=datetime.now(UTC)
            )
    anchor = TrustAnchor(log.signer.verifier().name, log.signer.verifier())
    assert verify_bundle(pack, anchor).exit_code == 0
    everything = b"".join(p.read_bytes() for p in pack.rglob("*") if p.is_file())
    assert b"3475550101" not in everything and b"3479990000" not in everything
    assert called.encode() in (pack / f"openings/{order.messages[0].index}.body").read_bytes()
    changed = tmp_path / "changed"
    shutil.copytree(pack, changed)
    (changed / "report.html").write_bytes(
        (pack / "report.html").read_bytes().replace(b"sospetta", b"attesa")
    )
    assert verify_bundle(changed, anchor).exit_code == 11
