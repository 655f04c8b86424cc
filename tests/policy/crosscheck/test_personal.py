"""Which schema fields look personal: names, types, party names, notes, extension points."""

from __future__ import annotations

import pytest

from proxy.policy.crosscheck import SchemaLibrary, coverage, personal_reason, policy_fields
from tests.policy.crosscheck.support import SCHEMAS, shipped, without


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
