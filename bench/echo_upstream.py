"""A fast loopback upstream for the proxy benchmarks.

It reads the whole request body (as a real incumbent must), then answers with a small fixed
response: a SOAP 1.1 ``SubmitActivationOrderResponse`` when the request was XML, else a TMF622
``ProductOrder`` acknowledgement with 201. ``GET /healthz`` answers 200. The handler does as
little as possible so that the proxy in front of it dominates the figures; ``--delay-ms`` adds
a non-CPU wait (an upstream that takes time) when that is what is being studied.

Run: ``python bench/echo_upstream.py --port 9100`` (``--port 0`` picks a free port; the bound
port is printed as ``listening <port>`` on stdout either way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from aiohttp import web

SOAP_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:hdr="http://wholesale.example.it/header/v1" xmlns:ord="http://wholesale.example.it/ordering/v1">
<soap:Header><hdr:header><hdr:activityName>ordering</hdr:activityName>\
<hdr:msgName>SubmitActivationOrderResponse</hdr:msgName><hdr:msgType>RESPONSE</hdr:msgType>\
<hdr:senderURI>urn:wholesale:incumbent</hdr:senderURI><hdr:destinationURI>urn:olo:example:oss\
</hdr:destinationURI><hdr:correlationId>OLO-2025-0000481516</hdr:correlationId>\
<hdr:timestamp>2025-03-14T09:26:54Z</hdr:timestamp></hdr:header></soap:Header>
<soap:Body><ord:SubmitActivationOrderResponse><ord:codiceOrdineOLO>OLO-2025-0000481516\
</ord:codiceOrdineOLO><ord:idOrdineWholesale>ORD-2025-00481516</ord:idOrdineWholesale>\
<ord:stato>ACQUISITO</ord:stato><ord:dataAcquisizione>2025-03-14T09:26:54Z</ord:dataAcquisizione>\
</ord:SubmitActivationOrderResponse></soap:Body>
</soap:Envelope>
"""

JSON_RESPONSE = (
    b'{"id":"PO-2025-00481517","href":"/tmf-api/productOrderingManagement/v4/productOrder/'
    b'PO-2025-00481517","externalId":"OLO-2025-0000481517","state":"acknowledged",'
    b'"orderDate":"2025-03-14T09:26:54Z","@type":"ProductOrder"}'
)

_SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
_JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8"}


def build_app(delay_s: float = 0.0) -> web.Application:
    """The echo application; ``delay_s`` is awaited (not spent on the CPU) per request."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if delay_s:
            await asyncio.sleep(delay_s)
        if "xml" in request.headers.get("Content-Type", ""):
            return web.Response(body=SOAP_RESPONSE, headers=_SOAP_HEADERS)
        return web.Response(status=201, body=JSON_RESPONSE, headers=_JSON_HEADERS)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(body=b"ok", headers={"Content-Type": "text/plain"})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def serve(host: str, port: int, delay_s: float) -> None:
    """Serve until SIGTERM or SIGINT; print the bound port once listening."""
    runner = web.AppRunner(build_app(delay_s), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    server = site._server  # the bound socket tells the real port when 0 was asked for
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"listening {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Command line: ``--host``, ``--port``, ``--delay-ms``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="await this long per request")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the benchmark upstream serves loopback only")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.delay_ms / 1000.0))


if __name__ == "__main__":
    main()
