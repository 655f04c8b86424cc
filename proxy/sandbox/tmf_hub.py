"""The hub of each TMF API: ``POST {base}/hub`` registers a listener, ``DELETE`` removes it.

The body is an ``EventSubscriptionInput`` (v5: ``Hub_FVO``) ``{callback, query}``; the reply is
``201`` with the ``EventSubscription`` ``{id, callback, query}`` (v5 adds ``@type: Hub``) and a
``Location`` header. The callback must be an absolute http(s) URL: the incumbent posts to it.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from proxy.sandbox.tmf_http import (
    JSON,
    Handler,
    answers_errors,
    expect_object,
    media_type,
    not_found,
    read_json,
)
from proxy.sandbox.tmf_model import JsonObject, TmfApi, TmfProblem, new_id
from proxy.sandbox.tmf_schemas import TMF_SCHEMAS
from proxy.sandbox.tmf_store import TMF_STORE, Subscription


def _representation(api: TmfApi, subscription: Subscription) -> JsonObject:
    body = subscription.to_json()
    if api.version == 5:
        body["@type"] = "Hub"
    return body


def _valid_callback(callback: str) -> bool:
    try:
        url = URL(callback)
    except ValueError:
        return False
    return url.is_absolute() and url.scheme in ("http", "https") and bool(url.host)


def _register(api: TmfApi) -> Handler:
    @answers_errors
    async def register(request: web.Request) -> web.StreamResponse:
        media_type(request, frozenset({JSON}))
        body = expect_object(await read_json(request))
        request.app[TMF_SCHEMAS].check(api.key, "EventSubscriptionInput", body)
        if not _valid_callback(body["callback"]):
            raise TmfProblem(
                400, "SBX-INVALID", "Invalid body", "expected an absolute http(s) URL at $.callback"
            )
        query = body.get("query")
        subscription = Subscription(new_id(), body["callback"], query if query is not None else "")
        request.app[TMF_STORE].subscribe(api.key, subscription)
        location = f"{request.scheme}://{request.host}{api.hub}/{subscription.id}"
        return web.json_response(
            _representation(api, subscription), status=201, headers={"Location": location}
        )

    return register


def _retrieve(api: TmfApi) -> Handler:
    @answers_errors
    async def retrieve(request: web.Request) -> web.StreamResponse:
        subscription = request.app[TMF_STORE].subscription(api.key, request.match_info["id"])
        if subscription is None:
            raise not_found("subscription", api.hub)
        return web.json_response(_representation(api, subscription))

    return retrieve


def _unregister(api: TmfApi) -> Handler:
    @answers_errors
    async def unregister(request: web.Request) -> web.StreamResponse:
        if not request.app[TMF_STORE].unsubscribe(api.key, request.match_info["id"]):
            raise not_found("subscription", api.hub)
        return web.Response(status=204)

    return unregister


def add_routes(app: web.Application, api: TmfApi) -> None:
    """Register ``POST {hub}``, ``GET {hub}/{id}`` and ``DELETE {hub}/{id}`` for ``api``."""
    app.router.add_post(api.hub, _register(api))
    app.router.add_get(api.hub + "/{id}", _retrieve(api))
    app.router.add_delete(api.hub + "/{id}", _unregister(api))
