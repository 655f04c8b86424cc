"""The request handler: one message, step by step (DESIGN.md §3).

The steps are a fixed straight line. Steps 3 to 5 (partner, policy, egress guard) and 7 (audit)
are where minimisation and the audit log plug in; every step either passes the message on or
raises a :class:`~proxy.errors.CivettaError`, which becomes the proxy's own error response and
guarantees that nothing was forwarded.
"""

from __future__ import annotations

import time

from aiohttp import web
from multidict import CIMultiDict

from proxy.audit.records import Operation
from proxy.config import Direction, Route
from proxy.errors import BodyError, BodyTooLarge, CivettaError, NotReady
from proxy.headers import REQUEST_ID, end_to_end, request_id_of
from proxy.journal import Disclosure, record_intent, record_outcome
from proxy.message import parse_message
from proxy.replies import error_response
from proxy.state import ProxyState
from proxy.upstream import UpstreamResponse

_CHUNK = 64 * 1024


class Handler:
    """Handles every request on one listener (OSS-facing or incumbent-facing)."""

    def __init__(self, state: ProxyState, direction: Direction) -> None:
        self.state = state
        self.direction = direction
        self.router = state.routers[direction]

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        """Run the steps; any CivettaError becomes the proxy's own error and nothing is sent."""
        state = self.state
        started = time.perf_counter()
        request_id = request_id_of(request.headers)
        route: Route | None = None
        bytes_in = 0
        state.in_flight += 1
        try:
            if not state.ready:
                raise NotReady("expected a proxy ready for traffic, got one starting or stopping")
            # 1. Match the route (fail closed: no route, no forwarding).
            raw_path = request.rel_url.raw_path
            _check_path(raw_path)
            route = self.router.match(request.method, request.rel_url.path)
            # 2. Read the body, bounded; on protected routes undo the coding and parse it.
            wire = await _read_body(
                request, route.max_body_bytes or state.config.limits.max_body_bytes
            )
            bytes_in = len(wire)
            if route.protected:
                parse_message(route, request.method, request.headers, wire, state.config.limits)
            # 3.-5. Partner, policy and egress guard: minimisation (see proxy.engine).
            # 6. Serialise once: an unchanged message is forwarded as the exact bytes received.
            outgoing = wire
            headers = end_to_end(request.headers)
            headers[REQUEST_ID] = request_id
            # 7. Audit intent: durable under a signed checkpoint before any byte leaves.
            disclosure = Disclosure(
                request_id=request_id,
                route=route.name,
                direction=self.direction.value,
                operation=Operation(
                    request.method, route.path_prefix, request.headers.get("SOAPAction")
                ),
            )
            intent_id = await record_intent(state, disclosure, outgoing)
            # 8. Forward exactly those bytes, once.
            try:
                upstream = await state.upstreams[route.name].forward(
                    request.method, raw_path, request.rel_url.raw_query_string, headers, outgoing
                )
            except CivettaError as err:
                await record_outcome(state, intent_id, None, None, None, err.code)
                raise
            # 9. Relay the answer (the way back: restore tokens, audit the outcome).
            await record_outcome(
                state, intent_id, upstream.status, upstream.body, upstream.elapsed_s
            )
            response = _relay(upstream, request_id, request.method)
            self._completed(
                request,
                request_id,
                route,
                response.status,
                started,
                bytes_in,
                len(upstream.body),
                upstream.elapsed_s,
            )
            return response
        except CivettaError as err:
            state.metrics.rejections.labels(err.code).inc()
            self._completed(
                request, request_id, route, err.status, started, bytes_in, 0, None, err.code
            )
            protocol = route.protocol if route is not None else None
            return error_response(
                err, protocol, request.headers.get("Content-Type", ""), request_id
            )
        finally:
            state.in_flight -= 1

    def _completed(
        self,
        request: web.Request,
        request_id: str,
        route: Route | None,
        status: int,
        started: float,
        bytes_in: int,
        bytes_out: int,
        upstream_s: float | None,
        code: str | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        name = route.name if route is not None else "-"
        m = self.state.metrics
        m.requests.labels(name, self.direction.value, str(status)).inc()
        m.duration.labels(name).observe(elapsed)
        m.bytes_in.labels(name).inc(bytes_in)
        m.bytes_out.labels(name).inc(bytes_out)
        if upstream_s is not None:
            m.upstream_duration.labels(name).observe(upstream_s)
        self.state.log.info(
            "request_completed" if code is None else "request_rejected",
            request_id=request_id,
            route=name,
            direction=self.direction.value,
            method=request.method,
            path=request.rel_url.path,
            status=status,
            code=code,
            latency_ms=round(elapsed * 1000, 3),
            upstream_ms=None if upstream_s is None else round(upstream_s * 1000, 3),
            bytes_in=bytes_in,
            bytes_out=bytes_out,
        )


def _check_path(raw_path: str) -> None:
    """Refuse paths whose meaning differs between civetta and the upstream (path confusion)."""
    lowered = raw_path.lower()
    if "%2f" in lowered or "%5c" in lowered or "\\" in raw_path:
        raise BodyError("expected a path without encoded or back slashes, got one")
    for segment in raw_path.split("/"):
        if segment in (".", "..") or segment.lower() in ("%2e", "%2e%2e", ".%2e", "%2e."):
            raise BodyError("expected a path without dot segments, got one")


async def _read_body(request: web.Request, limit: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"expected a body of at most {limit} bytes, got {declared}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"expected a body of at most {limit} bytes, got more")
        chunks.append(chunk)
    return b"".join(chunks)


def _relay(upstream: UpstreamResponse, request_id: str, method: str) -> web.Response:
    headers: CIMultiDict[str] = end_to_end(upstream.headers)
    headers[REQUEST_ID] = request_id
    if method == "HEAD" or upstream.status == 304:
        # No body, but the length the upstream announced is part of the answer: keep it.
        length = upstream.headers.get("Content-Length")
        if length is not None:
            headers["Content-Length"] = length
        return web.Response(status=upstream.status, reason=upstream.reason, headers=headers)
    return web.Response(
        status=upstream.status, reason=upstream.reason, body=upstream.body, headers=headers
    )
