"""The request handler: one message, step by step (DESIGN.md §3).

The steps are a fixed straight line; every step either passes the message on or raises a
:class:`~proxy.errors.CivettaError`, which becomes the proxy's own error response and guarantees
that nothing was forwarded:

1. match the route; 2. read and parse the body; 3.-5. policy, partner, rules and egress guard
(:mod:`proxy.minimise`, pure); 6. serialise once; 7. persist new tokens, then the audit intent,
both durable; 8. forward exactly those bytes, once; 9. the way back: restore tokens in the
answer, record the outcome, relay.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict
from prometheus_client import Counter, Histogram
from yarl import URL

from proxy import hub
from proxy.audit import leaves
from proxy.audit.records import FieldRecord, Operation
from proxy.config import HUB_ROUTE, Direction, Protocol, Route
from proxy.decoys.echo import find_echoes
from proxy.decoys.plan import decoy_request
from proxy.errors import BodyError, BodyTooLarge, CivettaError, LeakBlocked, NotReady, RouteNotFound
from proxy.formats.json_body import parse_json, serialise_json
from proxy.formats.media import BodyKind, encode_content
from proxy.headers import REQUEST_ID, end_to_end, request_id_of
from proxy.journal import Disclosure, record_intent, record_outcome
from proxy.message import Message, parse_message, parse_response
from proxy.minimise import Minimised, find_inbound_policy, minimise_request, restore_response
from proxy.replies import error_response
from proxy.state import ProxyState
from proxy.storage import Subscription
from proxy.upstream import UpstreamResponse

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Target:
    """Where step 8 sends the message: a route's upstream, or a hub subscriber's callback."""

    path: str
    url: URL | None = None
    #: The path policies see (the callback's own path for hub events).
    logical_path: str = ""


class Handler:
    """Handles every request on one listener (OSS-facing or incumbent-facing)."""

    def __init__(self, state: ProxyState, direction: Direction) -> None:
        self.state = state
        self.direction = direction
        # ``Direction.value`` is an enum property (a descriptor call): read it once here.
        self._direction = direction.value
        self.router = state.routers[direction]
        # Prometheus label children, looked up once per (route, status) instead of five
        # ``labels()`` calls (each a lock and a tuple of str()) per request.
        self._series: dict[tuple[str, int], tuple[Counter, Histogram, Counter, Counter]] = {}
        self._upstream_series: dict[str, Histogram] = {}

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
            target = await self._target(route, request)
            # 2. Read the body, bounded; on protected routes undo the coding and parse it.
            limit = route.max_body_bytes or state.config.limits.max_body_bytes
            wire = await _read_body(request, limit)
            bytes_in = len(wire)
            message: Message | None = None
            if route.protected:
                message = parse_message(
                    route, request.method, request.headers, wire, state.config.limits
                )
            # Hub registrations: the incumbent gets civetta's callback, not the OSS's.
            rewritten: hub.Rewritten | None = None
            if message is not None and self._is_hub_registration(route, request, message):
                message, rewritten = await self._rewrite_hub(route, message)
            # 3'. Decoys for alias rules: assigned, durable and announced before the rules run.
            decoys = await self._decoys(request, target, message) if route.protected else None
            # 3.-6. Policy, partner, rules, egress guard, serialisation (pure). A notification
            # from the incumbent goes to the OSS, which owns the data: its policy's way-back
            # rules restore the originals instead (no guard toward the data's owner).
            minimised = (
                await self._inbound(request.method, target.logical_path, message, request_id, route)
                if self.direction is Direction.INBOUND and message is not None
                else minimise_request(
                    state.minimiser,
                    request.method,
                    target.logical_path,
                    request.rel_url.raw_query_string,
                    request.headers,
                    message,
                    _subject_cn(request),
                    decoys,
                )
                if route.protected
                else Minimised(wire, None, None, None)
            )
            outgoing = minimised.outgoing or (message.wire if message is not None else wire)
            headers = end_to_end(request.headers)
            headers[REQUEST_ID] = request_id
            # 7. New tokens, then the audit intent: durable before any byte leaves.
            if minimised.tokens and minimised.order_ref is not None:
                await state.vault.remember(minimised.order_ref, minimised.tokens)
            if state.decoys is not None and minimised.order_ref and minimised.removed_values:
                await state.decoys.echoes.remember(minimised.order_ref, minimised.removed_values)
            intent_id = (
                await record_intent(
                    state, self._disclosure(request, request_id, route, minimised), outgoing
                )
                if state.config.audit.enabled
                else None
            )
            # 8. Forward exactly those bytes, once.
            try:
                upstream = await state.upstreams[route.name].forward(
                    request.method,
                    target.path,
                    request.rel_url.raw_query_string,
                    headers,
                    outgoing,
                    target.url,
                )
            except CivettaError as err:
                await record_outcome(state, intent_id, None, None, None, err.code)
                raise
            await record_outcome(
                state, intent_id, upstream.status, upstream.body, upstream.elapsed_s
            )
            # 9. The way back: restore tokens for the OSS (and the OSS's hub callback).
            # The message has reached the upstream: from here on a failure must not become an
            # error for the OSS (it would retry, duplicating the order). The answer then goes
            # back as it came — with tokens, which are not personal data — and is logged.
            try:
                body = await self._way_back(
                    route, request.method, minimised, upstream, rewritten, request_id
                )
            except CivettaError as err:
                state.log.error(
                    "way_back_failed", request_id=request_id, route=route.name, code=err.code
                )
                body = None
            response = _relay(upstream, request_id, request.method, body)
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
            if isinstance(err, LeakBlocked) and route is not None:
                await self._record_block(request_id, route, err)
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

    def _disclosure(
        self, request: web.Request, request_id: str, route: Route, minimised: Minimised
    ) -> Disclosure:
        """Step 7's description of what is about to be sent: paths, rules, never values."""
        return Disclosure(
            request_id=request_id,
            route=route.name,
            direction=self._direction,
            operation=Operation(
                request.method, route.path_prefix, request.headers.get("SOAPAction")
            ),
            partner=minimised.partner.id if minimised.partner is not None else None,
            order_ref=minimised.order_ref,
            policy_hash=self.state.minimiser.policy_hash(minimised.policy),
            fields=tuple(
                FieldRecord(d.path, d.rule, d.action, d.commitment, d.token_id)
                for d in minimised.decisions
                if d.commitment is not None
            ),
        )

    async def _target(self, route: Route, request: web.Request) -> _Target:
        """Step 8's destination; hub events go to the callback their subscription registered."""
        path = request.rel_url.raw_path
        if self.direction is Direction.INBOUND and route.name == HUB_ROUTE:
            split = hub.split_callback_path(request.rel_url.path)
            sub = await self.state.store.get_subscription(split[0]) if split is not None else None
            if split is None or sub is None:
                raise _no_subscription()
            base = URL(sub.callback)
            rest = split[1]
            return _Target(
                base.raw_path.rstrip("/") + rest, base.with_path("/").with_query(None), rest
            )
        return _Target(path, None, request.rel_url.path)

    def _is_hub_registration(self, route: Route, request: web.Request, message: Message) -> bool:
        return (
            self.direction is Direction.OUTBOUND
            and route.protocol is Protocol.REST
            and message.kind is BodyKind.JSON
            and self.state.config.incumbent.public_url is not None
            and hub.is_registration(request.method, request.rel_url.path)
        )

    async def _rewrite_hub(self, route: Route, message: Message) -> tuple[Message, hub.Rewritten]:
        public_url = self.state.config.incumbent.public_url
        assert public_url is not None
        sub_id = uuid.uuid4().hex
        rewritten = hub.rewrite_registration(message.document, public_url, sub_id)
        await self.state.store.put_subscription(
            Subscription(sub_id, route.name, rewritten.original, time.time())
        )
        plain = serialise_json(rewritten.document)
        wire = encode_content(plain, message.codings)
        return Message(
            message.kind, message.media, message.codings, wire, plain, rewritten.document
        ), rewritten

    async def _inbound(
        self, method: str, path: str, message: Message, request_id: str, route: Route
    ) -> Minimised:
        """Steps 3 to 6 for the incumbent-to-OSS direction: restore tokens for the OSS."""
        minimiser = self.state.minimiser
        policy = find_inbound_policy(minimiser, method, path, message)
        order_ref = policy.order_reference(message.document)
        mapping = await self.state.vault.mapping(order_ref) if order_ref is not None else {}
        await self._echoes(request_id, route, order_ref, message, mapping)
        restored = restore_response(minimiser, policy, message, order_ref, mapping)
        return Minimised(message.wire if restored is None else restored, policy, None, order_ref)

    async def _way_back(
        self,
        route: Route,
        method: str,
        minimised: Minimised,
        upstream: UpstreamResponse,
        rewritten: hub.Rewritten | None,
        request_id: str = "",
    ) -> bytes | None:
        """The answer's new body (tokens restored, hub callback put back), or None: as it came."""
        if not upstream.body or method == "HEAD" or self.direction is Direction.INBOUND:
            # An OSS's answer to a notification goes to the incumbent: never restore into it.
            return None
        if rewritten is not None:
            return await self._restore_hub(rewritten, upstream)
        policy = minimised.policy
        if policy is None or not policy.response:
            return None
        try:
            answer = parse_response(
                route, upstream.headers, upstream.body, self.state.config.limits
            )
        except CivettaError:
            # Not a body the policy understands (an HTML error page …): relay it as it came.
            return None
        if answer is None:
            return None
        order_ref = minimised.order_ref or policy.order_reference(answer.document)
        mapping = await self.state.vault.mapping(order_ref) if order_ref is not None else {}
        await self._echoes(request_id, route, order_ref, answer, mapping)
        return restore_response(self.state.minimiser, policy, answer, order_ref, mapping)

    async def _decoys(
        self, request: web.Request, target: _Target, message: Message | None
    ) -> Mapping[str, str] | None:
        """The order's decoys when the matched policy has alias rules (else None)."""
        decoys = self.state.decoys
        if decoys is None or message is None or self.direction is not Direction.OUTBOUND:
            return None
        wanted = decoy_request(
            self.state.minimiser,
            request.method,
            target.logical_path,
            request.headers,
            message,
            _subject_cn(request),
        )
        if wanted is None:
            return None
        assigned = await decoys.assign(wanted.order_ref, wanted.partner_id, wanted.kinds)
        return assigned.as_mapping()

    async def _echoes(
        self,
        request_id: str,
        route: Route,
        order_ref: str | None,
        answer: Message,
        mapping: Mapping[str, str],
    ) -> None:
        """Step 9: values removed from the order that come back are echoes (before restore)."""
        decoys = self.state.decoys
        if decoys is None or order_ref is None:
            return
        knowledge = await decoys.echoes.knowledge(order_ref, originals=mapping.values())
        found = find_echoes(answer.document, knowledge)
        if found:
            await decoys.echoes.report(request_id, route.name, found)

    async def _restore_hub(
        self, rewritten: hub.Rewritten, upstream: UpstreamResponse
    ) -> bytes | None:
        if upstream.status >= 300:
            return None
        try:
            document = parse_json(upstream.body)
        except CivettaError:
            return None
        sub_id = rewritten.replacement.rsplit("/", 1)[-1]
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            await self.state.store.set_subscription_upstream_id(sub_id, document["id"])
        restored = hub.restore_registration(document, rewritten)
        return None if restored is document else serialise_json(restored)

    async def _record_block(self, request_id: str, route: Route, err: LeakBlocked) -> None:
        """A refused leak is evidence too: a ``block`` leaf naming where (never what)."""
        if not self.state.config.audit.enabled:
            return
        audit = self.state.audit
        try:
            await audit.append(
                leaves.block(
                    audit.stamp(), request_id, route.name, self._direction, err.code, err.paths
                )
            )
        except CivettaError as failure:
            self.state.log.error("audit_block_failed", request_id=request_id, code=failure.code)

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
        series = self._series.get((name, status))
        if series is None:
            m = self.state.metrics
            series = self._series[(name, status)] = (
                m.requests.labels(name, self._direction, str(status)),
                m.duration.labels(name),
                m.bytes_in.labels(name),
                m.bytes_out.labels(name),
            )
        requests, duration, counted_in, counted_out = series
        requests.inc()
        duration.observe(elapsed)
        counted_in.inc(bytes_in)
        counted_out.inc(bytes_out)
        if upstream_s is not None:
            upstream = self._upstream_series.get(name)
            if upstream is None:
                upstream = self._upstream_series[name] = (
                    self.state.metrics.upstream_duration.labels(name)
                )
            upstream.observe(upstream_s)
        self.state.log.info(
            "request_completed" if code is None else "request_rejected",
            request_id=request_id,
            route=name,
            direction=self._direction,
            method=request.method,
            path=request.rel_url.path,
            status=status,
            code=code,
            latency_ms=round(elapsed * 1000, 3),
            upstream_ms=None if upstream_s is None else round(upstream_s * 1000, 3),
            bytes_in=bytes_in,
            bytes_out=bytes_out,
        )


def _no_subscription() -> CivettaError:
    return RouteNotFound("expected a registered hub subscription, got none")


def _subject_cn(request: web.Request) -> str | None:
    """The common name of a verified client certificate (partner resolution by certificate)."""
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


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
    if declared is not None:
        if declared > limit:
            raise BodyTooLarge(f"expected a body of at most {limit} bytes, got {declared}")
        # aiohttp's parser delivers exactly Content-Length bytes (or fails): read them at once.
        return await request.content.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"expected a body of at most {limit} bytes, got more")
        chunks.append(chunk)
    return b"".join(chunks)


def _relay(
    upstream: UpstreamResponse, request_id: str, method: str, body: bytes | None
) -> web.Response:
    headers: CIMultiDict[str] = end_to_end(upstream.headers)
    headers[REQUEST_ID] = request_id
    if method == "HEAD" or upstream.status == 304:
        # No body, but the length the upstream announced is part of the answer: keep it.
        length = upstream.headers.get("Content-Length")
        if length is not None:
            headers["Content-Length"] = length
        return web.Response(status=upstream.status, reason=upstream.reason, headers=headers)
    return web.Response(
        status=upstream.status,
        reason=upstream.reason,
        body=upstream.body if body is None else body,
        headers=headers,
    )
