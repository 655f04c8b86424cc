"""Selectors cross-checked against ``schemas/`` (JSON Schema and XSD), and coverage gaps.

Each test writes a small policy, names the schema it is checked against and states which
selector must be refused (with its ``file:line``) or accepted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.policy.crosscheck import (
    SchemaLibrary,
    coverage,
    crosscheck,
    personal_reason,
    policy_fields,
)
from proxy.policy.load import load_policies, load_policy_text
from proxy.policy.model import Policy
from proxy.policy.selectors import compile_selector

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
ORD = "{http://wholesale.example.it/ordering/v1}"
HDR = "{http://wholesale.example.it/header/v1}"
SOAP11 = "{http://schemas.xmlsoap.org/soap/envelope/}"
V4 = "tmf/tmf622-v4.schema.json#/$defs/ProductOrder_Create"
V5 = "tmf/tmf622-v5.schema.json#/$defs/ProductOrder_FVO"
XSD = "soap/wholesale-ordering-v1.xsd#SubmitActivationOrder"
EXT = "http://fibraveloce.example.it/oss/ext/v1"


def policy_text(schema: str, selectors: list[str], extra: str = "", action: str = "drop") -> str:
    """A policy with one rule per selector, each on its own line (rule i on line 6 + i)."""
    lines = [
        "name: t",
        "match: {method: POST, path: /x}",
        f"schema: {schema}",
        extra or "egress: block",
        "rules:",
    ]
    lines += [f'  - {{id: r{i}, select: "{s}", action: {action}}}' for i, s in enumerate(selectors)]
    return "\n".join(lines) + "\n"


def check(schema: str, selectors: list[str], extra: str = "", action: str = "drop") -> list[str]:
    """Cross-check errors of such a policy."""
    policies = load_policy_text(policy_text(schema, selectors, extra, action), "t.yaml")
    return crosscheck(policies, SCHEMAS)


def test_shipped_policies_pass_the_cross_check() -> None:
    """Every selector of every shipped policy can match what its schemas declare."""
    policies = load_policies(REPO / "policies")
    assert all(p.schemas for p in policies.policies)
    assert crosscheck(policies, SCHEMAS) == []


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


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (f"//{ORD}referenti/{ORD}telefono",
         f"expected an element the schema declares as a child of //{ORD}referenti, got {ORD}telefono"),
        (f"//{ORD}referente/{ORD}telefon",
         f"expected an element the schema declares as a child of //{ORD}referente, got {ORD}telefon"),
        (f"//{ORD}codiceTicketOLO",
         f"expected an element the schema declares below /, got {ORD}codiceTicketOLO"),
        (f"//{ORD}referente/@tipo",
         f"expected an attribute the schema declares at //{ORD}referente, got @tipo"),
        (f"//{ORD}referente[{ORD}nome = 'x']/{ORD}telefono",
         f"expected predicate members the schema declares at //{ORD}referente, got {ORD}nome"),
        (f"//{ORD}estensioni/{{{EXT}}}datiCommerciali",
         f"expected {{{EXT}}}datiCommerciali below xs:any only with its namespace listed in "
         f"extension_namespaces, got namespace '{EXT}' unlisted"),
        (f"/{SOAP11}Envelope/{SOAP11}Body/{ORD}SubmitActivationOrderResponse",
         f"expected an element the schema declares as a child of /{SOAP11}Envelope/{SOAP11}Body, "
         f"got {ORD}SubmitActivationOrderResponse"),
    ],
)  # fmt: skip
def test_xml_selectors_that_can_never_match(selector: str, message: str) -> None:
    """Children, descendants, attributes, predicates and extension points, against the XSD."""
    (error,) = check(XSD, [selector])
    assert error == f"t.yaml:6: rule r0: {selector}: {message}"


@pytest.mark.parametrize(
    "selector",
    [
        "/*",
        f"//{ORD}referente/{ORD}telefono",
        f"//{ORD}referenti/{ORD}referente[{ORD}nominativo = 'x']/{ORD}email",
        f"/{SOAP11}Envelope/{SOAP11}Body/{ORD}SubmitActivationOrder/{ORD}note",
        f"/{{http://www.w3.org/2003/05/soap-envelope}}Envelope/*/{ORD}SubmitActivationOrder",
        # A wildcard names nothing: reaching into xs:any with '*' needs no listing.
        f"//{ORD}estensioni/*",
        f"//{HDR}vendorExtensions",
    ],
)
def test_xml_selectors_that_can_match(selector: str) -> None:
    """Prefix-free names, envelopes of both versions, wildcards, the header's own schema."""
    schema = f"[{XSD}, soap/wholesale-header-v1.xsd#header]"
    assert check(schema, [selector]) == []


