"""The handler against a recording upstream: transparent forwarding and fail-closed refusals."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from proxy.audit.batch import Batch, BatchResult, Leaf
from proxy.audit.records import commit_bytes
from proxy.config import Protocol
from proxy.replies import ERROR_HEADER
from proxy.storage import StoreError
from proxy.storage.memory import MemoryStore
from proxy.testing import StartedProxy, config, route, started_app, started_proxy

SOAP11 = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soap:Header><h:header xmlns:h="urn:h"><h:correlationId>c-1</h:correlationId></h:header></soap:Header>'
    b'<soap:Body><o:Order xmlns:o="urn:o"><o:id>1</o:id></o:Order></soap:Body></soap:Envelope>'
)
SOAP12 = SOAP11.replace(
    b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope"
)


@dataclass
class Upstream:
    """A fake incumbent that records each request and answers as scripted."""

    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"ok":true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.method, request.raw_path, dict(request.headers), body))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.Response(status=self.status, body=self.body, headers=self.headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    fake = Upstream()
    async with started_app(fake.app(), auto_decompress=False) as url:
        yield fake, url


@pytest.fixture
async def proxy(upstream: tuple[Upstream, str], tmp_path: Path) -> AsyncIterator[StartedProxy]:
    _, url = upstream
    cfg = config(
        tmp_path,
        [
            route("rest", "/tmf-api/", url),
            route("soap", "/ws/", url, protocol=Protocol.SOAP, methods=["POST"]),
            route("open", "/open/", url, protected=False),
            route("slow", "/slow/", url, protected=False, total_s=0.3),
        ],
    )
    async with started_proxy(cfg) as started:
        yield started


async def test_request_is_forwarded_byte_for_byte(
    proxy: StartedProxy, upstream: tuple[Upstream, str]
) -> None:
    """Method, raw path, raw query, end-to-end headers and body reach the upstream unchanged."""
    fake, _ = upstream
    body = b'{"externalId":"ORD-1","note":[{"text":"x"}]}'
    bare = aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"))
    async with (
        bare as s,
        s.post(
            proxy.oss_url + "/tmf-api/po/v4/productOrder?fields=id,state&x=a%20b",
            data=body,
            headers={
                "Content-Type": "application/json;charset=utf-8",
                "X-Custom": "1",
                "X-Request-ID": "req-1",
                "Connection": "keep-alive",
            },
        ) as r,
    ):
        assert r.status == 200
        assert await r.read() == b'{"ok":true}'
        assert r.headers["X-Request-ID"] == "req-1"
    (method, path, headers, got) = fake.seen[0]
    assert (method, path, got) == (
        "POST",
        "/tmf-api/po/v4/productOrder?fields=id,state&x=a%20b",
        body,
    )
    assert headers["X-Custom"] == "1" and headers["X-Request-ID"] == "req-1"
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert headers["Host"] == upstream[1].removeprefix("http://")
    # civetta adds nothing of its own: no User-Agent, Accept or Accept-Encoding the OSS did not send.
    assert not {"User-Agent", "Accept-Encoding", "Accept"} & set(headers)


async def test_soap_action_headers_are_kept_exactly(
    proxy: StartedProxy, upstream: tuple[Upstream, str]
) -> None:
    """SOAP 1.1 SOAPAction and the SOAP 1.2 action parameter arrive byte for byte."""
    fake, _ = upstream
    async with aiohttp.ClientSession() as s:
        async with s.post(
            proxy.oss_url + "/ws/x",
            data=SOAP11,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:o:Submit"'},
        ) as r:
            assert r.status == 200
        ct12 = 'application/soap+xml; charset=utf-8; action="urn:o:Submit"'
        async with s.post(
            proxy.oss_url + "/ws/x", data=SOAP12, headers={"Content-Type": ct12}
        ) as r:
            assert r.status == 200
    assert fake.seen[0][2]["SOAPAction"] == '"urn:o:Submit"'
    assert fake.seen[0][3] == SOAP11
    assert fake.seen[1][2]["Content-Type"] == ct12


@pytest.mark.parametrize(
    ("status", "body", "ctype"),
    [
        (
            500,
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
            b"<faultcode>soap:Server</faultcode><faultstring>busy</faultstring></soap:Fault></soap:Body></soap:Envelope>",
            "text/xml; charset=utf-8",
        ),
        (
            400,
            b'{"code":"60","reason":"invalid","message":"m","status":"400","@type":"Error"}',
            "application/json",
        ),
        (503, b'{"code":"X","reason":"down"}', "application/json"),
    ],
)
async def test_upstream_errors_pass_through_unchanged(
    proxy: StartedProxy, upstream: tuple[Upstream, str], status: int, body: bytes, ctype: str
) -> None:
    """The incumbent's own error status, headers and body reach the OSS as they were."""
    fake, _ = upstream
    fake.status, fake.body, fake.headers = status, body, {"Content-Type": ctype, "Retry-After": "7"}
    async with (
        aiohttp.ClientSession() as s,
        s.get(proxy.oss_url + "/tmf-api/po/v4/productOrder/1") as r,
    ):
        assert r.status == status
        assert await r.read() == body
        assert r.headers["Content-Type"] == ctype
        assert r.headers["Retry-After"] == "7"
        assert ERROR_HEADER not in r.headers


