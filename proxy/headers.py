"""Header handling at the proxy's edges: hop-by-hop removal and request ids."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from multidict import CIMultiDict, CIMultiDictProxy

#: RFC 9110 §7.6.1 connection-specific fields, plus the framing fields aiohttp recomputes.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)

REQUEST_ID = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def end_to_end(
    headers: CIMultiDictProxy[str] | CIMultiDict[str], extra_drop: Iterable[str] = ()
) -> CIMultiDict[str]:
    """Copy ``headers`` without hop-by-hop fields (and those the Connection header names)."""
    named = {t.strip().lower() for v in headers.getall("Connection", []) for t in v.split(",")}
    drop = HOP_BY_HOP | named | {h.lower() for h in extra_drop}
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


def request_id_of(headers: CIMultiDictProxy[str]) -> str:
    """The client's ``X-Request-ID`` when it is a plain token, else a fresh one.

    A request id ends up in logs and in the audit log, so a value that could carry anything
    (spaces, '@' plus a name …) is replaced rather than propagated.
    """
    given = headers.get(REQUEST_ID)
    if given is not None and _REQUEST_ID_RE.fullmatch(given) and "@" not in given:
        return given
    return uuid.uuid4().hex
