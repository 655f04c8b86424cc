"""The outbound client: answers read whole and bounded, whatever their framing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from multidict import CIMultiDict

from proxy.errors import UpstreamBadResponse
from proxy.testing import route, started_app
from proxy.upstream import Upstream

LIMIT = 1000


async def _answer(request: web.Request) -> web.StreamResponse:
    """``/fixed/N`` answers N bytes with a Content-Length, ``/chunked/N`` in 100-byte chunks."""
    framing, size = request.match_info["framing"], int(request.match_info["size"])
    body = bytes(i % 251 for i in range(size))
    if framing == "fixed":
        return web.Response(body=body)
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for at in range(0, size, 100):
        await response.write(body[at : at + 100])
    await response.write_eof()
    return response


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    app = web.Application()
    app.router.add_get("/{framing}/{size}", _answer)
    async with started_app(app) as url:
        client = Upstream(route("r", "/", url, protected=False), LIMIT)
        yield client
        await client.close()


@pytest.mark.parametrize("framing", ["fixed", "chunked"])
@pytest.mark.parametrize("size", [0, 1, 999, 1000])
async def test_an_answer_within_the_limit_is_read_whole(
    upstream: Upstream, framing: str, size: int
) -> None:
    """Declared length or chunked, every byte up to the limit comes back, unchanged."""
    answer = await upstream.forward("GET", f"/{framing}/{size}", "", CIMultiDict(), b"")
    assert answer.status == 200
    assert answer.body == bytes(i % 251 for i in range(size))


@pytest.mark.parametrize("framing", ["fixed", "chunked"])
async def test_an_answer_over_the_limit_is_a_bad_response(upstream: Upstream, framing: str) -> None:
    """One byte over the limit is refused (502), declared up front or found while reading."""
    with pytest.raises(UpstreamBadResponse, match="at most 1000 bytes"):
        await upstream.forward("GET", f"/{framing}/{LIMIT + 1}", "", CIMultiDict(), b"")
