"""The end-to-end set-up: the sandbox incumbent, a test OSS listener, and the real proxy between.

::

    OSS client ──► proxy oss listener ──► sandbox (TMF REST, SOAP)          outbound routes
    test OSS listener ◄── proxy incumbent listener ◄── sandbox (events, callbacks)   inbound

:class:`Tap` is a recording hop that the tests put on one leg when they need the exact bytes
that crossed it (what the sandbox sent in a callback, what it answered to an order): the sandbox
keeps what it *received*, not what it sent.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.config import Direction, Protocol, Route
from proxy.testing import (
    REPO,
    StartedProxy,
    config,
    route,
    started_app,
    started_proxy,
    started_sandbox,
)

T = TypeVar("T")
FIXTURES = REPO / "tests" / "fixtures"
#: The sandbox's SOAP endpoints, and where the test OSS takes the status callbacks.
SOAP11_PATH = "/ws/wholesale/v1"
SOAP12_PATH = "/ws/wholesale/v1/soap12"
CALLBACK_PATH = "/ws/olo/notifications"
#: How long a test waits for something asynchronous (a notification) before failing.
WAIT_S = 5.0
#: The SOAP route's body limit (a real order is 3-5 KB), small so that 413 is cheap to provoke.
SOAP_MAX_BODY = 32 * 1024
#: Headers an HTTP hop sets for itself; a recording hop neither copies nor compares them.
FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})

ORD_NS = "http://wholesale.example.it/ordering/v1"
HDR_NS = "http://wholesale.example.it/header/v1"
WSA_NS = "http://www.w3.org/2005/08/addressing"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
ACTION_PREFIX = "urn:wholesale:ordering:v1:"


def free_port() -> int:
    """A loopback port nobody listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Seen:
    """One HTTP request as a test server or hop saw it, and what was answered."""

    method: str
    raw_path: str
    headers: CIMultiDictProxy[str]
    body: bytes
    status: int = 0
    answer_headers: CIMultiDictProxy[str] = field(
        default_factory=lambda: CIMultiDictProxy(CIMultiDict())
    )
    answer: bytes = b""

    @property
    def path(self) -> str:
        """The raw path without the query string."""
        return self.raw_path.split("?", 1)[0]


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """``headers`` without the fields each HTTP hop sets for itself."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in FRAMING)


async def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds; fail the test after :data:`WAIT_S`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"still waiting after {WAIT_S} s for {what}")
        await asyncio.sleep(0.01)


async def poll(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """Fetch until ``done`` holds for the result; return it, or fail after :data:`WAIT_S`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not done(result := await fetch()):
        if loop.time() > deadline:
            pytest.fail(f"still waiting after {WAIT_S} s for {what}")
        await asyncio.sleep(0.01)
    return result


