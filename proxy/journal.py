"""The handler's audit step: an intent before forwarding, exactly one outcome after.

The intent cites a sealed (encrypted) copy of the exact bytes about to be sent and is durable
under a signed checkpoint before :func:`record_intent` returns; if it cannot be made durable the
request fails with 503 and nothing is sent. The outcome is recorded whatever happened upstream
(a status, or the error code of a 502/504). If the outcome itself cannot be recorded, the answer
is still relayed — the message has already reached the upstream and failing the OSS would only
provoke a duplicate order — and the dangling intent gets a ``recovery`` leaf at the next start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from proxy.audit.records import BodyRecord, FieldRecord, Intent, Operation, Outcome
from proxy.errors import CivettaError
from proxy.state import ProxyState


class Disclosure(NamedTuple):
    """What is about to be sent, described without any value in clear (a named tuple: one is
    built per forwarded message, see :mod:`proxy.audit.records`)."""

    request_id: str
    route: str
    direction: str
    operation: Operation
    partner: str | None = None
    order_ref: str | None = None
    policy_hash: str | None = None
    fields: Sequence[FieldRecord] = ()


async def record_intent(state: ProxyState, what: Disclosure, outgoing: bytes) -> str | None:
    """Seal ``outgoing`` and append the intent; return its id (None when auditing is off)."""
    if not state.config.audit.enabled:
        return None
    audit = state.audit
    sealing = await audit.seal(outgoing)
    intent = Intent(
        request_id=what.request_id,
        route=what.route,
        direction=what.direction,
        operation=what.operation,
        partner=what.partner,
        order_ref=None if what.order_ref is None else audit.commit("$order_ref", what.order_ref),
        policy_hash=what.policy_hash,
        body=BodyRecord(sealing.length, sealing.commitment, sealing.sealed_id),
        fields=tuple(what.fields),
    )
    receipt = await audit.append_intent(intent, sealing)
    return receipt.intent_id


async def record_outcome(
    state: ProxyState,
    intent_id: str | None,
    status: int | None,
    response: bytes | None,
    upstream_s: float | None,
    error: str | None = None,
) -> None:
    """Append the outcome of ``intent_id``; a failure is logged, never raised (see module doc)."""
    if intent_id is None:
        return
    audit = state.audit
    record = (
        None
        if response is None
        else BodyRecord(len(response), audit.commit("$response", response), None)
    )
    outcome = Outcome(
        intent_id=intent_id,
        status=status,
        response=record,
        upstream_ms=None if upstream_s is None else round(upstream_s * 1000, 3),
        error=error,
    )
    try:
        await audit.append_outcome(outcome)
    except CivettaError as err:
        state.log.error("audit_outcome_failed", intent_id=intent_id, code=err.code)
