"""The schema library: files read once while unchanged, shared per directory; ``schema:``
references that do not resolve are reported at their line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proxy.policy.crosscheck import SchemaError, SchemaLibrary, crosscheck, shared_library
from proxy.policy.load import load_policy_text
from tests.policy.crosscheck.support import SCHEMAS, V4, check, policy_text

PHONE = "$..contactMedium[*].characteristic.phoneNumber"


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


def test_each_schema_file_is_read_once() -> None:
    """Every policy naming a file shares one parsed copy (and the walks memoised on it)."""
    library = SchemaLibrary(SCHEMAS)
    assert library.json_file("tmf/tmf622-v4.schema.json") is library.json_file(
        "tmf/tmf622-v4.schema.json"
    )
    xsd = library.xsd_file("soap/wholesale-ordering-v1.xsd")
    assert xsd is library.xsd_file("soap/wholesale-ordering-v1.xsd")
    assert xsd.tns == "http://wholesale.example.it/ordering/v1" and xsd.qualified


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.schema.json", "[1, 2]", "expected a JSON Schema object in 'a.schema.json', got another value"),
        ("b.schema.json", "{", "expected a JSON Schema in 'b.schema.json', got JSONDecodeError"),
        ("c.xsd", "<notASchema/>", "expected an xs:schema root in 'c.xsd', got another element"),
        ("d.xsd", "<!DOCTYPE x><x/>", "expected an XML Schema in 'd.xsd': "),
    ],
)  # fmt: skip
def test_files_that_are_not_schemas_are_refused(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    """A broken file is a SchemaError naming the file, never its content."""
    (tmp_path / name).write_text(content, encoding="utf-8")
    library = SchemaLibrary(tmp_path)
    read = library.xsd_file if name.endswith(".xsd") else library.json_file
    with pytest.raises(SchemaError) as caught:
        read(name)
    assert caught.value.message.startswith(message)


def test_a_shared_library_serves_every_check_and_notices_a_changed_file(tmp_path: Path) -> None:
    """One library per directory for the process (starts and reloads reuse the walks); a
    schema rewritten on disk is read again, so a reload never checks against a stale copy."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    library = shared_library(schemas)
    assert shared_library(schemas / "tmf" / "..") is library
    assert shared_library(SCHEMAS) is not library
    before = library.json_file("tmf/tmf622-v4.schema.json")
    policies = load_policy_text(policy_text(V4, [PHONE]), "t.yaml")
    assert crosscheck(policies, schemas, library) == []
    assert library.json_file("tmf/tmf622-v4.schema.json") is before
    path = schemas / "tmf" / "tmf622-v4.schema.json"
    path.write_text(path.read_text().replace('"phoneNumber"', '"phoneNo"'), encoding="utf-8")
    (error,) = crosscheck(policies, schemas, library)
    assert error.endswith("got 'phoneNumber'")
    assert library.json_file("tmf/tmf622-v4.schema.json") is not before
