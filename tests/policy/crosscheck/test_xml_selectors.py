"""XML selectors against the XSD content models: children, descendants, attributes, predicates,
extension points under ``xs:any`` and the SOAP envelopes of both versions.
"""

from __future__ import annotations

import pytest

from proxy.policy.crosscheck import XStep, crosscheck, parse_xpath_steps
from proxy.policy.load import load_policy_text
from tests.policy.crosscheck.support import EXT, HDR, ORD, SCHEMAS, SOAP11, XSD, check, policy_text


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


def test_xpath_steps_keep_axes_names_attributes_and_predicate_paths() -> None:
    """What the walk reads of a compiled XML selector: Clark names, never prefixes."""
    steps = parse_xpath_steps(f"//{ORD}referente[{ORD}nominativo = 'x'][@tipo]/*/@{ORD}lang")
    assert steps == [
        XStep("//", f"{ORD}referente", False, (((False, f"{ORD}nominativo"),), ((True, "tipo"),))),
        XStep("/", None, False),
        XStep("/", f"{ORD}lang", True),
    ]
    assert [s.text() for s in steps] == [f"//{ORD}referente", "/*", f"/@{ORD}lang"]