class OssListener:
    """The operator's OSS on the notification side: records every request and acknowledges it.

    TMF events (``/.../listener/{eventName}``) get 204 for state and status changes and 201 for
    every other event, so a test can tell which answer went back; SOAP callbacks get a
    ``NotifyOrderStatusResponse`` in the SOAP version they came in. Anything else is a 404.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    @staticmethod
    def tmf_status(event_name: str) -> int:
        """The status the listener answers for an event name."""
        return 204 if event_name.endswith(("StateChangeEvent", "StatusChangeEvent")) else 201

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.rel_url.raw_path
        headers: dict[str, str] = {}
        answer = b""
        if "/listener/" in path:
            status = self.tmf_status(path.rsplit("/", 1)[1])
        elif path.startswith(CALLBACK_PATH) and request.method == "POST":
            soap12 = request.content_type == "application/soap+xml"
            status, answer = 200, soap_ack(soap12)
            headers["Content-Type"] = (
                "application/soap+xml; charset=utf-8" if soap12 else "text/xml; charset=utf-8"
            )
        else:
            status = 404
        self.seen.append(
            Seen(
                request.method,
                request.rel_url.raw_path_qs,
                request.headers,
                body,
                status,
                CIMultiDictProxy(CIMultiDict(headers)),
                answer,
            )
        )
        return web.Response(status=status, body=answer or None, headers=headers)

    def under(self, prefix: str) -> list[Seen]:
        """The requests whose path starts with ``prefix``, oldest first."""
        return [s for s in self.seen if s.path.startswith(prefix)]

    async def wait_for(self, prefix: str, count: int) -> list[Seen]:
        """Wait until ``count`` requests arrived under ``prefix``; return them."""
        await wait_until(lambda: len(self.under(prefix)) >= count, f"{count} requests at {prefix}")
        return self.under(prefix)


def soap_ack(soap12: bool) -> bytes:
    """The OSS's answer to a ``NotifyOrderStatus`` callback."""
    env = SOAP12_NS if soap12 else SOAP11_NS
    return (
        f'<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="{env}"><e:Body>'
        f'<o:NotifyOrderStatusResponse xmlns:o="{ORD_NS}"><o:codiceOrdineOLO>ACK</o:codiceOrdineOLO>'
        "<o:esito>OK</o:esito></o:NotifyOrderStatusResponse></e:Body></e:Envelope>"
    ).encode()


class Tap:
    """A recording HTTP hop: forwards each request to ``target`` and keeps both directions.

    It adds nothing and decodes nothing (no automatic headers, no decompression), so what it
    records is what crossed the wire on its leg.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: list[Seen] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.app.cleanup_ctx.append(self._session)
        self._client: aiohttp.ClientSession | None = None

    async def _session(self, app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=WAIT_S),
        ) as session:
            self._client = session
            yield

    async def _handle(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        async with self._client.request(
            request.method,
            self.target + request.rel_url.raw_path_qs,
            headers=end_to_end(request.headers),
            data=body,
            allow_redirects=False,
        ) as resp:
            answer = await resp.read()
            self.seen.append(
                Seen(
                    request.method,
                    request.rel_url.raw_path_qs,
                    request.headers,
                    body,
                    resp.status,
                    resp.headers,
                    answer,
                )
            )
            return web.Response(status=resp.status, body=answer, headers=end_to_end(resp.headers))

    async def wait_for(self, count: int) -> list[Seen]:
        """Wait until ``count`` exchanges crossed the hop; return them."""
        await wait_until(lambda: len(self.seen) >= count, f"{count} exchanges through the tap")
        return list(self.seen)


@asynccontextmanager
async def started_tap(target: str) -> AsyncIterator[tuple[str, Tap]]:
    """A :class:`Tap` to ``target`` on a free port: ``(base_url, tap)``."""
    tap = Tap(target)
    async with started_app(tap.app, auto_decompress=False) as url:
        yield url, tap


@dataclass(frozen=True, slots=True)
class Received:
    """One request the sandbox recorded (``GET /_sandbox/received``)."""

    method: str
    path: str
    query_string: str
    headers: CIMultiDict[str]
    body: bytes


class Sandbox:
    """The sandbox incumbent's control endpoints, reached directly (never through the proxy)."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self._http = http

    async def received(self) -> list[Received]:
        """Every request the sandbox received so far, oldest first."""
        async with self._http.get(self.url + "/_sandbox/received") as resp:
            assert resp.status == 200
            items = (await resp.json())["received"]
        return [
            Received(
                item["method"],
                item["path"],
                item["query_string"],
                CIMultiDict((k, v) for k, v in item["headers"]),
                base64.b64decode(item["body_b64"]),
            )
            for item in items
        ]

    async def script(self, **script: Any) -> None:
        """Make the sandbox misbehave (``path_prefix``, ``delay_s``, ``status`` ...)."""
        async with self._http.post(self.url + "/_sandbox/script", json=script) as resp:
            assert resp.status == 204

    async def deliveries(self) -> list[dict[str, Any]]:
        """The TMF notifications the sandbox posted, with the status it got back."""
        async with self._http.get(self.url + "/_sandbox/tmf/deliveries") as resp:
            assert resp.status == 200
            found: list[dict[str, Any]] = (await resp.json())["deliveries"]
            return found


