"""What the handler asks before minimising a message: does it need decoys, for which order?

PURE: it reads the same policy, partner and order reference that
:func:`proxy.minimise.minimise_request` will, without applying anything, so the handler can
await :meth:`proxy.decoys.service.DecoyService.assign` first and pass the decoys in
``Context.decoys``. When it answers None, the message needs no decoy, or cannot have one (no
policy, partner or order reference): minimisation then refuses it or goes on without, exactly
as it would have (an ``alias`` rule with no decoy is a :class:`~proxy.errors.PolicyError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.actions.alias import Alias
from proxy.message import Message
from proxy.minimise import CONTENT, Minimiser, soap_action
from proxy.policy.model import Policy


@dataclass(frozen=True, slots=True)
class DecoyRequest:
    """The decoys one message needs: for which order, forwarding to which partner, which kinds."""

    order_ref: str
    partner_id: str
    kinds: frozenset[str]


def kinds_needed(policy: Policy) -> frozenset[str]:
    """The decoy kinds the request rules of ``policy`` use (empty: no ``alias`` rule)."""
    return frozenset(rule.handler.kind for rule in policy.rules if isinstance(rule.handler, Alias))


def find_policy(m: Minimiser, method: str, path: str, message: Message) -> Policy | None:
    """The policy that covers the message, as :func:`~proxy.minimise.minimise_request` finds it."""
    return m.policies.find(method, path, soap_action(message), CONTENT[message.kind])


def decoy_request(
    m: Minimiser,
    method: str,
    path: str,
    headers: Mapping[str, str],
    message: Message,
    subject_cn: str | None = None,
) -> DecoyRequest | None:
    """The decoys to assign before minimising ``message``, or None (see the module docstring)."""
    policy = find_policy(m, method, path, message)
    if policy is None or policy.partner is None:
        return None
    kinds = kinds_needed(policy)
    if not kinds:
        return None
    partner = m.partners.get(policy.partner.resolve(headers, message.document, subject_cn))
    order_ref = policy.order_reference(message.document)
    if partner is None or not order_ref:
        return None
    return DecoyRequest(order_ref, partner.id, kinds)


def order_of(m: Minimiser, method: str, path: str, message: Message) -> str | None:
    """The order reference of a message (an inbound notification, for echo detection)."""
    policy = find_policy(m, method, path, message)
    return None if policy is None else policy.order_reference(message.document)
