"""SSL contexts for the listeners (inbound, optional mTLS) and the upstreams (pinned CA, client cert)."""

from __future__ import annotations

import ssl

from proxy.config import ServerTls, UpstreamTls


def server_context(tls: ServerTls) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with ``client_ca_file`` clients present certificates it verifies."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.client_ca_file is not None:
        ctx.load_verify_locations(cafile=str(tls.client_ca_file))
        ctx.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return ctx


def client_context(tls: UpstreamTls | None) -> ssl.SSLContext:
    """A verifying TLS 1.2+ client context: the pinned CA bundle if given, else the system store."""
    if tls is not None and tls.ca_file is not None:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file))
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls is not None and tls.cert_file is not None and tls.key_file is not None:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return ctx