def test_extension_namespaces_open_an_xs_any_explicitly() -> None:
    """Listed, an OSS's extension elements may be named below ``estensioni``; others may not."""
    extra = f"extension_namespaces: ['{EXT}']"
    selectors = [
        f"//{ORD}estensioni/{{{EXT}}}datiCommerciali/{{{EXT}}}contattoAgente",
        f"//{ORD}estensioni//{{{EXT}}}recapitoCliente/@tipo",
        f"//{ORD}estensioni/{{urn:other}}datiCommerciali",
        f"//{ORD}sedeImpianto/{{{EXT}}}datiCommerciali",
    ]
    errors = check(XSD, selectors, extra)
    assert [e.split(":")[1] for e in errors] == ["8", "9"]
    assert "namespace 'urn:other' unlisted" in errors[0]
    assert errors[1].endswith(f"as a child of //{ORD}sedeImpianto, got {{{EXT}}}datiCommerciali")


def test_response_rules_may_name_every_payload_of_the_schema() -> None:
    """Requests start at the policy's root element; answers at any global element."""
    text = policy_text(XSD, []).replace(
        "rules:\n",
        f"order_ref: //{ORD}codiceOrdineOLO\nrules: []\nresponse:\n"
        f"  - {{id: back, select: '//{ORD}SubmitActivationOrderResponse/{ORD}stato', "
        "action: restore}\n",
    )
    assert crosscheck(load_policy_text(text, "t.yaml"), SCHEMAS) == []


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("tmf/nope.schema.json", "expected a schema file 'tmf/nope.schema.json' under"),
        ("../pyproject.json", "expected a schema inside"),
        ("tmf/tmf622-v4.schema.json#/$defs/ProductOrderX",
         "expected 'tmf/tmf622-v4.schema.json#/$defs/ProductOrderX' to name a schema, got nothing"),
        ("soap/wholesale-ordering-v1.xsd#SubmitOrder",
         "expected a global element 'SubmitOrder' in 'soap/wholesale-ordering-v1.xsd', got none"),
    ],
)  # fmt: skip
def test_schema_references_that_do_not_resolve(schema: str, message: str) -> None:
    """The ``schema:`` line is reported; the selectors are not checked against nothing."""
    (error,) = check(schema, ["$.x" if schema.endswith("json") or "json#" in schema else "/*"])
    assert error.startswith("t.yaml:3: at schema: ") and message in error


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


# --- coverage --------------------------------------------------------------------------------


def shipped(name: str) -> Policy:
    """A shipped policy by name."""
    policy = load_policies(REPO / "policies").named(name)
    assert policy is not None
    return policy


def without(policy: Policy, *ids: str) -> Policy:
    """``policy`` with some request rules removed."""
    return dataclasses.replace(policy, rules=tuple(r for r in policy.rules if r.id not in ids))


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


def test_xml_coverage_sees_types_names_and_extension_points() -> None:
    """ord:Telefono, ord:Note, xs:any and names like nominativo are what a SOAP policy must cover."""
    fields = {
        f.path: f.reason
        for f in policy_fields(shipped("soap-activation-order"), SchemaLibrary(SCHEMAS))
    }
    assert fields["//SubmitActivationOrder/referenti/referente/telefono"] == "name 'telefono'"
    assert fields["//SubmitActivationOrder/note"] == "name 'note'"
    assert fields["//SubmitActivationOrder/estensioni"] == "xs:any: content no schema describes"
    assert fields["//header/vendorExtensions"] == "xs:any: content no schema describes"
    assert fields["//SubmitActivationOrder/allegato/contenuto"] == "type 'base64Binary'"
    assert "//SubmitActivationOrder/sedeImpianto/via" not in fields  # the address is operational
    gaps = coverage(
        without(shipped("soap-activation-order"), "estensioni", "quarto-referente"),
        SchemaLibrary(SCHEMAS),
    )
    assert [g.field.path for g in gaps] == [
        "//SubmitActivationOrder/estensioni",
        "//SubmitActivationOrder/quartoReferente/nominativo",
        "//SubmitActivationOrder/quartoReferente/telefono",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "parents", "defs", "reason"),
    [
        ("telefono", (), (), "name 'telefono'"),
        ("name", ("relatedParty", "[*]"), (), "a party's name"),
        ("name", ("productOffering",), ("ProductOfferingRef",), None),
        ("text", ("note", "[*]"), ("Note",), "note text"),
        ("value", ("productCharacteristic", "[*]"), ("Characteristic",), "characteristic value"),
        ("city", ("relatedParty", "[*]", "contactMedium", "[*]", "characteristic"), (), "contact medium address"),
        ("city", ("place", "[*]"), (), None),
        ("id", ("partyOrPartyRole",), ("Individual",), None),
        ("nationality", ("partyOrPartyRole",), ("Individual",), "name 'nationality'"),
        ("skill", ("partyOrPartyRole",), ("Individual",), "member of an inline Individual"),
    ],
)  # fmt: skip
def test_what_looks_personal(
    name: str, parents: tuple[str, ...], defs: tuple[str, ...], reason: str | None
) -> None:
    """Names, party names, notes, characteristic values, contact addresses; not ids or sites."""
    assert personal_reason(name, parents, defs) == reason


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
