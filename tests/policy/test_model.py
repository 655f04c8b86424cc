"""Policy matching: methods, path patterns, SOAP actions, content kinds; partner resolution."""

from __future__ import annotations

import pytest

from proxy.policy.load import load_policy_text
from proxy.policy.model import Match, PartnerRule, compile_path
from proxy.policy.selectors import compile_selector


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        (
            "/tmf-api/productOrderingManagement/v4/productOrder",
            "/tmf-api/productOrderingManagement/v4/productOrder",
            True,
        ),
        (
            "/tmf-api/productOrderingManagement/v4/productOrder",
            "/tmf-api/productOrderingManagement/v4/productOrder/1",
            False,
        ),
        ("/tmf-api/x/v4/productOrder/{id}", "/tmf-api/x/v4/productOrder/PO-1", True),
        ("/tmf-api/x/v4/productOrder/{id}", "/tmf-api/x/v4/productOrder/PO-1/extra", False),
        ("/tmf-api/x/v4/productOrder/{id}", "/tmf-api/x/v4/productOrder/", False),
        ("/ws/*", "/ws/wholesale/v1/soap11", True),
        ("/ws/*", "/wsx", False),
        ("/a.b/{id}", "/aXb/1", False),
    ],
)
def test_path_patterns(pattern: str, path: str, expected: bool) -> None:
    """``{name}`` is one segment, a trailing ``*`` the rest, everything else literal."""
    assert (compile_path(pattern).fullmatch(path) is not None) is expected


def _match(**kwargs: object) -> Match:
    base: dict[str, object] = {
        "methods": frozenset({"POST"}),
        "path": "/ws/*",
        "pattern": compile_path("/ws/*"),
    }
    base.update(kwargs)
    return Match(**base)  # type: ignore[arg-type]


def test_match_checks_method_action_and_content() -> None:
    """Method (any case), quoted SOAPAction, and content kind must all agree."""
    match = _match(actions=("urn:a",), content=frozenset({"soap11"}))
    assert match.matches("post", "/ws/x", '"urn:a"', "soap11")
    assert not match.matches("GET", "/ws/x", "urn:a", "soap11")
    assert not match.matches("POST", "/ws/x", "urn:b", "soap11")
    assert not match.matches("POST", "/ws/x", None, "soap11")
    assert not match.matches("POST", "/ws/x", "urn:a", "soap12")


def test_empty_actions_and_content_match_anything() -> None:
    """A policy that names no action or content kind covers them all."""
    assert _match().matches("POST", "/ws/x", None, None)


def test_partner_from_header_is_case_insensitive() -> None:
    """``X-Partner-Id`` is found as ``x-partner-id``; blank means none."""
    rule = PartnerRule("header", "X-Partner-Id")
    assert rule.resolve({"x-partner-id": " P-001 "}, None) == "P-001"
    assert rule.resolve({"X-Partner-Id": "  "}, None) is None
    assert rule.resolve({}, None) is None


def test_partner_from_body_and_certificate() -> None:
    """A body selector reads the document; ``client_cert`` takes the subject CN given."""
    body = PartnerRule(
        "body",
        "$.relatedParty[?(@.role=='reseller')].id",
        compile_selector("$.relatedParty[?(@.role=='reseller')].id"),
    )
    doc = {"relatedParty": [{"role": "customer", "id": "C"}, {"role": "reseller", "id": "P-9"}]}
    assert body.resolve({}, doc) == "P-9"
    assert PartnerRule("client_cert", "subject_cn").resolve({}, None, "P-7") == "P-7"
    assert PartnerRule("client_cert", "subject_cn").resolve({}, None, None) is None


POLICIES = """
policies:
  - name: orders
    match: {method: POST, path: /tmf-api/productOrderingManagement/v4/productOrder}
    rules: []
  - name: order-by-id
    match: {method: [PATCH, GET], path: "/tmf-api/productOrderingManagement/v4/productOrder/{id}", content: merge-patch}
    rules: []
  - name: soap
    match: {method: POST, path: /ws/*, action: urn:wholesale:ordering:v1:SubmitActivationOrder}
    rules: [{id: x, select: //a, action: drop}]
"""


def test_policy_set_finds_the_covering_policy() -> None:
    """The first policy whose match covers the request wins; none covers: None (fail closed)."""
    policies = load_policy_text(POLICIES, "p.yaml")
    create = policies.find(
        "POST", "/tmf-api/productOrderingManagement/v4/productOrder", None, "json"
    )
    assert create is not None and create.name == "orders"
    found = policies.find(
        "PATCH", "/tmf-api/productOrderingManagement/v4/productOrder/7", None, "merge-patch"
    )
    assert found is not None and found.name == "order-by-id"
    assert (
        policies.find("PATCH", "/tmf-api/productOrderingManagement/v4/productOrder/7", None, "json")
        is None
    )
    assert (
        policies.find("POST", "/ws/v1", "urn:wholesale:ordering:v1:SubmitActivationOrder", "soap12")
        is not None
    )
    assert (
        policies.find("DELETE", "/tmf-api/productOrderingManagement/v4/productOrder", None, "json")
        is None
    )
    assert policies.named("soap") is not None and policies.named("nope") is None