async def test_unreachable_upstream_is_502_own_error(tmp_path: Path) -> None:
    """A refused connection is the proxy's own 502, as a TMF Error on REST routes."""
    cfg = config(tmp_path, [route("rest", "/tmf-api/", "http://127.0.0.1:9")])
    async with (
        started_proxy(cfg) as p,
        aiohttp.ClientSession() as s,
        s.get(p.oss_url + "/tmf-api/x") as r,
    ):
        assert r.status == 502
        assert r.headers[ERROR_HEADER] == "CIVETTA-UPSTREAM-UNREACHABLE"
        err = json.loads(await r.read())
        assert err["@type"] == "Error" and err["status"] == "502"


async def test_slow_upstream_is_504_and_post_is_sent_once(
    proxy: StartedProxy, upstream: tuple[Upstream, str]
) -> None:
    """A timeout answers 504; the POST reached the upstream exactly once (never retried)."""
    fake, _ = upstream
    fake.delay_s = 1.0
    async with aiohttp.ClientSession() as s, s.post(proxy.oss_url + "/slow/x", data=b"a") as r:
        assert r.status == 504
        assert r.headers[ERROR_HEADER] == "CIVETTA-UPSTREAM-TIMEOUT"
    await asyncio.sleep(0.8)
    assert len(fake.seen) == 1


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "code"),
    [
        ("/nowhere", {}, b"", 404, "CIVETTA-NO-ROUTE"),
        ("/tmf-api/x", {"Content-Type": "application/json"}, b'{"a":', 400, "CIVETTA-BAD-BODY"),
        ("/tmf-api/x", {"Content-Type": "application/xml"}, b"<a/>", 415, "CIVETTA-MEDIA"),
        (
            "/tmf-api/x",
            {"Content-Type": "application/json", "Content-Encoding": "br"},
            b"{}",
            415,
            "CIVETTA-MEDIA",
        ),
        (
            "/tmf-api/x",
            {"Content-Type": "application/json"},
            b'{"a":"' + b"x" * 300_000 + b'"}',
            413,
            "CIVETTA-TOO-LARGE",
        ),
        ("/ws/x", {"Content-Type": "application/json"}, b"{}", 415, "CIVETTA-MEDIA"),
        ("/tmf-api/a/%2e%2e/b", {}, b"", 400, "CIVETTA-BAD-BODY"),
        ("/tmf-api/a%2Fb", {}, b"", 400, "CIVETTA-BAD-BODY"),
    ],
)
async def test_refusals_never_reach_the_upstream(
    proxy: StartedProxy,
    upstream: tuple[Upstream, str],
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str,
) -> None:
    """Each fail-closed refusal answers the proxy's own error and sends nothing upstream."""
    fake, _ = upstream
    async with (
        aiohttp.ClientSession() as s,
        s.post(proxy.oss_url + path, data=body, headers=headers) as r,
    ):
        assert r.status == status
        assert r.headers[ERROR_HEADER] == code
    assert fake.seen == []


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&x;</soap:Body></soap:Envelope>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&lol3;</soap:Body></soap:Envelope>',
    ],
    ids=["xxe", "billion-laughs"],
)
async def test_xml_attacks_are_refused_before_forwarding(
    proxy: StartedProxy, upstream: tuple[Upstream, str], body: bytes
) -> None:
    """XXE and entity expansion: a SOAP 1.1 fault with 400, and the upstream is never called."""
    fake, _ = upstream
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            proxy.oss_url + "/ws/x",
            data=body,
            headers={"Content-Type": "text/xml", "SOAPAction": '"a"'},
        ) as r,
    ):
        assert r.status == 400
        text = await r.text()
        assert "<faultcode>soap:Client</faultcode>" in text
        assert "passwd" not in text
    assert fake.seen == []


