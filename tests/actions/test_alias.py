"""alias: the order's decoy where the customer's contact was."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.actions import alias
from proxy.actions.base import Env, ParamError, Syntax
from proxy.audit.records import commit_value
from proxy.engine import apply
from proxy.errors import PolicyError
from tests.actions.support import KEYS, ORDER, context, env, rule

DECOYS = {"phone": "+390299990007", "email": "o-abcdefgh@alias.olo.example.it"}


def with_decoys(order_ref: str | None = ORDER) -> Env:
    """An environment whose context holds this order's decoys."""
    base = env(order_ref=order_ref)
    return dataclasses.replace(base, context=dataclasses.replace(base.context, decoys=DECOYS))


@pytest.mark.parametrize("kind", ["phone", "email"])
def test_the_decoy_replaces_the_value(kind: str) -> None:
    """The customer's value goes, the decoy of the kind comes; it is allowed in the output and
    the decision carries the decoy id."""
    change = alias.build({"kind": kind}, Syntax.JSON).apply("+39 347 555 0199", with_decoys())
    assert change.value == DECOYS[kind] and change.removed and change.allowed == DECOYS[kind]
    assert change.token_id == alias.decoy_id(KEYS.commit, ORDER, DECOYS[kind])


def test_decoy_id_is_the_audit_commitment_prefix() -> None:
    """The id equals the first 12 bytes of commit("$decoy", order NUL decoy), which the
    decoy service derives from the audit log alone."""
    expected = commit_value(KEYS.commit, "$decoy", f"{ORDER}\x00{DECOYS['phone']}")[:12].hex()
    assert alias.decoy_id(KEYS.commit, ORDER, DECOYS["phone"]) == expected
    assert alias.decoy_id(KEYS.commit, "OTHER", DECOYS["phone"]) != expected


def test_a_resent_decoy_is_recorded_not_removed() -> None:
    """A message already carrying the decoy has nothing of the customer's to commit to."""
    change = alias.build({"kind": "phone"}, Syntax.JSON).apply(DECOYS["phone"], with_decoys())
    assert change.value is None and not change.removed and change.record
    assert change.allowed == DECOYS["phone"]


def test_no_decoy_is_a_policy_error() -> None:
    """Without a pre-assigned decoy the message is refused, never forwarded with the value."""
    action = alias.build({"kind": "email"}, Syntax.JSON)
    with pytest.raises(PolicyError, match="expected a email decoy for this order, got none"):
        action.apply("mario@example.org", env())


def test_no_order_is_a_policy_error() -> None:
    """A decoy belongs to an order: without the order reference there is none to use."""
    action = alias.build({"kind": "phone"}, Syntax.JSON)
    with pytest.raises(PolicyError, match="expected an order reference for alias"):
        action.apply("3475550199", with_decoys(order_ref=None))


@pytest.mark.parametrize("params", [{}, {"kind": "fax"}, {"kind": 1}])
def test_bad_kind_is_refused(params: dict[str, object]) -> None:
    """kind is required and is phone or email."""
    with pytest.raises(ParamError, match="expected one of phone, email"):
        alias.build(params, Syntax.JSON)


def test_engine_puts_the_decoy_in_the_document() -> None:
    """Through the engine: the decoy lands at the path, the decision records the commitment of
    the removed value and the decoy id, and the decoy is an allowed value for the guard."""
    doc = {"contactMedium": [{"characteristic": {"phoneNumber": "+39 347 555 0199"}}]}
    ctx = dataclasses.replace(context(), decoys=DECOYS)
    out = apply([rule("$..phoneNumber", "alias", {"kind": "phone"})], doc, ctx)
    assert out.document["contactMedium"][0]["characteristic"]["phoneNumber"] == DECOYS["phone"]
    (decision,) = out.decisions
    assert decision.action == "alias" and decision.commitment is not None
    assert decision.token_id == alias.decoy_id(KEYS.commit, ORDER, DECOYS["phone"])
    assert DECOYS["phone"] in out.allowed_values
    assert "+39 347 555 0199" in out.removed_values
