"""The engine: pure, deterministic minimisation of JSON, JSON Patch and SOAP bodies.

Unit tests on the fixtures (TMF622 v4 order, SOAP 1.1/1.2 activation orders) and hypothesis
property tests on generated orders and envelopes with contacts planted in random places.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from stdnum.it import codicefiscale

from proxy.engine import Outcome, apply
from proxy.errors import PolicyError
from proxy.formats.xml_body import parse_xml, serialise_xml
from proxy.policy.load import load_policies, load_policy_text
from proxy.policy.model import Policy
from tests.actions.support import KEYS, PARTNER, FakeScrubber, context, rule

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICIES = load_policies(FIXTURES / "policy")


def named(name: str) -> Policy:
    """A fixture policy by name."""
    policy = POLICIES.named(name)
    assert policy is not None
    return policy


TMF = named("tmf622-order")
SOAP = named("soap-activation")
XSD = etree.XMLSchema(
    etree.parse(str(FIXTURES.parent.parent / "schemas" / "soap" / "wholesale-ordering-v1.xsd"))
)
ORD = "http://wholesale.example.it/ordering/v1"


def run(policy: Policy, document: Any, order: str | None = None) -> Outcome:
    """Apply a policy's request rules with the fake scrubber and the document's order reference."""
    ref = order if order is not None else policy.order_reference(document)
    return apply(policy.rules, document, context(order_ref=ref, scrubber=FakeScrubber()))


def assert_no_values_in(outcome: Outcome, values: list[str]) -> None:
    """No decision names a value: paths, rule ids, actions and token ids only."""
    for decision in outcome.decisions:
        text = f"{decision.path} {decision.rule} {decision.action} {decision.token_id}"
        for value in values:
            assert value not in text
        assert decision.commitment is None or len(decision.commitment) == 32


def test_tmf622_order_loses_its_contacts_and_keeps_operational_values() -> None:
    """Phones, e-mails, names and the CF leave; codice migrazione and number to port stay."""
    doc = json.loads((FIXTURES / "tmf" / "tmf622_v4_order.json").read_text())
    out = run(TMF, doc)
    sent = json.dumps(out.document, ensure_ascii=False)
    personal = [
        "+39 347 1234567",
        "mario.rossi80@example.com",
        "Mario Rossi",
        "RSSMRA80A01H501U",
        "347.123.45.67",
        "Mario.Rossi80@Example.com",
        "347 123 4567",
        "06/4567.8901",
        "Laura Bianchi",
        "0039 06 4567 8902",
    ]
    for value in personal:
        assert value not in sent, value
    assert "FWB0645678901001A01Y" in sent and "0645678901" in sent
    assert PARTNER.phone in sent and PARTNER.email in sent
    assert_no_values_in(out, personal)
    (name, cf) = out.tokens
    assert (name.original, cf.original) == ("Mario Rossi", "RSSMRA80A01H501U")
    assert codicefiscale.is_valid(cf.token)
    assert {"FWB0645678901001A01Y", cf.token, PARTNER.phone} <= set(out.allowed_values)
    assert {"Mario Rossi", "+39 347 1234567"} <= set(out.removed_values)
    assert out.changed


@pytest.mark.parametrize("name", ["activation_order_11.xml", "activation_order_12.xml"])
def test_soap_order_stays_schema_valid_with_prefixes_kept(name: str) -> None:
    """Referenti become the partner, the customer is tokenised, and the body still validates."""
    raw = (FIXTURES / "soap" / name).read_bytes()
    tree = parse_xml(raw)
    originals = [
        e.text or ""
        for e in tree.iter(f"{{{ORD}}}telefono", f"{{{ORD}}}email", f"{{{ORD}}}codiceFiscale")
    ]
    kept = [e.text for e in tree.iter(f"{{{ORD}}}codiceMigrazione", f"{{{ORD}}}quartoReferente")]
    header = etree.tostring(tree.getroot()[0])
    out = run(SOAP, tree)
    assert etree.tostring(tree.getroot()[0]) == header  # WS-Addressing and hdr:header untouched
    sent = serialise_xml(out.document).decode()
    assert out.document is tree
    assert "<ns0:referenti>" in sent and "soap-env:Body" in sent
    body = tree.getroot()[-1][0]
    assert XSD.validate(body), XSD.error_log
    noc = "+390245678900"
    for value in originals:
        assert value == noc or value not in sent, value
    assert all(k is None or k in sent for k in kept)
    for cf in tree.iter(f"{{{ORD}}}codiceFiscale"):
        assert codicefiscale.is_valid(cf.text)
    assert_no_values_in(out, [v for v in originals if v != noc])


def test_free_text_rules_run_last_with_known_values() -> None:
    """A scrub rule listed first still sees the number a later structured rule replaced."""
    doc = {"note": "il cliente, tel. 3471234567", "tel": "3471234567", "nome": "Giulia"}
    fake = FakeScrubber()
    rules = [
        rule("$.note", "scrub", rule_id="s"),
        rule("$.tel", "replace", {"with": "partner.phone"}, rule_id="t"),
        rule("$.nome", "tokenise", rule_id="n"),
    ]
    out = apply(rules, doc, context(scrubber=fake))
    (_, known, allowed) = fake.calls[0]
    assert known == ("3471234567", "Giulia")
    assert PARTNER.phone in allowed and out.tokens[0].token in allowed
    assert [d.rule for d in out.decisions] == ["t", "n", "s"]


def test_commitment_is_keyed_over_path_and_value() -> None:
    """commitment = HMAC(commit key, path || 0x00 || value); no commitment when nothing left."""
    out = apply(
        [rule("$.a", "replace", {"value": "x"}), rule("$.b", "keep", rule_id="k")],
        {"a": "v", "b": "w"},
        context(),
    )
    assert (
        out.decisions[0].commitment == hmac.new(KEYS.commit, b"$.a\x00v", hashlib.sha256).digest()
    )
    assert out.decisions[1].commitment is None


def test_restore_round_trip() -> None:
    """What tokenise sent comes back as the original on the way back, per order."""
    request = {"externalId": "O-1", "relatedParty": [{"role": "customer", "name": "Mario Rossi"}]}
    out = run(TMF, request)
    token = out.tokens[0]
    echo = {
        "externalId": "O-1",
        "note": [{"text": f"contattato {token.token}"}],
        "name": token.token,
    }
    back = apply(
        TMF.response, echo, context(order_ref="O-1", restore={token.token: token.original})
    )
    assert back.document["name"] == "Mario Rossi"
    assert back.document["note"][0]["text"] == "contattato Mario Rossi"
    assert {d.token_id for d in back.decisions} == {token.id}


def test_token_collisions_are_refused() -> None:
    """Two values with one token could not be restored: refuse instead of guessing."""
    tokens: dict[str, str] = {}
    single = rule("$.v", "tokenise", {"format": "digits"})
    pair = None
    for digit in "0123456789":
        token = apply([single], {"v": digit}, context()).tokens[0].token
        if token in tokens:
            pair = (tokens[token], digit)
            break
        tokens[token] = digit
    assert pair is not None
    with pytest.raises(
        PolicyError, match=r"at \$.b: expected distinct tokens for distinct values, got a collision"
    ):
        apply(
            [rule("$.*", "tokenise", {"format": "digits"})], {"a": pair[0], "b": pair[1]}, context()
        )


def test_nothing_to_do_leaves_the_document_unchanged() -> None:
    """No match: same object back, no decisions, ``changed`` false (forward the original bytes)."""
    doc = {"state": "acknowledged"}
    out = run(TMF, doc, "O-1")
    assert out.document is doc and out.document == {"state": "acknowledged"}
    assert (out.decisions, out.tokens, out.changed) == ((), (), False)


# --- property tests -------------------------------------------------------------------------

PHONES = st.from_regex(r"3[0-9]{9}", fullmatch=True)
EMAILS = st.from_regex(r"[a-z]{3,8}\.[a-z]{3,8}[0-9]{0,2}@[a-z]{4,8}\.(it|com)", fullmatch=True)
NAMES = st.from_regex(r"[A-Z][a-z]{3,8} [A-Z][a-z]{3,8}", fullmatch=True)
FILLER = st.text(alphabet="abcdefghij ", max_size=12)
PROPERTY_POLICY = load_policy_text(
    """
