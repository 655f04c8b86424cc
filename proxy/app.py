"""The aiohttp applications (OSS-facing, incumbent-facing, admin) and the server lifecycle.

Three listeners, three applications, one shared :class:`~proxy.state.ProxyState`. Shutdown is
graceful: readiness turns false first (load balancers stop sending), then the proxy listeners
stop accepting and wait up to ``shutdown_timeout_s`` for in-flight requests, then the upstream
pools and the store close, the admin listener last.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from dataclasses import dataclass, field

from aiohttp import web

from proxy.config import Config, Direction, Listener
from proxy.handler import Handler
from proxy.reload import reload_policies, watch
from proxy.state import ProxyState, open_state
from proxy.storage import Store, StoreError
from proxy.tls import server_context

STATE = web.AppKey("civetta_state", ProxyState)
#: Net new container objects between two young-generation collections (CPython's default: 700).
_GC_THRESHOLD = 10_000


def build_proxy_app(state: ProxyState, direction: Direction) -> web.Application:
    """The application that forwards every path of one listener through :class:`Handler`."""
    # The handler reads bodies itself, bounded per route; aiohttp's own limit is not used.
    app = web.Application(client_max_size=state.config.limits.max_body_bytes)
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", Handler(state, direction).__call__)
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.ready or state.draining:
        return web.json_response({"status": "not ready", "draining": state.draining}, status=503)
    try:
        await state.store.ping()
    except StoreError as err:
        return web.json_response({"status": "not ready", "store": err.code}, status=503)
    return web.json_response({"status": "ready", "in_flight": state.in_flight})


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[STATE].metrics.render()
    return web.Response(
        body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


def build_admin_app(state: ProxyState) -> web.Application:
    """Health, readiness and Prometheus metrics."""
    app = web.Application()
    app[STATE] = state
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    if state.decoys is not None:
        from proxy.decoys.http import add_routes

        add_routes(app, state.decoys)
    return app


@dataclass(slots=True)
class RunningServer:
    """The three started listeners; :meth:`stop` shuts them down gracefully."""

    state: ProxyState
    runners: dict[str, web.AppRunner] = field(default_factory=dict)
    addresses: dict[str, tuple[str, int]] = field(default_factory=dict)

    async def stop(self) -> None:
        """Drain: not ready, stop accepting, wait for in-flight requests, then the admin listener."""
        self.state.draining = True
        for name in ("oss", "incumbent"):
            if name in self.runners:
                await self.runners.pop(name).cleanup()
        self.state.ready = False
        if "admin" in self.runners:
            await self.runners.pop("admin").cleanup()

    def url(self, name: str) -> str:
        """Base URL of a started listener (the real port when 0 was configured)."""
        host, port = self.addresses[name]
        listener: Listener = getattr(self.state.config, name)
        scheme = "https" if listener.tls is not None else "http"
        return f"{scheme}://{host}:{port}"


async def _start(
    app: web.Application, listener: Listener, shutdown_timeout: float
) -> tuple[web.AppRunner, tuple[str, int]]:
    # auto_decompress=False: civetta must see (and audit, and forward) the bytes as sent; it
    # undoes the content coding itself, bounded, for the routes that need to read the body.
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
        auto_decompress=False,
    )
    await runner.setup()
    ssl = server_context(listener.tls) if listener.tls is not None else None
    site = web.TCPSite(runner, listener.host, listener.port, ssl_context=ssl, reuse_address=True)
    await site.start()
    server = site._server  # the bound socket tells the real port when 0 was asked for
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else listener.port
    return runner, (listener.host, int(port))


async def start_servers(state: ProxyState) -> RunningServer:
    """Start the admin, incumbent-facing and OSS-facing listeners, then declare readiness."""
    cfg = state.config
    running = RunningServer(state)
    timeout = cfg.shutdown_timeout_s
    for name, app in (
        ("admin", build_admin_app(state)),
        ("incumbent", build_proxy_app(state, Direction.INBOUND)),
        ("oss", build_proxy_app(state, Direction.OUTBOUND)),
    ):
        listener: Listener = getattr(cfg, name)
        runner, address = await _start(app, listener, timeout)
        running.runners[name] = runner
        running.addresses[name] = address
        state.log.info(
            "listener_started",
            listener=name,
            host=address[0],
            port=address[1],
            tls=listener.tls is not None,
        )
    state.ready = True
    return running


def tune_collector() -> None:
    """Collect the young generation every 10,000 net new container objects instead of 700.

    A request allocates a few hundred container objects that die with it: at 700, a
    collection ran every few requests, each scanning every live request's objects (~30 µs a
    request under load in bench/, ~3 µs at 10,000). The older generations keep their settings.
    """
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])


async def serve(config: Config, store: Store | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully; SIGHUP reloads the policies."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_state(config, store) as state:
        reloads: set[asyncio.Task[bool]] = set()

        def on_hup() -> None:
            task = loop.create_task(reload_policies(state))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        watcher = loop.create_task(watch(state)) if config.minimisation.watch else None
        if config.incumbent.public_url is None:
            state.log.warning("hub_rewriting_disabled", listener="incumbent")
        if not config.audit.enabled:
            state.log.warning("audit_disabled")
        running = await start_servers(state)
        # Modules, schemas and compiled policies live as long as the process: keep them out of
        # the collector's full passes (about 50 ms -> 6 ms of CPU each, measured in bench/).
        gc.collect()
        gc.freeze()
        tune_collector()
        state.log.info(
            "proxy_started", routes=len(config.routes), storage=config.storage_url.split(":", 1)[0]
        )
        await stop.wait()
        state.log.info("proxy_stopping", in_flight=state.in_flight)
        if watcher is not None:
            watcher.cancel()
        await running.stop()
    state.log.info("proxy_stopped")
