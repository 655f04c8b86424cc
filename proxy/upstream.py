"""Outbound HTTP: one client session per route, exactly one request per accepted message.

The client is set up for transparency: no automatic headers (User-Agent, Accept-Encoding …),
no decompression of the response (its bytes are relayed as they came), no cookie jar (cookies
are end-to-end headers), no redirects followed, no proxy from the environment, and never a
retry: a POST that may have reached the incumbent is answered with 502/504, not re-sent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from proxy.config import Route
from proxy.errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnreachable
from proxy.tls import client_context

_SKIP_AUTO = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """What the upstream answered, body still encoded as it came."""

    status: int
    reason: str | None
    headers: CIMultiDictProxy[str]
    body: bytes
    elapsed_s: float


class Upstream:
    """The client side of one route."""

    def __init__(self, route: Route, max_response_bytes: int) -> None:
        self.route = route
        self._max = max_response_bytes
        ssl = client_context(route.tls) if route.upstream.scheme == "https" else None
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl if ssl is not None else True, limit=256),
            timeout=aiohttp.ClientTimeout(
                total=route.timeouts.total_s, connect=route.timeouts.connect_s
            ),
            auto_decompress=False,
            skip_auto_headers=_SKIP_AUTO,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        # aiohttp re-sends idempotent methods (PUT, DELETE …) once when a kept-alive connection
        # breaks; an incumbent may have read the first copy, so that would be a second request
        # under one audit intent. Exactly one attempt, always (pinned by a test).
        self._session._retry_connection = False
        self._base_path = route.upstream.raw_path.rstrip("/")

    def target(self, raw_path: str, raw_query: str) -> URL:
        """The upstream URL for a request path and query, both kept exactly as received."""
        path = self._base_path + raw_path
        url = self.route.upstream.with_path(path, encoded=True)
        return (
            url.with_query(None)
            if not raw_query
            else URL(str(url.with_query(None)) + "?" + raw_query, encoded=True)
        )

    async def forward(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: CIMultiDict[str],
        body: bytes,
        base: URL | None = None,
    ) -> UpstreamResponse:
        """Send one request (to ``base`` instead of the route's upstream when given, e.g. a hub
        subscriber's callback); map transport failures to the proxy's 502/504 errors."""
        started = time.perf_counter()
        tls = self.route.tls
        url = self.target(raw_path, raw_query) if base is None else _join(base, raw_path, raw_query)
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                data=body if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS") else None,
                allow_redirects=False,
                server_hostname=tls.server_hostname if tls else None,
            ) as resp:
                payload = await self._read(resp)
                return UpstreamResponse(
                    resp.status, resp.reason, resp.headers, payload, time.perf_counter() - started
                )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(
                f"expected an answer from route {self.route.name!r} within {self.route.timeouts.total_s:g} s, got none"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachable(
                f"expected a connection to the upstream of route {self.route.name!r}, got {type(exc).__name__}"
            ) from exc
        except aiohttp.ClientResponseError as exc:
            raise UpstreamBadResponse(
                f"expected a valid HTTP response from route {self.route.name!r}, got {type(exc).__name__}"
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(
                f"expected a complete exchange with route {self.route.name!r}, got {type(exc).__name__}"
            ) from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        declared = resp.content_length
        if declared is not None:
            if declared > self._max:
                raise UpstreamBadResponse(
                    f"expected a response of at most {self._max} bytes, got {declared}"
                )
            # aiohttp's parser delivers exactly Content-Length bytes (or fails): read at once.
            return await resp.content.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self._max:
                raise UpstreamBadResponse(
                    f"expected a response of at most {self._max} bytes, got more"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._session.close()
        # Give SSL transports a moment to close cleanly (aiohttp's documented advice).
        await asyncio.sleep(0)


def _join(base: URL, raw_path: str, raw_query: str) -> URL:
    url = base.with_path(raw_path, encoded=True)
    return url if not raw_query else URL(str(url) + "?" + raw_query, encoded=True)