name: property
match: {method: POST, path: /x}
partner: {header: X-Partner-Id}
order_ref: $.externalId
rules:
  - {id: notes, select: "$..note[*].text", action: scrub}
  - {id: phone, select: "$..phoneNumber", action: replace, with: partner.phone}
  - {id: email, select: "$..emailAddress", action: replace, with: partner.email}
  - {id: name, select: "$..relatedParty[?(@.role=='customer')].name", action: tokenise}
  - {id: port, select: "$..productCharacteristic[?(@.name=='numeroDaPortare')].value", action: keep}
  - {id: chars, select: "$..productCharacteristic[*].value", action: scrub}
""",
    "property.yaml",
).policies[0]


@st.composite
def orders(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], list[str]]:
    """A TMF-like order, the personal values planted in it, and the values it must keep."""
    planted: list[str] = []
    kept: list[str] = []

    def party() -> dict[str, Any]:
        name, phone, email = draw(NAMES), draw(PHONES), draw(EMAILS)
        planted.extend([name, phone, email])
        return {
            "name": name,
            "role": "customer",
            "contactMedium": [
                {"mediumType": "mobile", "characteristic": {"phoneNumber": phone}},
                {"mediumType": "email", "characteristic": {"emailAddress": email}},
            ],
        }

    def extra(depth: int) -> dict[str, Any]:
        node: dict[str, Any] = {draw(st.sampled_from(["x", "y", "z"])): draw(FILLER)}
        if draw(st.booleans()):
            phone = draw(PHONES)
            planted.append(phone)
            node["phoneNumber"] = phone
        if depth and draw(st.booleans()):
            node["nested"] = [extra(depth - 1) for _ in range(draw(st.integers(1, 2)))]
        return node

    def item(depth: int) -> dict[str, Any]:
        port = "0" + draw(st.from_regex(r"[1-9][0-9]{8}", fullmatch=True))
        kept.append(port)
        spoken = draw(PHONES)
        planted.append(spoken)
        node: dict[str, Any] = {
            "id": str(depth),
            "product": {
                "relatedParty": [party() for _ in range(draw(st.integers(0, 2)))],
                "productCharacteristic": [
                    {"name": "numeroDaPortare", "value": port},
                    {
                        "name": "istruzioni",
                        "value": f"{draw(FILLER)} tel. {spoken[:3]} {spoken[3:]}",
                    },
                ],
                "ext": extra(2),
            },
        }
        if depth and draw(st.booleans()):
            node["productOrderItem"] = [item(depth - 1)]
        return node

    parties = [party() for _ in range(draw(st.integers(1, 3)))]
    mentioned = draw(st.sampled_from(parties))["name"]
    note_phone = draw(PHONES)
    planted.append(note_phone)
    doc = {
        "externalId": draw(st.from_regex(r"OLO-[0-9]{6}", fullmatch=True)),
        "relatedParty": parties,
        "note": [
            {"text": f"{draw(FILLER)} chiedere di {mentioned} al {note_phone} {draw(FILLER)}"}
        ],
        "productOrderItem": [item(2) for _ in range(draw(st.integers(1, 2)))],
    }
    return doc, planted, kept


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(case=orders())
def test_no_planted_contact_survives_and_kept_values_do(
    case: tuple[dict[str, Any], list[str], list[str]],
) -> None:
    """Contacts at selector-covered places, at any depth and in free text, never reach the output."""
    doc, planted, kept = case
    out = run(PROPERTY_POLICY, doc)
    sent = json.dumps(out.document, ensure_ascii=False)
    for value in planted:
        assert value not in sent
    for value in kept:
        assert value in sent
    assert_no_values_in(out, planted)


@SETTINGS
@given(case=orders())
def test_apply_is_deterministic(case: tuple[dict[str, Any], list[str], list[str]]) -> None:
    """Same input, same context: same document, decisions and tokens (no hidden state)."""
    doc = case[0]
    first, second = (
        run(PROPERTY_POLICY, copy.deepcopy(doc)),
        run(PROPERTY_POLICY, copy.deepcopy(doc)),
    )
    assert first == second


@SETTINGS
@given(
    case=orders(),
    orders_=st.lists(
        st.from_regex(r"OLO-[0-9]{6}", fullmatch=True), min_size=2, max_size=2, unique=True
    ),
)
def test_tokens_are_stable_within_an_order_and_differ_across_orders(
    case: tuple[dict[str, Any], list[str], list[str]], orders_: list[str]
) -> None:
    """Two messages of one order agree on every token; another order shares none."""
    doc = case[0]
    a1 = run(PROPERTY_POLICY, copy.deepcopy(doc), orders_[0]).tokens
    a2 = run(PROPERTY_POLICY, copy.deepcopy(doc), orders_[0]).tokens
    b = run(PROPERTY_POLICY, copy.deepcopy(doc), orders_[1]).tokens
    assert a1 == a2
    assert {t.original for t in a1} == {t.original for t in b}
    assert not {t.token for t in a1} & {t.token for t in b}


ENVELOPE = """<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<{p}SubmitActivationOrder {decl}>
  <{p}codiceOrdineOLO>{order}</{p}codiceOrdineOLO><{p}dataOrdine>2025-03-14T10:22:31+01:00</{p}dataOrdine>
  <{p}tipoOrdine>ATTIVAZIONE</{p}tipoOrdine><{p}servizio>FTTH_GPON</{p}servizio><{p}profilo>1000/300</{p}profilo>
  <{p}sedeImpianto><{p}particellaToponomastica>VIA</{p}particellaToponomastica><{p}via>ROMA</{p}via>
    <{p}civico>1</{p}civico><{p}cap>20100</{p}cap><{p}comune>MILANO</{p}comune><{p}provincia>MI</{p}provincia>
    <{p}codiceIstat>015146</{p}codiceIstat><{p}idCivicoNetMap>123456</{p}idCivicoNetMap></{p}sedeImpianto>
  <{p}clienteFinale><{p}personaFisica><{p}nome>{first}</{p}nome><{p}cognome>{last}</{p}cognome>
    <{p}codiceFiscale>{cf}</{p}codiceFiscale></{p}personaFisica></{p}clienteFinale>
  <{p}referenti>{referenti}</{p}referenti>
  <{p}note>{note}</{p}note>
