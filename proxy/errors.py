"""One error tree for civetta.

Every error carries an HTTP status and a stable machine code, and a message that names
paths, limits and kinds, never a value taken from a message (values may be personal data).
Errors are converted at the boundary (``raise BodyError(...) from exc``) and rendered as the
proxy's own SOAP fault or TMF ``Error`` by :mod:`proxy.replies`.
"""

from __future__ import annotations


class CivettaError(Exception):
    """Base of every error civetta raises on purpose."""

    status: int = 500
    code: str = "CIVETTA-INTERNAL"
    #: SOAP fault side: True when the sender (the client) is at fault.
    client_fault: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CivettaError):
    """The configuration (or a policy file) is invalid; ``errors`` lists ``file:line: message``."""

    code = "CIVETTA-CONFIG"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors) if errors else "invalid configuration")
        self.errors = list(errors)


class RouteNotFound(CivettaError):
    """No route matches the request: deny (fail closed)."""

    status = 404
    code = "CIVETTA-NO-ROUTE"
    client_fault = True


class MethodNotAllowed(CivettaError):
    """A route matches the path but not the method."""

    status = 405
    code = "CIVETTA-METHOD"
    client_fault = True


class BodyError(CivettaError):
    """The body of a protected route cannot be parsed."""

    status = 400
    code = "CIVETTA-BAD-BODY"
    client_fault = True


class BodyTooLarge(CivettaError):
    """The body exceeds the configured limit."""

    status = 413
    code = "CIVETTA-TOO-LARGE"
    client_fault = True


class UnsupportedMedia(CivettaError):
    """Unknown content type or content encoding on a protected route."""

    status = 415
    code = "CIVETTA-MEDIA"
    client_fault = True


class PartnerUnknown(CivettaError):
    """The message names no partner, or one the directory does not know."""

    status = 403
    code = "CIVETTA-PARTNER"
    client_fault = True


class PolicyError(CivettaError):
    """Applying the policy failed: the message is not forwarded."""

    status = 422
    code = "CIVETTA-POLICY"
    client_fault = True


class LeakBlocked(CivettaError):
    """The egress guard found personal data that no rule allows."""

    status = 422
    code = "CIVETTA-LEAK"
    client_fault = True

    def __init__(self, message: str, paths: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        #: Where the data was found (paths, never values), for the audit's ``block`` leaf.
        self.paths = paths


class PolicyMissing(CivettaError):
    """A protected route received a message that no policy covers: refused, never forwarded."""

    status = 403
    code = "CIVETTA-NO-POLICY"
    client_fault = True


class VaultError(CivettaError):
    """Tokens or decoys could not be issued or restored."""

    status = 503
    code = "CIVETTA-VAULT"


class AuditUnavailable(CivettaError):
    """The audit record could not be made durable: nothing is sent."""

    status = 503
    code = "CIVETTA-AUDIT"


class NotReady(CivettaError):
    """The proxy is starting, draining or refusing traffic (e.g. audit rollback detected)."""

    status = 503
    code = "CIVETTA-NOT-READY"


class UpstreamUnreachable(CivettaError):
    """The incumbent (or the OSS listener) could not be reached."""

    status = 502
    code = "CIVETTA-UPSTREAM-UNREACHABLE"


class UpstreamTimeout(CivettaError):
    """The incumbent did not answer in time."""

    status = 504
    code = "CIVETTA-UPSTREAM-TIMEOUT"


class UpstreamBadResponse(CivettaError):
    """The upstream's response could not be relayed (too large, undecodable)."""

    status = 502
    code = "CIVETTA-UPSTREAM-RESPONSE"
