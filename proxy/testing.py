"""Builders the tests share: configurations on free ports, a started proxy, a started sandbox."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web
from yarl import URL

from proxy.app import RunningServer, start_servers
from proxy.config import (
    Config,
    Direction,
    Limits,
    Listener,
    MinimisationConfig,
    Protocol,
    Route,
    Timeouts,
)
from proxy.sandbox.app import SandboxSettings, build_app
from proxy.state import ProxyState, open_state
from proxy.storage import Store
from proxy.storage.memory import MemoryStore

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"


def route(
    name: str,
    prefix: str,
    upstream: str,
    *,
    protocol: Protocol = Protocol.REST,
    direction: Direction = Direction.OUTBOUND,
    protected: bool = True,
    methods: Iterable[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"),
    total_s: float = 10.0,
) -> Route:
    """A route with test-friendly defaults."""
    return Route(
        name=name,
        direction=direction,
        protocol=protocol,
        path_prefix=prefix,
        methods=frozenset(methods),
        upstream=URL(upstream),
        protected=protected,
        timeouts=Timeouts(connect_s=2.0, total_s=total_s),
    )


def config(tmp: Path, routes: Iterable[Route], **overrides: object) -> Config:
    """A configuration listening on free loopback ports, keys under ``tmp``."""
    base = Config(
        source="<test>",
        oss=Listener("oss", "127.0.0.1", 0),
        incumbent=Listener("incumbent", "127.0.0.1", 0),
        admin=Listener("admin", "127.0.0.1", 0),
        routes=tuple(routes),
        limits=Limits(max_body_bytes=256 * 1024),
        storage_url="memory://",
        keys_dir=tmp / "keys",
        # The permissive test policies: every message covered, no rules, the guard still on.
        minimisation=MinimisationConfig(
            policies_dir=REPO / "tests" / "fixtures" / "policy" / "open",
            partners_file=REPO / "policies" / "partners.yaml",
        ),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(slots=True)
class StartedProxy:
    """A running proxy and how to reach it."""

    state: ProxyState
    server: RunningServer

    @property
    def oss_url(self) -> str:
        """Base URL of the OSS-facing listener."""
        return self.server.url("oss")

    @property
    def incumbent_url(self) -> str:
        """Base URL of the incumbent-facing listener."""
        return self.server.url("incumbent")

    @property
    def admin_url(self) -> str:
        """Base URL of the admin listener."""
        return self.server.url("admin")


@asynccontextmanager
async def started_proxy(cfg: Config, store: Store | None = None) -> AsyncIterator[StartedProxy]:
    """Start all three listeners of a proxy; stop them gracefully on exit."""
    async with open_state(cfg, store if store is not None else MemoryStore()) as state:
        server = await start_servers(state)
        try:
            yield StartedProxy(state, server)
        finally:
            await server.stop()


@asynccontextmanager
async def started_app(
    app: web.Application,
    host: str = "127.0.0.1",
    ssl_context: ssl.SSLContext | None = None,
    auto_decompress: bool = True,
) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port (TLS with ``ssl_context``); yield its base URL.

    ``auto_decompress=False`` lets a recording upstream see request bodies exactly as sent.
    """
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=1.0,
        auto_decompress=auto_decompress,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    server = site._server  # the bound socket tells the real port
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def started_sandbox(**settings: object) -> AsyncIterator[tuple[str, web.Application]]:
    """The sandbox incumbent on a free port: ``(base_url, app)``."""
    app = build_app(SandboxSettings(schemas_dir=SCHEMAS, **settings))  # type: ignore[arg-type]
    async with started_app(app) as url:
        yield url, app
