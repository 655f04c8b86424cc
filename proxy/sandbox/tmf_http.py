"""HTTP helpers of the TMF resources: media types, JSON bodies and TMF ``Error`` replies."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from proxy.sandbox.tmf_model import TmfProblem

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
#: TMF v5's JSON Patch whose paths may select array elements, e.g. ``/note?id=77456``.
JSON_PATCH_QUERY = "application/json-patch-query+json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(problem: TmfProblem) -> web.Response:
    """The TMF ``Error`` body for ``problem`` (``status`` is a string, as the spec says)."""
    body = {
        "code": problem.code,
        "reason": problem.reason,
        "message": problem.message,
        "status": str(problem.status),
        "@type": "Error",
    }
    return web.json_response(body, status=problem.status)


def answers_errors(handler: Handler) -> Handler:
    """Wrap ``handler`` so that a raised ``TmfProblem`` becomes its TMF ``Error`` reply."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except TmfProblem as problem:
            return error_response(problem)

    return wrapper


def media_type(request: web.Request, allowed: frozenset[str]) -> str:
    """The request's media type, if it is one of ``allowed`` and its charset is UTF-8.

    Anything else is a 415, like a strict incumbent: the declared v4 consumes is
    ``application/json;charset=utf-8``.
    """
    declared = request.headers.get("Content-Type")
    ctype = request.content_type.lower() if declared else "none"
    if ctype not in allowed:
        raise TmfProblem(
            415,
            "SBX-MEDIA",
            "Unsupported Media Type",
            f"expected Content-Type one of {', '.join(sorted(allowed))}, got {ctype}",
        )
    charset = request.charset
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise TmfProblem(
            415,
            "SBX-MEDIA",
            "Unsupported Media Type",
            f"expected charset utf-8, got {charset.lower()}",
        )
    return ctype


async def read_json(request: web.Request) -> Any:
    """The request body parsed as UTF-8 JSON; a 400 TMF ``Error`` if it is not."""
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TmfProblem(
            400,
            "SBX-BAD-JSON",
            "Bad Request",
            f"expected UTF-8, got an invalid byte at {exc.start}",
        ) from exc
    except json.JSONDecodeError as exc:
        raise TmfProblem(
            400,
            "SBX-BAD-JSON",
            "Bad Request",
            f"expected a JSON document, got a syntax error at line {exc.lineno} column {exc.colno}",
        ) from exc
    except RecursionError as exc:
        raise TmfProblem(
            400,
            "SBX-BAD-JSON",
            "Bad Request",
            "expected a JSON document, got one nested too deeply",
        ) from exc


def json_type(value: Any) -> str:
    """The JSON type name of ``value``, for messages that must not show the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def expect_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a 400 naming the root path."""
    if not isinstance(value, dict):
        raise TmfProblem(
            400, "SBX-INVALID", "Bad Request", f"expected an object at $, got {json_type(value)}"
        )
    return value


def not_found(api_resource: str, path: str) -> TmfProblem:
    """The 404 for an unknown resource or subscription id (the id is not echoed)."""
    return TmfProblem(404, "SBX-NOT-FOUND", "Not Found", f"no {api_resource} at {path}/{{id}}")
