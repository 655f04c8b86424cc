"""How the sandbox incumbent moves TMF resources through their states.

A created order or ticket starts ``acknowledged`` (a v5 order may ask for ``draft``, and then
stays there); after ``notify_delay_s`` the incumbent's workflow takes it ``inProgress``. Tests
and demos drive any other transition through ``POST /_sandbox/tmf/state`` (never recorded)::

    {"path": "/tmf-api/productOrderingManagement/v4/productOrder/<id>", "state": "held",
     "reason": "Recapiti telefonici errati",
     "informationRequired": {"op": "add", "path": "/relatedParty"}}

which also sends an InformationRequired event when ``informationRequired`` is given: the
incumbent suspending an order until the OLO supplies a valid contact.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from proxy.sandbox.app import BACKGROUND, SETTINGS
from proxy.sandbox.tmf_events import TMF_NOTIFIER
from proxy.sandbox.tmf_http import answers_errors, expect_object, read_json
from proxy.sandbox.tmf_model import (
    APIS,
    CREATE,
    INFORMATION_REQUIRED,
    JsonObject,
    TmfApi,
    TmfProblem,
    new_id,
    now,
)
from proxy.sandbox.tmf_schemas import TMF_SCHEMAS
from proxy.sandbox.tmf_store import TMF_STORE

ACKNOWLEDGED = "acknowledged"
IN_PROGRESS = "inProgress"
DRAFT = "draft"
#: States an order item can take (the order itself also has partial, draft ...).
ITEM_STATES = frozenset(
    {
        "acknowledged",
        "rejected",
        "pending",
        "held",
        "inProgress",
        "cancelled",
        "completed",
        "failed",
        "assessingCancellation",
        "pendingCancellation",
    }
)


def _set_item_states(items: Any, state: str) -> None:
    if not isinstance(items, list) or state not in ITEM_STATES:
        return
    for item in items:
        if isinstance(item, dict):
            item["state"] = state
            _set_item_states(item.get("productOrderItem", item.get("serviceOrderItem")), state)


def _record_status(api: TmfApi, resource: JsonObject, state: str, reason: str | None) -> None:
    """Stamp a status change the way each API version records it."""
    if api.item_field is not None:
        _set_item_states(resource.get(api.item_field), state)
        return
    at = now()
    resource["statusChangeDate"] = at
    if reason is not None:
        resource["statusChangeReason"] = reason
    if api.version == 4:
        change = {"status": state, "changeDate": at, "changeReason": reason or state}
        resource.setdefault("statusChange", []).append(change)
    else:
        history = {
            "@type": "StatusChange",
            "status": state,
            "statusChangeDate": at,
            "statusChangeReason": reason or state,
        }
        resource.setdefault("statusChangeHistory", []).append(history)


def created(api: TmfApi, body: JsonObject, href: str) -> JsonObject:
    """The resource the provider makes of a valid create body: id, href, state, dates."""
    resource = dict(body)
    resource_id = new_id()
    resource["id"] = resource_id
    resource["href"] = f"{href}/{resource_id}"
    at = now()
    for name in api.created_fields:
        resource[name] = at
    initial = DRAFT if body.get("requestedInitialState") == DRAFT else ACKNOWLEDGED
    resource[api.status_field] = initial
    _record_status(api, resource, initial, "created")
    return resource


def touch(api: TmfApi, resource: JsonObject) -> None:
    """Refresh the last-update date, for the APIs that have one."""
    if api.updated_field is not None:
        resource[api.updated_field] = now()


def change_status(
    app: web.Application,
    api: TmfApi,
    resource_id: str,
    state: str,
    *,
    reason: str | None = None,
    information_required: Any = None,
    only_from: str | None = None,
) -> JsonObject | None:
    """Move the resource to ``state`` and notify; ``None`` if it is gone (or not ``only_from``)."""
    store = app[TMF_STORE]
    resource = store.get(api.key, resource_id)
    if resource is None or (only_from is not None and resource.get(api.status_field) != only_from):
        return None
    resource[api.status_field] = state
    _record_status(api, resource, state, reason)
    touch(api, resource)
    # A state the API does not know is refused (400) before anything is stored or sent.
    app[TMF_SCHEMAS].check(api.key, api.resource_def, resource)
    store.put(api.key, resource)
    notifier = app[TMF_NOTIFIER]
    notifier.publish(app, api, api.status_kind, resource)
    if information_required is not None:
        pointer = (
            information_required.get("path") if isinstance(information_required, dict) else None
        )
        notifier.publish(
            app,
            api,
            INFORMATION_REQUIRED,
            resource,
            field_path=pointer if isinstance(pointer, str) else None,
            information_required=information_required,
        )
    return resource


async def _progress(app: web.Application, api: TmfApi, resource_id: str) -> None:
    await asyncio.sleep(app[SETTINGS].notify_delay_s)
    change_status(
        app, api, resource_id, IN_PROGRESS, reason="taken in charge", only_from=ACKNOWLEDGED
    )


def start(app: web.Application, api: TmfApi, resource: JsonObject) -> None:
    """After a create: send the Create event, then let the workflow take the resource on."""
    app[TMF_NOTIFIER].publish(app, api, CREATE, resource)
    if resource.get(api.status_field) == ACKNOWLEDGED:
        app[BACKGROUND].spawn(_progress(app, api, resource["id"]))


@answers_errors
async def _drive(request: web.Request) -> web.StreamResponse:
    body = expect_object(await read_json(request))
    path, state = body.get("path"), body.get("state")
    if not isinstance(path, str) or not isinstance(state, str):
        raise TmfProblem(400, "SBX-CONTROL", "Bad Request", "expected string path and state")
    collection, _, resource_id = path.rstrip("/").rpartition("/")
    api = next((a for a in APIS if a.collection == collection), None)
    reason = body.get("reason")
    resource = None
    if api is not None:
        resource = change_status(
            request.app,
            api,
            resource_id,
            state,
            reason=reason if isinstance(reason, str) else None,
            information_required=body.get("informationRequired"),
        )
    if resource is None:
        raise TmfProblem(404, "SBX-NOT-FOUND", "Not Found", "no TMF resource at that path")
    return web.json_response(resource)


def add_routes(app: web.Application) -> None:
    """``POST /_sandbox/tmf/state``: drive a resource to any state (never recorded)."""
    app.router.add_post("/_sandbox/tmf/state", _drive)
