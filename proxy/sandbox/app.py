"""The sandbox incumbent's aiohttp application.

It records every request it receives (the bytes the real incumbent would get), can be scripted
to misbehave (delays, error statuses) for tests, and hosts the TMF REST resources
(:mod:`proxy.sandbox.tmf`) and the SOAP ordering/assurance service (:mod:`proxy.sandbox.soap`).

Control endpoints, never recorded:

- ``GET /_sandbox/received`` (``?since=SEQ``), ``DELETE /_sandbox/received``
- ``POST /_sandbox/script``: ``{"path_prefix": "/x", "delay_s": 2, "status": 503,
  "body": "...", "content_type": "...", "times": 1}``; ``DELETE /_sandbox/script``
- ``GET /_sandbox/health``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from proxy.sandbox.recorder import Recorder

CONTROL_PREFIX = "/_sandbox/"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """How the sandbox behaves."""

    schemas_dir: Path
    #: Delay before the sandbox posts a notification for a state change.
    notify_delay_s: float = 0.05
    #: Where SOAP status callbacks go when the order names no reply-to address.
    soap_callback_url: str | None = None
    #: Whether asynchronous notifications are sent at all.
    notifications: bool = True


@dataclass(slots=True)
class Script:
    """A scripted misbehaviour for requests under ``path_prefix``."""

    path_prefix: str
    delay_s: float = 0.0
    status: int | None = None
    body: str = ""
    content_type: str = "text/plain"
    times: int | None = None


@dataclass(slots=True)
class Background:
    """Tasks the sandbox started (notifications); cancelled on shutdown."""

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


SETTINGS = web.AppKey("sandbox_settings", SandboxSettings)
RECORDER = web.AppKey("sandbox_recorder", Recorder)
SCRIPTS = web.AppKey("sandbox_scripts", list[Script])
BACKGROUND = web.AppKey("sandbox_background", Background)
CLIENT = web.AppKey("sandbox_client", aiohttp.ClientSession)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _record_and_script(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    body = await request.read()
    request.app[RECORDER].record(
        request.method,
        request.rel_url.raw_path,
        # The raw query, exactly as received (not decoded): the bytes the incumbent got.
        request.rel_url.raw_query_string,
        tuple((k, v) for k, v in request.headers.items()),
        body,
    )
    for script in request.app[SCRIPTS]:
        if request.path.startswith(script.path_prefix):
            if script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    request.app[SCRIPTS].remove(script)
            if script.delay_s:
                await asyncio.sleep(script.delay_s)
            if script.status is not None:
                return web.Response(
                    status=script.status,
                    body=script.body.encode("utf-8"),
                    content_type=script.content_type.split(";")[0],
                )
            break
    return await handler(request)


async def _received(request: web.Request) -> web.Response:
    since = int(request.query.get("since", "0"))
    items = [r.to_json() for r in request.app[RECORDER].items() if r.seq > since]
    return web.json_response({"received": items})


async def _clear_received(request: web.Request) -> web.Response:
    request.app[RECORDER].clear()
    return web.Response(status=204)


async def _add_script(request: web.Request) -> web.Response:
    data = await request.json()
    if not isinstance(data, dict) or not isinstance(data.get("path_prefix"), str):
        return web.json_response({"error": "expected an object with path_prefix"}, status=400)
    allowed = {"path_prefix", "delay_s", "status", "body", "content_type", "times"}
    request.app[SCRIPTS].append(Script(**{k: v for k, v in data.items() if k in allowed}))
    return web.Response(status=204)


async def _clear_scripts(request: web.Request) -> web.Response:
    request.app[SCRIPTS].clear()
    return web.Response(status=204)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _client_ctx(app: web.Application) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        app[CLIENT] = session
        yield
        for task in list(app[BACKGROUND].tasks):
            task.cancel()
        await asyncio.gather(*app[BACKGROUND].tasks, return_exceptions=True)


def build_app(settings: SandboxSettings) -> web.Application:
    """The sandbox incumbent: control endpoints, TMF REST resources and the SOAP service."""
    from proxy.sandbox import soap, tmf  # the services register their own routes

    app = web.Application(middlewares=[_record_and_script], client_max_size=16 * 1024 * 1024)
    app[SETTINGS] = settings
    app[RECORDER] = Recorder()
    app[SCRIPTS] = []
    app[BACKGROUND] = Background()
    app.cleanup_ctx.append(_client_ctx)
    app.router.add_get("/_sandbox/received", _received)
    app.router.add_delete("/_sandbox/received", _clear_received)
    app.router.add_post("/_sandbox/script", _add_script)
    app.router.add_delete("/_sandbox/script", _clear_scripts)
    app.router.add_get("/_sandbox/health", _health)
    tmf.setup(app)
    soap.setup(app)
    return app
