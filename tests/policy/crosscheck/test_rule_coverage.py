"""Coverage: personal-looking fields of the shipped policies' schemas that no request rule covers."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.policy.crosscheck import SchemaLibrary, coverage
from proxy.policy.load import load_policy_text
from proxy.policy.selectors import compile_selector
from tests.policy.crosscheck.support import ORD, SCHEMAS, SOAP11, V4, shipped, without


@pytest.mark.parametrize(
    "name",
    [
        "soap-activation-order",
        "soap-trouble-ticket",
        "soap-order-status",
        "tmf622-v4-product-order",
        "tmf622-v5-product-order",
        "tmf641-v4-service-order",
        "tmf621-v4-trouble-ticket",
        "tmf621-v5-trouble-ticket",
        "tmf-hub-registration",
    ],
)
def test_shipped_outbound_policies_have_no_coverage_gaps(name: str) -> None:
    """Every personal-looking field of the outbound schemas is covered by some rule."""
    assert coverage(shipped(name), SchemaLibrary(SCHEMAS)) == []


def test_a_removed_rule_shows_as_gaps() -> None:
    """Without the phone rule, every phone number of every party is uncovered."""
    library = SchemaLibrary(SCHEMAS)
    policy = shipped("tmf622-v4-product-order")
    gaps = coverage(without(policy, "phone"), library)
    assert [g.field.path for g in gaps] == [
        "$.productOrderItem[*].product.relatedParty[*].contactMedium[*].characteristic.phoneNumber",
        "$.relatedParty[*].contactMedium[*].characteristic.phoneNumber",
    ]
    assert {g.field.reason for g in gaps} == {"name 'phoneNumber'"}
    assert gaps[0].where == f"{policy.file}:{policy.lines['schema']}"  # the schema: line


def test_allow_covers_what_it_does_not_list() -> None:
    """An allow-list drops unlisted children (covered) and keeps listed ones (not covered)."""
    library = SchemaLibrary(SCHEMAS)
    policy = without(shipped("tmf622-v4-product-order"), "phone", "email")
    paths = [g.field.path for g in coverage(policy, library)]
    assert all(p.endswith(("phoneNumber", "emailAddress")) for p in paths) and len(paths) == 4


def test_a_scalar_action_on_a_container_covers_nothing() -> None:
    """``tokenise`` of a whole object edits no string: its members stay uncovered."""
    text = (
        "name: t\nmatch: {method: POST, path: /x}\nschema: " + V4 + "\npartner: {header: X}\n"
        "rules:\n  - {id: cm, select: '$..contactMedium[*].characteristic', action: replace, "
        "with: partner.phone}\n"
    )
    (policy,) = load_policy_text(text, "t.yaml").policies
    paths = [g.field.path for g in coverage(policy, SchemaLibrary(SCHEMAS))]
    assert "$.relatedParty[*].contactMedium[*].characteristic.phoneNumber" in paths


def test_xml_coverage_follows_absolute_envelope_paths_of_either_version() -> None:
    """``/Envelope/Body/…`` of SOAP 1.1 or 1.2, or ``/*/*/…``, covers the payload's fields."""
    library = SchemaLibrary(SCHEMAS)
    soap12 = "{http://www.w3.org/2003/05/soap-envelope}"
    policy = shipped("soap-trouble-ticket")
    (note,) = (r for r in policy.rules if r.id == "note")
    base = without(policy, "note")
    assert [g.field.path for g in coverage(base, library)] == ["//SubmitTroubleTicket/note"]
    for select in (
        f"/{SOAP11}Envelope/{SOAP11}Body/{ORD}SubmitTroubleTicket/{ORD}note",
        f"/{soap12}Envelope/{soap12}Body/{ORD}SubmitTroubleTicket/{ORD}note",
        f"/*/*/{ORD}SubmitTroubleTicket/{ORD}note",
    ):
        rule = dataclasses.replace(note, selector=compile_selector(select))
        assert coverage(dataclasses.replace(base, rules=(*base.rules, rule)), library) == []
