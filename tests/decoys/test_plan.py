"""Planning decoys before minimisation, and the decoys through the engine and egress guard."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.config import Limits
from proxy.decoys.plan import decoy_request, kinds_needed, order_of
from proxy.engine import Context, apply
from proxy.errors import ConfigError
from proxy.message import Message, parse_message
from proxy.minimise import Minimiser
from proxy.partners import PartnerDirectory
from proxy.policy.load import load_policy_text
from proxy.state import engine_keys
from proxy.testing import route
from tests.actions.support import KEYS, PARTNER
from tests.decoys.conftest import Rig

POLICY = """\
policies:
  - name: order
    match: {method: POST, path: /tmf-api/productOrderingManagement/v4/productOrder}
    partner: {header: X-Partner-Id}
    order_ref: $.externalId
    rules:
      - {id: phone, select: "$..phoneNumber", action: alias, kind: phone}
      - {id: mail, select: "$..emailAddress", action: alias, kind: email}
      - {id: name, select: "$..relatedParty[*].name", action: replace, value: "N/D"}
  - name: ticket
    match: {method: POST, path: /tmf-api/troubleTicket/v4/troubleTicket}
    partner: {header: X-Partner-Id}
    order_ref: $.externalId
    rules:
      - {id: name, select: "$..relatedParty[*].name", action: replace, value: "N/D"}
"""
ORDER_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
CUSTOMER_PHONE, CUSTOMER_MAIL = "+39 347 555 0199", "mario.rossi@example.org"
BODY = {
    "externalId": "OLO-ORD-2026-000999",
    "relatedParty": [{"name": "Mario Rossi", "role": "customer"}],
    "contactMedium": [
        {"characteristic": {"phoneNumber": CUSTOMER_PHONE}},
        {"characteristic": {"emailAddress": CUSTOMER_MAIL}},
    ],
}
POLICIES = load_policy_text(POLICY, "p.yaml")
MINIMISER = Minimiser(POLICIES, PartnerDirectory(MappingProxyType({PARTNER.id: PARTNER})), KEYS)


def message(body: object = BODY) -> Message:
    """A parsed JSON request body."""
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    r = route("tmf", "/tmf-api/", "http://127.0.0.1:9")
    parsed = parse_message(r, "POST", headers, json.dumps(body).encode(), Limits())
    assert parsed is not None
    return parsed


HEADERS = {"X-Partner-Id": PARTNER.id}


def test_kinds_needed_reads_the_alias_rules() -> None:
    """The order policy needs a phone and an e-mail decoy; the ticket policy none."""
    order, ticket = POLICIES.policies
    assert kinds_needed(order) == {"phone", "email"}
    assert kinds_needed(ticket) == frozenset()


def test_decoy_request_names_order_partner_and_kinds() -> None:
    """A covered order with a known partner and a reference asks for its decoys."""
    wanted = decoy_request(MINIMISER, "POST", ORDER_PATH, HEADERS, message())
    assert wanted is not None
    assert (wanted.order_ref, wanted.partner_id) == ("OLO-ORD-2026-000999", PARTNER.id)
    assert wanted.kinds == {"phone", "email"}
    assert order_of(MINIMISER, "POST", ORDER_PATH, message()) == "OLO-ORD-2026-000999"


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/tmf-api/troubleTicket/v4/troubleTicket", HEADERS, BODY),
        ("/tmf-api/other", HEADERS, BODY),
        (ORDER_PATH, {"X-Partner-Id": "P-UNKNOWN"}, BODY),
        (ORDER_PATH, HEADERS, {k: v for k, v in BODY.items() if k != "externalId"}),
    ],
)
def test_no_request_without_alias_rules_policy_partner_or_order(
    path: str, headers: dict[str, str], body: dict[str, object]
) -> None:
    """No alias rule, no policy, unknown partner, no order reference: nothing to assign (the
    minimiser then refuses or proceeds exactly as it would have)."""
    assert decoy_request(MINIMISER, "POST", path, headers, message(body)) is None


async def test_assigned_decoys_reach_the_document_and_pass_the_guard(rig: Rig) -> None:
    """Plan, assign, apply: the customer's phone and e-mail are replaced by the order's decoys,
    which the decisions name by decoy id and the guard allows; the customer's are gone."""
    msg = message()
    wanted = decoy_request(MINIMISER, "POST", ORDER_PATH, HEADERS, msg)
    assert wanted is not None
    decoys = await rig.service.assign(wanted.order_ref, wanted.partner_id, wanted.kinds)
    context = Context(engine_keys(rig.keys), PARTNER, wanted.order_ref, decoys=decoys.as_mapping())
    policy = POLICIES.policies[0]
    out = apply(policy.rules, msg.document, context)
    text = json.dumps(out.document)
    assert decoys.phone is not None and decoys.email is not None
    assert decoys.phone in text and decoys.email in text
    assert CUSTOMER_PHONE not in text and CUSTOMER_MAIL not in text
    ids = [d.token_id or "" for d in out.decisions if d.action == "alias"]
    assert sorted(ids) == sorted(decoys.ids.values())
    assert decoys.phone in out.allowed_values and decoys.email in out.allowed_values


def test_alias_needs_a_partner_and_an_order_reference() -> None:
    """A decoy forwards to the partner and belongs to an order: a policy with alias rules but
    without either is refused at load, with the rule's line."""
    text = """\
name: bare
match: {method: POST, path: /x}
rules:
  - {id: phone, select: "$..phoneNumber", action: alias, kind: phone}
"""
    with pytest.raises(ConfigError) as caught:
        load_policy_text(text, "bare.yaml")
    assert caught.value.errors == [
        "bare.yaml:4: at rules[0].action: expected an order_ref in the policy for alias, got none",
        "bare.yaml:4: at rules[0].action: expected a partner rule in the policy for alias, got none",
    ]
