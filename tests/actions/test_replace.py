"""replace: the partner's contact, or a fixed value, where the customer's was."""

from __future__ import annotations

import pytest

from proxy.actions import replace
from proxy.actions.base import ParamError, Syntax
from proxy.errors import PolicyError
from tests.actions.support import PARTNER, env


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("partner.phone", PARTNER.phone),
        ("partner.email", PARTNER.email),
        ("partner.name", PARTNER.name),
    ],
)
def test_partner_field_replaces_the_value(source: str, expected: str) -> None:
    """Each partner field is substituted; the original is removed and the substitute allowed."""
    change = replace.build({"with": source}, Syntax.JSON).apply("+39 347 1234567", env())
    assert change.value == expected
    assert change.removed
    assert change.allowed == expected


def test_fixed_value_replaces_the_value() -> None:
    """``value:`` writes a fixed text, which the egress guard must then allow."""
    change = replace.build({"value": "N/D"}, Syntax.JSON).apply("Mario Rossi", env())
    assert (change.value, change.removed, change.allowed) == ("N/D", True, "N/D")


def test_value_already_the_substitute_is_recorded_but_not_removed() -> None:
    """A resent order already carrying the partner's phone has nothing of the customer's to commit to."""
    change = replace.build({"with": "partner.phone"}, Syntax.JSON).apply(PARTNER.phone, env())
    assert change.value is None
    assert not change.removed
    assert change.record


def test_missing_partner_is_a_policy_error() -> None:
    """Without a partner there is no real contact to put in: refuse rather than forward."""
    action = replace.build({"with": "partner.phone"}, Syntax.JSON)
    with pytest.raises(PolicyError, match="expected a partner"):
        action.apply("3331234567", env(partner=None))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "exactly one of 'with' and 'value'"),
        ({"with": "partner.phone", "value": "x"}, "exactly one of 'with' and 'value'"),
        ({"with": "partner.fax"}, "expected one of partner.phone, partner.email, partner.name"),
        ({"value": 3}, "expected a string, got int"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    """Parameter mistakes name the parameter and the expectation."""
    with pytest.raises(ParamError, match=message):
        replace.build(params, Syntax.JSON)
