"""The decoys' admin API, added to the admin application by :func:`add_routes`.

* ``GET /v1/decoys/{contact}``: where the switch or mail relay forwards a decoy (200), 404 when
  it is not a live decoy, 503 when its partner is no longer in the directory;
* ``GET /v1/decoys?format=json|csv``: the live table, for switches that load static tables;
* ``POST /v1/contacts``: contact intake (JSON), 201 with the classification.

Errors are civetta's TMF ``Error`` bodies (:mod:`proxy.replies`) and never echo the request.
The admin listener must stay private (docs/decoys.md): the directory reveals partners' contacts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from proxy.config import Protocol
from proxy.decoys.contacts import ContactReport, NotADecoy
from proxy.decoys.routing import to_csv
from proxy.decoys.service import DecoyService
from proxy.errors import BodyError, BodyTooLarge, CivettaError
from proxy.headers import request_id_of
from proxy.replies import error_response

DECOYS = web.AppKey("civetta_decoys", DecoyService)
#: A contact report is a few hundred bytes; a partner's note a few kilobytes at most.
MAX_CONTACT_BYTES: Final = 64 * 1024
_FIELDS: Final = frozenset({"decoy", "caller", "time", "channel", "source", "note"})
_DEFAULT_SOURCE: Final = {"call": "switch", "sms": "switch", "mail": "relay"}


class NoForwarding(CivettaError):
    """A live decoy whose partner the directory no longer has: ops must fix the directory."""

    status = 503
    code = "CIVETTA-NO-FORWARD"


def add_routes(app: web.Application, service: DecoyService) -> None:
    """Add the decoy routes to ``app`` (the admin application)."""
    app[DECOYS] = service
    app.router.add_get("/v1/decoys", _table)
    app.router.add_get("/v1/decoys/{contact}", _route)
    app.router.add_post("/v1/contacts", _intake)


def _failed(request: web.Request, err: CivettaError) -> web.Response:
    return error_response(err, Protocol.REST, "", request_id_of(request.headers))


async def _route(request: web.Request) -> web.Response:
    service = request.app[DECOYS]
    try:
        found = await service.directory.route(request.match_info["contact"])
        if found is None:
            raise NotADecoy("expected a live decoy, got a contact that is not one")
        if found.forward_to is None:
            raise NoForwarding("expected the decoy's partner in the directory, got none")
    except CivettaError as err:
        return _failed(request, err)
    return web.json_response(found.to_json())


async def _table(request: web.Request) -> web.Response:
    service = request.app[DECOYS]
    fmt = request.query.get("format", "json")
    try:
        if fmt not in ("json", "csv"):
            raise BodyError("expected format json or csv, got another")
        rows = await service.directory.table()
    except CivettaError as err:
        return _failed(request, err)
    if fmt == "csv":
        return web.Response(
            text=to_csv(rows),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="decoys.csv"'},
        )
    return web.json_response({"count": len(rows), "decoys": [row.to_json() for row in rows]})


def parse_contact(body: bytes) -> dict[str, Any]:
    """The checked fields of a contact report (``time`` parsed); :class:`BodyError` otherwise."""
    if len(body) > MAX_CONTACT_BYTES:
        raise BodyTooLarge(f"expected a report of at most {MAX_CONTACT_BYTES} bytes, got more")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError("expected a JSON object, got a body that does not parse") from exc
    if not isinstance(data, dict):
        raise BodyError("expected a JSON object, got another value")
    extra = sorted(set(data) - _FIELDS)
    if extra:
        raise BodyError(f"expected only {', '.join(sorted(_FIELDS))}, got {', '.join(extra)}")
    for name in ("decoy", "time", "channel"):
        if not isinstance(data.get(name), str):
            raise BodyError(f"expected {name} as a string, got {type(data.get(name)).__name__}")
    for name in ("caller", "source", "note"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise BodyError(f"expected {name} as a string or null, got another type")
    try:
        data["time"] = datetime.fromisoformat(data["time"])
    except ValueError as exc:
        raise BodyError("expected time in ISO 8601 with a UTC offset, got another form") from exc
    data["source"] = data.get("source") or _DEFAULT_SOURCE.get(data["channel"], "switch")
    return data


async def _intake(request: web.Request) -> web.Response:
    service = request.app[DECOYS]
    try:
        data = parse_contact(await request.read())
        done = await service.intake.record(
            ContactReport(
                decoy=data["decoy"],
                caller=data.get("caller"),
                at=data["time"],
                channel=data["channel"],
                source=data["source"],
                note=data.get("note"),
            )
        )
    except CivettaError as err:
        return _failed(request, err)
    return web.json_response(
        {
            "id": done.id,
            "decoy": done.decoy,
            "classification": done.classification,
            "reason": done.reason,
            "decoy_id": done.decoy_id,
            "partner": done.partner,
            "leaf_index": done.leaf_index,
        },
        status=201,
    )
