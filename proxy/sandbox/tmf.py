"""The TMF REST side of the simulated incumbent.

For each API of :data:`proxy.sandbox.tmf_model.APIS` (TMF622 v4 and v5, TMF641 v4.1, TMF621 v4
and v5), on ``{base}/{resource}``:

- ``POST``: the body must be ``application/json`` (UTF-8; anything else is a 415) and valid
  against the create schema (``ProductOrder_Create``, ``ProductOrder_FVO`` ...); an invalid
  body is a 400 TMF ``Error`` naming the JSON path of the problem. A valid one is stored and
  answered ``201`` with the resource (``id``, ``href``, ``state``/``status`` acknowledged,
  ``orderDate``/``creationDate``) and a ``Location`` header;
- ``GET``: the list, with ``fields``, ``offset``, ``limit`` and attribute filters
  (:mod:`proxy.sandbox.tmf_query`), and ``X-Total-Count``/``X-Result-Count`` headers;
- ``GET /{id}`` (with ``fields``), ``DELETE /{id}`` (204), and ``PATCH /{id}`` with
  ``application/merge-patch+json`` (or plain ``application/json``, which TMF reads as a merge
  patch), ``application/json-patch+json`` or, v5 only, ``application/json-patch-query+json``
  (:mod:`proxy.sandbox.tmf_patch`); the result must still be a valid resource (400), ``id`` and
  ``href`` are read-only (400), any other media type is a 415. Unknown ids are a 404 TMF
  ``Error`` that does not echo the id.

Each API also has a hub (:mod:`proxy.sandbox.tmf_hub`) and sends notifications
(:mod:`proxy.sandbox.tmf_events`) as resources move (:mod:`proxy.sandbox.tmf_lifecycle`).
"""

from __future__ import annotations

from aiohttp import web

from proxy.sandbox import tmf_events, tmf_hub, tmf_lifecycle
from proxy.sandbox.app import SETTINGS
from proxy.sandbox.tmf_events import TMF_NOTIFIER, Notifier
from proxy.sandbox.tmf_http import (
    JSON,
    JSON_PATCH,
    JSON_PATCH_QUERY,
    MERGE_PATCH,
    Handler,
    answers_errors,
    expect_object,
    media_type,
    not_found,
    read_json,
)
from proxy.sandbox.tmf_model import (
    APIS,
    ATTRIBUTE_VALUE_CHANGE,
    DELETE,
    JsonObject,
    TmfApi,
    TmfProblem,
)
from proxy.sandbox.tmf_patch import apply_patch
from proxy.sandbox.tmf_query import non_negative, page, project, select
from proxy.sandbox.tmf_schemas import TMF_SCHEMAS, SchemaBook
from proxy.sandbox.tmf_store import TMF_STORE, TmfStore

#: Headers that carry the client's correlation id, echoed as the events' ``correlationId``.
CORRELATION_HEADERS = ("X-Correlation-ID", "X-Request-ID")
READ_ONLY = ("id", "href")


def _collection_url(request: web.Request, api: TmfApi) -> str:
    return f"{request.scheme}://{request.host}{api.collection}"


def _create(api: TmfApi) -> Handler:
    @answers_errors
    async def create(request: web.Request) -> web.StreamResponse:
        media_type(request, frozenset({JSON}))
        body = expect_object(await read_json(request))
        request.app[TMF_SCHEMAS].check(api.key, api.create_def, body)
        resource = tmf_lifecycle.created(api, body, _collection_url(request, api))
        store = request.app[TMF_STORE]
        store.put(api.key, resource)
        correlation = next(
            (request.headers[h] for h in CORRELATION_HEADERS if h in request.headers), None
        )
        if correlation is not None:
            store.set_correlation(api.key, resource["id"], correlation)
        tmf_lifecycle.start(request.app, api, resource)
        return web.json_response(resource, status=201, headers={"Location": resource["href"]})

    return create


def _list(api: TmfApi) -> Handler:
    @answers_errors
    async def list_resources(request: web.Request) -> web.StreamResponse:
        offset = non_negative(request.query.get("offset"), "offset")
        limit = non_negative(request.query.get("limit"), "limit")
        found = select(request.app[TMF_STORE].all(api.key), request.query.items())
        shown = page(found, offset, limit)
        fields = request.query.get("fields")
        headers = {"X-Total-Count": str(len(found)), "X-Result-Count": str(len(shown))}
        return web.json_response([project(r, fields) for r in shown], headers=headers)

    return list_resources


def _stored(request: web.Request, api: TmfApi) -> JsonObject:
    resource = request.app[TMF_STORE].get(api.key, request.match_info["id"])
    if resource is None:
        raise not_found(api.resource, api.collection)
    return resource


def _retrieve(api: TmfApi) -> Handler:
    @answers_errors
    async def retrieve(request: web.Request) -> web.StreamResponse:
        resource = _stored(request, api)
        return web.json_response(project(resource, request.query.get("fields")))

    return retrieve


def _patch(api: TmfApi) -> Handler:
    allowed = {JSON, MERGE_PATCH, JSON_PATCH} | ({JSON_PATCH_QUERY} if api.version == 5 else set())

    @answers_errors
    async def patch(request: web.Request) -> web.StreamResponse:
        kind = media_type(request, frozenset(allowed))
        current = _stored(request, api)
        updated = apply_patch(kind, current, await read_json(request))
        for name in READ_ONLY:
            if updated.get(name) != current.get(name):
                raise TmfProblem(
                    400, "SBX-READ-ONLY", "Bad Request", f"expected $.{name} unchanged (read-only)"
                )
        request.app[TMF_SCHEMAS].check(api.key, api.resource_def, updated)
        tmf_lifecycle.touch(api, updated)
        request.app[TMF_STORE].put(api.key, updated)
        changed = sorted(k for k in set(current) | set(updated) if current.get(k) != updated.get(k))
        notifier = request.app[TMF_NOTIFIER]
        notifier.publish(
            request.app, api, ATTRIBUTE_VALUE_CHANGE, updated, field_path=",".join(changed)
        )
        if updated.get(api.status_field) != current.get(api.status_field):
            notifier.publish(request.app, api, api.status_kind, updated)
        return web.json_response(updated)

    return patch


def _delete(api: TmfApi) -> Handler:
    @answers_errors
    async def delete(request: web.Request) -> web.StreamResponse:
        removed = request.app[TMF_STORE].remove(api.key, request.match_info["id"])
        if removed is None:
            raise not_found(api.resource, api.collection)
        request.app[TMF_NOTIFIER].publish(request.app, api, DELETE, removed)
        return web.Response(status=204)

    return delete


def setup(app: web.Application) -> None:
    """Register the TMF resources, their hubs and the ``/_sandbox/tmf/`` control endpoints."""
    app[TMF_STORE] = TmfStore()
    app[TMF_SCHEMAS] = SchemaBook.load(app[SETTINGS].schemas_dir / "tmf")
    app[TMF_NOTIFIER] = Notifier()
    for api in APIS:
        item = api.collection + "/{id}"
        app.router.add_post(api.collection, _create(api))
        app.router.add_get(api.collection, _list(api))
        app.router.add_get(item, _retrieve(api))
        app.router.add_patch(item, _patch(api))
        app.router.add_delete(item, _delete(api))
        tmf_hub.add_routes(app, api)
    tmf_lifecycle.add_routes(app)
    tmf_events.add_routes(app)
