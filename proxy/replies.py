"""The proxy's own error responses: a SOAP fault on SOAP routes, a TMF ``Error`` elsewhere.

They are distinguishable from the incumbent's (a ``civetta`` fault actor / ``@type`` and the
``X-Civetta-Error`` header carry civetta's code) and they never echo anything from the request:
the message comes from the error, and errors name paths and limits, never values.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from aiohttp import web

from proxy.config import Protocol
from proxy.errors import CivettaError

ERROR_HEADER = "X-Civetta-Error"
_ACTOR = "urn:civetta:proxy"


def _soap11(err: CivettaError) -> bytes:
    code = "soap:Client" if err.client_fault else "soap:Server"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soap:Body><soap:Fault>"
        f"<faultcode>{code}</faultcode>"
        f"<faultstring>{escape(err.message)}</faultstring>"
        f"<faultactor>{_ACTOR}</faultactor>"
        f'<detail><civetta:error xmlns:civetta="{_ACTOR}" code="{escape(err.code)}" status="{err.status}"/></detail>'
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def _soap12(err: CivettaError) -> bytes:
    code = "env:Sender" if err.client_fault else "env:Receiver"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
        "<env:Body><env:Fault>"
        f"<env:Code><env:Value>{code}</env:Value></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(err.message)}</env:Text></env:Reason>'
        f"<env:Role>{_ACTOR}</env:Role>"
        f'<env:Detail><civetta:error xmlns:civetta="{_ACTOR}" code="{escape(err.code)}" status="{err.status}"/></env:Detail>'
        "</env:Fault></env:Body></env:Envelope>"
    ).encode()


def _tmf(err: CivettaError) -> bytes:
    return json.dumps(
        {
            "@type": "Error",
            "code": err.code,
            "reason": type(err).__name__,
            "message": err.message,
            "status": str(err.status),
            "referenceError": "urn:civetta:errors#" + err.code,
        },
        ensure_ascii=False,
    ).encode()


def looks_like_soap(content_type: str, protocol: Protocol | None) -> bool:
    """SOAP when the route says so, or, with no route, when the request's media type does."""
    if protocol is not None:
        return protocol is Protocol.SOAP
    ct = content_type.lower()
    return ct.startswith(("text/xml", "application/soap+xml"))


def error_response(
    err: CivettaError, protocol: Protocol | None, content_type: str, request_id: str
) -> web.Response:
    """Render ``err`` in the shape the client of this route understands."""
    headers = {ERROR_HEADER: err.code, "X-Request-ID": request_id}
    if looks_like_soap(content_type, protocol):
        if content_type.lower().startswith("application/soap+xml"):
            body, ctype = _soap12(err), "application/soap+xml; charset=utf-8"
        else:
            body, ctype = _soap11(err), "text/xml; charset=utf-8"
    else:
        body, ctype = _tmf(err), "application/json; charset=utf-8"
    headers["Content-Type"] = ctype
    return web.Response(status=err.status, body=body, headers=headers)
