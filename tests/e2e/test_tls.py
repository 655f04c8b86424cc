"""TLS both ways: mTLS on the OSS-facing listener, client certificate and pinned CA upstream."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from proxy.config import Listener, ServerTls, UpstreamTls
from proxy.replies import ERROR_HEADER
from proxy.testing import config, route, started_app, started_proxy


@dataclasses.dataclass
class Pki:
    """A test CA and the files the proxy's configuration points at."""

    ca: trustme.CA
    ca_file: Path
    server_chain: Path
    server_key: Path
    client_chain: Path
    client_key: Path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("olo-client.example")
    paths = Pki(
        ca,
        tmp_path / "ca.pem",
        tmp_path / "srv.pem",
        tmp_path / "srv.key",
        tmp_path / "cli.pem",
        tmp_path / "cli.key",
    )
    ca.cert_pem.write_to_path(str(paths.ca_file))
    server.private_key_pem.write_to_path(str(paths.server_key))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(paths.server_chain), append=True)
    client.private_key_pem.write_to_path(str(paths.client_key))
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(paths.client_chain), append=True)
    return paths


def _client_ctx(pki: Pki, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    if with_cert:
        ctx.load_cert_chain(str(pki.client_chain), str(pki.client_key))
    return ctx


@pytest.fixture
async def mtls_upstream(pki: Pki) -> AsyncIterator[tuple[str, list[str]]]:
    """An upstream that demands a client certificate and records the subject it saw."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        transport = request.transport
        assert transport is not None
        cert = transport.get_extra_info("peercert")
        names = [value for kind, value in cert.get("subjectAltName", ())] if cert else []
        seen.append(",".join(names))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca_file))
    ctx.load_cert_chain(str(pki.server_chain), str(pki.server_key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    async with started_app(app, ssl_context=ctx) as url:
        yield url, seen


async def test_mtls_both_ways(
    pki: Pki, mtls_upstream: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The OSS needs a client certificate; civetta presents the OLO's to the incumbent, pinning its CA."""
    url, seen = mtls_upstream
    r = dataclasses.replace(
        route("rest", "/tmf-api/", url, protected=False),
        tls=UpstreamTls(ca_file=pki.ca_file, cert_file=pki.client_chain, key_file=pki.client_key),
    )
    tls_in = ServerTls(pki.server_chain, pki.server_key, pki.ca_file, require_client_cert=True)
    cfg = config(tmp_path, [r], oss=Listener("oss", "127.0.0.1", 0, tls_in))
    async with started_proxy(cfg) as p:
        assert p.oss_url.startswith("https://")
        async with aiohttp.ClientSession() as s:
            async with s.get(
                p.oss_url + "/tmf-api/x", ssl=_client_ctx(pki, with_cert=True)
            ) as resp:
                assert resp.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with s.get(
                    p.oss_url + "/tmf-api/x", ssl=_client_ctx(pki, with_cert=False)
                ) as resp:
                    await resp.read()
    assert seen == ["olo-client.example"]


async def test_upstream_with_unpinned_ca_is_refused(
    pki: Pki, mtls_upstream: tuple[str, list[str]], tmp_path: Path
) -> None:
    """An upstream whose certificate does not chain to the pinned CA is never sent the request: 502."""
    url, seen = mtls_upstream
    other = trustme.CA()
    other_file = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(other_file))
    r = dataclasses.replace(
        route("rest", "/tmf-api/", url, protected=False),
        tls=UpstreamTls(ca_file=other_file, cert_file=pki.client_chain, key_file=pki.client_key),
    )
    async with (
        started_proxy(config(tmp_path, [r])) as p,
        aiohttp.ClientSession() as s,
        s.get(p.oss_url + "/tmf-api/x") as resp,
    ):
        assert resp.status == 502
        assert resp.headers[ERROR_HEADER] == "CIVETTA-UPSTREAM-UNREACHABLE"
    assert seen == []


async def test_upstream_without_client_certificate_fails_closed(
    pki: Pki, mtls_upstream: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Without the OLO's client certificate the incumbent refuses the handshake; the OSS gets 502."""
    url, seen = mtls_upstream
    r = dataclasses.replace(
        route("rest", "/tmf-api/", url, protected=False), tls=UpstreamTls(ca_file=pki.ca_file)
    )
    async with (
        started_proxy(config(tmp_path, [r])) as p,
        aiohttp.ClientSession() as s,
        s.get(p.oss_url + "/tmf-api/x") as resp,
    ):
        assert resp.status == 502
    assert seen == []