async def test_gzip_body_is_understood_and_forwarded(
    proxy: StartedProxy, upstream: tuple[Upstream, str]
) -> None:
    """A gzip-encoded JSON body is decoded for checking and forwarded with its coding."""
    fake, _ = upstream
    plain = b'{"description":"ok"}'
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            proxy.oss_url + "/tmf-api/x",
            data=gzip.compress(plain),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ) as r,
    ):
        assert r.status == 200
    _, _, headers, got = fake.seen[0]
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(got) == plain


async def test_unprotected_route_passes_any_body(
    proxy: StartedProxy, upstream: tuple[Upstream, str]
) -> None:
    """A route marked unprotected forwards bodies it does not understand."""
    fake, _ = upstream
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            proxy.oss_url + "/open/x",
            data=b"\x00\x01binary",
            headers={"Content-Type": "application/octet-stream"},
        ) as r,
    ):
        assert r.status == 200
    assert fake.seen[0][3] == b"\x00\x01binary"


async def test_admin_endpoints(proxy: StartedProxy) -> None:
    """healthz and readyz answer; metrics count requests by route and status."""
    async with aiohttp.ClientSession() as s:
        async with s.get(proxy.oss_url + "/tmf-api/x") as r:
            assert r.status == 200
        async with s.get(proxy.admin_url + "/healthz") as r:
            assert r.status == 200
        async with s.get(proxy.admin_url + "/readyz") as r:
            assert (await r.json())["status"] == "ready"
        async with s.get(proxy.admin_url + "/metrics") as r:
            text = await r.text()
    assert 'civetta_requests_total{direction="outbound",route="rest",status="200"} 1.0' in text