@dataclass(slots=True)
class Env:
    """Everything a test drives: the proxy, the sandbox, the OSS listener, an HTTP client."""

    proxy: StartedProxy
    sandbox: Sandbox
    listener: OssListener
    listener_url: str
    #: A plain client session for the test's own requests (closed after the test).
    http: aiohttp.ClientSession
    #: The recording hop between the proxy and the sandbox, when the test asked for one.
    upstream_tap: Tap | None = None

    def oss(self, path: str) -> str:
        """A URL on the proxy's OSS-facing listener."""
        return self.proxy.oss_url + path

    def incumbent(self, path: str) -> str:
        """A URL on the proxy's incumbent-facing listener."""
        return self.proxy.incumbent_url + path


def routes(incumbent: str, listener: str, soap_upstream: str, soap_total_s: float) -> list[Route]:
    """The routes of config.example.yaml, pointed at the incumbent and the test OSS listener."""
    tmf = [
        route(name, prefix, incumbent)
        for name, prefix in (
            ("tmf622-v4", "/tmf-api/productOrderingManagement/v4/"),
            ("tmf622-v5", "/tmf-api/productOrderingManagement/v5/"),
            ("tmf641-v4", "/tmf-api/serviceOrdering/v4/"),
            ("tmf621-v4", "/tmf-api/troubleTicket/v4/"),
            ("tmf621-v5", "/tmf-api/troubleTicket/v5/"),
        )
    ]
    soap = replace(
        route(
            "wholesale-soap",
            SOAP11_PATH,
            soap_upstream,
            protocol=Protocol.SOAP,
            methods=["POST"],
            total_s=soap_total_s,
        ),
        max_body_bytes=SOAP_MAX_BODY,
    )
    inbound = [
        route(
            "tmf-listener", "/listener/", listener, direction=Direction.INBOUND, methods=["POST"]
        ),
        route(
            "soap-callbacks",
            CALLBACK_PATH,
            listener,
            protocol=Protocol.SOAP,
            direction=Direction.INBOUND,
            methods=["POST"],
        ),
    ]
    return [*tmf, soap, *inbound]


EnvFactory = Callable[..., AbstractAsyncContextManager[Env]]


@pytest.fixture
def make_env(tmp_path: Path) -> EnvFactory:
    """Start an :class:`Env`; options: ``notify_delay_s``, ``soap_total_s``, ``soap_upstream``
    (a URL instead of the sandbox for the SOAP route) and ``tap_upstream`` (a :class:`Tap`
    between the proxy and the sandbox on every outbound route)."""

    @asynccontextmanager
    async def start(
        *,
        notify_delay_s: float = 0.0,
        soap_total_s: float = 5.0,
        soap_upstream: str | None = None,
        tap_upstream: bool = False,
    ) -> AsyncIterator[Env]:
        listener = OssListener()
        async with AsyncExitStack() as stack:
            sandbox_url, _ = await stack.enter_async_context(
                started_sandbox(notify_delay_s=notify_delay_s)
            )
            listener_url = await stack.enter_async_context(started_app(listener.app))
            tap: Tap | None = None
            incumbent = sandbox_url
            if tap_upstream:
                incumbent, tap = await stack.enter_async_context(started_tap(sandbox_url))
            cfg = config(
                tmp_path,
                routes(incumbent, listener_url, soap_upstream or incumbent, soap_total_s),
            )
            proxy = await stack.enter_async_context(started_proxy(cfg))
            http = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S))
            )
            yield Env(proxy, Sandbox(sandbox_url, http), listener, listener_url, http, tap)

    return start


@pytest.fixture
async def env(make_env: EnvFactory) -> AsyncIterator[Env]:
    """The default set-up: no notification delay, generous timeouts."""
    async with make_env() as started:
        yield started
