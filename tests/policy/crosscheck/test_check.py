"""The cross-check's entry points: every selector of every policy, and policies it leaves alone."""

from __future__ import annotations

import pytest

from proxy.errors import ConfigError
from proxy.policy.crosscheck import crosscheck
from proxy.policy.load import load_policies, load_policy_text
from tests.policy.crosscheck.support import REPO, SCHEMAS, V4, XSD, check


def test_shipped_policies_pass_the_cross_check() -> None:
    """Every selector of every shipped policy can match what its schemas declare."""
    policies = load_policies(REPO / "policies")
    assert all(p.schemas for p in policies.policies)
    assert crosscheck(policies, SCHEMAS) == []


def test_order_ref_alternatives_and_partner_selectors_are_checked() -> None:
    """Every selector of a policy counts, not only its rules."""
    text = (
        "name: t\nmatch: {method: POST, path: /x}\nschema: " + V4 + "\n"
        "partner: {body: \"$.relatedParty[?(@.role == 'buyer')].idd\"}\n"
        "order_ref: [$.externalId, $.externalld]\nrules: []\n"
    )
    errors = crosscheck(load_policy_text(text, "t.yaml"), SCHEMAS)
    assert [e.split(": ", 3)[:2] for e in errors] == [
        ["t.yaml:4", "partner.body"],
        ["t.yaml:5", "order_ref"],
    ]
    assert errors[1].endswith("got 'externalld'")


def test_a_selector_of_the_other_family_needs_its_schema() -> None:
    """A JSON policy checked only against an XSD is itself a mistake."""
    (error,) = check(XSD.split("#")[0], ["$.externalId"])
    assert error.endswith("expected a JSON Schema in schema for a JSONPath selector, got only XSD")


def test_policies_without_a_schema_are_not_checked() -> None:
    """No ``schema:`` key, no cross-check (``policy check`` lists such policies)."""
    text = (
        "name: t\nmatch: {method: POST, path: /x}\nrules: [{id: a, select: $.nope, action: drop}]\n"
    )
    assert crosscheck(load_policy_text(text, "t.yaml"), SCHEMAS) == []


def test_order_ref_alternatives_are_compiled_at_load_with_their_lines() -> None:
    """A list under ``order_ref``: each entry compiled, a broken one reported at its own line."""
    text = (
        "name: t\nmatch: {method: POST, path: /x}\norder_ref:\n"
        "  - $.a\n  - $.b[\n  - //{urn:x}c\nrules: []\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_policy_text(text, "t.yaml")
    assert caught.value.errors == [
        "t.yaml:5: at order_ref[1]: at character 5: expected '*', '?', a quoted name or an index, got the end",
        "t.yaml:6: at order_ref[2]: expected a selector of the policy's kind, got the other kind",
    ]  # fmt: skip
    (policy,) = load_policy_text(
        text.replace("$.b[", "$.b").replace("//{urn:x}c", "$.c"), "t.yaml"
    ).policies
    assert policy.order_reference({"c": "R-3"}) == "R-3"
    assert policy.order_reference({"b": "R-2", "c": "R-3"}) == "R-2"
    assert policy.order_reference({"a": 7, "b": "R-2"}) == "7"
    assert policy.order_reference({}) is None


def test_the_package_keeps_the_public_names_of_the_former_module() -> None:
    """``proxy.policy.crosscheck`` still offers what the CLI and older callers import (and the
    shared library the proxy checks with)."""
    import proxy.policy.crosscheck as package
    from proxy.policy.crosscheck import check, library, personal, rule_coverage, xml_selectors, xsd

    assert sorted(package.__all__) == sorted(
        ["ENVELOPE", "ENVELOPE_PART", "XS", "Field", "Gap", "SchemaError", "SchemaLibrary",
         "XStep", "check_policy", "coverage", "crosscheck", "parse_xpath_steps",
         "personal_reason", "policy_fields", "shared_library"]
    )  # fmt: skip
    assert package.crosscheck is check.crosscheck and package.check_policy is check.check_policy
    assert package.coverage is rule_coverage.coverage and package.Gap is rule_coverage.Gap
    assert package.SchemaLibrary is library.SchemaLibrary
    assert package.shared_library is library.shared_library
    assert package.policy_fields is personal.policy_fields
    assert package.parse_xpath_steps is xml_selectors.parse_xpath_steps
    assert package.XS == xsd.XS == "{http://www.w3.org/2001/XMLSchema}"
