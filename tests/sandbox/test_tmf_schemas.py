"""The TMF JSON Schemas of schemas/tmf and the fixtures of tests/fixtures/tmf."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from stdnum.it import codicefiscale

from proxy.sandbox.tmf_model import APIS
from proxy.sandbox.tmf_schemas import SchemaBook
from tests.sandbox.test_tmf_support import CASES, FIXTURES, SCHEMAS, Case, case, fixture, without

BOOK = SchemaBook.load(SCHEMAS / "tmf")
FILES = sorted((SCHEMAS / "tmf").glob("*.schema.json"))
CODICE_FISCALE = re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b")


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every (path, node) of a JSON document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def test_there_is_one_schema_file_per_api() -> None:
    """schemas/tmf has exactly the files the sandbox's APIs name."""
    assert [f.name for f in FILES] == sorted(api.schema_file for api in APIS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_ref_stays_in_its_file_and_resolves(path: Any) -> None:
    """All $refs are local (#/$defs/...) and name a definition of the same file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    refs = [node["$ref"] for _, node in walk(document) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in document["$defs"]


@pytest.mark.parametrize("path", [f for f in FILES if "-v4" in f.name], ids=lambda p: p.name)
def test_v4_objects_stay_open_to_extensions(path: Any) -> None:
    """Like the v4 swaggers, no v4 object forbids additional properties."""
    document = json.loads(path.read_text(encoding="utf-8"))
    closed = [
        p for p, node in walk(document) if isinstance(node, dict) and "additionalProperties" in node
    ]
    assert closed == []


@pytest.mark.parametrize("item", CASES, ids=str)
def test_fixture_validates_against_its_create_schema(item: Case) -> None:
    """Each order or ticket fixture is a valid create body of its API."""
    assert BOOK.problems(item.api.key, item.api.create_def, item.body) == []


@pytest.mark.parametrize("item", CASES, ids=str)
def test_create_schema_requires_what_the_spec_requires(item: Case) -> None:
    """Removing a member the spec requires makes the fixture invalid."""
    path, message = item.required
    assert BOOK.problems(item.api.key, item.api.create_def, without(item.body, path)) == [message]


def test_required_members_per_spec() -> None:
    """Orders need their items; tickets need description, severity and ticketType."""
    for key, definition, required in [
        ("tmf622-v4", "ProductOrder_Create", {"productOrderItem"}),
        ("tmf622-v5", "ProductOrder_FVO", {"productOrderItem", "@type"}),
        ("tmf641-v4", "ServiceOrder_Create", {"serviceOrderItem"}),
        ("tmf621-v4", "TroubleTicket_Create", {"description", "severity", "ticketType"}),
        ("tmf621-v5", "TroubleTicket_FVO", {"description", "severity", "ticketType", "@type"}),
    ]:
        assert set(BOOK.definitions(key)[definition]["required"]) == required


def test_v5_contact_media_are_polymorphic_on_type() -> None:
    """A PhoneContactMedium needs a phoneNumber, an EmailContactMedium an emailAddress."""
    body = case("tmf622-v5").body
    media = body["productOrderItem"][0]["product"]["relatedParty"][0]["partyOrPartyRole"][
        "contactMedium"
    ]
    media[0]["@type"] = "EmailContactMedium"
    (problem,) = BOOK.problems("tmf622-v5", "ProductOrder_FVO", body)
    assert problem.startswith("missing required property 'emailAddress' at ")
    media[0]["@type"] = "CarrierPigeonContactMedium"
    (problem,) = BOOK.problems("tmf622-v5", "ProductOrder_FVO", body)
    assert problem.startswith("expected one of ContactMedium, EmailContactMedium")


def test_v5_characteristic_value_follows_its_type() -> None:
    """An ObjectCharacteristic needs an object value; a StringCharacteristic a string."""
    body = case("tmf621-v5").body
    body["troubleTicketCharacteristic"][1]["value"] = "081 552 3344"
    (problem,) = BOOK.problems("tmf621-v5", "TroubleTicket_FVO", body)
    assert problem == "expected object at $.troubleTicketCharacteristic[1].value, got string"


def test_patch_fixtures_are_valid_patch_documents() -> None:
    """The JSON Patch fixture is an RFC 6902 document; the merge patch is an object."""
    patch = fixture("tmf621_v5_json_patch_note.json")
    assert BOOK.problems("tmf621-v5", "JsonPatchOperations", patch) == []
    assert isinstance(fixture("tmf622_v4_merge_patch.json"), dict)


def test_error_and_hub_shapes() -> None:
    """The sandbox's TMF Error and hub bodies match the schemas' Error and hub definitions."""
    error = {"code": "SBX-INVALID", "reason": "Invalid body", "message": "m", "status": "400"}
    for api in APIS:
        v5_type = {"@type": "Error"} if api.version == 5 else {}
        assert BOOK.problems(api.key, "Error", {**error, **v5_type}) == []
        assert BOOK.problems(api.key, "EventSubscriptionInput", {"callback": "http://x"}) == []
    assert BOOK.problems("tmf621-v5", "Error", error) == ["missing required property '@type' at $"]


def test_fixtures_carry_checksum_valid_codici_fiscali() -> None:
    """Every codice fiscale in the fixtures passes the check character (fake but valid)."""
    found = set()
    for path in FIXTURES.glob("*.json"):
        found |= set(CODICE_FISCALE.findall(path.read_text(encoding="utf-8")))
    assert found
    for code in found:
        assert codicefiscale.is_valid(code), code


def test_readme_describes_every_schema_file() -> None:
    """schemas/tmf/README.md names each file and the spec it follows."""
    readme = (SCHEMAS / "tmf" / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert path.name in readme
