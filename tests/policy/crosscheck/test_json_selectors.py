"""JSONPath selectors against the TMF JSON Schemas: members, filters, descents, arrays, v5 ``@type``."""

from __future__ import annotations

import pytest

from proxy.policy.crosscheck import crosscheck
from proxy.policy.load import load_policy_text
from tests.policy.crosscheck.support import SCHEMAS, V4, V5, check, policy_text


def test_a_typo_in_a_member_name_is_reported_at_its_line() -> None:
    """``phoneNumbr`` is declared nowhere: the rule's file:line, the step and the name."""
    errors = check(
        V4,
        [
            "$..contactMedium[*].characteristic.phoneNumber",
            "$..contactMedium[*].characteristic.phoneNumbr",
        ],
    )
    assert errors == [
        "t.yaml:7: rule r1: $..contactMedium[*].characteristic.phoneNumbr: expected a member "
        "the schema declares on $..contactMedium[*].characteristic, got 'phoneNumbr'"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("$.notes[*].text", "expected a member the schema declares on $, got 'notes'"),
        ("$.note.text", "expected a member the schema declares on $.note, got 'text'"),
        ("$..nonexistent", "expected a member the schema declares anywhere below $, got 'nonexistent'"),
        ("$..relatedParty[?(@.rol == 'customer')].name",
         "expected filter members the items at $..relatedParty declare, got @.rol"),
        # v4 places are references or addresses: parties hang off places only in v5.
        ("$..place[*].relatedParty", "expected a member the schema declares on $..place[*], got 'relatedParty'"),
        ("$.externalId[0]", "expected an array at $.externalId for [0], got none in the schema"),
    ],
)  # fmt: skip
def test_json_selectors_that_can_never_match(selector: str, message: str) -> None:
    """Member names, filters, descents and array steps are all checked."""
    (error,) = check(V4, [selector])
    assert error == f"t.yaml:6: rule r0: {selector}: {message}"


@pytest.mark.parametrize(
    "selector",
    [
        "$..",
        "$..*",
        "$.productOrderItem[0].product.productCharacteristic[*].value",
        # v4 Characteristic.value is free-form (Any): whatever an OSS puts there is accepted.
        "$..productCharacteristic[?(@.valueType == 'object')].value.referente.telefono",
        "$..relatedParty[?(@.role != 'buyer' && @['@referredType'] == 'Individual')].name",
        "$..productOrderItem[*].productOrderItem[*].product.relatedParty[*].contactMedium[*]",
        "$..[?(@.role)]",
    ],
)
def test_json_selectors_that_can_match(selector: str) -> None:
    """Recursive, nested, filtered and free-form selectors that the schema allows."""
    assert check(V4, [selector]) == []


def test_v5_polymorphism_is_followed() -> None:
    """``@type`` branches (if/then) declare the members of Individual, contact media …"""
    good = [
        "$..partyOrPartyRole[?(@['@type'] == 'Individual')].givenName",
        "$..place[*].place.relatedParty[*].partyOrPartyRole.contactMedium[*].emailAddress",
        "$..individualIdentification[*].identificationId",
    ]
    assert check(V5, good) == []
    (error,) = check(V5, ["$..partyOrPartyRole.givnName"])
    assert error.endswith("got 'givnName'")


def test_allow_children_are_checked_too() -> None:
    """An allow-list naming a member the node cannot have is a typo (the real one is dropped)."""
    text = policy_text(V5, [], action="allow").replace(
        "rules:\n",
        "rules:\n  - {id: cm, select: '$..contactMedium[*]', action: allow, "
        "children: [phoneNumber, emailAdress]}\n",
    )
    errors = crosscheck(load_policy_text(text, "t.yaml"), SCHEMAS)
    assert errors == [
        "t.yaml:6: rule cm: $..contactMedium[*]: expected allow children the selected nodes "
        "declare, got 'emailAdress'"
    ]