async def test_graceful_stop_drains_in_flight(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    """A request in flight when the stop begins completes; readiness turns false first."""
    fake, url = upstream
    fake.delay_s = 0.4
    cfg = config(tmp_path, [route("open", "/open/", url, protected=False)])
    async with started_proxy(cfg) as p, aiohttp.ClientSession() as s:
        pending = asyncio.ensure_future(s.post(p.oss_url + "/open/x", data=b"a"))
        await asyncio.sleep(0.1)
        stopping = asyncio.ensure_future(p.server.stop())
        await asyncio.sleep(0.05)
        assert p.state.draining
        resp = await pending
        assert resp.status == 200
        resp.release()
        await stopping


class FailingStore(MemoryStore):
    """A store whose audit appends fail after start-up, as a full disk or lost database would."""

    failing = False

    async def append_batch(self, batch: Batch) -> BatchResult:
        if self.failing:
            raise StoreError("expected a committed batch, got a simulated disk failure")
        return await super().append_batch(batch)


def _leaf_types(leaves: list[Leaf]) -> list[str]:
    return [json.loads(leaf.data)["type"] for leaf in leaves]


async def test_every_forwarded_message_has_a_durable_intent_and_one_outcome(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    """Intent then outcome are in the log; the intent's sealed copy opens to the exact bytes sent."""
    fake, url = upstream
    store = MemoryStore()
    cfg = config(tmp_path, [route("rest", "/tmf-api/", url)])
    body = b'{"externalId":"ORD-7"}'
    async with (
        started_proxy(cfg, store) as p,
        aiohttp.ClientSession() as s,
        s.post(
            p.oss_url + "/tmf-api/x", data=body, headers={"Content-Type": "application/json"}
        ) as r,
    ):
        assert r.status == 200
        head = await store.head()
        leaves = await store.leaves(0, head.size)
        types = _leaf_types(leaves)
        assert types[-2:] == ["intent", "outcome"]
        intent = json.loads(leaves[-2].data)
        outcome = json.loads(leaves[-1].data)
        assert outcome["intent_id"] == intent["intent_id"]
        assert outcome["status"] == 200
        salt, opened = await p.state.audit.open_sealed(intent["body"]["sealed_id"])
        assert opened == body == fake.seen[0][3]
        assert base64.b64decode(intent["body"]["commitment"]) == commit_bytes(salt, opened)
        assert b"ORD-7" not in b"".join(leaf.data for leaf in leaves)


async def test_audit_failure_answers_503_and_sends_nothing(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    """If the intent cannot be made durable, the OSS gets 503 and the upstream sees nothing."""
    fake, url = upstream
    store = FailingStore()
    cfg = config(tmp_path, [route("rest", "/tmf-api/", url)])
    async with started_proxy(cfg, store) as p:
        store.failing = True
        async with (
            aiohttp.ClientSession() as s,
            s.post(
                p.oss_url + "/tmf-api/x", data=b"{}", headers={"Content-Type": "application/json"}
            ) as r,
        ):
            assert r.status == 503
            assert r.headers[ERROR_HEADER] in {"CIVETTA-AUDIT", "CIVETTA-STORE"}
        store.failing = False
    assert fake.seen == []


async def test_upstream_failure_is_recorded_as_the_outcome(tmp_path: Path) -> None:
    """A 502 still closes its intent: the outcome carries civetta's error code and no status."""
    store = MemoryStore()
    cfg = config(tmp_path, [route("rest", "/tmf-api/", "http://127.0.0.1:9")])
    async with (
        started_proxy(cfg, store) as p,
        aiohttp.ClientSession() as s,
        s.get(p.oss_url + "/tmf-api/x") as r,
    ):
        assert r.status == 502
    leaves = await store.leaves(0, (await store.head()).size)
    outcome = json.loads(leaves[-1].data)
    assert outcome["type"] == "outcome"
    assert outcome["status"] is None
    assert outcome["error"] == "CIVETTA-UPSTREAM-UNREACHABLE"


async def test_a_failure_on_the_way_back_relays_the_answer_as_it_came(
    upstream: tuple[Upstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once forwarded, a vault failure while restoring does not fail the OSS's request (a retry
    would duplicate the order): the incumbent's answer is relayed unchanged."""
    from proxy.errors import VaultError
    from proxy.handler import Handler

    fake, url = upstream
    fake.status, fake.body = 201, b'{"id":"42","name":"tok_abc"}'

    async def broken(*_args: object, **_kwargs: object) -> bytes | None:
        raise VaultError("expected a readable vault, got a simulated failure")

    monkeypatch.setattr(Handler, "_way_back", broken)
    cfg = config(tmp_path, [route("rest", "/tmf-api/", url)])
    async with (
        started_proxy(cfg) as p,
        aiohttp.ClientSession() as s,
        s.post(
            p.oss_url + "/tmf-api/x", data=b"{}", headers={"Content-Type": "application/json"}
        ) as r,
    ):
        assert r.status == 201
        assert await r.read() == b'{"id":"42","name":"tok_abc"}'
    assert len(fake.seen) == 1