</{p}SubmitActivationOrder></s:Body></s:Envelope>"""
REFERENTE = "<{p}referente><{p}nominativo>{name}</{p}nominativo><{p}telefono>{phone}</{p}telefono>{email}</{p}referente>"
CFS = st.sampled_from(["RSSMRA80A01H501U", "BNCGLI85M52F205H", "VRDLCU90T10L219Q"])


@st.composite
def envelopes(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A SOAP order with any prefix (or none), one to three referenti, and its planted personal values."""
    prefix = draw(st.sampled_from(["ns0", "ord", "o", ""]))
    p, decl = (f"{prefix}:", f'xmlns:{prefix}="{ORD}"') if prefix else ("", f'xmlns="{ORD}"')
    planted: list[str] = []
    referenti = ""
    for _ in range(draw(st.integers(1, 3))):
        name, phone = draw(NAMES), draw(st.sampled_from(["", "+39"])) + draw(PHONES)
        email = draw(st.none() | EMAILS)
        planted += [name, phone] + ([email] if email else [])
        mail = f"<{p}email>{email}</{p}email>" if email else ""
        referenti += REFERENTE.format(p=p, name=name, phone=phone, email=mail)
    first, last, cf, spoken = (
        draw(NAMES).split()[0],
        draw(NAMES).split()[1],
        draw(CFS),
        draw(PHONES),
    )
    planted += [cf, spoken]
    note = f"richiamare {draw(FILLER)} al {spoken[:3]} {spoken[3:]}"
    order = draw(st.from_regex(r"FV-[0-9]{7}", fullmatch=True))
    xml = ENVELOPE.format(
        p=p, decl=decl, order=order, first=first, last=last, cf=cf, referenti=referenti, note=note
    )
    return xml.encode(), planted


@SETTINGS
@given(case=envelopes())
def test_soap_orders_lose_contacts_and_stay_valid(case: tuple[bytes, list[str]]) -> None:
    """Whatever the prefixes, no planted contact is sent and the payload validates against the XSD."""
    raw, planted = case
    tree = parse_xml(raw)
    out = run(SOAP, tree)
    sent = serialise_xml(out.document).decode()
    for value in planted:
        assert value not in sent
    assert XSD.validate(tree.getroot()[0][0]), XSD.error_log
    assert re.search(r"<(\w+:)?codiceFiscale>", sent)
    assert_no_values_in(out, planted)
