"""``alias``: put this order's decoy contact where the customer's was (the "test civetta").

``kind: phone | email`` picks the decoy the handler assigned to the order before the engine ran
(``Context.decoys``; see :mod:`proxy.decoys.service`): the same decoy for every message of the
order, a real number or address of the operator's that the switch or mail relay forwards to
the partner. Any later contact on it, or an echo, pins the order that leaked (DOMAIN.md §6.1).

The decision carries the decoy id (:func:`decoy_id`) as its token id, so the intent that
disclosed a decoy names the same id as the ``alias`` leaf that issued it. The decoy is allowed
in the output: the egress guard must let it through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import (
    Change,
    Env,
    ParamError,
    Phase,
    Reach,
    Syntax,
    mac,
    require_order,
)
from proxy.errors import PolicyError

#: Decoy kinds a rule may ask for.
KINDS = ("phone", "email")
#: The commitment path of decoy ids: ``HMAC(commit key, "$decoy" || 0 || order || 0 || decoy)``.
DECOY_PATH = "$decoy"

#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("kind",)


def decoy_id(commit_key: bytes, order_ref: str, decoy: str) -> str:
    """The id of ``decoy`` given to ``order_ref``: 96 bits of a keyed commitment, in hex.

    It equals ``AuditLog.commit("$decoy", order_ref + "\\x00" + decoy)[:12].hex()``, so the
    decoy service, which holds only the audit log, derives the same id.
    """
    return mac(commit_key, DECOY_PATH.encode(), order_ref.encode(), decoy.encode())[:12].hex()


@dataclass(frozen=True, slots=True)
class Alias:
    """Substitute the order's decoy of ``kind``."""

    kind: str

    name: ClassVar[str] = "alias"
    reach: ClassVar[Reach] = Reach.SCALAR
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The decoy; the original is removed. No decoy for this order is a policy error."""
        order = require_order(env, self.name)
        decoy = env.context.decoys.get(self.kind)
        if not decoy:
            raise PolicyError(f"expected a {self.kind} decoy for this order, got none")
        ident = decoy_id(env.context.keys.commit, order, decoy)
        if value == decoy:
            # Already the decoy (a resent order): nothing of the customer's is left here.
            return Change(record=True, allowed=decoy, token_id=ident)
        return Change(value=decoy, removed=True, allowed=decoy, token_id=ident)


def build(params: Mapping[str, Any], syntax: Syntax) -> Alias:
    """``kind``: ``phone`` or ``email`` (required)."""
    kind = params.get("kind")
    if kind not in KINDS:
        raise ParamError([("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")])
    return Alias(str(kind))
