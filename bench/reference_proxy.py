"""The reference: a minimal aiohttp pass-through reverse proxy to one fixed upstream.

It is the yardstick civetta's proxy core is measured against: the least an aiohttp reverse proxy
must do. It reads the body, forwards method, raw path, raw query and headers (minus hop-by-hop
fields) through one shared :class:`aiohttp.ClientSession` set up like civetta's (no automatic
headers, no decompression, no cookie jar, no redirects, no proxy from the environment, a
256-connection pool), and relays status, reason, headers (minus hop-by-hop) and body. No
logging, no metrics, no request ids, no limits beyond aiohttp's own.

Run: ``python bench/reference_proxy.py --port 9200 --upstream http://127.0.0.1:9100``
(``--port 0`` picks a free port; the bound port is printed as ``listening <port>``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

#: The same connection-specific fields civetta drops (RFC 9110 §7.6.1 plus framing).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
#: civetta's client skips these automatic headers; so does the reference.
SKIP_AUTO = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
SESSION = web.AppKey("reference_session", aiohttp.ClientSession)
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """Copy ``headers`` without hop-by-hop fields and those the Connection header names."""
    drop = HOP_BY_HOP
    connection = headers.get("Connection")
    if connection:
        drop = drop | {t.strip().lower() for t in connection.split(",")}
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


def build_app(upstream: URL) -> web.Application:
    """The reference proxy forwarding every path to ``upstream`` (scheme, host and port only)."""
    origin = upstream.origin()

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256),
            timeout=aiohttp.ClientTimeout(total=30.0, connect=5.0),
            auto_decompress=False,
            skip_auto_headers=SKIP_AUTO,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        app[SESSION] = session
        yield
        await session.close()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        target = origin.with_path(request.rel_url.raw_path, encoded=True)
        query = request.rel_url.raw_query_string
        if query:
            target = URL(f"{target}?{query}", encoded=True)
        try:
            async with request.app[SESSION].request(
                request.method,
                target,
                headers=end_to_end(request.headers),
                data=body if body or request.method not in _BODYLESS else None,
                allow_redirects=False,
            ) as resp:
                payload = await resp.read()
                return web.Response(
                    status=resp.status,
                    reason=resp.reason,
                    body=payload,
                    headers=end_to_end(resp.headers),
                )
        except (aiohttp.ClientError, TimeoutError):
            return web.Response(status=502, body=b"bad gateway")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(session_ctx)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


async def serve(host: str, port: int, upstream: URL) -> None:
    """Serve until SIGTERM or SIGINT; print the bound port once listening."""
    runner = web.AppRunner(build_app(upstream), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    server = site._server  # the bound socket tells the real port when 0 was asked for
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"listening {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Command line: ``--host``, ``--port``, ``--upstream``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:9100")
    args = parser.parse_args()
    upstream = URL(args.upstream)
    if args.host not in ("127.0.0.1", "::1", "localhost") or upstream.host not in (
        "127.0.0.1",
        "::1",
        "localhost",
    ):
        parser.error("the reference proxy is for loopback benchmarks only")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, upstream))


if __name__ == "__main__":
    main()
